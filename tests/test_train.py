"""The training engine: losses, steps, checkpoints, resuming, budgets, reuse.

Everything runs on tiny data (random 24-px-high lines, 16 train / 6 valid)
and the thesis models with small decoders, on one thread.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from data_fixtures import write_gt_txt
from hwr.codec import EOS
from hwr.datasets import LineItem, MemoryDataset
from hwr.errors import RunFolderError
from hwr.training import TrainConfig, load_checkpoint, load_model, train
from hwr.training import engine
from hwr.training import epoch as train_epoch
from hwr.training.losses import ctc_loss, seq2seq_loss, seq2seq_targets
from hwr.training.records import read_history

TINY = {"ctc_baseline": dict(ctc_hidden=16), "gate_1": dict(hidden=32, attention=32, embedding=8)}
TEXTS = ["ab", "a b", "cab", "b", "abc a", "ca"]


def lines(n: int, seed: int, prefix: str) -> MemoryDataset:
    rng = np.random.default_rng(seed)
    items = []
    for i in range(n):
        image = rng.integers(100, 256, (24, 30 + 5 * (i % 6)), dtype=np.uint8)
        items.append(LineItem(f"{prefix}{i}", image, TEXTS[i % len(TEXTS)]))
    return MemoryDataset(items, name=prefix)


@pytest.fixture(scope="module")
def data():
    return {"train": lines(16, 0, "t"), "valid": lines(6, 1, "v")}


def config(**kw) -> TrainConfig:
    base = dict(epochs=2, batch_size=8, threads=1, progress=False, log_every=1)
    return TrainConfig(**{**base, **kw})


def history(out) -> list[dict]:
    return read_history(out / "history.csv")


# -- losses -------------------------------------------------------------------

def test_seq2seq_loss_masks_steps_past_eos():
    targets, lengths = seq2seq_targets(["ab", "a"])
    assert targets.tolist()[1] == [29, EOS, EOS] and lengths.tolist() == [3, 2]
    lp = torch.log_softmax(torch.randn(2, 5, 81), -1)  # decoder ran more steps than needed
    expected = torch.stack([-lp[0, [0, 1, 2], targets[0]].mean(), -lp[1, [0, 1], targets[1, :2]].mean()]).mean()
    assert torch.allclose(seq2seq_loss(lp, targets, lengths), expected)
    changed = lp.clone()
    changed[1, 2:] = 0.0  # steps past line 2's EOS do not count
    assert torch.allclose(seq2seq_loss(changed, targets, lengths), expected)


def test_ctc_loss_uses_valid_frames_only():
    lp = torch.log_softmax(torch.randn(2, 10, 81), -1)
    frames = torch.tensor([10, 6])
    loss = ctc_loss(lp, frames, ["ab", "b"])
    ref = torch.nn.functional.ctc_loss(lp.transpose(0, 1), torch.tensor([29, 30, 30]), frames, torch.tensor([2, 1]),
                                       blank=0, zero_infinity=True)
    assert torch.allclose(loss, ref)
    lp2 = lp.clone()
    lp2[1, 6:] = 0.0  # padding frames of line 2 are ignored
    assert torch.allclose(ctc_loss(lp2, frames, ["ab", "b"]), ref)


@pytest.mark.parametrize("experiment", ["ctc_baseline", "gate_1"])
def test_training_steps_reduce_loss(experiment, data):
    from hwr.preprocess import make_loader

    torch.manual_seed(0)
    model = engine.build_model(experiment, TINY[experiment]).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = next(iter(make_loader(data["train"], 8, train=False)))
    losses = [train_epoch.train_step(model, batch, optimizer, "cpu", config())[0] for _ in range(6)]
    assert losses[-1] < 0.9 * losses[0], losses


# -- runs -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def reference(tmp_path_factory, data):
    """An uninterrupted 3-epoch seq2seq run (teacher forcing and dropout draw random numbers)."""
    out = tmp_path_factory.mktemp("ref")
    metrics = train("gate_1", data, out, config(epochs=3), **TINY["gate_1"])
    return out, metrics


def test_run_folder_and_metrics(reference):
    out, metrics = reference
    # the previous last.pt is kept until a new one is complete
    assert {p.name for p in (out / "checkpoints").iterdir()} == {"last.pt", "last.prev.pt", "best.pt"}
    rows = history(out)
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert metrics["epochs"] == 3 and metrics["stop_reason"] == "epochs" and metrics["device"] == "cpu"
    assert metrics["best"]["val_cer"] == min(r["val_cer"] for r in rows)
    assert json.loads((out / "metrics.json").read_text()) == metrics
    run = json.loads((out / "run.json").read_text())
    assert run["params"]["experiment"] == "gate_1" and "versions" in run


def test_checkpoint_round_trip(reference, data):
    out, _ = reference
    ckpt = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert {"model", "optimizer", "rng", "epoch", "history", "best_cer", "config", "experiment", "overrides"} <= set(ckpt)
    assert ckpt["epoch"] == 3 and ckpt["experiment"] == "gate_1" and ckpt["overrides"] == TINY["gate_1"]
    best = load_checkpoint(out / "checkpoints" / "best.pt")
    model = load_model(out / "checkpoints" / "best.pt")
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, best["model"][k]), k
    assert load_model(out).state_dict().keys() == model.state_dict().keys()  # a run folder means its best.pt


def test_same_seed_same_metrics(reference, data, tmp_path):
    out, metrics = reference
    again = train("gate_1", data, tmp_path, config(epochs=3), **TINY["gate_1"])
    for a, b in zip(history(out), history(tmp_path)):
        assert (a["train_loss"], a["val_cer"], a["train_cer"]) == (b["train_loss"], b["val_cer"], b["train_cer"])
    assert again["best"] == metrics["best"]


def test_killed_run_resumes_where_it_stopped(reference, data, tmp_path, monkeypatch):
    out, metrics = reference
    real_step, calls = train_epoch.train_step, []

    def crashing_step(*args, **kw):
        calls.append(1)
        if len(calls) == 4:  # the middle of epoch 2 (2 batches per epoch)
            raise KeyboardInterrupt("simulated kill")
        return real_step(*args, **kw)

    monkeypatch.setattr(train_epoch, "train_step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        train("gate_1", data, tmp_path, config(epochs=3), **TINY["gate_1"])
    assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["epoch"] == 1
    assert not (tmp_path / "metrics.json").exists()
    monkeypatch.setattr(train_epoch, "train_step", real_step)
    resumed = train("gate_1", data, tmp_path, config(epochs=3), **TINY["gate_1"])
    assert resumed["epochs"] == 3
    # The resumed run computes exactly what the uninterrupted one did.
    for a, b in zip(history(out), history(tmp_path)):
        assert (a["epoch"], a["train_loss"], a["val_cer"]) == (b["epoch"], b["train_loss"], b["val_cer"])


def test_finished_run_is_loaded_not_trained(reference, data, monkeypatch):
    out, metrics = reference

    def no_build(*a, **k):
        raise AssertionError("a finished run must not be trained again")

    monkeypatch.setattr(engine, "build_model", no_build)
    # Execution details (threads, progress, ...) do not make it another run.
    assert train("gate_1", data, out, config(epochs=3, progress=True, log_every=5), **TINY["gate_1"]) == metrics


def test_longer_budget_continues_a_finished_run(data, tmp_path):
    train("ctc_baseline", data, tmp_path, config(epochs=1), **TINY["ctc_baseline"])
    more = train("ctc_baseline", data, tmp_path, config(epochs=2), **TINY["ctc_baseline"])
    assert more["epochs"] == 2 and [r["epoch"] for r in history(tmp_path)] == [1, 2]
    with pytest.raises(RunFolderError, match="config.lr"):
        train("ctc_baseline", data, tmp_path, config(epochs=3, lr=1e-3), **TINY["ctc_baseline"])
    with pytest.raises(RunFolderError, match="overrides"):
        train("ctc_baseline", data, tmp_path, config(epochs=3), ctc_hidden=8)
    edited = lines(6, 1, "v")
    edited.texts[0] = "changed"  # same name and size, other content
    with pytest.raises(RunFolderError, match="data"):
        train("ctc_baseline", {"train": data["train"], "valid": edited}, tmp_path, config(epochs=3),
              **TINY["ctc_baseline"])


def test_minutes_budget_stops_cleanly(data, tmp_path):
    metrics = train("ctc_baseline", data, tmp_path, config(epochs=100, minutes=1e-4, progress=True),
                    **TINY["ctc_baseline"])
    assert metrics["stop_reason"] == "minutes" and metrics["epochs"] == 1
    assert metrics["partial_last_epoch"] and metrics["trained_lines"] == 8  # one batch, then out of time
    ckpt = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert ckpt["epoch"] == 1 and ckpt["history"][0]["partial"]


def test_early_stopping_needs_strict_improvement(data, tmp_path, monkeypatch):
    cers = iter([0.5, 0.4, 0.4, 0.45, 0.3])
    monkeypatch.setattr(engine, "validate",
                        lambda model, loader, **kw: {"cer": next(cers), "wer": 1.0, "seconds": 0.0})
    metrics = train("ctc_baseline", data, tmp_path, config(epochs=10, patience=2), **TINY["ctc_baseline"])
    assert metrics["stop_reason"] == "patience" and metrics["epochs"] == 4
    assert metrics["best"]["epoch"] == 2 and metrics["best"]["val_cer"] == 0.4
    assert load_checkpoint(tmp_path / "checkpoints" / "best.pt")["epoch"] == 2


def test_validation_subset_is_fixed_and_width_sorted(data):
    from hwr.training.data import validation_subset

    sub = validation_subset(data["valid"], 4)
    assert len(sub) == 4 and sub.ids == validation_subset(data["valid"], 4).ids
    widths = [w for _, w in sub.sizes()]
    assert widths == sorted(widths)


def test_config_checks_and_round_trip():
    c = TrainConfig(minutes=2.5, val_subset=100)
    assert TrainConfig.from_dict(c.to_dict()) == c
    assert (c.lr, c.batch_size, c.teacher_forcing, c.patience, c.weight_decay) == (5e-4, 32, 0.8, 50, 0.0)
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig.from_dict({"learning_rate": 1})


# -- command line and benchmark ---------------------------------------------------------

def test_cli_trains_from_a_folder(data, tmp_path, capsys):
    from hwr.cli import main
    from hwr.training.cli import parse_override

    assert parse_override("gates=2") == ("gates", 2) and parse_override("norm=bn") == ("norm", "bn")
    write_gt_txt(tmp_path / "lines", {s: [(it.id, it.text, it.image) for it in data[s]] for s in ("train", "valid")})
    rc = main(["train", "ctc_baseline", "--data", str(tmp_path / "lines"), "--out", str(tmp_path / "run"),
               "--epochs", "1", "--batch-size", "8", "--threads", "1", "--no-progress", "-o", "ctc_hidden=16"])
    assert rc == 0
    assert '"stop_reason": "epochs"' in capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["epochs"] == 1 and metrics["overrides"] == {"ctc_hidden": 16}
    assert metrics["data"]["train"] == 16 and metrics["data"]["valid"] == 6


def test_bench_train_reports_both_implementations(monkeypatch):
    from hwr.bench import train as bench

    monkeypatch.setattr(bench, "NAIVE_WIDTH", 400)
    result = bench.bench_train(["gate_1"], batch_size=2, batches=1, warmup=0, source="random", lines=12,
                               threads=1, report=lambda s: None, overrides={"gate_1": TINY["gate_1"]})
    assert [r["variant"] for r in result["rows"]] == ["straightforward", "optimised"]
    assert result["rows"][0]["mean_width"] >= 400 and result["rows"][0]["decoder_steps"] == "98"
    assert [r["memory_format"] for r in result["rows"]] == ["contiguous", "channels_last"]
    assert result["ratios"]["gate_1"] > 0


def test_fine_tuning_starts_from_the_parents_best_weights(data, tmp_path, monkeypatch):
    from hwr.errors import CheckpointError

    parent = tmp_path / "parent-run"
    train("ctc_baseline", data, parent, config(epochs=1), **TINY["ctc_baseline"])
    best = load_checkpoint(parent / "checkpoints" / "best.pt")["model"]
    seen = {}
    real = engine.init_weights

    def spy(model, folder, experiment, overrides):
        real(model, folder, experiment, overrides)
        seen.update({k: v.clone() for k, v in model.state_dict().items()})

    monkeypatch.setattr(engine, "init_weights", spy)
    child = train("ctc_baseline", data, tmp_path / "child", config(epochs=1, init_from="parent-run"),
                  **TINY["ctc_baseline"])
    assert all(torch.equal(seen[k], v) for k, v in best.items())  # the child started where the parent ended
    assert child["config"]["init_from"] == "parent-run"
    assert "init_from" not in config().to_dict()  # runs without a parent keep their identity
    with pytest.raises(CheckpointError, match="train it first"):
        train("ctc_baseline", data, tmp_path / "orphan", config(epochs=1, init_from="no-such-run"),
              **TINY["ctc_baseline"])
    with pytest.raises(CheckpointError, match="another configuration"):
        train("ctc_baseline", data, tmp_path / "other", config(epochs=1, init_from="parent-run"), ctc_hidden=8)


def test_a_ctc_line_too_long_for_its_frames_is_counted_as_skipped_with_its_id(data, tmp_path, capsys):
    narrow = LineItem("too-long", np.full((24, 30), 200, np.uint8), "abc" * 12)  # 36 characters on 30 px
    train_set = MemoryDataset(list(data["train"].items) + [narrow], name="t")
    train("ctc_baseline", {"train": train_set, "valid": data["valid"]}, tmp_path,
          config(epochs=1, batch_size=17, max_skipped=0.5), **TINY["ctc_baseline"])
    assert [row["skipped"] for row in history(tmp_path)] == [1]  # it was "0": zero_infinity hid it
    assert "1 training lines skipped: too-long (its label needs 36 CTC frames" in capsys.readouterr().err


def test_a_seq2seq_line_longer_than_the_decoder_reads_is_left_out_and_named(data, tmp_path, capsys):
    import time

    huge = LineItem("huge", np.full((24, 60), 200, np.uint8), "ab " * 5000)  # 15,000 characters
    train_set = MemoryDataset(list(data["train"].items) + [huge], name="t")
    started = time.perf_counter()
    train("gate_1", {"train": train_set, "valid": data["valid"]}, tmp_path,
          config(epochs=1, batch_size=17, max_skipped=0.5), **TINY["gate_1"])
    assert time.perf_counter() - started < 60  # 15,000 decoder steps per batch took minutes
    assert [row["skipped"] for row in history(tmp_path)] == [1]
    assert "1 lines left out of training: huge (its text has 15000 characters" in capsys.readouterr().err


def test_a_finished_run_continued_and_interrupted_keeps_its_summary(data, tmp_path, monkeypatch):
    from hwr.training.engine import PREVIOUS_METRICS

    first = train("ctc_baseline", data, tmp_path, config(epochs=1), **TINY["ctc_baseline"])
    real_step = train_epoch.train_step

    def interrupted(*args, **kw):
        raise KeyboardInterrupt("Ctrl-C in the continued epoch")

    monkeypatch.setattr(train_epoch, "train_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train("ctc_baseline", data, tmp_path, config(epochs=2), **TINY["ctc_baseline"])
    kept = json.loads((tmp_path / PREVIOUS_METRICS).read_text())
    assert not (tmp_path / "metrics.json").exists() and kept["epochs"] == first["epochs"] == 1  # it was deleted
    monkeypatch.setattr(train_epoch, "train_step", real_step)
    assert train("ctc_baseline", data, tmp_path, config(epochs=2), **TINY["ctc_baseline"])["epochs"] == 2
