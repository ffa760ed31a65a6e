"""Chapter 3's measurement of recipes budgeted in training lines (issue 22, "Models that read").

The tasks of ``configs/tasks.yaml`` with a ``lines`` budget are measured by
``hwr bench task`` like the earlier candidates, but read by lines seen, not
minutes: the validation CER after each number of training lines, the lines a
run needed to reach 50 % and 15 %, the share of test lines whose output
ignores the image (:func:`hwr.metrics.degenerate_share`), and what the whole
book would cost on that recipe.

>>> specs = candidate_specs({"xl-100k": [0]}, ["ctc_baseline", "gate_1"])   # hwr.runs.report
>>> lines_frame(specs, store, marks=[20000, 60000, 100000])
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from hwr.datasets import open_dataset
from hwr.models import build
from hwr.models.registry import gate_margin, model_config
from hwr.preprocess import prepared_width
from hwr.runs.candidates import (CRITERION_MEAN, CRITERION_SD, MARK_SLACK, THRESHOLDS, candidate_specs, mean_sd,
                                 run_summary, value_at_lines)
from hwr.runs.spec import RunSpec
from hwr.runs.store import RunStore
from hwr.training.task import get_task


def summaries(specs: list[tuple[str, RunSpec]], store: RunStore) -> list[dict]:
    """:func:`hwr.runs.candidates.run_summary` of every finished run of ``specs`` (the others left out)."""
    return [run_summary(task, spec, store.load(spec)) for task, spec in specs if store.is_done(spec)]


def _thousands(lines: int | None) -> str:
    return "never" if lines is None else mark_label(lines)


def mark_label(lines: int) -> str:
    """A number of training lines for a column head: ``20k``, ``2.5k``, or ``48`` below a thousand."""
    return f"{lines / 1000:.3g}k" if lines >= 1000 else str(lines)


def lines_frame(specs: list[tuple[str, RunSpec]], store: RunStore, marks: Sequence[int]) -> pd.DataFrame:
    """One row per finished (task, model, seed): the candidate table of chapter 3.

    Columns: task, model, seed, training phrases, auxiliary CTC weight, gate
    margin (px), val CER (%) after each mark (blank past the run's budget), lines to 50 % and to 15 % val
    CER, degenerate test share (%), test CER (%), lines/s and the criterion
    (best val CER <= 15 %; ``degenerate`` or ``capped`` runs never meet it).
    """
    rows = []
    for r in summaries(specs, store):
        row = {"task": r["task"], "model": r["model"], "seed": r["seed"],
               "phrases": f"{r['train_lines'] / 1000:g}k" if r["train_lines"] else "-",
               "aux CTC": r["aux_ctc"] or "-", "margin": r["margin"] or "-"}
        for mark in marks:  # a mark past the run's own budget stays blank (runs of several budgets share a table)
            past = r["budget"] and mark > r["budget"] * (1 + MARK_SLACK)
            v = None if past else value_at_lines(r["history"], mark)
            row[mark_label(mark)] = float("nan") if v is None else 100 * v
        for t in THRESHOLDS:
            row[f"to {round(100 * t)} %"] = _thousands(r[f"lines_to_{round(100 * t)}"])
        row["degenerate"] = 100 * r["degenerate"]
        row["test CER"] = 100 * r["test_cer"]
        row["lines/s"] = r["lines_per_s"]
        row["criterion"] = criterion(r)
        rows.append(row)
    return pd.DataFrame(rows)


def criterion(r: dict) -> str:
    """A run summary against the criterion: ``met``, ``capped``, ``degenerate`` (neither ever meets it), or
    how far its best validation CER is above it (``+3.2 pt``)."""
    return ("capped" if r["capped"] else "degenerate" if r["flagged"] else
            "no validation" if r["val_cer"] is None else
            "met" if r["val_cer"] <= CRITERION_MEAN else f"+{100 * (r['val_cer'] - CRITERION_MEAN):.1f} pt")


KEYS = ["task", "model", "seed"]
OUTCOMES = [f"to {round(100 * t)} %" for t in THRESHOLDS] + ["degenerate", "test CER", "lines/s", "criterion"]


def split_lines_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``lines_frame`` as two tables narrow enough for the book's column: the
    recipe and its validation curve (keys, phrases, aux CTC, margin, the marks),
    and its outcome (keys, lines to each threshold, degenerate share, test CER,
    lines/s, criterion)."""
    if frame.empty:
        return frame.copy(), frame.copy()
    curve = [c for c in frame.columns if c not in OUTCOMES]
    return frame[curve].copy(), frame[KEYS + OUTCOMES].copy()


def book_cost(lines: int, seeds: int, speeds: dict[str, float], models: Sequence[str]) -> dict:
    """CPU-hours of training ``models`` for ``seeds`` seeds at ``lines`` each, at the
    training speeds ``speeds`` (model -> lines/s on one thread); models without a
    speed are counted at the slowest measured one and listed.

    Returns:
        {"hours": total CPU-hours, "per_seed": hours of one seed of every model,
        "assumed": models whose speed was assumed}.
    """
    known = {m: s for m, s in speeds.items() if s and s == s}
    if not known:
        return {"hours": float("nan"), "per_seed": float("nan"), "assumed": list(models)}
    slowest = min(known.values())
    per_seed = sum(lines / known.get(m, slowest) for m in models) / 3600
    return {"hours": per_seed * seeds, "per_seed": per_seed, "assumed": [m for m in models if m not in known]}


def speeds(specs: list[tuple[str, RunSpec]], store: RunStore) -> dict[str, float]:
    """Mean training lines/s per model over the finished runs of ``specs``."""
    by: dict[str, list] = {}
    for r in summaries(specs, store):
        by.setdefault(r["model"], []).append(r["lines_per_s"])
    return {m: mean_sd(v)[0] for m, v in by.items()}


def memory_columns(models: Sequence[str], source: str = "synth:phrases-xl-smoke", split: str = "test",
                   height: int = 32) -> pd.DataFrame:
    """How many memory columns each model has per character of a line, with and without its gate margin.

    CTC needs a frame per character (two for a doubled letter), and an
    attention model with fewer columns than characters must place two
    characters on one column. Measured on ``split`` of ``source`` (the
    smoke-sized set of the xl recipe: the same generator, fonts and test
    writers, so it renders in seconds) at input height ``height``.

    Returns:
        one row per model: gates, margin (px per side), then without the margin
        ("bare") and with it: the mean memory columns per character
        (``cols/char``) and the share of lines (%) with fewer columns than
        characters (``short %``).
    """
    import torch

    ds = open_dataset(source, split)
    widths = torch.tensor([prepared_width(h, w, height) for h, w in ds.sizes()])
    chars = torch.tensor([len(t) for t in ds.texts], dtype=torch.float32)
    rows = []
    for name in models:
        cfg = model_config(name, input_height=height)
        margin = gate_margin(cfg) if cfg.family == "seq2seq" else 0
        row = {"model": name, "gates": getattr(cfg, "gates", 0), "margin": margin}
        for label, m in (("bare", 0), ("margin", margin)):
            cols = build(name, input_height=height, **({"margin": m} if m else {})).output_width(widths).clamp(min=0)
            row[f"{label} cols/char"] = float((cols / chars).mean())
            row[f"{label} short %"] = 100 * float((cols < chars).float().mean())
        rows.append(row)
    return pd.DataFrame(rows)


#: the models the criterion names (issue 22 §5): each must reach CRITERION_MEAN within its budget
CRITERION_MODELS = ("ctc_baseline", "seq2seq_bn", "gate_1")
#: the seeds over which their spread is judged (CRITERION_SD)
CRITERION_SEEDS = 3


def _by(found: list[dict]) -> dict[tuple[str, str], dict]:
    """(task, model) -> the seed-0 (or first) finished run's summary, from :func:`summaries`."""
    out: dict[tuple[str, str], dict] = {}
    for r in sorted(found, key=lambda r: r["seed"]):
        out.setdefault((r["task"], r["model"]), r)
    return out


def decision(chosen: str, specs: list[tuple[str, RunSpec]], store: RunStore, models: Sequence[str],
             criterion_models: Sequence[str] = CRITERION_MODELS) -> dict:
    """The recipe chosen for the book, and why, from the measured runs.

    Args:
        chosen: the chosen task (``xl-100k``).
        specs: the measured (task, spec) pairs (chapter 3's line candidates).
        store: where their runs are.
        models: every model the book trains on the chosen recipe (the thesis's 21): the sweep's list.

    Returns:
        ``{"text": Markdown, "met": criterion models meeting the criterion on the chosen recipe,
        "missing": models without a finished seed-0 run on it, "done": those with one}``.
    """
    found = summaries(specs, store)  # read once: every run's records and history
    runs = _by(found)
    task = get_task(chosen)
    budget = task.train.get("lines")
    parts = [f"**The book's recipe is `{chosen}`**: {task.description}."]
    measured = [m for m in criterion_models if (chosen, m) in runs]
    met = [m for m in measured if criterion(runs[(chosen, m)]) == "met"]
    if measured:
        best = ", ".join(f"`{m}` {100 * runs[(chosen, m)]['val_cer']:.1f} %" for m in measured)
        verdict = ("all of them reach" if len(met) == len(measured) else "none of them reaches" if not met else
                   "one of them reaches" if len(met) == 1 else f"{len(met)} of them reach")
        parts.append(f"Of the models the criterion names, {len(measured)} have run on it, and {verdict} "
                     f"{100 * CRITERION_MEAN:g} % validation CER within its {budget:,} lines at seed 0 (best "
                     f"validation CER: {best}).")
    # the same model on a longer budget of the same recipe: what more lines buy, at what cost
    for (t, m), r in runs.items():
        longer = get_task(t).train.get("lines")
        if t != chosen and (chosen, m) in runs and longer and budget and longer > budget \
                and get_task(t).data == task.data and get_task(t).train.get("aux_ctc") == task.train.get("aux_ctc"):
            parts.append(f"A longer budget helps, at a cost in proportion: on `{t}` ({longer:,} lines) `{m}` reaches "
                         f"{100 * r['test_cer']:.1f} % test CER against {100 * runs[(chosen, m)]['test_cer']:.1f} % "
                         f"on `{chosen}`, for {longer / budget:g} times the training.")
    spread = seed_spread(chosen, found, criterion_models)
    if spread:
        rest = [m for m in measured if m not in spread]
        parts.append(f"Over seeds, the criterion asks a mean best validation CER of at most {100 * CRITERION_MEAN:g} % "
                     f"with a seed sd of at most {100 * CRITERION_SD:g} points: "
                     + "; ".join(_spread_text(m, *v) for m, v in spread.items())
                     + (f"; {_and([f'`{m}`' for m in rest])} {'has' if len(rest) == 1 else 'have'} one seed "
                        f"so far." if rest else "."))
    sweep = candidate_specs({chosen: [0]}, list(models))
    done = [s.experiment for _, s in sweep if store.status(s) == "done"]
    missing = [s.experiment for _, s in sweep if s.experiment not in done]
    parts.append(f"Seed 0 of {len(done)} of the {len(sweep)} models has run on it so far"
                 + (f"; still to run: {', '.join(f'`{m}`' for m in missing)}." if missing else "."))
    return {"text": " ".join(parts), "met": met, "missing": missing, "done": done, "spread": spread}


def _spread_text(model: str, mean: float, sd: float, n: int) -> str:
    """One criterion model's seed spread against the criterion, in words."""
    missed = [w for w, bad in ((f"mean above {100 * CRITERION_MEAN:g} %", mean > CRITERION_MEAN),
                               (f"sd above {100 * CRITERION_SD:g} points", sd > CRITERION_SD)) if bad]
    state = (f"misses it: {' and '.join(missed)}" if missed else "meets it" if n >= CRITERION_SEEDS else
             f"within it so far, {CRITERION_SEEDS} seeds asked")
    return f"`{model}` {100 * mean:.1f} ± {100 * sd:.1f} % over {n} seeds ({state})"


def _and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def seed_spread(chosen: str, found: list[dict],
                models: Sequence[str] = CRITERION_MODELS) -> dict[str, tuple[float, float, int]]:
    """model -> (mean, sample sd, seeds) of the best validation CER (fractions) over the finished runs of
    ``chosen`` among ``found`` (:func:`summaries`), for the ``models`` with at least two seeds there (the
    criterion's second half). A flagged or capped run counts at 100 %, since it never meets the criterion."""
    by: dict[str, list[float]] = {}
    for r in found:
        if r["task"] == chosen and r["model"] in models and r["val_cer"] is not None:
            by.setdefault(r["model"], []).append(1.0 if r["flagged"] or r["capped"] else r["val_cer"])
    return {m: mean_sd(v) for m in models for v in [by.get(m, [])] if len(v) > 1}
