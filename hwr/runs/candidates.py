"""Book-task candidates measured from the run store, and ``hwr bench task``, the command that trains them.

(It lives with the runs because everything it measures is a run of the store;
``hwr bench`` only dispatches to it.)

::

    hwr bench task --task phrases-32,phrases-32-cosine --models ctc_baseline,gate_1,seq2seq_bn \\
        --seeds 0,1,2 --minutes 10 --workers 2

trains every (task, model, seed) as a run of the run store
(:mod:`hwr.runs`: ``<out>/runs/<run id>``, default ``results/book``), one
torch thread per run and ``--workers`` runs at a time in a process pool; a
run already done in the store is read back, not trained again, and the
measurement runs are book records like any other. It then reads each run's
``history.csv`` and prints the table the book needs: for each task and
model, the val CER at fixed minute marks (mean and seed sd), the training
lines/s, and whether the book-task criterion holds at the last mark (mean
<= 15 %, seed sd <= 2 points). ``<out>/measure.csv`` keeps one row per
(task, model, seed, mark).

The val CER "at minute m" is the last validation (one per epoch) whose
elapsed run time is at most ``m`` minutes (5 % slack: a budget run's
closing validation ends slightly after its budget); blank when no epoch had
ended by then. Times are wall-clock, so they depend on what else the machine
does: measure on an otherwise idle machine, ``--workers`` no more than its
cores.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Sequence

import pandas as pd

from hwr import paths
from hwr.cli_types import positive_float, positive_int
from hwr.datasets import open_dataset
from hwr.errors import HwrError
from hwr.models.registry import check_overrides
from hwr.runs.curves import curves_frame
from hwr.runs.executors import print_report, run_missing
from hwr.runs.spec import RunSpec
from hwr.runs.store import RunStore
from hwr.runs.study import task_spec
from hwr.runs.text import mean_sd_text
from hwr.training.cli import parse_override
from hwr.training.records import read_history
from hwr.training.task import get_task, load_tasks

#: the book-task criterion (issue 8 §4), in CER fractions
CRITERION_MEAN, CRITERION_SD = 0.15, 0.02
MARK_SLACK = 0.05


def value_at(history: list[dict], seconds: float, key: str = "val_cer", slack: float = MARK_SLACK):
    """``key`` of the last history row with ``elapsed <= seconds * (1 + slack)``, else None."""
    got = None
    for row in history:
        if row.get("elapsed") is not None and row["elapsed"] <= seconds * (1 + slack) and row.get(key) is not None:
            got = row[key]
    return got


def mean_sd(values: list[float]) -> tuple[float, float, int]:
    """Mean, sample sd (0 for one value; nan for none) and count of the non-missing values."""
    v = [x for x in values if x is not None]
    if not v:
        return math.nan, math.nan, 0
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else 0.0
    return m, sd, len(v)


def specs_for(tasks: list[str], models: list[str], seeds: list[int], minutes: float | None, config: dict,
              overrides: dict, tasks_file: str | None, data: str | None = None) -> list[tuple[str, object]]:
    """One run spec per (task, model, seed); ``minutes`` (if given) replaces the task's budget."""
    extra = dict(config)
    if minutes is not None:
        extra["minutes"] = minutes
    return [(t, task_spec(get_task(t, tasks_file), m, s, overrides, extra, variant=t, data=data))
            for t in tasks for m in models for s in seeds]


def measure_rows(specs: list[tuple[str, object]], store, marks: list[float]) -> list[dict]:
    """Long rows (task, model, seed, minutes, val_cer, lines_per_s) from the finished runs' histories."""
    rows = []
    for task, spec in specs:
        if not store.is_done(spec):
            continue
        rec = store.load(spec)
        history = read_history(rec.folder / "history.csv")
        for mark in marks:
            rows.append({"task": task, "model": spec.experiment, "seed": spec.seed, "minutes": mark,
                         "val_cer": value_at(history, mark * 60), "lines_per_s": rec.metrics["lines_per_s"]})
    return rows


def table(rows: list[dict], marks: list[float]) -> tuple[list[str], list[list[str]]]:
    """Header and lines of the task x model table (val CER mean +- sd per mark)."""
    keys = list(dict.fromkeys((r["task"], r["model"]) for r in rows))  # first-appearance order
    header = ["task", "model", "seeds"] + [f"{m:g} min" for m in marks] + ["lines/s", "criterion"]
    lines = []
    for task, model in keys:
        mine = [r for r in rows if (r["task"], r["model"]) == (task, model)]
        cells = []
        last = None
        for mark in marks:
            m, sd, n = mean_sd([r["val_cer"] for r in mine if r["minutes"] == mark])
            cells.append("-" if n == 0 else f"{m:.1%} ± {sd * 100:.1f}")
            last = (m, sd, n)
        seeds = len({r["seed"] for r in mine})
        speed, _, _ = mean_sd(list({r["seed"]: r["lines_per_s"] for r in mine}.values()))
        m, sd, n = last
        if n < seeds or n == 0:
            verdict = "incomplete"
        else:
            ok = m <= CRITERION_MEAN and sd <= CRITERION_SD
            verdict = "met" if ok else (f"missed by {max(m - CRITERION_MEAN, 0) * 100:.1f} pt"
                                        + (f", sd {sd * 100:.1f}" if sd > CRITERION_SD else ""))
        lines.append([task, model, str(seeds)] + cells + [f"{speed:.1f}", verdict])
    return header, lines


def format_table(header: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(x) for x in col) for col in zip(header, *lines)]
    fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths))  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in lines])


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["task", "model", "seed", "minutes", "val_cer", "lines_per_s"],
                           lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "val_cer": "" if r["val_cer"] is None else f"{r['val_cer']:.6g}",
                        "lines_per_s": f"{r['lines_per_s']:.4g}"})


# -- tasks budgeted in training lines (issue 22): marks, thresholds and the criterion in lines

#: the val CERs whose first crossing a run's row reports ("lines to 50 %", "lines to 15 %")
THRESHOLDS = (0.5, 0.15)
#: the best CTC model must beat untrained stock Tesseract (17.4 % on the book's test phrases) this many times
TESSERACT_CER, TESSERACT_FACTOR = 0.174, 2.0


def cumulative_lines(history: list[dict]) -> list[int]:
    """Training lines seen at each history row (the rows hold each period's own lines)."""
    total, out = 0, []
    for row in history:
        total += row.get("lines") or 0
        out.append(total)
    return out


def value_at_lines(history: list[dict], lines: int, key: str = "val_cer", slack: float = MARK_SLACK):
    """``key`` of the last history row whose cumulative training lines are at most ``lines`` (with
    ``slack``: a validation period is ``val_every`` lines rounded up to whole batches, so the fourth
    period of 5,000 lines ends at 20,032), else None."""
    got = None
    for seen, row in zip(cumulative_lines(history), history):
        if seen <= lines * (1 + slack) and row.get(key) is not None:
            got = row[key]
    return got


def lines_to(history: list[dict], threshold: float) -> int | None:
    """Training lines seen at the first validation with val CER <= ``threshold`` (None: never)."""
    for seen, row in zip(cumulative_lines(history), history):
        if row.get("val_cer") is not None and row["val_cer"] <= threshold:
            return seen
    return None


def run_summary(task: str, spec, rec) -> dict:
    """One finished run of a lines-budget task: what chapter 3's candidate table shows."""
    history = read_history(rec.folder / "history.csv")
    m = rec.metrics
    row = {"task": task, "model": spec.experiment, "seed": spec.seed, "budget": spec.config().lines,
           "train_lines": (m.get("data") or {}).get("train"), "aux_ctc": spec.config().aux_ctc,
           "margin": spec.overrides.get("margin", 0), "val_cer": (m.get("best") or {}).get("val_cer"),
           "test_cer": rec.test.get("cer"), "degenerate": rec.degenerate, "capped": bool(m.get("capped")),
           "flagged": rec.flagged, "lines_per_s": m.get("lines_per_s"), "minutes": m.get("minutes"),
           "history": history}
    for t in THRESHOLDS:
        row[f"lines_to_{round(t * 100)}"] = lines_to(history, t)
    return row


def lines_table(summaries: list[dict], marks: list[int]) -> tuple[list[str], list[list[str]]]:
    """Header and lines of the task x model table for lines budgets: val CER at each mark (mean ± seed sd),
    lines to 50 % and 15 %, the degenerate share, test CER, lines/s and the criterion."""
    keys = list(dict.fromkeys((r["task"], r["model"]) for r in summaries))
    header = (["task", "model", "seeds"] + [f"{m / 1000:g}k" if m >= 1000 else str(m) for m in marks]
              + [f"to {round(t * 100)} %" for t in THRESHOLDS] + ["degenerate", "test CER", "lines/s", "criterion"])
    out = []
    for task, model in keys:
        mine = [r for r in summaries if (r["task"], r["model"]) == (task, model)]
        cells = []
        for mark in marks:
            m, sd, n = mean_sd([value_at_lines(r["history"], mark) for r in mine])
            cells.append("-" if n == 0 else f"{m:.1%} ± {sd * 100:.1f}")
        for t in THRESHOLDS:
            got = [r[f"lines_to_{round(t * 100)}"] for r in mine]
            cells.append("never" if all(g is None for g in got) else
                         "/".join("-" if g is None else f"{g / 1000:g}k" for g in got))
        deg = max(r["degenerate"] for r in mine)
        test, _, _ = mean_sd([r["test_cer"] for r in mine])
        speed, _, _ = mean_sd([r["lines_per_s"] for r in mine])
        m, sd, n = mean_sd([r["val_cer"] for r in mine])
        if any(r["capped"] for r in mine):
            verdict = "capped"
        elif any(r["flagged"] for r in mine):
            verdict = "degenerate"
        else:
            ok = m <= CRITERION_MEAN and (n < 2 or sd <= CRITERION_SD)
            verdict = "met" if ok else f"missed by {max(m - CRITERION_MEAN, 0) * 100:.1f} pt" + (
                f", sd {sd * 100:.1f}" if n > 1 and sd > CRITERION_SD else "")
        out.append([task, model, str(len(mine))] + cells + [f"{deg:.1%}", f"{test:.1%}", f"{speed:.1f}", verdict])
    return header, out


def _list(text: str, kind=str) -> list:
    return [kind(x) for x in text.split(",") if x.strip()]


def configure(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("--task", required=True, help="task name(s) of configs/tasks.yaml, comma-separated")
    parser.add_argument("--models", default="ctc_baseline,gate_1,seq2seq_bn", help="registry names, comma-separated")
    parser.add_argument("--seeds", default="0,1,2", help="seeds, comma-separated (default 0,1,2)")
    parser.add_argument("--minutes", type=positive_float, help="budget per run (default: the task's)")
    parser.add_argument("--marks", help="marks of the table, comma-separated: minutes, or training lines for "
                        "tasks budgeted in lines (default: 5 even marks of the budget)")
    parser.add_argument("--device", default="auto", help="device of every run (auto, cpu, cuda)")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="train book runs from a checkout with uncommitted changes (recorded in each run)")
    parser.add_argument("--workers", type=positive_int, default=2, help="runs at a time, one thread each (default 2)")
    parser.add_argument("--out", type=Path, help="run folders and measure.csv (default results/tasks)")
    parser.add_argument("--tasks-file", help="task file (default configs/tasks.yaml)")
    parser.add_argument("--data", help="data for tasks that leave it to the profile (default synth:default)")
    parser.add_argument("-o", "--override", action="append", type=parse_override, default=[], metavar="KEY=VALUE",
                        help="model override for every run (e.g. a tiny model for a dry run)")
    parser.add_argument("--set", action="append", type=parse_override, default=[], metavar="KEY=VALUE",
                        help="TrainConfig field for every run (e.g. epochs=1 for a dry run)")


def main(args: argparse.Namespace) -> int:

    tasks = _list(args.task)
    tasks_objs = [get_task(t, args.tasks_file) for t in tasks]  # unknown names fail before any training
    for model in _list(args.models):  # and so do overrides a model cannot take
        check_overrides(model, dict(args.override))
    if all(t.train.get("lines") for t in tasks_objs):
        return _main_lines(args, tasks, max(t.train["lines"] for t in tasks_objs))
    minutes = args.minutes or max((t.train.get("minutes") or 0) for t in tasks_objs) or None
    if args.marks:
        marks = _list(args.marks, float)
    elif minutes:
        marks = [round(minutes * k / 5, 2) for k in range(1, 6)]
    else:
        raise HwrError("the task has no minutes budget; give --minutes or --marks")
    out = args.out or paths.RESULTS / "book"
    specs, store, failures = _train_specs(args, tasks, out)
    rows = measure_rows(specs, store, marks)
    write_rows(out / "measure.csv", rows)
    header, lines = table(rows, marks)
    print("\nval CER (mean ± seed sd, points) at each mark; lines/s = training lines per second\n")
    print(format_table(header, lines))
    return 1 if failures else 0


def _train_specs(args: argparse.Namespace, tasks: list[str], out: Path):
    """Train the missing runs of (tasks x models x seeds) into ``out/runs``.

    Returns:
        ((task, spec) pairs, the store, one line per failed run).
    """
    store = RunStore(out / "runs")
    specs = specs_for(tasks, _list(args.models), _list(args.seeds, int), args.minutes, dict(args.set),
                      dict(args.override), args.tasks_file, args.data)
    for source in {spec.data for _, spec in specs}:  # build the datasets once, before the workers race for them
        open_dataset(source, "train")
    print(f"hwr bench task: {len(specs)} runs, {args.workers} at a time, one thread each -> {store.root}", flush=True)
    failures = run_missing([s for _, s in specs], store.root, "local", args.workers, 1, args.device,
                           report=print_report, allow_dirty=args.allow_dirty)
    for line in failures:
        print(f"failed: {line}")
    return specs, store, failures


def _main_lines(args: argparse.Namespace, tasks: list[str], budget: int) -> int:
    """``main`` for tasks budgeted in training lines: train what is missing, print the lines table."""
    marks = _list(args.marks, int) if args.marks else [budget * k // 5 for k in range(1, 6)]
    specs, store, failures = _train_specs(args, tasks, args.out or paths.RESULTS / "book")
    done = [run_summary(t, s, store.load(s)) for t, s in specs if store.is_done(s)]
    header, lines = lines_table(done, marks)
    print("\nval CER (mean ± seed sd) after each number of training lines; lines to 50 % and 15 % val CER per "
          "seed; degenerate: the largest share of test lines whose output ignores the image\n")
    print(format_table(header, lines))
    return 1 if failures else 0


# ---------------------------------------------------------------- tasks and candidates, as chapter 3 shows them
#: the thesis's training conditions that a book task may depart from (TrainConfig defaults)
THESIS_CONDITIONS = {"data": "synth:default", "input_height": 64, "batch_size": 32, "lr": 5e-4,
                     "schedule": "constant"}


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
            for a task measured on fewer models than ``models``, or -> a list of such
            groups (``[{"seeds": [0]}, {"seeds": [1, 2], "models": [...]}]``: some
            models on more seeds); a run named twice is listed once.
        models: registry names.

    Returns:
        (task name, spec) pairs in task, model, seed order; the same specs
        (and so the same run folders) as ``hwr bench task --task T --seeds S``.
    """
    pairs = []
    for task, what in candidates.items():
        for seeds, mine in seed_groups(what, models):
            pairs += [(t, s) for t, s in specs_for([task], mine, seeds, None, {}, {}, None) if (t, s) not in pairs]
    return pairs


def seed_groups(what, models: Sequence[str]) -> list[tuple[list[int], list[str]]]:
    """One candidate's (seeds, models) groups: ``what`` is seeds, ``{"seeds", "models"}``, or a list of
    such dicts (some models measured on more seeds than the others)."""
    groups = what if isinstance(what, list) and what and all(isinstance(g, dict) for g in what) else [what]
    out = []
    for g in groups:
        seeds, mine = (g.get("seeds", [0]), g.get("models", models)) if isinstance(g, dict) else (g, models)
        out.append(([int(x) for x in seeds], list(mine)))
    return out


def criterion_text(mean: float, sd: float, n: int, seeds: int) -> str:
    """The book-task criterion at the last mark, briefly: ``met``, ``+3.2 pt``
    (mean above the limit by), ``sd 2.4`` (seed sd above its limit), or ``incomplete``."""
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

    The numbers are those ``hwr bench task`` prints (:func:`hwr.runs.candidates.measure_rows`:
    the last validation at or before each mark). Runs not yet in ``store``
    are left out, and a (task, model) with fewer finished seeds than asked
    says so (``1 of 3``); a single seed has no ``±``.

    Returns:
        one row per (task, model): task, model, seeds, one column per mark
        (``2 min``), lines/s (mean over seeds) and criterion (:func:`criterion_text`).
    """
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


def task_name(profile: str) -> str:
    """The name of ``profile``'s book task (``configs/tasks.yaml``), ``"not chosen"`` while null."""
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
        for seeds, mine in seed_groups(what, models):
            groups.setdefault((",".join(str(s) for s in seeds), ",".join(mine)), []).append(task)
    out = "" if profile == "book" else f" \\\n    --out results/{profile}"
    lines = ["# the study's runs, two at a time, one thread each", f"hwr sweep {chapter} --profile {profile}"]
    for (seeds, mine), tasks in groups.items():
        lines += [f"# the candidate table's runs with seeds {seeds}",
                  f"hwr bench task --task {','.join(tasks)} \\\n    --models {mine} --seeds {seeds}{out}"]
    lines += ["# this page, from the records", f"hwr run {chapter} --profile {profile}"]
    return "```bash\n" + "\n".join(lines) + "\n```"
