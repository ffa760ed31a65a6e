"""One run on several processes (hwr.training.distributed): the sampler's shares,
and 2 CPU processes with gloo against one process on the same global batches.

The model is the CTC baseline with a tiny LSTM and no dropout (dropout masks
are drawn per rank, so they could not match a single process's). Both sides
train with plain SGD in place of Adam: Adam divides every gradient by its own
size, so gradients that are zero up to rounding (convolution biases an
instance norm cancels, and on some CPUs kernels whose blocking depends on the
batch size) turn into full-size steps in directions set by the rounding, and
the two runs drift apart by as much as a real mistake would make them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket

import numpy as np
import pytest
import torch

from hwr.datasets import LineItem, MemoryDataset
from hwr.datasets.sampler import BucketBatchSampler, ShardedBatchSampler, shard_batch
from hwr.files import RunLock
from hwr.training import TrainConfig, distributed, train
from hwr.training import epoch as train_epoch
from hwr.training.records import read_history

# no dropout: masks are drawn per rank, they could not match a single process's
TINY = {"ctc_baseline": dict(ctc_hidden=16, dropout=0.0, ctc_dropout=0.0),
        "gate_1": dict(hidden=16, attention=16, embedding=8, dropout=0.0, gate_dropout=0.0)}
TEXTS = ["ab", "a b", "cab", "b", "abc a", "ca"]


def lines(n: int, seed: int, prefix: str) -> MemoryDataset:
    rng = np.random.default_rng(seed)
    items = [LineItem(f"{prefix}{i}", rng.integers(100, 256, (24, 30 + 7 * (i % 5)), dtype=np.uint8),
                      TEXTS[i % len(TEXTS)]) for i in range(n)]
    return MemoryDataset(items, name=prefix)


def tiny_data() -> dict:
    # 21 lines in batches of 6: 6, 6, 6 and 3, so the last batch's shares are unequal (2 and 1)
    return {"train": lines(21, 0, "t"), "valid": lines(5, 1, "v")}


def config(epochs: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=6, threads=1, progress=False, log_every=100, seed=4, lr=SGD_LR)


SGD_LR = 0.02  # large enough that each step moves the losses by far more than rounding does


class PlainSGD(torch.optim.SGD):
    """SGD under Adam's signature (``weight_decay`` included)."""

    def __init__(self, params, lr: float, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, weight_decay=weight_decay)


def use_sgd() -> None:
    """Make the training engine build :class:`PlainSGD` where it builds Adam (in a spawned rank)."""
    torch.optim.Adam = PlainSGD


def record_steps(sink: list, weights: list | None = None) -> None:
    """Make every optimisation step append (its loss, its lines) to ``sink``,
    and the model's parameters (one flat array) to ``weights``: before the
    first step, then after every step."""
    step = train_epoch.train_step

    def flat(model):
        return torch.cat([p.detach().flatten() for p in model.parameters()]).numpy().copy()

    def recording(model, batch, *args, **kw):
        if weights == []:
            weights.append(flat(model))
        out = step(model, batch, *args, **kw)
        sink.append((out[0], len(batch)))
        if weights is not None:
            weights.append(flat(model))
        return out

    train_epoch.train_step = recording


def train_epochs(experiment: str, epochs: int, out) -> dict:
    """Train to ``epochs``, resuming what ``out`` holds."""
    return train(experiment, tiny_data(), out, config(epochs), **TINY[experiment])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, ports: list[int], root: str, experiment: str) -> None:
    """One rank under torchrun's variables: epoch 1, then a second call that resumes for epoch 2."""
    os.environ.update(WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1")
    torch.set_num_threads(1)
    use_sgd()
    steps, weights = [], []
    record_steps(steps, weights)
    for epochs, port in zip((1, 2), ports):  # each call sets up and tears down its own process group
        os.environ["MASTER_PORT"] = str(port)
        metrics = train_epochs(experiment, epochs, os.path.join(root, "ddp"))
    result = {"steps": list(steps), "epochs": metrics["epochs"], "processes": metrics.get("processes")}
    if len(ports) > 2:  # a budget spent by the first step: every rank stops after it, none waits
        os.environ["MASTER_PORT"] = str(ports[2])
        spent = train(experiment, tiny_data(), os.path.join(root, "budget"),
                      dataclasses.replace(config(5), minutes=1e-6), **TINY[experiment])
        result["budget"] = [spent["stop_reason"], spent["epochs"], spent["partial_last_epoch"]]
    if rank == 0:
        np.save(os.path.join(root, "weights.npy"), np.stack(weights))
    with open(os.path.join(root, f"rank{rank}.json"), "w") as f:
        json.dump(result, f)


# -- the sampler's shares ---------------------------------------------------------


@pytest.mark.parametrize("world", [2, 3])
def test_every_line_of_a_global_batch_goes_to_exactly_one_rank(world):
    widths = np.random.default_rng(0).integers(20, 400, 47)
    base = BucketBatchSampler(widths, 8, seed=5, pool=2)
    shards = [ShardedBatchSampler(BucketBatchSampler(widths, 8, seed=5, pool=2), r, world) for r in range(world)]
    for epoch in (0, 3):
        for s in shards:
            s.set_epoch(epoch)
        per_rank = [list(s) for s in shards]
        kept = [b for b in base.batches(epoch) if len(b) >= world]
        assert all(len(p) == len(kept) == len(s) for p, s in zip(per_rank, shards))
        for k, batch in enumerate(kept):
            parts = [p[k] for p in per_rank]
            assert sorted(i for part in parts for i in part) == sorted(batch)
            assert max(map(len, parts)) - min(map(len, parts)) <= 1
    # 47 = 5 pools' worth: 2 pools of 16 and one of 15 -> batches 8, 8, 8, 8, 8, 7: none dropped
    assert len(shards[0]) == len(base) == 6


def test_a_global_batch_smaller_than_the_ranks_is_dropped():
    widths = list(range(10, 27))  # 17 lines in batches of 8: 8, 8 and 1
    base = BucketBatchSampler(widths, 8, seed=1)
    assert sorted(map(len, base.batches(0))) == [1, 8, 8]
    shard = ShardedBatchSampler(BucketBatchSampler(widths, 8, seed=1), 1, 2)
    assert len(shard) == 2 and [len(b) for b in shard] == [4, 4]
    assert shard_batch([5, 6, 7, 8, 9], 1, 2) == [6, 8]
    with pytest.raises(ValueError, match="smaller than the 4 processes"):
        ShardedBatchSampler(BucketBatchSampler(widths, 3), 0, 4)


def test_torchrun_variables():
    assert distributed.from_env({}) is distributed.SINGLE
    ctx = distributed.from_env({"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"})
    assert (ctx.enabled, ctx.is_main, ctx.local_rank, ctx.local_world_size) == (True, False, 1, 2)
    assert distributed.rank_device(ctx, "cuda") == "cuda:1" and distributed.rank_device(ctx, "cpu") == "cpu"
    assert distributed.backend_for("cuda:1") == "nccl" and distributed.backend_for("cpu") == "gloo"
    with pytest.raises(distributed.HwrError, match="outside WORLD_SIZE"):
        distributed.from_env({"WORLD_SIZE": "2", "RANK": "2"})
    # single process: nothing touches a collective
    assert distributed.all_reduce(distributed.SINGLE, [1.5, 2.0]) == [1.5, 2.0]
    assert distributed.on_main(distributed.SINGLE, lambda: 7) == 7


# -- two processes against one ------------------------------------------------------


@pytest.mark.parametrize("experiment", ["ctc_baseline", pytest.param("gate_1", marks=pytest.mark.slow)])
def test_two_processes_train_as_one_on_the_same_global_batches(experiment, tmp_path, monkeypatch):
    import torch.multiprocessing as mp

    root = str(tmp_path)
    ports = [free_port() for _ in range(3 if experiment == "ctc_baseline" else 2)]
    mp.spawn(_worker, args=(2, ports, root, experiment), nprocs=2, join=True)

    steps, weights = [], []
    monkeypatch.setattr(train_epoch, "train_step", train_epoch.train_step)  # undone after the test
    monkeypatch.setattr(torch.optim, "Adam", PlainSGD)
    record_steps(steps, weights)
    for epochs in (1, 2):
        single = train_epochs(experiment, epochs, tmp_path / "single")

    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert ranks[0]["processes"] == 2 and ranks[0]["epochs"] == single["epochs"] == 2
    if experiment == "ctc_baseline":  # one partial epoch of one global batch, on both ranks
        assert ranks[0]["budget"] == ranks[1]["budget"] and ranks[0]["budget"] == ["minutes", 1, True]
        assert read_history(tmp_path / "budget" / "history.csv")[0]["lines"] in (3, 6)
    # 2 epochs of 4 steps on 6, 6, 6 and 3 lines (in a seeded order); the ranks' shares 3+3 and 2+1
    sizes = [n for _, n in steps]
    assert sorted(sizes[:4]) == sorted(sizes[4:]) == [3, 6, 6, 6]
    assert [n for _, n in ranks[0]["steps"]] == [-(-n // 2) for n in sizes]
    assert [n for _, n in ranks[1]["steps"]] == [n // 2 for n in sizes]
    shared = [(l0 * n0 + l1 * n1) / (n0 + n1) for (l0, n0), (l1, n1) in zip(ranks[0]["steps"], ranks[1]["steps"])]
    single_losses = [loss for loss, _ in steps]
    # Step 1 starts from the same weights on one global batch of 3 lines,
    # shared 2 + 1: the same loss and, up to rounding, the same update. (Shares
    # weighted as if they were equal move the weights by a quarter of the step
    # and the next loss by 3 %; rounding moves them by about 5e-5 and 1e-6.)
    np.testing.assert_allclose(shared[0], single_losses[0], rtol=1e-6)
    w_ddp, w_one = np.load(tmp_path / "weights.npy"), np.stack(weights)
    assert np.array_equal(w_ddp[0], w_one[0])  # the same initial weights
    step_size = np.abs(w_one[1] - w_one[0]).max()
    assert np.abs(w_ddp[1] - w_one[1]).max() < 1e-3 * step_size
    np.testing.assert_allclose(shared[1], single_losses[1], rtol=1e-4)
    if experiment == "gate_1":  # seq2seq: the same decoder steps and teacher-forcing draws as one process
        return
    # The steps after those: rounding grows from step to step (one process on
    # 2 threads drifts from 1 thread as fast: 1e-4 of the loss by step 4, 1e-2
    # by step 8), so they are held to what a lost state, a model not resumed in
    # epoch 2 or a wrong batch would break (losses differ by 20-70 % between batches).
    np.testing.assert_allclose(shared[2:], single_losses[2:], rtol=0.1)
    ddp_h, one_h = read_history(tmp_path / "ddp" / "history.csv"), read_history(tmp_path / "single" / "history.csv")
    assert [r["lines"] for r in ddp_h] == [r["lines"] for r in one_h] == [21, 21]
    # global means over both ranks' lines, not rank 0's share
    for key in ("train_loss", "train_cer", "val_cer"):
        np.testing.assert_allclose([r[key] for r in ddp_h], [r[key] for r in one_h], rtol=0.02, err_msg=key)
    RunLock(tmp_path / "ddp").acquire().release()  # rank 0 let go of the folder
