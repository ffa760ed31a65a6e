"""The training loop: one entry point, :func:`train`, for both model families.

A run lives in a folder::

    <out>/checkpoints/last.pt       every epoch and when the time budget ends
    <out>/checkpoints/last.prev.pt  the one before (a fallback if last.pt proves torn)
    <out>/checkpoints/best.pt       the lowest validation CER so far
    <out>/history.csv               one row per epoch (lines trained and skipped)
    <out>/metrics.json              summary and identity of the finished run
    <out>/run.json                  provenance (commit, versions, hardware)
    <out>/train.lock                the lock of the process writing the run

Calling :func:`train` again on the same folder is always safe: a finished run
with the same identity (experiment, overrides, data, result-deciding config)
is returned without training ("load if present"); an unfinished one resumes
from ``last.pt`` with the model, optimiser and random states of its last
epoch, so a run killed at any moment loses at most one epoch, and on the CPU
a resumed run computes exactly what the uninterrupted run would have.

What is refused, and when. The folder is checked (writable, not under a
file) and locked against a second writer before anything else; whether it is
resumable or new is decided before anything in it is removed, so a refused
call leaves a finished run as it was. A split with no line, an epoch that
trained none, a validation that scored none, or more than
``TrainConfig.max_skipped`` of a split's lines skipped (left out when opened,
or unreadable when loaded) stops the run with the files named: a loss or CER
over the lines that happened to load would look like a result and is not.

One run on several processes. ``torchrun --nproc_per_node N -m hwr.training
EXPERIMENT --data ... --out DIR [options]`` starts N processes that train one
model with DistributedDataParallel (gloo on the CPU, nccl with CUDA, where
rank r uses ``cuda:LOCAL_RANK``; :mod:`hwr.training.distributed`). All ranks
seed alike, so they build the same weights and the same global batches of
``batch_size`` lines; each steps on its strided share of every global batch
(:class:`hwr.datasets.sampler.ShardedBatchSampler`), padded to the global
batch's width and decoder steps, with a loss weight that makes DDP's gradient
average that of the global batch's per-line mean loss: without dropout or
batch norm, N processes compute what one process computes on the same
batches (up to rounding; a global batch smaller than N, at most one per
epoch, is dropped). Rank 0 alone holds the lock, reads and writes the folder
(checkpoints, history, metrics, run.json) and validates; the others receive
its results, and the time budget's decisions are agreed, so that no rank
waits forever. The history's losses and training CERs are over all ranks'
lines. Resuming is the same command again (any N): rank 0 reads the
checkpoint and hands it to the others; each rank continues its own random
stream when the checkpoint holds one for each of N ranks. Caveats: with
dropout, the ranks' equal-shaped shares draw the same masks (same seed and
stream; the streams are re-joined after an uneven last batch, so that the
seq2seq teacher-forcing draws stay common), where one process draws one mask
per line; BatchNorm models normalise with per-rank batch statistics;
``threads=0`` gives each process its share of the cores.
"""

from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from hwr.errors import CheckpointError, RunFolderError
from hwr.evaluation import check_skipped, dataset_skipped, evaluate
from hwr.evaluation.core import list_sources
from hwr.files import RunLock, prepare_folder
from hwr.models import build
from hwr.models.backbone import min_input_width
from hwr.models.io import check_config, describe, load_checkpoint
from hwr.models.registry import MODELS, config_dict, model_config
from hwr.training import distributed
from hwr.training import epoch as _epoch
from hwr.training.checkpoint import (check_resumable, resume_point, rng_state, save_checkpoint, save_last,
                                     seed_everything, set_rng_state)
from hwr.training.config import TrainConfig, resolve_device, resolve_threads, setup_threads
from hwr.training.data import resolve_data, train_loader, valid_loader, validation_subset, without_undecodable
from hwr.training.losses import AuxCTC
from hwr.training.records import (identity_of, model_description, read_json, run_identity, summarise, write_history,
                                  write_json, write_provenance)
from hwr.training.schedule import LRSchedule
from hwr.training.version import ENGINE_VERSION

#: where the summary of a finished run goes when training continues it
PREVIOUS_METRICS = "metrics.previous.json"


def build_model(experiment: str, overrides: dict) -> torch.nn.Module:
    """``hwr.models.build`` (a separate function so tests can substitute tiny models)."""
    return build(experiment, **overrides)


def init_weights(model: torch.nn.Module, parent: Path, experiment: str, overrides: dict) -> None:
    """Load the best weights of the finished run in folder ``parent`` into ``model`` (fine-tuning).

    Raises:
        CheckpointError: the parent has no best checkpoint (train it first), or
            holds another model configuration than ``experiment`` with ``overrides``.
    """
    path = parent / "checkpoints" / "best.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: init_from needs the finished run {parent.name} (and its checkpoint) in the "
                              f"same store; train it first")
    ckpt = load_checkpoint(path)
    check_config(ckpt, experiment, overrides, path)
    model.load_state_dict(ckpt["model"])


def validate(model, loader, max_skipped: float = 0.01, name: str = "validation split") -> dict:
    """Greedy validation through :func:`hwr.evaluation.evaluate` (the project's
    one evaluation loop): {"cer", "wer", "lines", "skipped", "seconds", ...}.

    Seq2seq decoding stops once every line emitted EOS (no legacy CER here:
    running all 98 steps would only slow validation down).

    Raises:
        EmptyScoreError: no validation line could be read, or more than
            ``max_skipped`` of them failed (naming the files).
    """
    metrics, _ = evaluate(model, loader, progress=False, legacy=False, max_skipped=max_skipped, name=name)
    return metrics


def _stop_reason(state: dict, config: TrainConfig, elapsed: float, budget: float, reserve: float) -> str | None:
    if config.budget_steps and state["steps"] >= config.budget_steps:
        return "lines"
    if state["epoch"] >= config.epochs:
        return "epochs"
    if state["best_epoch"] and state["epoch"] - state["best_epoch"] >= config.patience:
        return "patience"
    if state["history"] and elapsed + reserve >= budget:
        return "minutes"
    return None


def _same_engine(metrics: dict) -> bool:
    """Whether a finished run's ``metrics.json`` was written by this training engine
    (runs from before the engine was recorded are engine 1)."""
    return metrics.get("engine", 1) == ENGINE_VERSION


def _split_name(data_desc: dict, split: str) -> str:
    source = data_desc["source"]
    return f"{split} split of {source.get(split) if isinstance(source, dict) else source}"


def _open_folder(out: Path, identity: dict) -> tuple[RunLock | None, dict | None]:
    """Lock ``out`` for this process, or return the finished run it already holds.

    Returns:
        (the held lock, None), or (None, metrics) for a finished run with
        ``identity`` in a folder this process may not write (published results).

    Raises:
        RunFolderError: ``out`` is under a file, not writable, or locked by
            another process (naming its pid).
    """
    try:
        prepare_folder(out)
    except RunFolderError:
        done = read_json(out / "metrics.json")
        if done and identity_of(done) == identity and _same_engine(done):
            return None, done
        raise
    return RunLock(out).acquire(), None


def train(experiment: str, data, out_dir, config: TrainConfig | None = None, **overrides) -> dict:
    """Train ``experiment`` on ``data`` into ``out_dir``; return its metrics.

    Args:
        experiment: a registry name of :mod:`hwr.models` (e.g. "gate_1", "ctc_baseline").
        data: a source for :func:`hwr.datasets.open_dataset` ("synth",
            "synth:smoke", a path) or a dict {"train": dataset, "valid": dataset}.
        out_dir: the run folder (created; reused, resumed or returned as
            described in the module docstring).
        config: :class:`TrainConfig` (thesis defaults when None).
        **overrides: model overrides passed to ``hwr.models.build``.

    Returns:
        the content of ``metrics.json``: "best" and "last" ({"epoch",
        "val_cer", "val_wer", "val_skipped", ...}), "epochs", "minutes",
        "lines_per_s", "device", "stop_reason" ("epochs", "patience" or
        "minutes"), "skipped" (lines of each split skipped in the last epoch,
        and their files), and the run's identity.

    Raises:
        RunFolderError: ``out_dir`` cannot be written (under a file, read
            only, disk full) or is in use by another process, or holds
            another run (it is left as it is).
        CheckpointError: its checkpoints are unreadable, or hold another
            model configuration.
        EmptyScoreError: a split has no usable line, an epoch trained none,
            or more than ``config.max_skipped`` of a split's lines were
            skipped (the message lists the files).
    """
    config = TrainConfig() if config is None else config
    started = time.time()
    out = Path(out_dir)
    ctx, device = distributed.init(resolve_device(config.device))
    try:
        if ctx.enabled and config.batch_size < ctx.world_size:
            raise RunFolderError(f"{out}: batch_size {config.batch_size} cannot be shared out over "
                                 f"{ctx.world_size} processes (use at least one line per process)")
        train_ds, valid_ds, data_desc = resolve_data(data)
        asked = config_dict(model_config(experiment, **overrides))
        model_desc = model_description(asked, asked["family"])
        identity = run_identity(experiment, overrides, model_desc, data_desc, config.to_dict())

        held = []  # rank 0's lock of the run folder (the other ranks never touch the folder)

        def open_folder():
            lock, done = _open_folder(out, identity)
            held.append(lock)
            return done

        done = distributed.on_main(ctx, open_folder)
        if done is not None:
            if ctx.is_main:
                tqdm.write(f"{experiment}: finished run found in {out} (read only), not training again")
            return done
        try:
            return _train_locked(experiment, overrides, config, out, train_ds, valid_ds, data_desc, model_desc,
                                 identity, started, ctx, device)
        finally:
            if held and held[0] is not None:
                held[0].release()
    finally:
        distributed.teardown(ctx)


def _prepare_folder(experiment, overrides, config, out, train_ds, valid_ds, data_desc, model_desc,
                    identity) -> tuple[dict | None, dict | None, Path | None]:
    """The held run folder's state: (finished metrics, None, None) for a
    finished run with ``identity``, else (None, checkpoint to resume or None,
    its path), with the folder made ready for training. Rank 0 only."""
    ckpt_dir = out / "checkpoints"
    done = read_json(out / "metrics.json")
    if done and identity_of(done) == identity and _same_engine(done):
        tqdm.write(f"{experiment}: finished run found in {out}, not training again")
        return done, None, None

    # Decide whether the folder is resumable or new before anything in it is
    # touched: a refused call must leave a finished run as it found it.
    resume = resume_point(ckpt_dir)
    ckpt = ckpt_path = None
    if resume is not None:
        ckpt, ckpt_path = resume
        check_resumable(ckpt, experiment, overrides, model_desc["config"], data_desc, config, ckpt_path)
    elif done:
        theirs = identity_of(done)
        differ = ", ".join([k for k in identity if identity[k] != theirs.get(k)]
                           + ([] if _same_engine(done) else [f"training engine {done.get('engine', 1)}, this is "
                                                             f"{ENGINE_VERSION}"]))
        raise RunFolderError(f"{out}: holds another finished run (different {differ}) and no checkpoint to "
                             "continue; use another output folder or delete it")
    train_name, valid_name = _split_name(data_desc, "train"), _split_name(data_desc, "valid")
    check_skipped(train_name, len(train_ds), dataset_skipped(train_ds), config.max_skipped, task="train on")
    check_skipped(valid_name, len(valid_ds), dataset_skipped(valid_ds), config.max_skipped, task="validate on")
    # Resumable or new: a summary of an earlier state must not pass for this run's, but it is
    # kept aside (a finished run continued with a larger budget and then interrupted would
    # otherwise lose the summary of what it had finished).
    if (out / "metrics.json").exists():
        os.replace(out / "metrics.json", out / PREVIOUS_METRICS)
    ckpt_dir.mkdir(exist_ok=True)
    return None, ckpt, ckpt_path


def _train_locked(experiment, overrides, config, out, train_ds, valid_ds, data_desc, model_desc, identity,
                  started, ctx=distributed.SINGLE, device=None) -> dict:
    """:func:`train` once rank 0 holds the run folder's lock (and every rank
    reached this point)."""
    ckpt_dir = out / "checkpoints"
    # Rank 0 alone reads and prepares the folder; the others get the
    # checkpoint to resume from it (so the folder need not be shared).
    done, ckpt, ckpt_path = distributed.on_main(ctx, lambda: _prepare_folder(
        experiment, overrides, config, out, train_ds, valid_ds, data_desc, model_desc, identity))
    if done is not None:
        return done
    resume = None if ckpt is None else (ckpt, ckpt_path)
    train_name, valid_name = _split_name(data_desc, "train"), _split_name(data_desc, "valid")
    train_skipped, valid_skipped = dataset_skipped(train_ds), dataset_skipped(valid_ds)
    train_ds, undecodable = without_undecodable(train_ds, MODELS[experiment].family)
    if undecodable:
        train_skipped = list(train_skipped) + undecodable
        if ctx.is_main:
            print(f"{train_name}: {len(undecodable)} lines left out of training: {list_sources(undecodable)}",
                  file=sys.stderr)
        check_skipped(train_name, len(train_ds), train_skipped, config.max_skipped, task="train on")

    threads = resolve_threads(config)
    if ctx.enabled and not config.threads:  # the processes of a machine share its cores
        threads = max(1, threads // ctx.local_world_size)
    setup_threads(threads)
    device = resolve_device(config.device) if device is None else device
    seed_everything(config.seed)  # the same on every rank: same initial weights, batch order, draws
    model = build_model(experiment, overrides).to(device)  # channels-last weights (hwr.models.build)
    model.train()  # shape inference in build() may leave eval mode on
    aux = None
    if config.aux_ctc:  # training-only head: drawn after the model, so the model's weights are the same
        if ctx.enabled:
            raise RunFolderError(f"{out}: aux_ctc is not supported with several processes (its head calls the "
                                 "model outside DistributedDataParallel); train it in one process")
        aux = AuxCTC(model, config.aux_ctc).to(device)
    params = list(model.parameters()) + (list(aux.head.parameters()) if aux is not None else [])
    optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    schedule = LRSchedule(optimizer, config)  # constant (thesis): leaves the optimiser alone
    # steps: optimiser steps so far; position: where a run with val_every takes its next batch
    state = {"epoch": 0, "history": [], "best_cer": math.inf, "best_epoch": 0, "elapsed": 0.0, "steps": 0,
             "position": None}
    if config.init_from and resume is None:  # fine-tuning: a finished run's best weights, not random ones
        init_weights(model, out.parent / config.init_from, experiment, overrides)
    if resume is not None:
        if ckpt.get("engine", 1) != ENGINE_VERSION:
            raise RunFolderError(f"{ckpt_path}: written by training engine {ckpt.get('engine', 1)}, this is engine "
                                 f"{ENGINE_VERSION} (hwr/training/version.py): it cannot be resumed as the same run; "
                                 "delete the folder or use another one")
        try:
            model.load_state_dict(ckpt["model"])
            if aux is not None:
                aux.head.load_state_dict(ckpt["aux_head"])
            optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{ckpt_path}: its weights do not fit {experiment} "
                                  f"({str(e).splitlines()[0]})") from None
        try:
            schedule.load_state_dict(ckpt.get("schedule"))
        except ValueError as e:
            raise RunFolderError(f"{ckpt_path}: cannot resume under another learning-rate schedule ({e}); "
                                 f"use another out folder") from None
        # Each rank continues its own random stream when the checkpoint has
        # one per rank for this many ranks, else rank 0's (all start equal).
        ranks = ckpt.get("rng_ranks")
        set_rng_state(ranks[ctx.rank] if ranks and len(ranks) == ctx.world_size else ckpt["rng"])
        state = {k: ckpt.get(k, v) for k, v in state.items()}  # steps, position: absent before they existed
        if ctx.is_main:
            tqdm.write(f"{experiment}: resuming {out} after epoch {state['epoch']}")
    runner = distributed.wrap(ctx, model, device)
    runner = torch.compile(runner, dynamic=True) if config.compile else runner

    height = model.input_height
    pin = device.startswith("cuda")
    narrowest = min_input_width(model)  # short lines are padded to what the gate blocks need
    loader = train_loader(train_ds, config, height, pin, shard=(ctx.rank, ctx.world_size) if ctx.enabled else None,
                          min_width=narrowest)
    subset = validation_subset(valid_ds, config.val_subset)
    vloader = valid_loader(subset, config, height, pin, min_width=narrowest)
    call_start = time.perf_counter()
    clock = lambda: state["elapsed"] + time.perf_counter() - call_start  # noqa: E731 - run time incl. resumes
    budget = config.minutes * 60 if config.minutes else math.inf
    val_seconds = state["history"][-1]["val_seconds"] if state["history"] else None

    def reserve(lines: int, seconds: float) -> float:
        """Time to keep for the closing validation: the last one's duration,
        or a guess from the training speed (a forward pass is about a third of
        a training step; padding and decoding make it a half)."""
        if val_seconds is not None:
            return val_seconds
        return len(subset) / max(lines / max(seconds, 1e-6), 1e-6) / 2 if lines else 0.0

    stream = _epoch.BatchStream(loader, state["position"]) if config.val_steps else None
    stop = None
    while True:
        # Rank 0's clock decides for every rank.
        stop = distributed.broadcast(ctx, _stop_reason(state, config, clock(), budget, reserve(0, 0)))
        if stop:
            break
        epoch = state["epoch"] + 1
        steps = None
        if stream is not None:  # a validation period of val_every lines, cut at the lines budget
            steps = config.val_steps
            if config.budget_steps:
                steps = min(steps, config.budget_steps - state["steps"])
        stats = _epoch.train_epoch(runner, model.family, loader, optimizer, device, config, epoch, experiment,
                                   lambda lines, secs: clock() + reserve(lines, secs) >= budget, ctx,
                                   stream=stream, steps=steps, aux=aux, step0=state["steps"])
        state["steps"] += stats["steps"]
        if stream is not None:
            state["position"] = stream.position
        # Unreadable training images: an epoch over none of them is no epoch,
        # and one over a few of them is refused above the tolerance.
        skipped_lines = stats.pop("skipped_lines")
        check_skipped(f"{train_name}, epoch {epoch}", stats["lines"], skipped_lines, config.max_skipped,
                      task="train on")
        if skipped_lines and ctx.is_main:  # tolerated, but never silently: which lines, and why
            print(f"{train_name}, epoch {epoch}: {len(skipped_lines)} training lines skipped: "
                  f"{list_sources(skipped_lines)}", file=sys.stderr)
        # Rank 0 validates the unwrapped model (the same weights on every
        # rank); the others wait for its scores.
        val = distributed.on_main(ctx, lambda: validate(model, vloader, max_skipped=config.max_skipped,
                                                        name=valid_name))
        val_seconds = val["seconds"]
        state["epoch"] = epoch
        row = {"epoch": epoch, **stats, "skipped": len(train_skipped) + stats["skipped"],
               "val_cer": val["cer"], "val_wer": val["wer"], "val_lines": val.get("lines"),
               "val_skipped": len(valid_skipped) + val.get("skipped", 0), "val_seconds": val["seconds"],
               "elapsed": clock(), "lr": optimizer.param_groups[0]["lr"], "steps": state["steps"]}
        state["history"].append(row)
        improved = val["cer"] < state["best_cer"]  # strict: ties do not reset the patience
        if improved:
            state["best_cer"], state["best_epoch"] = val["cer"], epoch
        state["elapsed"] = clock()
        call_start = time.perf_counter()
        rngs = distributed.gather_objects(ctx, rng_state()) if ctx.enabled else None
        if ctx.is_main:
            ckpt = {"model": model.state_dict(), **describe(model), "overrides": dict(overrides),
                    "optimizer": optimizer.state_dict(), "data": data_desc, "config": config.to_dict(),
                    "rng": rng_state(), "schedule": schedule.state_dict(), "engine": ENGINE_VERSION, **state}
            if aux is not None:  # the training-only head, for resuming (never part of the model)
                ckpt["aux_head"] = aux.head.state_dict()
            if rngs is not None:
                ckpt["rng_ranks"] = rngs
            if improved:
                save_checkpoint(ckpt_dir / "best.pt", ckpt)
            save_last(ckpt_dir, ckpt)
            write_history(out / "history.csv", state["history"])
            skipped = (f", {row['skipped']} + {row['val_skipped']} lines skipped"
                       if row["skipped"] or row["val_skipped"] else "")
            tqdm.write(f"{experiment} epoch {epoch}: loss {row['train_loss']:.4f}, train CER {row['train_cer']:.2%}, "
                       f"val CER {val['cer']:.2%} (best {state['best_cer']:.2%} @ {state['best_epoch']}), "
                       f"{row['lines_per_s']:.1f} lines/s, {row['elapsed'] / 60:.1f} min{skipped}")
        distributed.barrier(ctx)  # the checkpoint is written before any rank goes on (or stops)
        if stats["partial"]:
            stop = "minutes"
            break

    last = state["history"][-1]
    # Each rank's loader saw the lines of its shares only.
    bad = [b for part in distributed.gather_objects(ctx, list(getattr(loader, "bad_items", []))) for b in part]
    failed = [(b.source, b.error) for b in [*bad, *getattr(vloader, "bad_items", [])]]
    skipped = {"train": last.get("skipped", 0), "valid": last.get("val_skipped", 0),
               "files": [list(x) for x in [*train_skipped, *valid_skipped, *failed]]}
    def finish() -> dict:
        metrics = summarise(state, experiment, overrides, data_desc, config, device, threads, stop, model,
                            len(subset), model_desc=model_desc, skipped=skipped)
        if ctx.enabled:
            metrics["processes"] = ctx.world_size
        metrics["engine"] = ENGINE_VERSION
        if config.lines:  # a lines budget cut by the minutes cap is not a finished run of that budget
            metrics["capped"] = stop != "lines"
        write_json(out / "metrics.json", metrics)
        write_provenance(out / "run.json", {"experiment": experiment, "overrides": dict(overrides),
                                            "data": data_desc, "config": config.to_dict()}, started, kind="train")
        return metrics

    return distributed.on_main(ctx, finish)
