"""Training checkpoints: random-state capture, resuming, and what may be resumed.

A training checkpoint is a model file of :mod:`hwr.models.io` (weights,
experiment, overrides, full model configuration, codec) plus what resuming
needs, all plain types and tensors (``torch.load(weights_only=True)``)::

    {"model": state_dict, "experiment": str, "overrides": dict,
     "model_config": dict, "codec": dict,
     "optimizer": state_dict, "data": dict (source, sizes, fingerprint),
     "epoch": int, "best_cer": float, "best_epoch": int,
     "history": [dict, ...], "config": dict, "elapsed": float (seconds),
     "rng": {"torch": ByteTensor, "cuda": [ByteTensor, ...],
             "numpy": {...}, "python": [...]}}

Files are written atomically (:mod:`hwr.files`), and each new ``last.pt``
first moves the previous one to ``last.prev.pt``: a ``last.pt`` found empty or
truncated (a power cut before the disk flushed it) falls back to that one, or
to ``best.pt``, with a warning (:func:`resume_point`). :func:`check_resumable`
refuses to continue a checkpoint of another model, data set or recipe
(budgets and execution details may change between calls).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import numpy as np
import torch

from hwr.errors import CheckpointError, RunFolderError
from hwr.files import plain
from hwr.models.io import config_differences, load_checkpoint, save_checkpoint
from hwr.models.registry import LATER_DEFAULTS as MODEL_LATER
from hwr.training.config import LATER_DEFAULTS, RESUMABLE_FIELDS

log = logging.getLogger(__name__)

LAST, PREVIOUS, BEST = "last.pt", "last.prev.pt", "best.pt"


def rng_state() -> dict:
    """The torch, CUDA, numpy and Python random states as plain types."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"name": name, "keys": keys.tolist(), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": [version, list(internal), gauss_next],
    }


def set_rng_state(state: dict) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n["name"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA), numpy and Python's ``random``."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def save_last(ckpt_dir: Path, checkpoint: dict) -> None:
    """Write ``last.pt``, keeping the previous one as ``last.prev.pt``."""
    save_checkpoint(ckpt_dir / LAST, checkpoint, keep_previous=ckpt_dir / PREVIOUS)


def resume_point(ckpt_dir: Path) -> tuple[dict, Path] | None:
    """The checkpoint to resume from and its path: ``last.pt``, else
    ``last.prev.pt``, else ``best.pt`` (the first that loads), or None for a new run.

    Falling back logs one warning line saying which file was unusable and
    which one the run continues from.

    Raises:
        CheckpointError: when checkpoints exist but none can be read (one
            line: which file, why, and what to do).
    """
    candidates = [ckpt_dir / name for name in (LAST, PREVIOUS, BEST)]
    if not any(p.exists() for p in candidates):
        return None
    problems = []
    for path in candidates:
        if not path.exists():
            problems.append(f"{path}: missing")
            continue
        try:
            ckpt = load_checkpoint(path)  # CPU: the random states must stay there
        except CheckpointError as e:
            problems.append(str(e))
            continue
        if path.name != LAST:
            log.warning("%s; resuming from %s (epoch %s) instead", problems[0], path.name, ckpt.get("epoch"))
        return ckpt, path
    raise CheckpointError(f"{problems[0]}, and no earlier checkpoint in {ckpt_dir} is usable; "
                          f"move or delete {ckpt_dir.parent} to train from the start")


def check_resumable(ckpt: dict, experiment, overrides, model_config: dict, data_desc, config, path: Path) -> None:
    """Refuse to continue a checkpoint written for another model, data or recipe.

    Args:
        model_config: the full configuration of the model about to be trained
            (``dataclasses.asdict``).

    Raises:
        CheckpointError: the checkpoint holds another model configuration
            (every differing field named), or none (an older version).
        RunFolderError: it belongs to another run (experiment, overrides,
            data or result-deciding config differ).
    """
    problems = []
    if ckpt.get("experiment") != experiment:
        problems.append(f"experiment {ckpt.get('experiment')!r} != {experiment!r}")
    if plain(ckpt.get("overrides", {})) != plain(overrides):
        problems.append(f"overrides {ckpt.get('overrides')} != {overrides}")
    if "data" in ckpt and plain(ckpt["data"]) != plain(data_desc):
        problems.append(f"data {ckpt['data']} != {data_desc}")
    old, new = ckpt.get("config", {}), config.to_dict()
    later = {k: v for k, v in LATER_DEFAULTS.items() if k in old or k in new}  # absent = its default
    for key in sorted(set(new) | set(later)):
        value = new.get(key, LATER_DEFAULTS.get(key))
        was = old.get(key, later.get(key)) if key in old or key in later else None
        if key not in RESUMABLE_FIELDS and (key in old or key in later) and plain(was) != plain(value):
            problems.append(f"config.{key} {was!r} != {value!r}")
    if problems:
        raise RunFolderError(f"cannot resume from {path}: it belongs to another run ({'; '.join(problems)}); "
                             f"use another output folder or delete {path.parent.parent}")
    if "model_config" not in ckpt:
        raise CheckpointError(f"cannot resume from {path}: it does not record its model configuration "
                              f"(written by an older hwr); delete {path.parent.parent} to train again")

    # fields added later are absent from the identity at their default, present in the checkpoint
    stored = {k: v for k, v in ckpt["model_config"].items() if not (k in MODEL_LATER and v == MODEL_LATER[k])}
    diff = config_differences(stored, model_config)
    if diff:
        raise CheckpointError(f"cannot resume from {path}: built for another {experiment} configuration "
                              f"({'; '.join(diff)}; stored != asked); use another output folder or delete "
                              f"{path.parent.parent}")
