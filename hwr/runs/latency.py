"""Recorded CPU latencies of the registry models, shared by every chapter.

Latency depends on the architecture, the input size, the threads and the
machine, not on a run's weights (``hwr.bench.latency``), so it is recorded
once per model and measurement settings, in
``results/<profile>/latency/<model>-bs<batch>-<digest>.json``, and committed
like the run records. A record is measured when a chapter first asks for it
and read back afterwards:

>>> rows = latency_frame(["seq2seq_bn", "gate_1"], [1, 24], profile="book")

Measure on an otherwise idle machine: two training runs side by side slow a
timed call by up to half. Each record keeps the environment (CPU, threads,
torch) and every timed call; ``hwr bench latency`` prints the same
measurement without recording it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Sequence

from hwr.bench.latency import environment, measure
from hwr.files import read_json, write_json
from hwr.profile import Profile


def settings(profile: str) -> dict:
    """The profile's measurement settings (:attr:`hwr.profile.Profile.latency`; smoke only proves that the code
    runs: tiny inputs, one call)."""
    return dict(Profile.load(profile).latency)


def _path(root: Path, model: str, batch: int, params: dict, threads: int) -> Path:
    key = json.dumps({**params, "threads": threads}, sort_keys=True)
    return root / f"{model}-bs{batch}-{hashlib.sha256(key.encode()).hexdigest()[:8]}.json"


def latency(model: str, batch: int, profile: str = "book", threads: int = 1, root: Path | None = None) -> dict:
    """The recorded latency of ``model`` at ``batch`` lines per call under
    ``profile``'s settings on ``threads`` threads; measured (and recorded) when missing.

    Returns:
        :func:`hwr.bench.latency.measure`'s dict plus ``environment``.
    """
    import torch

    root = Path(root) if root is not None else Profile.load(profile).results / "latency"
    params = settings(profile)
    path = _path(root, model, batch, params, threads)
    saved = read_json(path)
    if saved is not None:
        return saved
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = {**measure(model, batch, **params), "environment": environment("cpu"), "settings": params}
    finally:
        torch.set_num_threads(before)
    root.mkdir(parents=True, exist_ok=True)
    write_json(path, result)
    return result


def latency_frame(models: Sequence[str], batches: Sequence[int] = (1, 24), profile: str = "book",
                  threads: int = 1, root: Path | None = None):
    """One row per model: proper and thesis-method latency (ms) at each batch
    size, and the thesis's reported CPU latency.

    Columns: ``model``, then per batch ``b``: ``ms_b`` (proper, padded input),
    ``line_ms_b`` (proper, a typical line), ``thesis_method_ms_b``,
    ``thesis_ms_b`` (the thesis's figure, its hardware)."""
    import pandas as pd

    rows = []
    for m in models:
        row = {"model": m}
        for b in batches:
            r = latency(m, b, profile, threads, root)
            row.update({f"ms_{b}": r["proper_ms"], f"line_ms_{b}": r["proper_line_ms"],
                        f"thesis_method_ms_{b}": r["thesis_ms"], f"thesis_ms_{b}": r["thesis_reported_ms"]})
        rows.append(row)
    return pd.DataFrame(rows)
