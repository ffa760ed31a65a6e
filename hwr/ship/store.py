"""Ship a finished training run as a named model under ``models/``, and load it back by name.

``ship_run(run_dir, "best-ctc")`` copies the run's best weights into a slim checkpoint
``models/best-ctc/model.pt`` (weights, architecture, codec: what :func:`hwr.models.io.load_model`
needs, without the optimizer and history that make a training checkpoint three times larger) and
writes ``models/best-ctc/record.json``: the run id, experiment and overrides, parameter count, the
test CER and decoding from the run's ``test.json``, the data it was trained on, the commit that
trained it, the weights' dtype and size, and the SHA-256 of ``model.pt``.

:func:`load_shipped` verifies that checksum before it reads a byte of the weights, so a file
damaged in a clone, a merge or by hand fails with one line naming it instead of transcribing
nonsense. Weights stored as float16 (``dtype="float16"``, half the size) are widened back to float32
on load: the models always run in float32.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from hwr import paths
from hwr.errors import CheckpointError, HwrError
from hwr.files import atomic_write_bytes
from hwr.models.io import describe, load_checkpoint, load_model, model_from_checkpoint
from hwr.models.registry import trainable_count

WEIGHTS = "model.pt"
RECORD = "record.json"
DTYPES = {"float32": torch.float32, "float16": torch.float16}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def shipped_dir() -> Path:
    """The folder of shipped models: ``models/`` at the repository root (``HWR_MODELS`` overrides it,
    read at each call so that tests can point it at a temporary folder)."""
    return Path(os.environ.get("HWR_MODELS") or paths.ROOT / "models")


def shipped_names() -> list[str]:
    """Names of the shipped models (folders of :func:`shipped_dir` holding a record), sorted."""
    root = shipped_dir()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / RECORD).is_file())


#: ``models/aliases.json``: role names ("best-ctc", "best-attention") -> shipped model names
ALIASES = "aliases.json"


def aliases() -> dict[str, str]:
    """The shipped aliases (``best-ctc`` -> ``ctc_baseline``): names of the roles the book's conclusions give
    its models, each pointing at a shipped model, so that ``--model best-ctc`` keeps working when a better
    run is shipped under its own name (``hwr ship alias``)."""
    found = _read_json(shipped_dir() / ALIASES)
    if not isinstance(found, dict):
        raise HwrError(f"{shipped_dir() / ALIASES}: expected an object of alias -> shipped model name")
    return {str(k): str(v) for k, v in found.items()}


def resolve(name: str) -> str:
    """A shipped model's own name: ``name`` itself, or the model an alias points at."""
    if (shipped_dir() / name / RECORD).is_file():
        return name
    return aliases().get(name, name)


def set_alias(alias: str, name: str) -> Path:
    """Point ``alias`` at shipped model ``name`` in ``models/aliases.json``; returns that file.

    Raises:
        HwrError: ``name`` is not shipped, or ``alias`` is a bad name or a shipped model's own name.
    """
    if not _NAME.match(alias):
        raise HwrError(f"alias {alias!r}: lower case letters, digits, '-' and '_' (best-ctc)")
    if alias in shipped_names():
        raise HwrError(f"alias {alias!r}: a shipped model has that name already")
    read_record(name)  # a shipped model, or a clear error listing them
    table = {**aliases(), alias: name}
    path = shipped_dir() / ALIASES
    path.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n", encoding="utf-8")
    return path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise HwrError(f"{path}: not valid JSON ({e})") from None


def read_record(name: str) -> dict:
    """The ``record.json`` of shipped model ``name``.

    Raises:
        HwrError: no such shipped model (listing the shipped ones), or a record that does not parse.
    """
    path = shipped_dir() / resolve(name) / RECORD
    if not path.is_file():
        known = ", ".join(shipped_names() + [f"{a} -> {n}" for a, n in aliases().items()]) or "none"
        raise HwrError(f"no shipped model {name!r} in {shipped_dir()} (shipped: {known})")
    return _read_json(path)


def verify_checksum(name: str) -> Path:
    """The weights file of shipped model ``name``, after checking it against its record's SHA-256.

    Raises:
        CheckpointError: the file is missing, or its bytes differ from what was shipped.
    """
    name = resolve(name)
    record = read_record(name)
    weights = shipped_dir() / name / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{weights}: the weights of shipped model {name!r} are missing")
    found = sha256(weights)
    if found != record.get("sha256"):
        raise CheckpointError(f"{weights}: checksum mismatch: the file is damaged or was changed after it was "
                              f"shipped (sha256 {found[:12]}..., its record says {str(record.get('sha256'))[:12]}...); "
                              "restore it from git or ship the run again")
    return weights


@dataclass
class ShippedModel:
    """A shipped model loaded for inference.

    Attributes:
        name: its shipped name (``best-ctc``).
        model: the network in eval mode, float32.
        record: its ``record.json``.
    """

    name: str
    model: torch.nn.Module
    record: dict


def _widen(state: dict) -> dict:
    """A state dict with float16 tensors turned back into float32 (the models run in float32)."""
    return {k: (v.float() if torch.is_tensor(v) and v.dtype == torch.float16 else v) for k, v in state.items()}


def load_shipped(name: str, device: str = "cpu") -> ShippedModel:
    """Load shipped model ``name`` (or the one an alias names: :func:`resolve`) after verifying its checksum.

    Raises:
        HwrError: no such shipped model.
        CheckpointError: a damaged weights file (checksum) or one that does not fit its architecture.
    """
    name = resolve(name)
    weights = verify_checksum(name)
    ckpt = load_checkpoint(weights, device)
    ckpt["model"] = _widen(ckpt["model"])
    model = model_from_checkpoint(ckpt, device, weights)
    return ShippedModel(name, model, read_record(name))


def _run_record(run_dir: Path) -> dict:
    """What the run's own records say about it: identity, test score, provenance."""
    spec = _read_json(run_dir / "spec.json")
    test = _read_json(run_dir / "test.json")
    run = _read_json(run_dir / "run.json")
    if not test.get("cer") and test.get("cer") != 0:
        raise HwrError(f"{run_dir}: no test CER in test.json: ship a finished, tested run")
    inner = spec.get("spec", {})
    return {
        "run_id": spec.get("run_id", run_dir.name),
        "data": inner.get("data"),
        "train_lines": (inner.get("train") or {}).get("lines"),
        "variant": inner.get("variant"),
        "seed": inner.get("seed"),
        "test": {k: test.get(k) for k in ("cer", "wer", "lines", "decoding", "checkpoint", "split")},
        "commit": run.get("commit"),
        "dirty": run.get("dirty"),
    }


def ship_run(run_dir: str | os.PathLike, name: str, dtype: str = "float32", force: bool = False) -> Path:
    """Ship training run ``run_dir`` (its ``checkpoints/best.pt``) as ``models/<name>/``.

    Args:
        run_dir: a finished run folder (``spec.json``, ``test.json``, ``checkpoints/best.pt``).
        name: the shipped name (lower case letters, digits, ``-`` and ``_``): ``best-ctc``.
        dtype: ``float32``, or ``float16`` for half the size (see the README for what it costs).
        force: replace an existing shipped model of that name.

    Returns:
        the shipped model's folder.

    Raises:
        HwrError: a bad name or dtype, a run without a test score, an existing name without ``force``.
        CheckpointError: the run's checkpoint is missing or unreadable.
    """
    run_dir = Path(run_dir)
    if not _NAME.match(name):
        raise HwrError(f"--as {name!r}: a shipped name is lower case letters, digits, '-' and '_' (best-ctc)")
    if dtype not in DTYPES:
        raise HwrError(f"--dtype {dtype!r}: one of {', '.join(DTYPES)}")
    if not run_dir.is_dir():
        raise HwrError(f"{run_dir}: no such run folder")
    target = shipped_dir() / name
    if target.exists() and not force:
        raise HwrError(f"{target}: already shipped (--force replaces it)")
    provenance = _run_record(run_dir)
    model = load_model(run_dir, "cpu")
    state = {k: (v.to(DTYPES[dtype]) if torch.is_floating_point(v) else v) for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save({"model": state, **describe(model)}, buf)
    staging = target.with_name(f".{name}.shipping")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    atomic_write_bytes(staging / WEIGHTS, buf.getvalue())
    record = {
        "name": name,
        "experiment": model.experiment,
        "family": model.family,
        "overrides": dict(getattr(model, "overrides", {}) or {}),
        "parameters": trainable_count(model),
        "input_height": model.input_height,
        **provenance,
        "dtype": dtype,
        "bytes": (staging / WEIGHTS).stat().st_size,
        "sha256": sha256(staging / WEIGHTS),
    }
    (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target
