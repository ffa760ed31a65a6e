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


def latency_ratio(slow: str, fast: str, batch: int, profile: str = "book", threads: int = 1,
                  root: Path | None = None, confidence: float = 0.95) -> dict:
    """How many times ``fast``'s forward call ``slow`` takes, with an interval over the repeated calls.

    Each record keeps every timed call (``proper_calls_ms``, the padded thesis-width input with the proper
    number of decoder steps). The ratio is that of the geometric means; its interval is Welch's t
    interval on the difference of mean log times (timings are multiplicative, and a record holds only a
    few calls, so a bootstrap of them would understate the spread).

    Returns:
        ``{ratio, low, high, calls}``: the ratio, its ``confidence`` interval, and the calls per model.
    """
    import numpy as np
    from scipy import stats as sps

    a = np.log(np.asarray(latency(slow, batch, profile, threads, root)["proper_calls_ms"], float))
    b = np.log(np.asarray(latency(fast, batch, profile, threads, root)["proper_calls_ms"], float))
    diff = a.mean() - b.mean()
    va, vb = (a.var(ddof=1) / len(a) if len(a) > 1 else 0.0), (b.var(ddof=1) / len(b) if len(b) > 1 else 0.0)
    se = float(np.sqrt(va + vb))
    if se == 0.0 or len(a) < 2 or len(b) < 2:
        half = 0.0 if se == 0.0 and len(a) > 1 and len(b) > 1 else float("inf")
    else:
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        half = float(sps.t.ppf(0.5 * (1 + confidence), df) * se)
    return {"ratio": float(np.exp(diff)), "low": float(np.exp(diff - half)), "high": float(np.exp(diff + half)),
            "calls": (len(a), len(b))}


def latency_verdict(faster: str, slower: str, batches: Sequence[int], profile: str = "book", threads: int = 1,
                    root: Path | None = None) -> tuple[str, str]:
    """The verdict on "``faster``'s forward call takes less time than ``slower``'s", at every batch size.

    A claim about latency needs no trained model, so the run rules do not
    apply; the repeated calls give the interval (:func:`latency_ratio`). It is
    *reproduced* when at every batch size the interval of slower / faster
    lies above 1, *not reproduced* when at every batch size it lies below 1,
    and inconclusive otherwise.

    Returns:
        (outcome, explanation): one of the :mod:`hwr.stats` outcomes, and the ratios in words.
    """
    from hwr import stats

    ratios = {b: latency_ratio(slower, faster, b, profile, threads, root) for b in batches}
    outcome = _outcome(ratios.values())
    parts = [f"{r['ratio']:.2f}× at batch {b} (95 % interval {r['low']:.2f} to {r['high']:.2f}, "
             f"{r['calls'][0]} and {r['calls'][1]} timed calls)" for b, r in ratios.items()]
    said = {stats.REPRODUCED: "reproduced", stats.NOT_REPRODUCED: "not reproduced (it is faster here)",
            stats.INCONCLUSIVE: "not decided, since an interval includes 1 or the batch sizes disagree"}[outcome]
    text = (f"`{slower}`'s forward call takes {' and '.join(parts)} the time of `{faster}`'s on this machine, "
            f"one thread: {said}.")
    return outcome, text


def _outcome(ratios) -> str:
    """Reproduced when every interval of slower / faster lies above 1, not reproduced when every one lies
    below 1, else inconclusive (:func:`latency_verdict`'s rule)."""
    from hwr import stats

    sides = [1 if r["low"] > 1 else -1 if r["high"] < 1 else 0 for r in ratios]
    return (stats.REPRODUCED if all(s > 0 for s in sides) else
            stats.NOT_REPRODUCED if all(s < 0 for s in sides) else stats.INCONCLUSIVE)


def latency_answers(batches: Sequence[int], profile: str = "book", threads: int = 1, root: Path | None = None):
    """The thesis's latency claims (:data:`hwr.thesis.LATENCY_CLAIMS`) answered, one row each.

    Columns: claim, the thesis's ratio (slower / faster, its CPU, per batch), the ratio here with its
    95 % interval over the timed calls (per batch), the verdict (:func:`latency_verdict`), the chapter.
    """
    import pandas as pd

    from hwr import stats
    from hwr.models.registry import EXPERIMENTS
    from hwr.thesis import LATENCY_CLAIMS

    rows = []
    for c in LATENCY_CLAIMS.values():
        thesis, here, ratios = [], [], []
        for b in batches:
            t_slow = EXPERIMENTS[c.slower].thesis_latency_ms.get(f"cpu_bs{b}")
            t_fast = EXPERIMENTS[c.faster].thesis_latency_ms.get(f"cpu_bs{b}")
            thesis.append(f"{t_slow / t_fast:.2f}" if t_slow and t_fast else "-")
            r = latency_ratio(c.slower, c.faster, b, profile, threads, root)
            ratios.append(r)
            here.append(f"{r['ratio']:.2f} [{r['low']:.2f}, {r['high']:.2f}]")
        outcome = _outcome(ratios)  # the ratios just read: the rule of latency_verdict, not a second read
        rows.append({"claim": c.text, "thesis (×)": " / ".join(thesis), "here (×)": " / ".join(here),
                     # no budget is involved in a time: an open interval is just inconclusive
                     "verdict": "inconclusive" if outcome == stats.INCONCLUSIVE else outcome, "chapter": c.chapter})
    return pd.DataFrame(rows, columns=["claim", "thesis (×)", "here (×)", "verdict", "chapter"]).set_index("claim")
