"""The training loop: one entry point, :func:`train`, for both model families.

A run lives in a folder::

    <out>/checkpoints/last.pt   every epoch and when the time budget ends
    <out>/checkpoints/best.pt   the lowest validation CER so far
    <out>/history.csv           one row per epoch
    <out>/metrics.json          summary and identity of the finished run
    <out>/run.json              provenance (commit, versions, hardware)

Calling :func:`train` again on the same folder is always safe: a finished run
with the same identity (experiment, overrides, data, result-deciding config)
is returned without training ("load if present"); an unfinished one resumes
from ``last.pt`` with the model, optimiser and random states of its last
epoch, so a run killed at any moment loses at most one epoch, and on the CPU
a resumed run computes exactly what the uninterrupted run would have.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from tqdm import tqdm

from hwr.train import epoch as _epoch
from hwr.train.checkpoint import (check_resumable, load_checkpoint, rng_state, save_checkpoint, seed_everything,
                                  set_rng_state)
from hwr.train.config import TrainConfig, resolve_device, resolve_threads, setup_threads
from hwr.train.data import resolve_data, train_loader, valid_loader, validation_subset
from hwr.train.schedule import LRSchedule
from hwr.train.records import read_json, run_identity, summarise, write_history, write_json, write_provenance


def build_model(experiment: str, overrides: dict) -> torch.nn.Module:
    """``hwr.models.build`` (a separate function so tests can substitute tiny models)."""
    from hwr.models import build

    return build(experiment, **overrides)


def validate(model, loader) -> dict:
    """Greedy validation through :func:`hwr.evaluate.evaluate` (the project's
    one evaluation loop): {"cer", "wer", "lines", "seconds", ...}.

    Seq2seq decoding stops once every line emitted EOS (no legacy CER here:
    running all 98 steps would only slow validation down).
    """
    from hwr.evaluate import evaluate

    metrics, _ = evaluate(model, loader, progress=False, legacy=False)
    return metrics


def _stop_reason(state: dict, config: TrainConfig, elapsed: float, budget: float, reserve: float) -> str | None:
    if state["epoch"] >= config.epochs:
        return "epochs"
    if state["best_epoch"] and state["epoch"] - state["best_epoch"] >= config.patience:
        return "patience"
    if state["history"] and elapsed + reserve >= budget:
        return "minutes"
    return None


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
        "val_cer", "val_wer", ...}), "epochs", "minutes", "lines_per_s",
        "device", "stop_reason" ("epochs", "patience" or "minutes"), and the
        run's identity.
    """
    config = TrainConfig() if config is None else config
    started = time.time()
    out = Path(out_dir)
    ckpt_dir = out / "checkpoints"
    last_path, best_path = ckpt_dir / "last.pt", ckpt_dir / "best.pt"
    train_ds, valid_ds, data_desc = resolve_data(data)

    identity = run_identity(experiment, overrides, data_desc, config.to_dict())
    done = read_json(out / "metrics.json")
    if done and run_identity(done.get("experiment"), done.get("overrides"), done.get("data"), done.get("config", {})) == identity:
        tqdm.write(f"{experiment}: finished run found in {out}, not training again")
        return done

    (out / "metrics.json").unlink(missing_ok=True)  # a stale summary must not outlive the run it describes
    threads = resolve_threads(config)
    setup_threads(threads)
    device = resolve_device(config.device)
    seed_everything(config.seed)
    model = build_model(experiment, overrides).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()  # shape inference in build() may leave eval mode on
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = LRSchedule(optimizer, config)  # constant (thesis): leaves the optimiser alone
    state = {"epoch": 0, "history": [], "best_cer": math.inf, "best_epoch": 0, "elapsed": 0.0}
    if last_path.exists():
        ckpt = load_checkpoint(last_path)  # CPU: RNG states must stay there
        check_resumable(ckpt, experiment, overrides, data_desc, config, last_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        schedule.load_state_dict(ckpt.get("schedule"))
        set_rng_state(ckpt["rng"])
        state = {k: ckpt[k] for k in state}
        tqdm.write(f"{experiment}: resuming {out} after epoch {state['epoch']}")
    runner = torch.compile(model, dynamic=True) if config.compile else model

    height = model.input_height
    pin = device.startswith("cuda")
    loader = train_loader(train_ds, config, height, pin)
    subset = validation_subset(valid_ds, config.val_subset)
    vloader = valid_loader(subset, config, height, pin)
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

    stop = None
    while True:
        stop = _stop_reason(state, config, clock(), budget, reserve(0, 0))
        if stop:
            break
        epoch = state["epoch"] + 1
        stats = _epoch.train_epoch(runner, model.family, loader, optimizer, device, config, epoch, experiment,
                             lambda lines, secs: clock() + reserve(lines, secs) >= budget)
        val = validate(model, vloader)
        val_seconds = val["seconds"]
        state["epoch"] = epoch
        row = {"epoch": epoch, **stats, "val_cer": val["cer"], "val_wer": val["wer"], "val_seconds": val["seconds"],
               "elapsed": clock(), "lr": optimizer.param_groups[0]["lr"]}
        state["history"].append(row)
        improved = val["cer"] < state["best_cer"]  # strict: ties do not reset the patience
        if improved:
            state["best_cer"], state["best_epoch"] = val["cer"], epoch
        state["elapsed"] = clock()
        call_start = time.perf_counter()
        ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "experiment": experiment,
                "overrides": dict(overrides), "data": data_desc, "config": config.to_dict(), "rng": rng_state(),
                "schedule": schedule.state_dict(),
                **state}
        if improved:
            save_checkpoint(best_path, ckpt)
        save_checkpoint(last_path, ckpt)
        write_history(out / "history.csv", state["history"])
        tqdm.write(f"{experiment} epoch {epoch}: loss {row['train_loss']:.4f}, train CER {row['train_cer']:.2%}, "
                   f"val CER {val['cer']:.2%} (best {state['best_cer']:.2%} @ {state['best_epoch']}), "
                   f"{row['lines_per_s']:.1f} lines/s, {row['elapsed'] / 60:.1f} min")
        if stats["partial"]:
            stop = "minutes"
            break

    metrics = summarise(state, experiment, overrides, data_desc, config, device, threads, stop, model, len(subset))
    write_json(out / "metrics.json", metrics)
    write_provenance(out / "run.json", {"experiment": experiment, "overrides": dict(overrides), "data": data_desc,
                                        "config": config.to_dict()}, started, kind="train")
    return metrics


