"""Frames a chapter builds from run records: curves, summaries, task tables.

Everything here reads records (:class:`~hwr.runs.store.RunRecord`) or task
declarations and returns a pandas DataFrame or a small value; the chapters
turn them into tables (:class:`hwr.book.tables.Table`) and figures
(:mod:`hwr.plots.runs`). Nothing here trains.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

import pandas as pd

from hwr.runs.spec import RunSpec
from hwr.runs.store import RunRecord, RunStore

#: the thesis's training conditions that a book task may depart from (TrainConfig defaults)
THESIS_CONDITIONS = {"data": "synth:default", "input_height": 64, "batch_size": 32, "lr": 5e-4,
                     "schedule": "constant"}


def percent(x: float) -> str:
    """A rate in percent with one decimal, ``12.3`` (``-`` when missing)."""
    return "-" if x is None or x != x else f"{100 * x:.1f}"


_pct = percent


def percent_text(x: float) -> str:
    """A share for prose, ``12.3 %`` (``-`` when missing)."""
    return "-" if x is None or x != x else f"{100 * x:.1f} %"


def mean_sd_text(mean: float, sd: float) -> str:
    """``12.3±1.4`` (percent, one decimal; no spaces, so a narrow column never splits it
    over lines); one seed has no ``±``."""
    return _pct(mean) if sd is None or sd != sd else f"{_pct(mean)}±{_pct(sd)}"


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
    """What a :class:`~hwr.training.task.Task` changes against the thesis's conditions, in words."""
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
    from hwr.training.task import load_tasks

    tasks, _ = load_tasks(path)
    names = list(names) if names is not None else [n for n in tasks if n != "thesis"]
    unknown = [n for n in names if n not in tasks]
    if unknown:
        raise KeyError(f"configs/tasks.yaml: no task(s) {unknown}; tasks: {', '.join(tasks)}")
    return pd.DataFrame([{"task": n, "description": tasks[n].description,
                          "departures from the thesis": ", ".join(departures(tasks[n])) or "none"}
                         for n in names]).set_index("task")


def candidate_specs(candidates: dict, models: Sequence[str]) -> list[tuple[str, RunSpec]]:
    """The runs ``hwr bench task`` trains for task -> seeds, each at its task's own budget.

    Args:
        candidates: task name -> seeds, or -> ``{"seeds": [...], "models": [...]}``
            for a task measured on fewer models than ``models``.
        models: registry names.

    Returns:
        (task name, spec) pairs in task, model, seed order; the same specs
        (and so the same run folders) as ``hwr bench task --task T --seeds S``.
    """
    from hwr.bench.task import specs_for

    pairs = []
    for task, what in candidates.items():
        seeds, mine = (what.get("seeds", [0]), what.get("models", models)) if isinstance(what, dict) else (what, models)
        pairs += specs_for([task], list(mine), [int(s) for s in seeds], None, {}, {}, None)
    return pairs


def criterion_text(mean: float, sd: float, n: int, seeds: int) -> str:
    """The book-task criterion at the last mark, briefly: ``met``, ``+3.2 pt``
    (mean above the limit by), ``sd 2.4`` (seed sd above its limit), or ``incomplete``."""
    from hwr.bench.task import CRITERION_MEAN, CRITERION_SD

    if n == 0 or n < seeds:
        return "incomplete"
    missed = []
    if mean > CRITERION_MEAN:
        missed.append(f"+{100 * (mean - CRITERION_MEAN):.1f} pt")
    if sd > CRITERION_SD:
        missed.append(f"sd {100 * sd:.1f}")
    return ", ".join(missed) or "met"


def candidate_frame(specs: list[tuple[str, RunSpec]], store: RunStore, marks: Sequence[float]) -> pd.DataFrame:
    """The book-task table: val CER (%, mean ± seed sd) per minute mark, lines/s and the criterion.

    The numbers are those ``hwr bench task`` prints (:func:`hwr.bench.task.measure_rows`:
    the last validation at or before each mark). Runs not yet in ``store``
    are left out, and a (task, model) with fewer finished seeds than asked
    says so (``1 of 3``); a single seed has no ``±``.

    Returns:
        one row per (task, model): task, model, seeds, one column per mark
        (``2 min``), lines/s (mean over seeds) and criterion (:func:`criterion_text`).
    """
    from hwr.bench.task import mean_sd, measure_rows

    marks = list(marks)
    rows = measure_rows(specs, store, marks)
    asked: dict[tuple[str, str], set] = {}
    for task, spec in specs:
        asked.setdefault((task, spec.experiment), set()).add(spec.seed)
    out = []
    for (task, model), seeds in asked.items():
        mine = [r for r in rows if (r["task"], r["model"]) == (task, model)]
        done = len({r["seed"] for r in mine})
        row = {"task": task, "model": model, "seeds": str(done) if done == len(seeds) else f"{done} of {len(seeds)}"}
        last = (float("nan"), float("nan"), 0)
        for mark in marks:
            last = mean_sd([r["val_cer"] for r in mine if r["minutes"] == mark])
            m, sd, n = last
            row[f"{mark:g} min"] = "-" if n == 0 else mean_sd_text(m, sd if n > 1 else None)
        speed, _, k = mean_sd(list({r["seed"]: r["lines_per_s"] for r in mine}.values()))
        row["lines/s"] = speed if k else float("nan")
        row["criterion"] = criterion_text(last[0], last[1], last[2], len(seeds))
        out.append(row)
    columns = ["task", "model", "seeds", *[f"{m:g} min" for m in marks], "lines/s", "criterion"]
    return pd.DataFrame(out, columns=columns)


def criterion_summary(specs: list[tuple[str, RunSpec]], store: RunStore, mark: float, task: str) -> str:
    """One sentence on how far ``task``'s models are from the book-task criterion at ``mark`` minutes:
    each model's mean val CER over its finished seeds, and by how many points it misses (or meets) it."""
    from hwr.bench.task import CRITERION_MEAN, mean_sd, measure_rows

    rows = [r for r in measure_rows([(t, s) for t, s in specs if t == task], store, [mark]) if r["task"] == task]
    parts = []
    for model in dict.fromkeys(r["model"] for r in rows):
        m, sd, n = mean_sd([r["val_cer"] for r in rows if r["model"] == model])
        if n == 0:
            continue
        gap = m - CRITERION_MEAN
        where = "meets the criterion" if gap <= 0 else f"misses it by {100 * gap:.1f} points"
        spread = f" (seed sd {100 * sd:.1f})" if n > 1 else ""
        parts.append(f"`{model}` reaches {100 * m:.1f} %{spread} and {where}")
    if not parts:
        return f"No run of {task} has finished yet."
    return f"On {task}, after {mark:g} minutes: " + "; ".join(parts) + "."


# ---------------------------------------------------------------- a study's runs
def study_setup(study) -> pd.DataFrame:
    """The declared runs of a study: one row per model and variant.

    Columns: model, variant, family, state count (at the task's input height:
    the thesis's count, which does not depend on it), seeds, budget (minutes).
    """
    from hwr.models.registry import MODELS, build, state_count

    rows = {}
    for spec in study.runs:
        key = (spec.experiment, spec.variant)
        if key not in rows:
            rows[key] = {"model": spec.experiment, "variant": spec.variant or "-",
                         "family": MODELS[spec.experiment].family,
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
    """A run's per-line test predictions as dict rows (what :mod:`hwr.stats` takes),
    each with the ``writer`` of its line, so every interval counts writers."""
    rows = rec.predictions.to_dict("records")
    writers = test_writers(rec.spec.data)
    for row in rows:
        row["writer"] = writers.get(str(row["id"]), str(row["id"]))
    return rows


@lru_cache(maxsize=16)
def test_writers(source: str) -> dict[str, str]:
    """Line id -> writer of a data source's test split (:func:`hwr.datasets.writers.line_writers`;
    a synthetic preset that is not on disk is labelled from the generator's plan). A dataset
    path that is not on this machine gives {}: each line its own cluster, as for data
    without writer records."""
    from hwr.datasets.base import DatasetError
    from hwr.datasets.writers import line_writers

    try:
        return line_writers(source, "test")
    except (DatasetError, OSError):
        return {}


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
    """Training and test time of the runs, summed: each run's training time (``metrics.json``
    minutes, resumes included) plus its test pass (``test.json`` seconds)."""
    return float(sum(60 * (r.metrics.get("minutes") or 0) + (r.test.get("seconds") or 0) for r in records))


def _hardware(rec: RunRecord) -> dict:
    return rec.provenance.get("hardware") or {}


def _cpu(hw: dict) -> str:
    return hw.get("cpu") or hw.get("machine") or "unknown CPU"


def cpu_name(rec: RunRecord) -> str:
    """The CPU a run trained on, short (``Intel Xeon``, ``AMD EPYC``), from its provenance."""
    import re

    name = re.sub(r"\((R|TM)\)|\b(Processor|CPU)\b|@.*", "", _cpu(_hardware(rec)))
    return " ".join(name.split()) or "unknown CPU"


def machine_speeds(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Training lines per second of each model on each CPU its runs trained on,
    for the models whose runs span more than one CPU (a wall-clock budget buys
    as many more lines as the machine is faster).

    Columns: ``model``, then per CPU its mean lines/s, and ``ratio`` (the
    fastest CPU's mean over the slowest's)."""
    import statistics

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
    ``Intel Xeon, 2 cores, 1 thread per run``; distinct machines joined by "; "."""
    seen = []
    for r in records:
        hw = _hardware(r)
        text = (f"{_cpu(hw)}, {hw.get('cores', '?')} cores, "
                f"{hw.get('torch_threads', '?')} thread{'s' if hw.get('torch_threads') != 1 else ''} per run")
        if hw.get("gpu"):
            text += f", {hw['gpu']}"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


# ---------------------------------------------------------------- candidates' runs
def task_name(profile: str) -> str:
    """The name of ``profile``'s book task (``configs/tasks.yaml``), ``"not chosen"`` while null."""
    from hwr.training.task import load_tasks

    _, profiles = load_tasks()
    return profiles.get(profile) or "not chosen"


def candidate_curves(specs: list[tuple[str, RunSpec]], store: RunStore) -> pd.DataFrame:
    """:func:`curves_frame` of the finished candidate runs, labelled by model, with a ``task`` column."""
    frames = []
    for task, spec in specs:
        if store.is_done(spec):
            frame = curves_frame([store.load(spec)], label=lambda r: r.spec.experiment)
            frames.append(frame.assign(task=task))
    if not frames:
        return pd.DataFrame(columns=["label", "seed", "epoch", "lines_seen", "minutes", "val_cer", "task"])
    return pd.concat(frames, ignore_index=True)


def reference_run(specs: list[tuple[str, RunSpec]], store: RunStore, task: str, model: str) -> dict:
    """The last validation of one candidate run (the lowest seed of ``task`` x ``model``).

    Returns:
        {"val_cer": fraction, "minutes": run time at that validation}; NaN
        for both while the run is not in the store.
    """
    nan = {"val_cer": float("nan"), "minutes": float("nan")}
    runs = sorted((s for t, s in specs if t == task and s.experiment == model and store.is_done(s)),
                  key=lambda s: s.seed)
    if not runs:
        return nan
    h = store.load(runs[0]).history.dropna(subset=["val_cer"])
    if h.empty:
        return nan
    return {"val_cer": float(h["val_cer"].iloc[-1]), "minutes": float(h["elapsed"].iloc[-1]) / 60}


def rerun_commands(chapter: str, profile: str, candidates: dict, models: Sequence[str]) -> str:
    """The shell commands that recompute a chapter's study, its candidate table and its page
    (Markdown, one comment line above each command, short enough for a phone).

    Candidates that share their seeds and models are measured by one ``hwr bench task`` call.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for task, what in candidates.items():
        seeds, mine = (what.get("seeds", [0]), what.get("models", models)) if isinstance(what, dict) else (what, models)
        groups.setdefault((",".join(str(int(s)) for s in seeds), ",".join(mine)), []).append(task)
    out = "" if profile == "book" else f" \\\n    --out results/{profile}"
    lines = ["# the study's runs, two at a time, one thread each", f"hwr sweep {chapter} --profile {profile}"]
    for (seeds, mine), tasks in groups.items():
        lines += [f"# the candidate table's runs with seeds {seeds}",
                  f"hwr bench task --task {','.join(tasks)} \\\n    --models {mine} --seeds {seeds}{out}"]
    lines += ["# this page, from the records", f"hwr run {chapter} --profile {profile}"]
    return "```bash\n" + "\n".join(lines) + "\n```"


def points(x: float) -> str:
    """A difference of rates in signed percentage points, ``+1.23`` / ``−0.45`` (``-`` when missing)."""
    return "-" if x is None or x != x else f"{100 * x:+.2f}".replace("-", "\u2212")


def verdict_values(verdict, better: str, other: str) -> dict[str, str | int]:
    """The numbers of a :class:`hwr.stats.Verdict` as the chapter glues them.

    Keys: answer (:func:`answer`), diff, diff_low, diff_high (pooled B - A
    and its interval, in signed points), diff_seeds (per seed, comma-separated),
    n_seeds, n_lines (with a thousands separator).
    """
    return {"answer": answer(verdict, better, other), "diff": points(verdict.mean_diff),
            "diff_low": points(verdict.low), "diff_high": points(verdict.high),
            "diff_seeds": ", ".join(points(d) for d in verdict.per_seed), "n_seeds": verdict.n_seeds,
            "n_lines": f"{verdict.n_lines:,}"}


# ---------------------------------------------------------------- thesis chapters
def mean_val_cer(recs: Sequence[RunRecord]) -> float:
    """Mean over runs of the best validation CER (fraction; NaN without records)."""
    vals = [(r.metrics.get("best") or {}).get("val_cer") for r in recs]
    vals = [v for v in vals if v is not None]
    return float(sum(vals) / len(vals)) if vals else float("nan")


def thesis_frame(records: Sequence[RunRecord], n_resamples: int = 2000) -> pd.DataFrame:
    """Test results beside the thesis's, one row per model/variant.

    Columns: seeds, CER (%) mean ± seed sd, its 95 % bootstrap interval over
    lines, WER (%), legacy CER (%) (the thesis's metric, mean over seeds),
    the thesis's legacy CER (%) on IAM-B, and the best validation CER (%).
    """
    from hwr.models.registry import MODELS

    summary = summary_frame(records, n_resamples)
    rows = []
    for label, recs in by_label(records).items():
        s = summary.loc[label]
        legacy = [r.test.get("legacy_cer") for r in recs if r.test.get("legacy_cer") is not None]
        thesis = MODELS[recs[0].spec.experiment].thesis_cer
        rows.append({"model": label, "seeds": len(recs), "CER (%)": s["CER (%)"],
                     "95 % interval": s["CER 95 % interval"], "WER (%)": s["WER (%)"],
                     # hwr.metrics.legacy_cer is in percent already, as the thesis reported it
                     "legacy CER (%)": f"{sum(legacy) / len(legacy):.1f}" if legacy else "-",
                     "thesis CER (%)": "-" if thesis is None else f"{thesis:.1f}",
                     "val CER (%)": percent(mean_val_cer(recs))})
    return pd.DataFrame(rows).set_index("model")


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


def claim_verdict(records: Sequence[RunRecord], better: str, other: str, budget_cer: float | None = None):
    """The verdict on "``better`` has a lower test CER than ``other``", with the book's budget rule.

    The statistical rule (:func:`hwr.stats.verdict`) calls a difference or
    not. On top of it, a claim about trained models is *inconclusive at this
    budget* when either model's mean best validation CER is above
    ``budget_cer`` (the book-task criterion, :data:`hwr.bench.task.CRITERION_MEAN`):
    a difference between two models still learning to align measures how
    fast each leaves the early plateau, not how well it reads once trained.
    And no verdict rests on a flagged run (:attr:`RunRecord.flagged`: its
    output ignores the image on more than
    :data:`hwr.metrics.DEGENERATE_LIMIT` of the lines, or a cap cut it
    short): such a claim is inconclusive, and the explanation says why.
    The called difference is kept in the explanation.

    Returns:
        a :class:`hwr.stats.Verdict`; ``explanation`` says which rule decided.
    """
    import dataclasses

    from hwr import stats
    from hwr.bench.task import CRITERION_MEAN

    budget_cer = CRITERION_MEAN if budget_cer is None else budget_cer
    groups = by_label(records)
    for name in (better, other):
        if name not in groups:
            raise KeyError(f"no runs of {name!r} among the records ({', '.join(groups)})")
    comparison = stats.compare([prediction_rows(r) for r in groups[other]],
                               [prediction_rows(r) for r in groups[better]], names=(other, better))
    v = stats.verdict(comparison, better=better)
    untrained = {m: mean_val_cer(groups[m]) for m in (better, other) if mean_val_cer(groups[m]) > budget_cer}
    # runs whose output ignores the image (hwr.metrics.degenerate_lines) are no result at all
    from hwr.metrics import DEGENERATE_LIMIT

    blind = {m: max(r.degenerate for r in groups[m]) for m in (better, other)
             if any(r.degenerate > DEGENERATE_LIMIT for r in groups[m])}
    capped = [m for m in (better, other) if any(r.metrics.get("capped") for r in groups[m])]
    if capped:
        text = (f"No verdict: {v.numbers}; but a minutes cap cut the lines budget of "
                f"{' and '.join(capped)} short, and an unfinished run is not scored as complete.")
        v = dataclasses.replace(v, outcome=stats.INCONCLUSIVE, explanation=text)
    elif blind:
        who = " and ".join(f"{m} (up to {percent(d)} % of the test lines)" for m, d in blind.items())
        text = (f"No verdict: {v.numbers}; but the output of {who} ignores the image on more than the "
                f"{100 * DEGENERATE_LIMIT:g} % the book allows, so these runs do not read and no verdict "
                f"rests on them.")
        v = dataclasses.replace(v, outcome=stats.INCONCLUSIVE, explanation=text)
    elif untrained and v.outcome != stats.INCONCLUSIVE:
        lower = better if v.outcome == stats.REPRODUCED else other
        far = " and ".join(f"{m} at {percent(c)} %" for m, c in untrained.items())
        text = (f"Inconclusive at this budget: {v.numbers}, so on these runs {lower} is lower; but {far} "
                f"validation CER {'are' if len(untrained) > 1 else 'is'} above the {percent(budget_cer)} % the "
                f"book asks of a trained model, so the difference says which model learns faster early on, "
                f"not which reads better once trained.")
        v = dataclasses.replace(v, outcome=stats.INCONCLUSIVE, explanation=text)
    return dataclasses.replace(v, explanation=code_names(v.explanation, [better, other]))


def code_names(text: str, names: Sequence[str]) -> str:
    """``text`` with every occurrence of the model names ``names`` in backticks (Markdown
    code), so that an underscore in ``light_in`` is not read as emphasis."""
    import re

    pattern = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    return re.sub(rf"(?<![\w`])({pattern})(?![\w`])", r"`\1`", text)


def verdict_frame(verdicts: dict) -> pd.DataFrame:
    """One row per claim: the claim, the thesis's two CERs, the difference here
    (signed points with its interval) and the outcome.

    Args:
        verdicts: claim key (:data:`hwr.thesis.CLAIMS`) -> :class:`hwr.stats.Verdict`.
    """
    from hwr.models.registry import EXPERIMENTS
    from hwr.thesis import CLAIMS

    rows = []
    for key, v in verdicts.items():
        c = CLAIMS[key]
        tb, to = EXPERIMENTS[c.better].thesis_cer, EXPERIMENTS[c.other].thesis_cer
        rows.append({"claim": c.text, "thesis (pt)": points((tb - to) / 100) if tb and to else "-",
                     "here (pt)": f"{points(v.mean_diff)} [{points(v.low)}, {points(v.high)}]",
                     "verdict": v.outcome})
    return pd.DataFrame(rows).set_index("claim")


def seed_verdict_frame(verdicts: dict) -> pd.DataFrame:
    """One row per claim of a seed project: the claim, who makes it, the
    difference here (signed points with its interval) and the outcome.

    Args:
        verdicts: claim key (:data:`hwr.seeds.SEED_CLAIMS`) -> :class:`hwr.stats.Verdict`.
    """
    from hwr.seeds import SEED_CLAIMS, SOURCES

    rows = [{"claim": SEED_CLAIMS[key].text, "made by": SOURCES[key],
             "here (pt)": f"{points(v.mean_diff)} [{points(v.low)}, {points(v.high)}]", "verdict": v.outcome}
            for key, v in verdicts.items()]
    return pd.DataFrame(rows).set_index("claim")


def decoded_rows(lines_table: Sequence[dict], hypothesis: str) -> list[dict]:
    """Per-line rows (id, reference, hypothesis, distance) of one decoder's
    output in an analysis's ``lines_table`` (what :mod:`hwr.stats` compares)."""
    from hwr.metrics import edit_distance

    return [{"id": str(r["id"]), "reference": r["reference"], "hypothesis": r[hypothesis],
             "distance": edit_distance(r["reference"], r[hypothesis])} for r in lines_table]


def speed_frame(records: Sequence[RunRecord], baseline: str) -> pd.DataFrame:
    """Training speed per model/variant: parameters, lines per second (mean ±
    seed sd), lines trained in the budget, and the speed's ratio to ``baseline``'s.

    Lines per second are the trainer's own (training lines over training time,
    validation left out), measured while another run trained beside it. The
    ``CPU`` column names the machines the runs trained on, with their counts
    where they differ (:func:`cpu_name`).
    """
    from collections import Counter

    import statistics

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


def segmentation_verdict(family: str, chars: float, spaces: float, uniform: float, val_cer: float,
                         budget_cer: float | None = None) -> tuple[str, str]:
    """The verdict on "attention maps act as per-character segmentation, spaces excepted" for one family.

    Reproduced when the family's attention peaks fall in their characters'
    boxes more often than a constant-speed reader's would (``uniform``,
    :func:`hwr.segmentation.reference_maps`) and spaces less often than
    other characters; not reproduced otherwise; inconclusive at this budget
    when the family's mean best validation CER is above ``budget_cer`` (the
    book-task criterion), since a model still learning to read is still
    learning to align.

    Args:
        chars, spaces: hit shares of characters and of spaces (mean over runs).
        uniform: the constant-speed reader's hit share of characters.

    Returns:
        ``(outcome, explanation)``.
    """
    from hwr import stats
    from hwr.bench.task import CRITERION_MEAN

    budget_cer = CRITERION_MEAN if budget_cer is None else budget_cer
    segments = chars > uniform
    spaces_apart = spaces < chars
    found = (f"{family}: {percent(chars)} % of characters have their attention peak in their own box, against "
             f"{percent(uniform)} % for a reader moving at constant speed, and {percent(spaces)} % of spaces")
    outcome = stats.REPRODUCED if segments and spaces_apart else stats.NOT_REPRODUCED
    if val_cer > budget_cer:
        return stats.INCONCLUSIVE, (f"Inconclusive at this budget. {found}; but the family's validation CER, "
                                    f"{percent(val_cer)} %, is above the {percent(budget_cer)} % the book asks of a "
                                    f"trained model, and a model still learning to read is still learning to align.")
    why = ("the maps locate characters better than constant speed would, and spaces less well" if outcome ==
           stats.REPRODUCED else "the maps do not locate characters better than constant speed would"
           if not segments else "spaces are located as well as other characters")
    return outcome, f"{outcome.capitalize()}. {found}: {why}."


def attention_family(model: str) -> str:
    """The model families the segmentation verdicts are given for."""
    from hwr.models.registry import EXPERIMENTS

    cfg = EXPERIMENTS[model].config
    if cfg["expand_h"] > 1:
        return "2D attention"
    return "1D, encoder LSTM" if cfg["encoder_hidden"] else "1D, no encoder"


def segmentation_frame(records: Sequence[RunRecord], n: int | None = None):
    """The attention-as-segmentation measure of every run that has it, per model.

    Args:
        records: seq2seq runs.
        n: test lines of the recorded measure (None: :data:`hwr.runs.analyses.SEGMENTATION_LINES`).

    Returns:
        ``(table, measured, unmeasured)``: one row per model/variant (family,
        seeds measured, test CER, peak in box, mass in box, distance, offset,
        spaces' peak in box, the best and the constant-speed maps' peak in
        box (all %, means over seeds), val CER (fraction)); ``measured``
        run id -> (record, analysis); the run ids that could not be measured
        (no record of the measure and no checkpoint).
    """
    from hwr.models import build
    from hwr.runs.analyses import SEGMENTATION_LINES, analysis, test_lines
    from hwr.segmentation import reference_summary

    n = SEGMENTATION_LINES if n is None else n
    measured, unmeasured = {}, []
    for rec in records:
        try:
            measured[rec.spec.run_id] = (rec, analysis(rec, "segmentation", n=n))
        except FileNotFoundError:
            unmeasured.append(rec.spec.run_id)
    lines = test_lines(next(iter(measured.values()))[0], n) if measured else []
    geometry: dict = {}
    rows = []
    for label, recs in by_label(records).items():
        mine = [measured[r.spec.run_id] for r in recs if r.spec.run_id in measured]
        if not mine:
            continue
        net = build(recs[0].spec.experiment, **recs[0].spec.overrides)
        key = (net.input_height, tuple(net.column_centres(4).tolist()))
        if key not in geometry:  # the model-free maps depend on the columns only
            geometry[key] = reference_summary(lines, net)
        ref = geometry[key]
        s = [out["summary"] for _, out in mine]

        def mean(part: str, k: str) -> float:
            return sum(x[part][k] for x in s) / len(s)

        rows.append({"model": label, "family": attention_family(recs[0].spec.experiment), "seeds": len(mine),
                     "test CER (%)": 100 * sum(r.test["cer"] for r, _ in mine) / len(mine),
                     "peak in box (%)": 100 * mean("chars", "hit"), "mass in box (%)": 100 * mean("chars", "mass"),
                     "distance (px)": mean("chars", "distance_median"), "offset (px)": mean("chars", "offset_median"),
                     "spaces: peak in box (%)": 100 * mean("spaces", "hit"),
                     "best (%)": 100 * ref["chars"]["best"], "constant speed (%)": 100 * ref["chars"]["uniform"],
                     "val CER": mean_val_cer([r for r, _ in mine])})
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame(), measured, unmeasured


def segmentation_verdicts(table: pd.DataFrame) -> list[dict]:
    """:func:`segmentation_verdict` per family of a :func:`segmentation_frame` table.

    Returns:
        one dict per family: family, models (labels), verdict, why.
    """
    out = []
    if not len(table):
        return out
    for fam, part in table.groupby("family", sort=False):
        outcome, text = segmentation_verdict(fam, part["peak in box (%)"].mean() / 100,
                                             part["spaces: peak in box (%)"].mean() / 100,
                                             part["constant speed (%)"].mean() / 100, part["val CER"].mean())
        out.append({"family": fam, "models": list(part.index), "verdict": outcome, "why": text})
    return out
