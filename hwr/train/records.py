"""What a training run leaves beside its checkpoints.

* ``history.csv``: one row per epoch (a run stopped by its time budget in the
  middle of an epoch validates and records that partial epoch too; its
  ``lines`` column says how much of the epoch it trained).
* ``metrics.json``: the summary a chapter reads (best and last validation
  metrics, epochs, minutes, lines/s, device, why it stopped) and the run's
  identity (experiment, overrides, data, config) used by "load if present".
* ``run.json``: provenance (:func:`hwr.provenance.collect`: commit, versions,
  hardware, duration).

All three are written atomically. :func:`run_identity` says which settings
make two runs the same run; :func:`summarise` builds ``metrics.json``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from hwr.train.checkpoint import atomic_write
from hwr.train.config import EXECUTION_FIELDS

HISTORY_COLUMNS = ("epoch", "train_loss", "train_cer", "val_cer", "val_wer", "lines", "lines_per_s",
                   "seconds", "val_seconds", "elapsed", "lr", "partial")


def _write_text(path: Path, text: str) -> None:
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    atomic_write(path, write)


def write_history(path: Path, history: list[dict]) -> None:
    """Write the per-epoch rows as CSV (columns :data:`HISTORY_COLUMNS`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(row.get(k)) for k in HISTORY_COLUMNS})
    _write_text(path, buf.getvalue())


def _fmt(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else value


def read_history(path: Path) -> list[dict]:
    """Read ``history.csv`` back (numbers as floats, epoch and lines as ints)."""
    with open(path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        out.append({k: (int(v) if k in ("epoch", "lines", "partial") else float(v)) if v != "" else None for k, v in row.items()})
    return out


def write_json(path: Path, data: dict) -> None:
    """Pretty JSON, atomically; NaN and infinities become null."""
    _write_text(path, json.dumps(_clean(data), indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> dict | None:
    """The JSON object at ``path``, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def plain(value):
    """``value`` as it reads back from JSON (tuples -> lists), for comparisons."""
    return json.loads(json.dumps(_clean(value)))


def write_provenance(path: Path, params: dict, started: float, **extra) -> None:
    """``run.json`` from :func:`hwr.provenance.collect`."""
    from hwr.provenance import collect

    write_json(path, collect(params, started, **extra))


def run_identity(experiment, overrides, data_desc, config_dict) -> dict:
    """What makes two runs the same run: model, data and the result-deciding config."""
    result = {k: v for k, v in config_dict.items() if k not in EXECUTION_FIELDS}
    return plain({"experiment": experiment, "overrides": overrides, "data": data_desc, "config": result})


def summarise(state, experiment, overrides, data_desc, config, device, threads, stop, model, val_lines) -> dict:
    """The ``metrics.json`` content of a run whose checkpoint state is ``state``."""
    history = state["history"]
    best = next(r for r in history if r["epoch"] == state["best_epoch"])
    last = history[-1]
    keys = ("epoch", "val_cer", "val_wer", "train_loss", "train_cer")
    train_lines = sum(r["lines"] for r in history)
    train_seconds = sum(r["seconds"] for r in history)
    return plain({
        "experiment": experiment,
        "family": model.family,
        "overrides": dict(overrides),
        "data": data_desc,
        "config": config.to_dict(),
        "best": {k: best[k] for k in keys},
        "last": {k: last[k] for k in keys},
        "epochs": len(history),
        "partial_last_epoch": bool(last["partial"]),
        "stop_reason": stop,
        "minutes": state["elapsed"] / 60,
        "train_minutes": train_seconds / 60,
        "lines_per_s": train_lines / max(train_seconds, 1e-9),
        "trained_lines": train_lines,
        "val_lines": val_lines,
        "device": device,
        "threads": threads,
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "checkpoints": {"best": "checkpoints/best.pt", "last": "checkpoints/last.pt"},
    })
