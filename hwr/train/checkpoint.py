"""Checkpoints: atomic saving, random-state capture, loading a trained model.

A checkpoint is one ``torch.save`` of a dict of plain types and tensors, so it
loads with ``torch.load(weights_only=True)`` (no pickled classes)::

    {"model": state_dict, "optimizer": state_dict, "experiment": str,
     "overrides": dict, "data": dict (source, sizes, fingerprint),
     "epoch": int, "best_cer": float, "best_epoch": int,
     "history": [dict, ...], "config": dict, "elapsed": float (seconds),
     "rng": {"torch": ByteTensor, "cuda": [ByteTensor, ...],
             "numpy": {...}, "python": [...]}}

Files are written to a temporary name in the same folder and renamed with
``os.replace``, so a run killed at any moment leaves either the previous or
the new checkpoint, never a torn one. :func:`check_resumable` refuses to continue a checkpoint
of another experiment, data set or recipe (budgets and execution details may
change between calls).
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch


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


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` then rename the result onto ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path: str | os.PathLike, checkpoint: dict) -> None:
    """``torch.save`` ``checkpoint`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


def load_checkpoint(path: str | os.PathLike, device: str = "cpu") -> dict:
    """Load a checkpoint dict safely (``weights_only=True``).

    Raises:
        FileNotFoundError: naming ``path`` when it does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=device, weights_only=True)


def check_resumable(ckpt: dict, experiment, overrides, data_desc, config, path: Path) -> None:
    """Refuse to continue a checkpoint written for another model, data or recipe."""
    from hwr.train.config import RESUMABLE_FIELDS
    from hwr.train.records import plain

    problems = []
    if ckpt.get("experiment") != experiment:
        problems.append(f"experiment {ckpt.get('experiment')!r} != {experiment!r}")
    if plain(ckpt.get("overrides", {})) != plain(overrides):
        problems.append(f"overrides {ckpt.get('overrides')} != {overrides}")
    if "data" in ckpt and plain(ckpt["data"]) != plain(data_desc):
        problems.append(f"data {ckpt['data']} != {data_desc}")
    old = ckpt.get("config", {})
    for key, value in config.to_dict().items():
        if key not in RESUMABLE_FIELDS and key in old and plain(old[key]) != plain(value):
            problems.append(f"config.{key} {old[key]!r} != {value!r}")
    if problems:
        raise ValueError(f"cannot resume from {path}: it belongs to another run ({'; '.join(problems)}); "
                         f"use another out_dir or delete {path.parent}")


def load_model(path: str | os.PathLike, device: str = "cpu") -> torch.nn.Module:
    """Rebuild the trained model stored in checkpoint ``path``, in eval mode.

    ``hwr.models.build(experiment, **overrides)`` then ``load_state_dict``.
    Accepts a checkpoint file or a run folder (then its ``checkpoints/best.pt``).
    """
    from hwr.models import build

    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "best.pt"
    ckpt = load_checkpoint(path, device)
    model = build(ckpt["experiment"], **ckpt.get("overrides", {}))
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval()
