"""``hwr bench task``: measure book-task candidates (task x model x minutes -> val CER).

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
    from hwr.runs.study import task_spec
    from hwr.training.task import get_task

    extra = dict(config)
    if minutes is not None:
        extra["minutes"] = minutes
    return [(t, task_spec(get_task(t, tasks_file), m, s, overrides, extra, variant=t, data=data))
            for t in tasks for m in models for s in seeds]


def measure_rows(specs: list[tuple[str, object]], store, marks: list[float]) -> list[dict]:
    """Long rows (task, model, seed, minutes, val_cer, lines_per_s) from the finished runs' histories."""
    from hwr.training.records import read_history

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
    from hwr.training.records import read_history

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
    from hwr.cli_types import positive_float, positive_int
    from hwr.training.cli import parse_override

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
    from hwr.errors import HwrError
    from hwr.models.registry import check_overrides
    from hwr.paths import RESULTS
    from hwr.training.task import get_task

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
    out = args.out or RESULTS / "book"
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
    from hwr.datasets import open_dataset
    from hwr.runs.executors import print_report, run_missing
    from hwr.runs.store import RunStore

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
    from hwr.paths import RESULTS

    marks = _list(args.marks, int) if args.marks else [budget * k // 5 for k in range(1, 6)]
    specs, store, failures = _train_specs(args, tasks, args.out or RESULTS / "book")
    done = [run_summary(t, s, store.load(s)) for t, s in specs if store.is_done(s)]
    header, lines = lines_table(done, marks)
    print("\nval CER (mean ± seed sd) after each number of training lines; lines to 50 % and 15 % val CER per "
          "seed; degenerate: the largest share of test lines whose output ignores the image\n")
    print(format_table(header, lines))
    return 1 if failures else 0
