"""The analysis registry: compute an analysis of a run's trained model once, keep it as a record."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from hwr.datasets import open_dataset
from hwr.files import read_json, write_json
from hwr.metrics import cer, wer
from hwr.models.backbone import min_input_width
from hwr.models.io import load_model
from hwr.preprocess import make_loader
from hwr.provenance import git_state, hardware, versions
from hwr.runs.store import RunRecord
from hwr.training.data import validation_subset


ANALYSES: dict[str, Callable] = {}


#: the version of each analysis's output: a record of another version is computed again
VERSIONS: dict[str, int] = {}


def analyses(name: str, version: int = 1):
    """Register ``fn(model, record, **params) -> dict`` as analysis ``name``.

    The dict holds JSON values; numpy arrays in it go to ``<name>.npz``.
    Bump ``version`` when the output changes, so that older records are not
    read back as if they had it."""
    def register(fn):
        ANALYSES[name] = fn
        VERSIONS[name] = version
        return fn

    return register


def _paths(rec: RunRecord, name: str) -> tuple[Path, Path]:
    folder = rec.folder / "analyses"
    return folder / f"{name}.json", folder / f"{name}.npz"


def _jsonable(params: dict) -> dict:

    return json.loads(json.dumps(params))


def analysis(rec: RunRecord, name: str, threads: int = 1, **params) -> dict:
    """The result of analysis ``name`` of run ``rec`` with ``params``: read
    back when recorded with the same parameters, else computed from the
    run's best checkpoint and recorded.

    Raises:
        KeyError: no analysis of that name.
        FileNotFoundError: not recorded with these parameters and the
            checkpoint is not on this machine (says how to get it).
    """
    if name not in ANALYSES:
        raise KeyError(f"no analysis {name!r}; known: {', '.join(sorted(ANALYSES))}")
    json_path, npz_path = _paths(rec, name)
    saved = read_json(json_path)
    if saved is not None and saved.get("params") == _jsonable(params) and saved.get("version", 1) == VERSIONS[name]:
        result = dict(saved["result"])
        if npz_path.exists():
            with np.load(npz_path, allow_pickle=False) as z:
                result.update({k: z[k] for k in z.files})
        return result
    checkpoint = rec.folder / "checkpoints" / "best.pt"
    if not checkpoint.exists():
        why = ("was recorded with other parameters or by another version" if saved is not None
               else "is not recorded")
        raise FileNotFoundError(
            f"{rec.folder}: analysis {name!r} {why} and the run's checkpoint is not on this machine; "
            f"retrain the run (delete its folder, then `hwr sweep`) or restore {checkpoint}")

    torch.set_num_threads(threads)
    model = load_model(rec.folder, device="cpu")
    started = time.time()
    result = ANALYSES[name](model, rec, **params)
    arrays = {k: v for k, v in result.items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in result.items() if k not in arrays}
    json_path.parent.mkdir(exist_ok=True)
    if arrays:
        np.savez_compressed(npz_path, **arrays)
    elif npz_path.exists():
        npz_path.unlink()
    write_json(json_path, {"analysis": name, "version": VERSIONS[name], "params": _jsonable(params), "threads": threads,
                           "seconds": time.time() - started, "provenance": {"git": git_state(), "versions": versions(), "hardware": hardware()},
                           "result": plain})
    return result


def first_analysis(records, name: str, threads: int = 1, **params) -> tuple[RunRecord, dict]:
    """Analysis ``name`` of the first of ``records`` that has it recorded or has
    its checkpoint, in the records' order (seed order in a study): a chapter that
    draws one run's analysis takes whichever seed can give it.

    Raises:
        FileNotFoundError: none of the runs can (the error of the last one).
    """
    error = None
    for rec in records:
        try:
            return rec, analysis(rec, name, threads, **params)
        except FileNotFoundError as e:
            error = e
    raise error or FileNotFoundError(f"no runs to take analysis {name!r} from")


def test_lines(rec: RunRecord, n: int | None = None, order: str = "sorted", seed: int = 0):
    """The run's test lines: all, or ``n`` evenly spaced ones, ``"sorted"`` by
    width (as the run's own test) or in a seeded random (``"mixed"``) order."""
    subset = validation_subset(open_dataset(rec.spec.data, "test"), n)
    if order == "sorted":
        return subset
    if order != "mixed":
        raise ValueError(f"order must be 'sorted' or 'mixed', got {order!r}")
    return subset.subset(np.random.default_rng(seed).permutation(len(subset)).tolist())


def _loader(model, lines, batch_size: int):

    return make_loader(lines, batch_size, train=False, height=model.input_height, min_width=min_input_width(model))


def _scores(refs: list[str], hyps: list[str]) -> dict:

    return {"cer": cer(refs, hyps), "wer": wer(refs, hyps)}
