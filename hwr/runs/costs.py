"""What runs cost and where they ran: training time, lines/s per machine, latency and size tables."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from typing import Sequence

import pandas as pd

from hwr.runs.curves import by_label
from hwr.runs.store import RunRecord
from hwr.runs.verdicts import summary_frame


def seconds_total(records: Sequence[RunRecord]) -> float:
    """Training and test time of the runs, summed: each run's training time (``metrics.json``
    minutes, resumes included) plus its test pass (``test.json`` seconds)."""
    return float(sum(60 * (r.metrics.get("minutes") or 0) + (r.test.get("seconds") or 0) for r in records))


def _hardware(rec: RunRecord) -> dict:
    return rec.provenance.get("hardware") or {}


def _cpu(hw: dict) -> str:
    return hw.get("cpu") or hw.get("machine") or "unknown CPU"


def cpu_name(rec: RunRecord) -> str:
    """The CPU a run trained on, short (``Intel Xeon``, ``AMD EPYC``), from its provenance."""
    name = re.sub(r"\((R|TM)\)|\b(Processor|CPU)\b|@.*", "", _cpu(_hardware(rec)))
    return " ".join(name.split()) or "unknown CPU"


def machine_speeds(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Training lines per second of each model on each CPU its runs trained on,
    for the models whose runs span more than one CPU (a wall-clock budget buys
    as many more lines as the machine is faster).

    Columns: ``model``, then per CPU its mean lines/s, and ``ratio`` (the
    fastest CPU's mean over the slowest's)."""
    rows = []
    for label, recs in by_label(records).items():
        per_cpu: dict[str, list[float]] = {}
        for r in recs:
            per_cpu.setdefault(cpu_name(r), []).append(r.metrics["lines_per_s"])
        if len(per_cpu) > 1:
            means = {cpu: statistics.mean(v) for cpu, v in per_cpu.items()}
            rows.append({"model": label, **means, "ratio": max(means.values()) / min(means.values())})
    return pd.DataFrame(rows)


def hardware(records: Sequence[RunRecord]) -> str:
    """The CPU the runs were trained on, in words (from their provenance), e.g.
    ``Intel Xeon, 2 cores, 1 thread per run``, and the GPU where a run trained on one
    (:attr:`RunRecord.device`); distinct machines joined by "; "."""
    seen = []
    for r in records:
        hw = _hardware(r)
        text = (f"{_cpu(hw)}, {hw.get('cores', '?')} cores, "
                f"{hw.get('torch_threads', '?')} thread{'s' if hw.get('torch_threads') != 1 else ''} per run")
        if r.device != "CPU":  # a GPU in the machine counts only when the run trained on it
            text += f", trained on {r.device}"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


def latency_table(frame: pd.DataFrame, baseline: str, batches: Sequence[int] = (1, 24)) -> pd.DataFrame:
    """:func:`hwr.runs.latency.latency_frame` as a table: per batch size, the
    proper latency here (ms, padded thesis input) and its ratio to
    ``baseline``, beside the thesis's CPU figure and the thesis's ratio."""
    base = frame.set_index("model").loc[baseline]
    rows = []
    for _, r in frame.iterrows():
        row = {"model": r["model"]}
        for b in batches:
            here, thesis, thesis_base = r[f"ms_{b}"], r[f"thesis_ms_{b}"], base[f"thesis_ms_{b}"]
            row[f"bs {b} ms"] = f"{here:,.0f}"
            row[f"bs {b} ×"] = f"{here / base[f'ms_{b}']:.2f}"
            have = thesis is not None and thesis == thesis and thesis_base is not None and thesis_base == thesis_base
            row[f"thesis bs {b} ms"] = f"{thesis:,.0f}" if thesis is not None and thesis == thesis else "-"
            row[f"thesis bs {b} ×"] = f"{thesis / thesis_base:.2f}" if have else "-"
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    # models the thesis never timed (the other seeds'): no column of dashes
    return table[[c for c in table.columns if not (c.startswith("thesis") and (table[c] == "-").all())]]


def speed_frame(records: Sequence[RunRecord], baseline: str) -> pd.DataFrame:
    """Training speed per model/variant: parameters, lines per second (mean ±
    seed sd), lines trained in the budget, and the speed's ratio to ``baseline``'s.

    Lines per second are the trainer's own (training lines over training time,
    validation left out), measured while another run trained beside it. The
    ``CPU`` column names the machines the runs trained on, with their counts
    where they differ (:func:`cpu_name`).
    """
    groups = by_label(records)
    speed = {k: [r.metrics["lines_per_s"] for r in v] for k, v in groups.items()}
    base = statistics.mean(speed[baseline])
    rows = []
    for label, recs in groups.items():
        s = speed[label]
        rows.append({"model": label, "parameters": f"{recs[0].metrics['parameters']:,}",
                     "lines/s": f"{statistics.mean(s):.1f}" + (f" ± {statistics.stdev(s):.1f}" if len(s) > 1 else ""),
                     "lines trained": f"{statistics.mean(r.metrics['trained_lines'] for r in recs):,.0f}",
                     "× " + baseline: f"{statistics.mean(s) / base:.2f}",
                     "CPU": _cpu_counts(Counter(cpu_name(r) for r in recs))})
    return pd.DataFrame(rows).set_index("model")


def _cpu_counts(counts) -> str:
    return next(iter(counts)) if len(counts) == 1 else ", ".join(f"{cpu} ×{n}" for cpu, n in counts.items())


def cost_frame(records: Sequence[RunRecord], latencies: pd.DataFrame | None = None, flops: dict | None = None,
               batch: int = 1) -> pd.DataFrame:
    """One row per model/variant with its test CER and its costs, for
    :func:`hwr.plots.runs.cost_scatter`: ``label``, ``cer``/``cer_sd``
    (fractions), ``params``, ``latency_ms`` (at ``batch``, from
    :func:`hwr.runs.latency.latency_frame`; models without a row get NaN) and
    ``gflops`` (``flops``: model -> :func:`hwr.bench.flops.forward_flops`)."""
    summary = summary_frame(records, n_resamples=200)
    lat = latencies.set_index("model")[f"ms_{batch}"] if latencies is not None else pd.Series(dtype=float)
    rows = []
    for label, recs in by_label(records).items():
        model = recs[0].spec.experiment
        rows.append({"label": label, "model": model, "cer": summary.loc[label, "cer"],
                     "cer_sd": summary.loc[label, "cer_sd"] if len(recs) > 1 else float("nan"),
                     "params": recs[0].metrics["parameters"], "latency_ms": lat.get(model, float("nan")),
                     "gflops": (flops[model]["total"] / 1e9) if flops and model in flops else float("nan")})
    return pd.DataFrame(rows)
