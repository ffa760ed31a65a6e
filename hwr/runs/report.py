"""Frames a chapter builds from run records: curves, summaries, task tables.

Everything here reads records (:class:`~hwr.runs.store.RunRecord`) or task
declarations and returns a pandas DataFrame or a small value; the chapters
turn them into tables (:class:`hwr.book.tables.Table`) and figures
(:mod:`hwr.plots.runs`). Nothing here trains.
"""

from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd

from hwr.runs.spec import RunSpec
from hwr.runs.store import RunRecord, RunStore

#: the thesis's training conditions that a book task may depart from (TrainConfig defaults)
THESIS_CONDITIONS = {"data": "synth:default", "input_height": 64, "batch_size": 32, "lr": 5e-4,
                     "schedule": "constant"}


def _pct(x: float) -> str:
    return "-" if x is None or x != x else f"{100 * x:.1f}"


def mean_sd_text(mean: float, sd: float) -> str:
    """``12.3 ± 1.4`` (percent, one decimal); one seed has no ``±``."""
    return _pct(mean) if sd is None or sd != sd else f"{_pct(mean)} ± {_pct(sd)}"


# ---------------------------------------------------------------- curves
def curves_frame(records: Sequence[RunRecord], label: Callable[[RunRecord], str] | None = None) -> pd.DataFrame:
    """One row per validation of every run, for :func:`hwr.plots.runs.learning_curves`.

    Args:
        records: finished runs.
        label: run -> legend label (default: the run's model and variant).

    Returns:
        columns label, seed, epoch, lines_seen (cumulative training lines at
        that validation), minutes (run time at that validation) and val_cer.
    """
    label = label or (lambda rec: rec.spec.label)
    frames = []
    for rec in records:
        h = rec.history
        frames.append(pd.DataFrame({
            "label": label(rec), "seed": rec.spec.seed, "epoch": h["epoch"],
            "lines_seen": h["lines"].fillna(0).cumsum(), "minutes": h["elapsed"] / 60, "val_cer": h["val_cer"]}))
    columns = ["label", "seed", "epoch", "lines_seen", "minutes", "val_cer"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


# ---------------------------------------------------------------- tasks
def departures(task) -> list[str]:
    """What a :class:`~hwr.train.task.Task` changes against the thesis's conditions, in words."""
    s = task.settings()
    out = []
    if s.get("data") and s["data"] != THESIS_CONDITIONS["data"]:
        out.append(f"data {s['data']}")
    if s.get("input_height") and s["input_height"] != THESIS_CONDITIONS["input_height"]:
        out.append(f"height {s['input_height']}")
    if s.get("batch_size", 32) != THESIS_CONDITIONS["batch_size"]:
        out.append(f"batch {s['batch_size']}")
    if s.get("lr", 5e-4) != THESIS_CONDITIONS["lr"]:
        out.append(f"peak lr {s['lr']:g}")
    if s.get("schedule", "constant") != THESIS_CONDITIONS["schedule"]:
        out.append(f"{s['schedule'].replace('_', ' + ')} schedule")
    if s.get("minutes"):
        out.append(f"{s['minutes']:g} min budget")
    return out


def tasks_frame(names: Sequence[str] | None = None, path=None) -> pd.DataFrame:
    """Book tasks of ``configs/tasks.yaml`` with their departures from the thesis.

    Args:
        names: tasks to list (default: every one but ``thesis``).

    Returns:
        indexed by task: description and departures (comma-separated).
    """
    from hwr.train.task import load_tasks

    tasks, _ = load_tasks(path)
    names = list(names) if names is not None else [n for n in tasks if n != "thesis"]
    unknown = [n for n in names if n not in tasks]
    if unknown:
        raise KeyError(f"configs/tasks.yaml: no task(s) {unknown}; tasks: {', '.join(tasks)}")
    return pd.DataFrame([{"task": n, "description": tasks[n].description,
                          "departures from the thesis": ", ".join(departures(tasks[n])) or "none"}
                         for n in names]).set_index("task")


def candidate_specs(candidates: dict[str, Sequence[int]], models: Sequence[str]) -> list[tuple[str, RunSpec]]:
    """The runs ``hwr bench task`` trains for task -> seeds, each at its task's own budget.

    Returns:
        (task name, spec) pairs in task, model, seed order; the same specs
        (and so the same run folders) as ``hwr bench task --task T --seeds S``.
    """
    from hwr.bench.task import specs_for

    return [pair for task, seeds in candidates.items()
            for pair in specs_for([task], list(models), [int(s) for s in seeds], None, {}, {}, None)]


def candidate_frame(specs: list[tuple[str, RunSpec]], store: RunStore, marks: Sequence[float]) -> pd.DataFrame:
    """The book-task table: val CER (mean ± seed sd, %) per minute mark, lines/s and the criterion.

    Built with :func:`hwr.bench.task.measure_rows` and :func:`~hwr.bench.task.table`
    (the same numbers ``hwr bench task`` prints). Runs not yet in ``store`` are
    left out; a (task, model) with fewer finished seeds than asked says so.
    """
    from hwr.bench.task import measure_rows, table

    marks = list(marks)
    header, lines = table(measure_rows(specs, store, marks), marks)
    frame = pd.DataFrame(lines, columns=header)
    asked = pd.Series([(t, s.experiment) for t, s in specs]).value_counts()
    for i, row in frame.iterrows():
        n = asked.get((row["task"], row["model"]), 0)
        if int(row["seeds"]) < n:
            frame.loc[i, "seeds"] = f"{row['seeds']} of {n}"
    return frame


# ---------------------------------------------------------------- a study's runs
def study_setup(study) -> pd.DataFrame:
    """The declared runs of a study: one row per model and variant.

    Columns: model, variant, family, state count (at the task's input height:
    the thesis's count, which does not depend on it), seeds, budget (minutes).
    """
    from hwr.models.registry import EXPERIMENTS, build, state_count

    rows = {}
    for spec in study.runs:
        key = (spec.experiment, spec.variant)
        if key not in rows:
            rows[key] = {"model": spec.experiment, "variant": spec.variant or "-",
                         "family": EXPERIMENTS[spec.experiment].family,
                         "state count": state_count(build(spec.experiment, **spec.overrides)),
                         "seeds": [], "minutes": spec.train.get("minutes")}
        rows[key]["seeds"].append(spec.seed)
    frame = pd.DataFrame(list(rows.values()))
    frame["seeds"] = frame["seeds"].map(lambda s: ", ".join(map(str, s)))
    if (frame["variant"] == "-").all():
        frame = frame.drop(columns="variant")
    return frame.set_index("model")


def by_label(records: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    """Records grouped by model/variant label, each group in seed order."""
    groups: dict[str, list[RunRecord]] = {}
    for rec in records:
        groups.setdefault(rec.spec.label, []).append(rec)
    return {k: sorted(v, key=lambda r: r.spec.seed) for k, v in groups.items()}


def prediction_rows(rec: RunRecord) -> list[dict]:
    """A run's per-line test predictions as dict rows (what :mod:`hwr.stats` takes)."""
    return rec.predictions.to_dict("records")


def summary_frame(records: Sequence[RunRecord], n_resamples: int = 2000) -> pd.DataFrame:
    """Test CER and WER per model/variant: mean ± seed sd and the 95 % bootstrap interval over lines.

    Returns:
        indexed by label; columns seeds, test lines, CER (%) and its interval,
        WER (%) and its interval, as text ready for a table; and the raw
        ``cer``/``cer_sd``/``wer``/``wer_sd`` fractions for glue and figures.
    """
    from hwr import stats

    rows = []
    for label, recs in by_label(records).items():
        runs = [prediction_rows(r) for r in recs]
        row = {"model": label, "seeds": len(recs)}
        for unit, name in (("char", "CER"), ("word", "WER")):
            s = stats.summarize(runs, unit, n_resamples=n_resamples)
            row["test lines"] = s.n_lines
            row[f"{name} (%)"] = mean_sd_text(s.mean, s.sd if s.n_seeds > 1 else None)
            row[f"{name} 95 % interval"] = f"{_pct(s.interval.low)} to {_pct(s.interval.high)}"
            row[name.lower()], row[f"{name.lower()}_sd"] = s.mean, s.sd
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


#: the book's own answers when a verdict's claim is a question of the book, not a thesis claim
def answer(verdict, better: str, other: str) -> str:
    """A verdict's outcome in the words of a question ("which one is lower?").

    ``better`` is the name the verdict's claim favours; the answer is
    "<better> is lower", "<other> is lower" or the inconclusive outcome.
    """
    from hwr import stats

    return {stats.REPRODUCED: f"{better} is lower", stats.NOT_REPRODUCED: f"{other} is lower"}.get(
        verdict.outcome, verdict.outcome)


def seconds_total(records: Sequence[RunRecord]) -> float:
    """Training and test time of the runs, summed (from their test records)."""
    return float(sum(r.test.get("seconds_total") or 0 for r in records))


def hardware(records: Sequence[RunRecord]) -> str:
    """The CPU the runs were trained on, in words (from their provenance), e.g.
    ``Intel Xeon, 2 cores, 1 thread per run``; distinct machines joined by "; "."""
    seen = []
    for r in records:
        hw = r.provenance.get("hardware") or {}
        text = (f"{hw.get('cpu') or hw.get('machine') or 'unknown CPU'}, {hw.get('cores', '?')} cores, "
                f"{hw.get('torch_threads', '?')} thread{'s' if hw.get('torch_threads') != 1 else ''} per run")
        if hw.get("gpu"):
            text += f", {hw['gpu']}"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)
