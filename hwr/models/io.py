"""Model files: what a checkpoint holds, saving it, and rebuilding a model from it.

A checkpoint is one ``torch.save`` of a dict of plain types and tensors, so it
loads with ``torch.load(weights_only=True)`` (a file holding pickled Python
objects is refused, never run). It describes what it holds::

    {"model": state_dict,
     "experiment": str,            registry name, for display
     "overrides": dict,            what the experiment was asked with
     "architecture": str,          which configuration class (absent: "thesis")
     "model_config": dict,         every field of that class (dataclasses.asdict)
     "codec": {"family": str, "symbols": [str, ... 81]},
     ...}                          training adds optimizer, rng, history, ...

:func:`load_model` rebuilds the model from the stored ``model_config`` (not
from the registry's defaults of today, which may have changed since), checks
the codec against this version's alphabet, and turns every way a file can be
wrong (missing, empty, truncated, foreign, a refused pickle, weights that do
not fit, another configuration than the one asked for) into a one-line
:class:`~hwr.errors.CheckpointError` naming the file.

Checkpoints written before the configuration was stored are rebuilt from the
registry, with a warning; if the registry has changed since, their weights do
not fit and that is a CheckpointError too.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import pickle
from pathlib import Path

import torch

from hwr.codec import SYMBOLS
from hwr.errors import CheckpointError
from hwr.files import atomic_write_bytes
from hwr.models.registry import ARCHITECTURES, architecture_of, from_config, model_config

log = logging.getLogger(__name__)


def codec_description(family: str) -> dict:
    """The alphabet a model of ``family`` reads and writes: index -> symbol
    ("" for the special tokens), as stored in checkpoints and run identities."""
    return {"family": family, "symbols": list(SYMBOLS)}


def describe(model) -> dict:
    """What a checkpoint of ``model`` says about it: experiment, overrides,
    full configuration, its architecture and codec (plain types only)."""
    return {
        "experiment": getattr(model, "experiment", ""),
        "overrides": dict(getattr(model, "overrides", {})),
        "architecture": architecture_of(model.config),
        "model_config": dataclasses.asdict(model.config),
        "codec": codec_description(model.family),
    }


def save_checkpoint(path: str | os.PathLike, checkpoint: dict, keep_previous: str | os.PathLike | None = None) -> None:
    """``torch.save`` ``checkpoint`` to ``path`` atomically (see :mod:`hwr.files`).

    The dict is serialised in memory first, so a full disk surfaces as an
    ``OSError`` of the file write (a RunFolderError saying "disk full")
    rather than as an opaque error of torch's archive writer.

    Args:
        keep_previous: rename an existing ``path`` to this name first (the
            previous complete checkpoint, used if the new one proves unreadable).
    """
    buf = io.BytesIO()
    torch.save(checkpoint, buf)
    atomic_write_bytes(path, buf.getvalue(), keep_previous=keep_previous)


def save_model(path: str | os.PathLike, model, **extra) -> None:
    """Save ``model``'s weights and :func:`describe` (plus ``extra`` entries) to ``path``."""
    save_checkpoint(path, {"model": model.state_dict(), **describe(model), **extra})


def load_checkpoint(path: str | os.PathLike, device: str = "cpu") -> dict:
    """Load a checkpoint dict safely (``weights_only=True``).

    Raises:
        CheckpointError: one line naming ``path``: missing, empty, truncated
            or not a torch file, a refused pickle, or a file that is not an
            hwr checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty checkpoint file (a run killed while saving?)")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise CheckpointError(f"{path}: refused: it holds pickled Python objects that could run code, "
                                  "not an hwr checkpoint (tensors and plain types only)") from None
        raise CheckpointError(f"{path}: unreadable checkpoint ({_first_line(e)})") from None
    except Exception as e:  # noqa: BLE001 - whatever a foreign or torn file makes torch.load raise
        raise CheckpointError(f"{path}: truncated or not a torch checkpoint ({_first_line(e)})") from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("model"), dict):
        what = type(ckpt).__name__ if not isinstance(ckpt, dict) else f"a dict without 'model' ({', '.join(map(str, list(ckpt)[:5]))})"
        raise CheckpointError(f"{path}: not an hwr checkpoint (holds {what})")
    return ckpt


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}".rstrip(": ")


def config_differences(stored: dict, asked: dict) -> list[str]:
    """``"field stored != asked"`` for every field where two configurations differ."""
    out = []
    for key in dict.fromkeys([*stored, *asked]):
        a, b = stored.get(key, "(absent)"), asked.get(key, "(absent)")
        if a != b:
            out.append(f"{key} {a!r} != {b!r}")
    return out


def stored_config(ckpt: dict, path: str | os.PathLike = "checkpoint"):
    """The configuration a checkpoint was built from: a
    :class:`~hwr.models.registry.ModelConfig`, or the class of the
    checkpoint's ``architecture`` (absent: a thesis model).

    Older checkpoints (no ``model_config``) get the registry's configuration
    of their experiment and overrides, with a warning.

    Raises:
        CheckpointError: when the stored configuration is not a valid one
            (written by another version) or the experiment is unknown.
    """
    if "model_config" in ckpt:
        architecture = ckpt.get("architecture", "thesis")
        if architecture not in ARCHITECTURES:
            raise CheckpointError(f"{path}: written by another hwr version: unknown architecture {architecture!r}")
        cls = ARCHITECTURES[architecture].config
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(ckpt["model_config"]) - fields)
        if unknown:
            raise CheckpointError(f"{path}: written by another hwr version: unknown model fields {unknown}")
        try:
            return cls(**ckpt["model_config"])
        except (TypeError, ValueError) as e:
            raise CheckpointError(f"{path}: invalid stored model configuration ({_first_line(e)})") from None
    experiment = ckpt.get("experiment")
    log.warning("%s: checkpoint without a stored model configuration (older hwr); rebuilding %r from "
                "today's registry", path, experiment)
    try:
        return model_config(experiment, **ckpt.get("overrides", {}))
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot rebuild experiment {experiment!r} ({_first_line(e)})") from None


def check_config(ckpt: dict, experiment: str, overrides: dict, path: str | os.PathLike = "checkpoint") -> None:
    """Refuse a checkpoint built for another configuration than ``experiment`` with ``overrides``.

    Raises:
        CheckpointError: one line listing every field that differs.
    """
    stored = dataclasses.asdict(stored_config(ckpt, path))
    asked = dataclasses.asdict(model_config(experiment, **overrides))
    diff = config_differences(stored, asked)
    if diff:
        asked_name = f"{experiment} {overrides}" if overrides else experiment
        raise CheckpointError(f"{path}: built for another configuration than {asked_name}: "
                              f"{'; '.join(diff)} (stored != asked)")


def model_from_checkpoint(ckpt: dict, device: str = "cpu", path: str | os.PathLike = "checkpoint",
                          experiment: str | None = None, **overrides) -> torch.nn.Module:
    """Rebuild the model a loaded checkpoint holds, in eval mode on ``device``.

    Args:
        ckpt: what :func:`load_checkpoint` returned.
        path: the file it came from (for messages).
        experiment, overrides: when given, the configuration the caller
            expects; a checkpoint of another configuration is refused.

    Raises:
        CheckpointError: another configuration than asked, another alphabet,
            or weights that do not fit the stored configuration.
    """
    if experiment is not None:
        check_config(ckpt, experiment, overrides, path)
    cfg = stored_config(ckpt, path)
    codec = ckpt.get("codec")
    if codec is not None and codec != codec_description(cfg.family):
        raise CheckpointError(f"{path}: its model reads another alphabet ({len(codec.get('symbols', []))} symbols) "
                              f"than this version's codec")
    try:
        model = from_config(cfg, ckpt.get("experiment", ""), ckpt.get("overrides", {}))
    except (TypeError, ValueError) as e:  # a field of the wrong type or range reaches the layers' constructors
        raise CheckpointError(f"{path}: invalid stored model configuration ({_first_line(e)})") from None
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        detail = " ".join(line.strip() for line in str(e).splitlines()[1:3])[:300]
        raise CheckpointError(f"{path}: weights do not fit its {ckpt.get('experiment', '?')} configuration "
                              f"({detail})") from None
    return model.to(device).eval()


def load_model(path: str | os.PathLike, device: str = "cpu", experiment: str | None = None,
               **overrides) -> torch.nn.Module:
    """Rebuild the trained model stored in checkpoint ``path``, in eval mode.

    Accepts a checkpoint file or a run folder (then its ``checkpoints/best.pt``).
    With ``experiment`` (and ``overrides``), a checkpoint of another
    configuration is refused with the differing fields.

    Raises:
        CheckpointError: one line naming the file (see :func:`load_checkpoint`
            and :func:`model_from_checkpoint`).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoints" / "best.pt"
    ckpt = load_checkpoint(path, device)
    return model_from_checkpoint(ckpt, device, path, experiment, **overrides)
