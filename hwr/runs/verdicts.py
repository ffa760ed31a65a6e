"""A study's verdicts: per-run summaries, the thesis table, and each claim judged with the
hierarchical interval of :mod:`hwr.stats` (seeds, writers, lines) and the degenerate-output guard."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Sequence

import numpy as np
import pandas as pd

from hwr import stats
from hwr.datasets.base import DatasetError
from hwr.datasets.writers import line_writers
from hwr.metrics import DEGENERATE_LIMIT
from hwr.models.registry import EXPERIMENTS, MODELS
from hwr.runs.candidates import CRITERION_MEAN
from hwr.runs.curves import by_label
from hwr.runs.store import RunRecord
from hwr.runs.text import code_names, mean_sd_text, percent, points
from hwr.seeds import SEED_CLAIMS, SOURCES
from hwr.thesis import CLAIMS


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
    rows = []
    for label, recs in by_label(records).items():
        runs = [prediction_rows(r) for r in recs]
        row = {"model": label, "seeds": len(recs)}
        for unit, name in (("char", "CER"), ("word", "WER")):
            s = stats.summarize(runs, unit, n_resamples=n_resamples)
            row["test lines"] = s.n_lines
            row[f"{name} (%)"] = mean_sd_text(s.mean, s.sd if s.n_seeds > 1 else None)
            row[f"{name} 95 % interval"] = f"{percent(s.interval.low)} to {percent(s.interval.high)}"
            row[name.lower()], row[f"{name.lower()}_sd"] = s.mean, s.sd
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


#: the book's own answers when a verdict's claim is a question of the book, not a thesis claim
def answer(verdict, better: str, other: str) -> str:
    """A verdict's outcome in the words of a question ("which one is lower?").

    ``better`` is the name the verdict's claim favours; the answer is
    "<better> is lower", "<other> is lower" or the inconclusive outcome.
    """
    return {stats.REPRODUCED: f"{better} is lower", stats.NOT_REPRODUCED: f"{other} is lower"}.get(
        verdict.outcome, verdict.outcome)


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


def mean_val_cer(recs: Sequence[RunRecord]) -> float:
    """Mean over runs of the best validation CER (fraction; NaN without records)."""
    vals = [(r.metrics.get("best") or {}).get("val_cer") for r in recs]
    vals = [v for v in vals if v is not None]
    return float(sum(vals) / len(vals)) if vals else float("nan")


def thesis_frame(records: Sequence[RunRecord], n_resamples: int = 2000) -> pd.DataFrame:
    """Test results beside the thesis's, one row per model/variant.

    Columns: CER (%) mean ± seed sd, legacy CER (%) (the thesis's metric,
    mean over seeds), the thesis's legacy CER (%) on IAM-B, seeds, the CER's
    95 % bootstrap interval over lines, WER (%), and the best validation CER (%).
    """
    summary = summary_frame(records, n_resamples)
    rows = []
    for label, recs in by_label(records).items():
        s = summary.loc[label]
        legacy = [r.test.get("legacy_cer") for r in recs if r.test.get("legacy_cer") is not None]
        thesis = MODELS[recs[0].spec.experiment].thesis_cer
        # the columns a reader comes for first (the book's CER and the thesis's), so that a phone shows them
        rows.append({"model": label, "CER (%)": s["CER (%)"],
                     # hwr.metrics.legacy_cer is in percent already, as the thesis reported it
                     "legacy CER (%)": f"{sum(legacy) / len(legacy):.1f}" if legacy else "-",
                     "thesis CER (%)": "-" if thesis is None else f"{thesis:.1f}",
                     "seeds": len(recs), "95 % interval": s["CER 95 % interval"], "WER (%)": s["WER (%)"],
                     "val CER (%)": percent(mean_val_cer(recs))})
    return pd.DataFrame(rows).set_index("model")


def claim_verdict(records: Sequence[RunRecord], better: str, other: str, budget_cer: float | None = None):
    """The verdict on "``better`` has a lower test CER than ``other``", with the book's rules.

    The statistical rule (:func:`hwr.stats.verdict`) calls a difference or
    not; :func:`guarded` then applies the rules about the runs themselves
    (a budget cap, output that ignores the image, models still learning).

    Returns:
        a :class:`hwr.stats.Verdict`; ``explanation`` says which rule decided.
    """
    groups = by_label(records)
    for name in (better, other):
        if name not in groups:
            raise KeyError(f"no runs of {name!r} among the records ({', '.join(groups)})")
    comparison = stats.compare([prediction_rows(r) for r in groups[other]],
                               [prediction_rows(r) for r in groups[better]], names=(other, better))
    v = guarded(stats.verdict(comparison, better=better), better, other,
                {better: groups[better], other: groups[other]}, budget_cer)
    return dataclasses.replace(v, explanation=code_names(v.explanation, [better, other]))


def decoder_verdict(records: Sequence[RunRecord], other_rows: Sequence, better_rows: Sequence, better: str,
                    other: str, budget_cer: float | None = None):
    """The verdict on "decoding ``records`` with ``better`` gives a lower test CER than with ``other``".

    Args:
        records: the runs both decoders read (one model: the rules about the runs apply to them).
        other_rows, better_rows: per run, the per-line rows of each decoder (:func:`hwr.stats.compare`'s input).
    """
    comparison = stats.compare(list(other_rows), list(better_rows), names=(other, better))
    label = ", ".join(by_label(records))
    return guarded(stats.verdict(comparison, better=better), better, other, {label: list(records)}, budget_cer)


def guarded(v, better: str, other: str, runs: dict[str, Sequence[RunRecord]], budget_cer: float | None = None,
            called: str | None = None):
    """A statistical verdict with the book's rules about the runs it rests on applied, one rule for every chapter.

    A claim about trained models is *inconclusive at this budget* when a
    model's mean best validation CER is above ``budget_cer`` (the book-task
    criterion, :data:`hwr.runs.candidates.CRITERION_MEAN`): a difference
    between two models still learning to align measures how fast each
    leaves the early plateau, not how well it reads once trained. And no
    verdict rests on a flagged run (:attr:`RunRecord.flagged`: its output
    ignores the image on more than :data:`hwr.metrics.DEGENERATE_LIMIT` of
    the lines, or a cap cut it short), nor on runs trained on different devices
    (:attr:`RunRecord.device`: a GPU's arithmetic is not the CPU's): such a claim
    is inconclusive, and the explanation says why. The called difference is kept
    in the explanation.

    Args:
        v: :func:`hwr.stats.verdict`'s verdict on "``better`` is lower than ``other``".
        runs: model name -> the runs the verdict rests on.
        called: what the statistics called, in words, for the budget rule's explanation
            (default "<the lower one> is lower").
    """
    budget_cer = CRITERION_MEAN if budget_cer is None else budget_cer
    untrained = {m: c for m, c in ((m, mean_val_cer(rs)) for m, rs in runs.items()) if c > budget_cer}
    # runs whose output ignores the image (hwr.metrics.degenerate_lines) are no result at all
    blind = {m: max(r.degenerate for r in rs) for m, rs in runs.items()
             if any(r.degenerate > DEGENERATE_LIMIT for r in rs)}
    capped = [m for m, rs in runs.items() if any(r.metrics.get("capped") for r in rs)]
    devices = sorted({r.device for rs in runs.values() for r in rs})
    if len(devices) > 1:
        where = "; ".join(f"{m} on {' and '.join(sorted({r.device for r in rs}))}" for m, rs in runs.items())
        text = (f"No verdict: {v.numbers}; but the runs trained on different devices ({where}), and the book "
                f"never compares runs across devices.")
        v = dataclasses.replace(v, outcome=stats.INCONCLUSIVE, explanation=text)
    elif capped:
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
        if called is None:
            called = f"{better if v.outcome == stats.REPRODUCED else other} is lower"
        far = " and ".join(f"{m} at {percent(c)} %" for m, c in untrained.items())
        text = (f"Inconclusive at this budget: {v.numbers}, so on these runs {called}; but {far} "
                f"validation CER {'are' if len(untrained) > 1 else 'is'} above the {percent(budget_cer)} % the "
                f"book asks of a trained model, so the difference says which model learns faster early on, "
                f"not which reads better once trained.")
        v = dataclasses.replace(v, outcome=stats.INCONCLUSIVE, explanation=text)
    return v


def verdict_frame(verdicts: dict) -> pd.DataFrame:
    """One row per claim: the claim, the thesis's two CERs, the difference here
    (signed points with its interval) and the outcome.

    Args:
        verdicts: claim key (:data:`hwr.thesis.CLAIMS`) -> :class:`hwr.stats.Verdict`.
    """
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
    rows = [{"claim": SEED_CLAIMS[key].text, "made by": SOURCES[key],
             "here (pt)": f"{points(v.mean_diff)} [{points(v.low)}, {points(v.high)}]", "verdict": v.outcome}
            for key, v in verdicts.items()]
    return pd.DataFrame(rows).set_index("claim")


def answers_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Every claim the book tests, answered in one table: the thesis's (:data:`hwr.thesis.CLAIMS`) and the
    seed projects' (:data:`hwr.seeds.SEED_CLAIMS`) whose two models both have runs in ``records``.

    Columns: claim, who makes it, the thesis's difference (points, IAM-B legacy CER; ``-`` for a seed's
    claim), the difference here with its 95 % interval over seeds, writers and test lines (points), the
    verdict (:func:`claim_verdict`, so flagged and untrained runs give none), whether the models read: the
    two models' mean test CER (%, the claim's first model first), and the largest share of test lines on
    which either model's output ignores the image (%, marked * above the verdict rule's limit).
    """
    groups = by_label(records)
    rows = []
    for claims, source in ((CLAIMS, None), (SEED_CLAIMS, SOURCES)):
        for key, c in claims.items():
            if c.better not in groups or c.other not in groups:
                continue
            v = claim_verdict(records, c.better, c.other)
            thesis = "-"
            if source is None:
                tb, to = EXPERIMENTS[c.better].thesis_cer, EXPERIMENTS[c.other].thesis_cer
                thesis = points((tb - to) / 100) if tb and to else "-"
            cer = [sum(r.test["cer"] for r in groups[m]) / len(groups[m]) for m in (c.better, c.other)]
            blind = max(r.degenerate for m in (c.better, c.other) for r in groups[m])
            rows.append({"claim": c.text, "thesis (pt)": thesis,
                         "here (pt)": f"{points(v.mean_diff)} [{points(v.low)}, {points(v.high)}]",
                         "verdict": v.outcome, "by": "thesis" if source is None else source[key],
                         "CER (%)": f"{100 * cer[0]:.1f} / {100 * cer[1]:.1f}",
                         "blind (%)": f"{100 * blind:.1f}" + (" *" if blind > DEGENERATE_LIMIT else "")})
    columns = ["claim", "thesis (pt)", "here (pt)", "verdict", "by", "CER (%)", "blind (%)"]
    return pd.DataFrame(rows, columns=columns).set_index("claim")


@dataclasses.dataclass(frozen=True)
class ShareVerdict:
    """A claim that a share (of errors, of time) is above or below a level, judged like a difference.

    ``share`` and its interval are fractions; ``outcome`` is :data:`hwr.stats.REPRODUCED` when the
    interval lies on the claimed side of ``level``, NOT_REPRODUCED on the other side, else INCONCLUSIVE.
    """

    share: float
    low: float
    high: float
    level: float
    outcome: str
    explanation: str
    base: float | None = None  # the share expected without the claimed effect (e.g. of characters)


def repeated_characters(recs: Sequence[RunRecord], level: float = 0.5, budget_cer: float | None = None,
                        n_resamples: int = 2000) -> ShareVerdict:
    """Seed 004's claim "the majority of errors comes from repeated characters in the true labels", judged.

    The share of the test edit operations that touch a repeated reference
    character (:func:`hwr.confusions.repeat_errors`: "ll" read as "l", or an
    extra "l"), pooled as a ratio of sums, with its 95 % interval over seeds,
    writers and lines (:func:`hwr.stats.hierarchical_interval`). ``base`` is
    the share of reference characters that are repeated: errors spread evenly
    over the characters would touch repeats that often. The book's rules about
    the runs hold as for every verdict (:func:`guarded`).
    """
    from hwr.confusions import repeat_error_counts

    rows = [prediction_rows(r) for r in recs]
    ids = [str(row["id"]) for row in rows[0]]
    for other in rows[1:]:
        if [str(row["id"]) for row in other] != ids:
            raise ValueError("repeated_characters: the runs were scored on different test lines")
    counts = np.array([repeat_error_counts(r) for r in rows], float)  # (S, n, 4)
    writers = {str(row["id"]): row["writer"] for row in rows[0]}
    interval = stats.hierarchical_interval(counts[None, :, :, 0], counts[None, :, :, 1],
                                           clusters=stats.writer_index(ids, writers), n_resamples=n_resamples)
    share, low, high = interval.estimate, interval.low, interval.high
    base = float(counts[0, :, 2].sum() / max(1.0, counts[0, :, 3].sum()))
    outcome = stats.REPRODUCED if low > level else stats.NOT_REPRODUCED if high < level else stats.INCONCLUSIVE
    numbers = (f"{percent(share)} % of the edit operations touch a repeated character (95 % interval "
               f"{percent(low)} to {percent(high)} %, over {len(recs)} seed(s), {len(set(writers.values()))} "
               f"writers and {len(ids):,} test lines), while {percent(base)} % of the reference characters "
               f"are repeated")
    side = {stats.REPRODUCED: f"above {percent(level)} %, so the claim holds",
            stats.NOT_REPRODUCED: f"below {percent(level)} %, so the claim does not hold here",
            stats.INCONCLUSIVE: f"on both sides of {percent(level)} %, so the claim is not decided"}[outcome]
    text = f"{numbers}; the interval lies {side}."
    label = ", ".join(by_label(recs))
    v = stats.Verdict(outcome=outcome, claim=f"most errors of {label} touch repeated characters",
                      mean_diff=share - level, low=low - level, high=high - level, per_seed=(), n_lines=len(ids),
                      n_seeds=len(recs), explanation=text, numbers=numbers)
    v = guarded(v, label, "evenly spread errors", {label: list(recs)}, budget_cer,
                called=f"the share is {'above' if outcome == stats.REPRODUCED else 'below'} {percent(level)} %")
    text = v.explanation  # its own, unless a rule about the runs (guarded) decided
    return ShareVerdict(share, low, high, level, v.outcome, text[0].upper() + text[1:], base)


def seed_paired_verdict(recs: Sequence[RunRecord], first: Sequence[float], second: Sequence[float], what: str,
                        confidence: float = 0.95, budget_cer: float | None = None) -> tuple[str, str]:
    """A mechanism's verdict from one measure taken two ways on each seed's model: "``second`` is
    above ``first``" (e.g. the CER with mixed widths in a batch against sorted ones).

    The per-seed differences get a Student t interval (the repeated measurement is the seed: the
    analysis behind the numbers keeps no per-line records); reproduced when it lies above zero, not
    reproduced below, else inconclusive. The book's rules about the runs apply (:func:`guarded`).

    Args:
        recs: the runs measured, one per seed, in the order of ``first`` and ``second``.
        first, second: the measure (a fraction, e.g. a CER) per seed, both ways.
        what: the claim in words, e.g. "mixing widths raises `seq2seq_in`'s CER".

    Returns:
        (outcome, explanation).
    """
    from scipy import stats as sps

    d = np.asarray(second, float) - np.asarray(first, float)
    n = len(d)
    mean = float(d.mean()) if n else float("nan")
    if n > 1 and d.std(ddof=1) > 0:
        half = float(sps.t.ppf(0.5 * (1 + confidence), n - 1) * d.std(ddof=1) / np.sqrt(n))
    else:
        half = 0.0 if n > 1 else float("inf")
    low, high = mean - half, mean + half
    outcome = stats.REPRODUCED if low > 0 else stats.NOT_REPRODUCED if high < 0 else stats.INCONCLUSIVE
    numbers = (f"{points(mean)} points over {n} seed(s) (95 % t interval {points(low)} to {points(high)}; "
               f"per seed {', '.join(points(x) for x in d)})")
    label = ", ".join(by_label(recs))
    said = {stats.REPRODUCED: "the claim holds", stats.NOT_REPRODUCED: "the opposite holds",
            stats.INCONCLUSIVE: "the seeds leave it open"}[outcome]
    v = stats.Verdict(outcome=outcome, claim=what, mean_diff=mean, low=low, high=high, per_seed=tuple(d),
                      n_lines=0, n_seeds=n, numbers=numbers,
                      explanation=f"{what[0].upper() + what[1:]}: {numbers}; {said}.")
    v = guarded(v, what, "no effect", {label: list(recs)}, budget_cer,
                called=f"{'the effect is there' if outcome == stats.REPRODUCED else 'it is reversed'}")
    return v.outcome, code_names(v.explanation, list(by_label(recs)))  # its own text unless guarded decided
