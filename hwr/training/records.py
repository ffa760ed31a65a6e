"""What a training run leaves beside its checkpoints.

* ``history.csv``: one row per epoch (a run stopped by its time budget in the
  middle of an epoch validates and records that partial epoch too; its
  ``lines`` column says how much of the epoch it trained).
* ``metrics.json``: the summary a chapter reads (best and last validation
  metrics, epochs, minutes, lines/s, device, why it stopped) and the run's
  identity (experiment, overrides, data, config) used by "load if present".
* ``run.json``: provenance (:func:`hwr.provenance.collect`: commit, versions,
  hardware, duration).

All three are written atomically (:mod:`hwr.files`). :func:`run_identity` says which settings
make two runs the same run; :func:`summarise` builds ``metrics.json``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from hwr.files import plain, read_json, write_json, write_text  # noqa: F401 - read_json re-exported
from hwr.models.io import codec_description
from hwr.provenance import collect
from hwr.training.config import EXECUTION_FIELDS

HISTORY_COLUMNS = ("epoch", "train_loss", "train_cer", "val_cer", "val_wer", "lines", "skipped", "val_lines",
                   "val_skipped", "lines_per_s", "seconds", "val_seconds", "elapsed", "lr", "partial",
                   # runs with val_every / aux_ctc (blank in earlier runs)
                   "steps", "aux_loss", "aux_infeasible")
_INT_COLUMNS = ("epoch", "lines", "skipped", "val_lines", "val_skipped", "partial", "steps", "aux_infeasible")


def write_history(path: Path, history: list[dict]) -> None:
    """Write the per-epoch rows as CSV (columns :data:`HISTORY_COLUMNS`)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in history:
        writer.writerow({k: _fmt(row.get(k)) for k in HISTORY_COLUMNS})
    write_text(path, buf.getvalue())


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
        out.append({k: (int(v) if k in _INT_COLUMNS else float(v)) if v != "" else None for k, v in row.items()})
    return out


def write_provenance(path: Path, params: dict, started: float, **extra) -> None:
    """``run.json`` from :func:`hwr.provenance.collect`."""
    write_json(path, collect(params, started, **extra))


def model_description(model_config: dict, family: str) -> dict:
    """The model part of a run's identity: every configuration field and the codec."""
    return {"config": dict(model_config), "codec": codec_description(family)}


def run_identity(experiment, overrides, model_desc, data_desc, config_dict) -> dict:
    """What makes two runs the same run: the model (experiment, overrides, and
    the full configuration and codec they stood for when it was trained, so a
    changed registry default makes it another run), the data and the
    result-deciding config."""
    result = {k: v for k, v in (config_dict or {}).items() if k not in EXECUTION_FIELDS}
    return plain({"experiment": experiment, "overrides": overrides, "model": model_desc, "data": data_desc,
                  "config": result})


def identity_of(metrics: dict) -> dict:
    """:func:`run_identity` of a finished run's ``metrics.json``."""
    return run_identity(metrics.get("experiment"), metrics.get("overrides"), metrics.get("model"),
                        metrics.get("data"), metrics.get("config", {}))


def summarise(state, experiment, overrides, data_desc, config, device, threads, stop, model, val_lines,
              model_desc: dict | None = None, skipped: dict | None = None) -> dict:
    """The ``metrics.json`` content of a run whose checkpoint state is ``state``.

    Args:
        model_desc: :func:`model_description` of the trained model.
        skipped: {"train", "valid": lines skipped in the last epoch,
            whether left out when the split was opened or unreadable;
            "files": [[source, reason], ...]}.
    """
    history = state["history"]
    best = next(r for r in history if r["epoch"] == state["best_epoch"])
    last = history[-1]
    keys = ("epoch", "val_cer", "val_wer", "val_skipped", "train_loss", "train_cer", "skipped")
    train_lines = sum(r["lines"] for r in history)
    train_seconds = sum(r["seconds"] for r in history)
    return plain({
        "experiment": experiment,
        "family": model.family,
        "overrides": dict(overrides),
        "data": data_desc,
        "config": config.to_dict(),
        "model": model_desc,
        "best": {k: best.get(k) for k in keys},
        "last": {k: last.get(k) for k in keys},
        "skipped": skipped or {"train": 0, "valid": 0, "files": []},
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
