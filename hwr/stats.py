r"""Statistics the experiment chapters share: summaries over seeds, paired
comparisons, and the verdict rule of ``spec/chapters.md``.

The input is what :func:`hwr.evaluate.evaluate` records for a run: its per-line
test predictions, rows with ``id``, ``reference``, ``hypothesis`` and
``distance`` (:data:`hwr.evaluate.PREDICTION_FIELDS`). A *configuration* is a
list of runs, one per seed.

The ratio estimator
-------------------
The corpus error rate of a run over test lines :math:`i = 1..n` is a ratio of
sums, not a mean of per-line rates:

.. math::  \mathrm{CER} = \frac{\sum_i d_i}{\sum_i m_i}                 \tag{1}

with :math:`d_i` the edit distance of line :math:`i` and :math:`m_i` its
reference length (characters for CER, words for WER; :mod:`hwr.metrics`).
The test lines are a sample of the lines a reader cares about, so the
uncertainty we report is that of resampling them: draw :math:`n` line indices
with replacement, :math:`i^*_1..i^*_n`, and recompute (1) on them,

.. math::  \mathrm{CER}^* = \frac{\sum_k d_{i^*_k}}{\sum_k m_{i^*_k}}.  \tag{2}

Numerator and denominator of a line travel together (a *paired* resample), so
a long line keeps its weight. The 95 % interval is the BCa interval of the
bootstrap distribution of (2) (``scipy.stats.bootstrap(..., paired=True,
method="BCa")``), which corrects the percentile interval for the bias and
skew that a ratio estimator has.

Several seeds and the paired comparison
---------------------------------------
Seeds of a configuration are scored on the *same* test lines, so one
resample of line indices is applied to every seed at once; the statistic is
the mean over seeds :math:`s = 1..S` of (2). This interval reflects the test
set; the spread between seeds is reported beside it as the sample standard
deviation of the per-seed rates.

Two configurations A and B are compared on the same lines (matched by id),
seed :math:`s` of A against seed :math:`s` of B. For a resample of lines,

.. math::  \Delta^*_s = \mathrm{CER}^*_{B,s} - \mathrm{CER}^*_{A,s},
           \qquad \Delta^* = \frac1S \sum_s \Delta^*_s,               \tag{3}

so a line on which both systems fail counts in both terms and cancels: the
pairing removes the line-to-line variation the two systems share, which is
why a paired interval is narrower than two separate ones. :math:`\Delta < 0`
means B makes fewer errors.

The verdict rule
----------------
A difference is called only when the pooled interval of :math:`\Delta`
excludes zero *and* every seed's :math:`\Delta_s` has the same sign as the
pooled one; otherwise the answer is *inconclusive at this budget*. Against a
thesis claim ("B is better than A") the called direction gives *reproduced*
or *not reproduced*.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np

from hwr import metrics

Run = Union[Sequence[Mapping], str, Path]  # predictions rows, or a predictions file
UNITS = ("char", "word")
REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive at this budget"


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % (or ``confidence``) bootstrap interval."""

    estimate: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Summary:
    """A configuration's error rate over seeds (fractions: 0.05 = 5 %)."""

    unit: str  # "char" (CER) or "word" (WER)
    per_seed: tuple[float, ...]
    mean: float
    sd: float  # sample standard deviation over seeds (ddof=1; 0 for one seed)
    interval: Interval  # bootstrap over test lines of the mean over seeds
    n_lines: int
    n_seeds: int


@dataclass(frozen=True)
class Comparison:
    """Paired difference B - A of the error rate, per seed and pooled."""

    unit: str
    names: tuple[str, str]  # (A, B)
    per_seed: tuple[Interval, ...]  # Delta_s with its interval
    pooled: Interval  # mean over seeds of Delta_s, lines resampled jointly
    n_lines: int
    n_seeds: int

    @property
    def direction(self) -> int:
        """-1 when B is called lower (better), +1 when called higher, 0 when not called."""
        sign = int(np.sign(self.pooled.estimate))
        agree = all(int(np.sign(d.estimate)) == sign for d in self.per_seed)
        return sign if (self.pooled.excludes_zero() and agree and sign != 0) else 0


@dataclass(frozen=True)
class Verdict:
    """The answer to one thesis claim, with the numbers it rests on."""

    outcome: str  # REPRODUCED, NOT_REPRODUCED or INCONCLUSIVE
    claim: str  # e.g. "gate_1 has a lower CER than ctc_baseline"
    mean_diff: float  # pooled B - A (fraction)
    low: float
    high: float
    per_seed: tuple[float, ...]  # B - A per seed
    n_lines: int
    n_seeds: int
    explanation: str = field(default="")
    numbers: str = field(default="")  # the difference and its interval, in words (part of ``explanation``)


# ---------------------------------------------------------------- line counts
def _rows(run: Run) -> Sequence[Mapping]:
    if isinstance(run, (str, Path)):
        from hwr.evaluate import read_predictions

        return read_predictions(run)
    return run


def line_counts(run: Run, unit: str = "char") -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per-line numerators and denominators of the corpus error rate.

    Args:
        run: prediction rows (``id``, ``reference``, ``hypothesis``,
            ``distance``) or a predictions file (.csv or .jsonl).
        unit: "char" (CER: the recorded character ``distance``) or "word"
            (WER: word edit distance recomputed from the texts).

    Returns:
        (ids, d, m): line ids and float arrays of shape (n,), edit distances
        and reference lengths, so that ``d.sum() / m.sum()`` is the CER/WER
        of :mod:`hwr.metrics`.
    """
    if unit not in UNITS:
        raise ValueError(f"hwr.stats: unit must be one of {UNITS}, not {unit!r}")
    rows = _rows(run)
    ids = [str(r["id"]) for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"hwr.stats: a run's predictions repeat line ids ({len(ids) - len(set(ids))} duplicates)")
    if unit == "char":
        d = [int(r["distance"]) if "distance" in r else metrics.edit_distance(r["reference"], r["hypothesis"])
             for r in rows]
        m = [len(r["reference"]) for r in rows]
    else:
        d = [metrics.edit_distance(r["reference"].split(), r["hypothesis"].split()) for r in rows]
        m = [len(r["reference"].split()) for r in rows]
    return ids, np.asarray(d, float), np.asarray(m, float)


def _aligned(runs: Sequence[Run], unit: str, what: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Counts of several runs on the same lines, ordered as the first run.

    Returns:
        (ids, d, m) with d, m of shape (runs, n). Raises ValueError when the
        runs were not scored on the same set of line ids.
    """
    if not runs:
        raise ValueError(f"hwr.stats: {what} has no runs")
    counts = [line_counts(r, unit) for r in runs]
    ids = counts[0][0]
    order = {i: k for k, i in enumerate(ids)}
    d, m = [], []
    for s, (ids_s, d_s, m_s) in enumerate(counts):
        if set(ids_s) != set(ids):
            missing, extra = len(set(ids) - set(ids_s)), len(set(ids_s) - set(ids))
            raise ValueError(f"hwr.stats: {what} run {s} was scored on other lines than run 0 "
                             f"({missing} ids missing, {extra} extra); compare runs on the same test set")
        idx = np.argsort([order[i] for i in ids_s])  # reorder to run 0's order
        d.append(d_s[idx])
        m.append(m_s[idx])
    return ids, np.stack(d), np.stack(m)


# ---------------------------------------------------------------- bootstrap
def _ratio(d: np.ndarray, m: np.ndarray, axis: int = -1) -> np.ndarray:
    """Equation (1) along ``axis``; 0/0 (nothing to recognise) counts as 0."""
    num, den = d.sum(axis), m.sum(axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.where(num > 0, np.inf, 0.0))


def paired_bootstrap(statistic, samples: Sequence[np.ndarray], confidence: float = 0.95,
                     n_resamples: int = 2000, random_state: int = 0) -> Interval:
    """BCa interval of ``statistic`` over lines resampled jointly in all ``samples``.

    Args:
        statistic: ``f(*samples, axis=-1)``, vectorised: each sample has the
            lines on its last axis (resamples on leading axes); returns one
            value per resample.
        samples: arrays of shape (n,), one value per test line each; line
            ``i`` of every sample is the same line (paired resampling).
        n_resamples: bootstrap resamples (2000 gives stable 95 % limits to
            about a tenth of their width for a few hundred lines).
        random_state: seed of the resampler, so intervals are reproducible.

    A statistic that no resample changes (e.g. two identical systems) has a
    zero-width interval at its value; where BCa is undefined otherwise, the
    percentile interval is used.
    """
    from scipy import stats as sps

    samples = [np.asarray(s, float) for s in samples]
    estimate = float(statistic(*samples, axis=-1))
    if len(samples[0]) < 2:
        return Interval(estimate, estimate, estimate)
    kwargs = dict(paired=True, vectorized=True, confidence_level=confidence, n_resamples=n_resamples,
                  rng=np.random.default_rng(random_state), batch=min(n_resamples, 500))
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", sps.DegenerateDataWarning)  # constant statistic: handled below
        res = sps.bootstrap(tuple(samples), statistic, method="BCa", **kwargs)
    dist = res.bootstrap_distribution
    if np.ptp(dist) == 0:
        return Interval(estimate, estimate, estimate)
    low, high = res.confidence_interval
    if not (np.isfinite(low) and np.isfinite(high)):
        low, high = np.percentile(dist, [50 * (1 - confidence), 50 * (1 + confidence)])
    return Interval(estimate, float(low), float(high))


def ratio_interval(d: np.ndarray, m: np.ndarray, **kwargs) -> Interval:
    """Equation (1) with its bootstrap interval over lines (equation (2)).

    Args:
        d, m: shape (n,), per-line edit distances and reference lengths.
        **kwargs: passed to :func:`paired_bootstrap`.
    """
    return paired_bootstrap(lambda d, m, axis=-1: _ratio(d, m, axis), [d, m], **kwargs)


def _mean_of_ratios(d: np.ndarray, m: np.ndarray, **kwargs) -> Interval:
    """Mean over seeds of (1), lines resampled jointly; d, m of shape (S, n)."""
    S = len(d)

    def stat(*rows, axis=-1):
        return np.mean([_ratio(rows[s], rows[S + s], axis) for s in range(S)], axis=0)

    return paired_bootstrap(stat, [*d, *m], **kwargs)


# ---------------------------------------------------------------- summaries
def summarize(runs: Sequence[Run], unit: str = "char", **kwargs) -> Summary:
    """Error rate of one configuration over its seeds.

    Args:
        runs: one run per seed (prediction rows or files), on the same lines.
        unit: "char" for CER, "word" for WER.
        **kwargs: bootstrap options of :func:`paired_bootstrap`.
    """
    _, d, m = _aligned(runs, unit, "summary")
    per_seed = _ratio(d, m, axis=-1)
    sd = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0
    return Summary(unit, tuple(float(x) for x in per_seed), float(per_seed.mean()), sd,
                   _mean_of_ratios(d, m, **kwargs), d.shape[1], d.shape[0])


def compare(a_runs: Sequence[Run], b_runs: Sequence[Run], unit: str = "char", names: tuple[str, str] = ("A", "B"),
            **kwargs) -> Comparison:
    """Paired bootstrap of B - A, seed ``s`` of A against seed ``s`` of B.

    Args:
        a_runs, b_runs: the two configurations' runs, in seed order, the same
            number of each, all scored on the same set of line ids.
        unit: "char" (CER) or "word" (WER).
        names: labels of A and B for the explanation.
        **kwargs: bootstrap options of :func:`paired_bootstrap`.

    Raises:
        ValueError: different numbers of seeds, or runs on different lines.
    """
    if len(a_runs) != len(b_runs):
        raise ValueError(f"hwr.stats: {names[0]} has {len(a_runs)} seeds and {names[1]} {len(b_runs)}; "
                         "a paired comparison needs seed i of each")
    _, d, m = _aligned([*a_runs, *b_runs], unit, f"{names[0]} vs {names[1]}")
    S = len(a_runs)
    dA, dB, mm = d[:S], d[S:], m[:S]  # references are the same lines, so m[S:] == m[:S]

    def diff(da, db, m, axis=-1):
        return _ratio(db, m, axis) - _ratio(da, m, axis)

    per_seed = tuple(paired_bootstrap(diff, [dA[s], dB[s], mm[s]], **kwargs) for s in range(S))

    def pooled_stat(*rows, axis=-1):
        return np.mean([diff(rows[s], rows[S + s], rows[2 * S + s], axis) for s in range(S)], axis=0)

    pooled = paired_bootstrap(pooled_stat, [*dA, *dB, *mm], **kwargs)
    return Comparison(unit, tuple(names), per_seed, pooled, d.shape[1], S)


# ---------------------------------------------------------------- verdict
def _pts(x: float) -> str:
    return f"{100 * x:+.2f}".replace("-", "\u2212")


def verdict(comparison: Comparison, better: str) -> Verdict:
    """The chapter's answer to the claim that ``better`` has the lower error rate.

    Args:
        comparison: from :func:`compare` (difference B - A).
        better: the name (one of ``comparison.names``) the thesis says is better.

    Returns:
        REPRODUCED when the difference is called in the claimed direction,
        NOT_REPRODUCED when it is called in the opposite one, INCONCLUSIVE
        otherwise; with the numbers and a sentence for the book.
    """
    a, b = comparison.names
    if better not in (a, b):
        raise ValueError(f"hwr.stats: the claim names {better!r}, which is neither {a!r} nor {b!r}")
    other = a if better == b else b
    expected = -1 if better == b else +1  # sign of B - A if the claim holds
    metric = "CER" if comparison.unit == "char" else "WER"
    claim = f"{better} has a lower {metric} than {other}"
    called = comparison.direction
    outcome = INCONCLUSIVE if called == 0 else (REPRODUCED if called == expected else NOT_REPRODUCED)
    p, seeds = comparison.pooled, [d.estimate for d in comparison.per_seed]
    numbers = (f"over {comparison.n_seeds} seed{'s' if comparison.n_seeds != 1 else ''} and "
               f"{comparison.n_lines:,} test lines, {b} minus {a} is {_pts(p.estimate)} {metric} points "
               f"(95 % paired bootstrap interval {_pts(p.low)} to {_pts(p.high)}; per seed "
               f"{', '.join(_pts(x) for x in seeds)})")
    if outcome == INCONCLUSIVE:
        why = ("the interval includes zero" if not p.excludes_zero()
               else "the seeds disagree in sign")
        sentence = f"Inconclusive at this budget: {numbers}, and {why}, so the claim that {claim} is neither confirmed nor refuted."
    elif outcome == REPRODUCED:
        sentence = f"Reproduced: {numbers}; the interval excludes zero and every seed agrees, so {claim}."
    else:
        sentence = (f"Not reproduced: {numbers}; the interval excludes zero and every seed agrees, "
                    f"so {other}, not {better}, has the lower {metric}.")
    return Verdict(outcome, claim, p.estimate, p.low, p.high, tuple(seeds), comparison.n_lines,
                   comparison.n_seeds, sentence, numbers)
