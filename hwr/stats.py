r"""Statistics the experiment chapters share: summaries over seeds, paired
comparisons, and the verdict rule of ``spec/chapters.md``.

The input is what :func:`hwr.evaluation.evaluate` records for a run: its per-line
test predictions, rows with ``id``, ``reference``, ``hypothesis`` and
``distance`` (:data:`hwr.evaluation.PREDICTION_FIELDS`). A *configuration* is a
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
lines only (``Summary.interval``); the spread between seeds is reported
beside it as the sample standard deviation of the per-seed rates, and the
hierarchical interval below counts seeds and writers too
(``Summary.hierarchical``).

Two configurations A and B are compared on the same lines (matched by id),
seed :math:`s` of A against seed :math:`s` of B. For a resample of lines,

.. math::  \Delta^*_s = \mathrm{CER}^*_{B,s} - \mathrm{CER}^*_{A,s},
           \qquad \Delta^* = \frac1S \sum_s \Delta^*_s,               \tag{3}

so a line on which both systems fail counts in both terms and cancels: the
pairing removes the line-to-line variation the two systems share, which is
why a paired interval is narrower than two separate ones. :math:`\Delta < 0`
means B makes fewer errors.

The hierarchical bootstrap
--------------------------
The lines of a test set are not independent: they come from a few writers
(the held-out font families of a synthetic set, :mod:`hwr.datasets.writers`),
and a hand that one system reads badly makes all its lines hard. Nor is a
configuration one system: its seeds differ. The interval a reader would
re-draw counts all three levels. Let line :math:`i` belong to writer
:math:`w(i) \in \{1..G\}`, writer :math:`g` hold :math:`n_g` lines, and seed
:math:`s` of system :math:`j` have counts :math:`d_{jsi}`, :math:`m_{i}`. One
resample draws

1. seeds :math:`s^*_1..s^*_S` from :math:`1..S` with replacement (the same
   indices for A and B: a paired comparison pairs seeds);
2. writers :math:`g^*_1..g^*_G` from :math:`1..G` with replacement;
3. for each drawn writer :math:`g^*_k`, :math:`n_{g^*_k}` of its lines with
   replacement.

With :math:`c^*_i` the number of times line :math:`i` was drawn in steps 2-3,

.. math::  \mathrm{CER}^*_{js} = \frac{\sum_i c^*_i d_{jsi}}{\sum_i c^*_i m_i},
           \qquad v^*_s = \sum_j \gamma_j \mathrm{CER}^*_{js},
           \qquad \theta^* = \frac1S \sum_{k=1}^S \tilde v^*_{s^*_k}          \tag{4}

with the contrast :math:`\gamma = (1)` for one configuration and
:math:`(-1, +1)` for B - A, and :math:`\tilde v^*` defined in (5). A ratio
of sums again: lines are counted, never their rates averaged. Seeds and
lines are *crossed*, not nested (every seed is scored on the same lines), so
one draw of writers and lines serves every drawn seed and both systems, as a
repeated experiment would score its new seeds on one new test set (the
"pigeonhole" bootstrap of crossed factors). The interval is the percentile
interval :math:`[q_{\alpha/2}, q_{1-\alpha/2}]` of :math:`\theta^*`: BCa's
acceleration comes from a jackknife over *the* resampled unit, which three
crossed and nested levels do not have, so scipy's BCa (kept for the
line-only interval above) does not apply here.

Few seeds. A plain bootstrap of :math:`S` seed values is too narrow when
:math:`S` is small: the mean of a resample varies by :math:`(S-1)/S` of
:math:`\hat\sigma^2/S`, and its tails are the normal's where the sampling
distribution of a mean of :math:`S` values, studentised, has Student's
:math:`t_{S-1}` tails. With :math:`S = 3` its 95 % interval is about
:math:`[\min_s v_s, \max_s v_s]`, which misses the true mean whenever all
three seeds fall on one side of it: :math:`2 \cdot 2^{-3} = 25\,\%` of the
time (simulated: 24 % at :math:`S=3`, 19 % at 4, 16 % at 5, 12 % at 8 and
10, against the nominal 5 %). So the seed level resamples per-seed values
whose spread about their mean is widened by

.. math::  \tilde v^*_s = \bar v^* + \kappa_S\,(v^*_s - \bar v^*), \qquad
           \kappa_S = \frac{t_{S-1,\,1-\alpha/2}}{z_{1-\alpha/2}\sqrt{(S-1)/S}}  \tag{5}

(:math:`\kappa_3 = 2.69`, :math:`\kappa_5 = 1.58`, :math:`\kappa_{10} = 1.22`,
:math:`\to 1` as :math:`S` grows), which makes the seed level a t interval
in resampling form: with this, the simulated rate of calling a difference
that is pure seed noise is 4-7 % for :math:`S` = 3 to 10, as Student's t
test's, with the same power. ``calibrate_seeds=False`` gives the plain
bootstrap. One seed carries no seed variance to count: the interval is then
over writers and lines only, and says so.

``levels`` chooses what is resampled, a subset of
``("seeds", "writers", "lines")``; a level left out is held fixed. Without
writer labels each line is its own writer, and steps 2-3 are the line
bootstrap (2). Writers without lines resamples whole writers.

The verdict rule
----------------
A difference is called when the hierarchical interval of :math:`\Delta`
(seeds, writers, lines; (4)-(5)) excludes zero; otherwise the answer is
*inconclusive at this budget*. Against a thesis claim ("B is better than
A") the called direction gives *reproduced* or *not reproduced*.

The earlier rule also asked every seed's :math:`\Delta_s` to share the
pooled sign, because its interval resampled lines only. Once seeds are
resampled, that rule is no longer needed, and not wanted:

* it adds nothing at :math:`S = 3`. The resample that draws one seed three
  times has probability :math:`3^{-3} = 3.7\,\% > 2.5\,\%`, so the interval
  reaches into the seed with the most extreme :math:`\tilde v`: its limit is
  near :math:`\bar v + \kappa_3(\min_s v_s - \bar v)`, below zero whenever a
  seed is (for :math:`\kappa_3 > 1`), up to line noise within that seed. A
  called interval implies agreeing seeds.
* it does not control false calls: pure seed noise gives three agreeing signs
  25 % of the time, and with the line-only interval that was the rule's false
  call rate; (5) brings it to about 5 %.
* with more seeds it vetoes real differences: a difference of one seed
  standard deviation is called by the t-calibrated interval 80 % of the time
  with 10 seeds, while all 10 seeds agree in sign only 18 % of the time.

It is kept only when ``levels`` leaves seeds out (then nothing else counts
them). The line-only interval of (3) stays in :attr:`Comparison.pooled`
and :attr:`Verdict.line_low` / ``line_high`` for comparison.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np

from hwr import metrics
from hwr.evaluation import read_predictions

Run = Union[Sequence[Mapping], str, Path]  # predictions rows, or a predictions file
UNITS = ("char", "word")
LEVELS = ("seeds", "writers", "lines")  # what the hierarchical bootstrap resamples, outermost first
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
    interval: Interval  # bootstrap over test lines of the mean over seeds (BCa, lines only)
    n_lines: int
    n_seeds: int
    hierarchical: Interval | None = None  # over seeds, writers and lines (equations (4)-(5))
    levels: tuple[str, ...] = LEVELS  # what ``hierarchical`` resampled
    n_writers: int | None = None  # writers among the lines; None: no writer labels (each line its own)


@dataclass(frozen=True)
class Comparison:
    """Paired difference B - A of the error rate, per seed and pooled."""

    unit: str
    names: tuple[str, str]  # (A, B)
    per_seed: tuple[Interval, ...]  # Delta_s with its interval (lines only)
    pooled: Interval  # mean over seeds of Delta_s, lines resampled jointly (BCa, lines only)
    n_lines: int
    n_seeds: int
    hierarchical: Interval | None = None  # the same mean, seeds, writers and lines resampled ((4)-(5))
    levels: tuple[str, ...] = LEVELS  # what ``hierarchical`` resampled
    n_writers: int | None = None  # writers among the lines; None: no writer labels (each line its own)

    @property
    def interval(self) -> Interval:
        """The interval the verdict rests on: the hierarchical one (the line-only
        ``pooled`` for a Comparison made without it)."""
        return self.hierarchical if self.hierarchical is not None else self.pooled

    @property
    def seeds_agree(self) -> bool:
        """Whether every seed's difference has the sign of the pooled one."""
        sign = int(np.sign(self.interval.estimate))
        return all(int(np.sign(d.estimate)) == sign for d in self.per_seed)

    @property
    def sign_rule(self) -> bool:
        """Whether the verdict also asks the seeds to agree in sign: only when
        the interval does not resample seeds (module docstring, the verdict rule)."""
        return self.hierarchical is None or ("seeds" not in self.levels and self.n_seeds > 1)

    @property
    def direction(self) -> int:
        """-1 when B is called lower (better), +1 when called higher, 0 when not called."""
        sign = int(np.sign(self.interval.estimate))
        if sign == 0 or not self.interval.excludes_zero():
            return 0
        return 0 if (self.sign_rule and not self.seeds_agree) else sign


@dataclass(frozen=True)
class Verdict:
    """The answer to one thesis claim, with the numbers it rests on."""

    outcome: str  # REPRODUCED, NOT_REPRODUCED or INCONCLUSIVE
    claim: str  # e.g. "gate_1 has a lower CER than ctc_baseline"
    mean_diff: float  # pooled B - A (fraction)
    low: float  # the interval the verdict rests on: hierarchical ((4)-(5)) where compare made one
    high: float
    per_seed: tuple[float, ...]  # B - A per seed
    n_lines: int
    n_seeds: int
    explanation: str = field(default="")
    numbers: str = field(default="")  # the difference and its interval, in words (part of ``explanation``)
    line_low: float | None = None  # the line-only interval of (3), for comparison with (low, high)
    line_high: float | None = None
    levels: tuple[str, ...] = LEVELS  # what (low, high) resampled
    n_writers: int | None = None


# ---------------------------------------------------------------- line counts
def _rows(run: Run) -> Sequence[Mapping]:
    if isinstance(run, (str, Path)):

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
    return _ratio_of_sums(d.sum(axis), m.sum(axis))


def _ratio_of_sums(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise; 0/0 counts as 0, x/0 as infinity."""
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


# ---------------------------------------------------------------- hierarchical bootstrap
def check_levels(levels: Sequence[str]) -> tuple[str, ...]:
    """``levels`` validated and put in the order of :data:`LEVELS` (outermost first)."""
    levels = (levels,) if isinstance(levels, str) else tuple(levels)
    unknown = [x for x in levels if x not in LEVELS]
    if unknown:
        raise ValueError(f"hwr.stats: levels must be among {LEVELS}, not {unknown}")
    return tuple(x for x in LEVELS if x in levels)


def writer_index(ids: Sequence[str], writers: Mapping[str, str] | None) -> np.ndarray:
    """The writer (cluster) of each line as an integer.

    Args:
        ids: line ids, shape (n,).
        writers: line id -> writer label (:func:`hwr.datasets.writers.line_writers`),
            or None: each line its own writer.

    Returns:
        int array of shape (n,), values 0..G-1 (G writers).

    Raises:
        ValueError: a line has no label (the labels are of another test set).
    """
    if writers is None:
        return np.arange(len(ids))
    missing = [i for i in ids if i not in writers]
    if missing:
        raise ValueError(f"hwr.stats: {len(missing)} of {len(ids)} lines have no writer label "
                         f"(e.g. {missing[0]!r}); give the writers of the test set the runs were scored on")
    _, index = np.unique([str(writers[i]) for i in ids], return_inverse=True)
    return index.reshape(-1)


def seed_scale(n_seeds: int, confidence: float = 0.95) -> float:
    """kappa_S of equation (5): the widening of per-seed deviations that makes
    the seed level of the percentile interval a Student t interval (1 for one seed)."""
    if n_seeds < 2:
        return 1.0
    from scipy import stats as sps

    q = 0.5 * (1 + confidence)
    return float(sps.t.ppf(q, n_seeds - 1) / (sps.norm.ppf(q) * np.sqrt((n_seeds - 1) / n_seeds)))


def line_weights(rng: np.random.Generator, n_resamples: int, clusters: np.ndarray,
                 within: bool = True) -> np.ndarray:
    """How often each line is drawn in each resample (steps 2-3 of the hierarchical bootstrap).

    Args:
        rng: the random generator (consumed).
        n_resamples: B.
        clusters: shape (n,), writer index of each line, 0..G-1; G writers
            are drawn with replacement. ``np.arange(n)`` (each line its own
            writer) makes this the line bootstrap.
        within: resample the lines of each drawn writer with replacement
            (step 3); False: a drawn writer brings all its lines.

    Returns:
        float array of shape (B, n): the multiplicity c*_i of line i in
        resample b, so that a resampled sum is ``weights @ x``.
    """
    n, B = len(clusters), n_resamples
    if n == 0:
        return np.ones((B, 0))
    G = int(clusters.max()) + 1
    sizes = np.bincount(clusters, minlength=G)
    drawn = rng.integers(G, size=(B, G))  # step 2: G writer slots per resample, (B, G)
    if not within or (sizes == 1).all():  # a drawn writer brings its lines (one line: itself)
        times = np.bincount((np.arange(B)[:, None] * G + drawn).ravel(), minlength=B * G).reshape(B, G)
        return times[:, clusters].astype(float)
    # step 3: slot (b, k) draws sizes[drawn[b, k]] lines of its writer. Lines are
    # listed writer by writer (order): writer g's are order[starts[g] : starts[g] + sizes[g]].
    order = np.argsort(clusters, kind="stable")
    starts = np.cumsum(sizes) - sizes
    per_slot = sizes[drawn]  # (B, G) lines to draw in each slot
    writer = np.repeat(drawn.ravel(), per_slot.ravel())  # writer of each single draw, (sum,)
    resample = np.repeat(np.arange(B), per_slot.sum(1))  # resample of each draw
    line = order[starts[writer] + rng.integers(0, sizes[writer])]
    return np.bincount(resample * n + line, minlength=B * n).reshape(B, n).astype(float)


def hierarchical_distribution(d: np.ndarray, m: np.ndarray, contrast: Sequence[float] = (1.0,),
                              clusters: np.ndarray | None = None, levels: Sequence[str] = LEVELS,
                              confidence: float = 0.95, n_resamples: int = 2000, random_state: int = 0,
                              calibrate_seeds: bool = True) -> tuple[float, np.ndarray]:
    """Bootstrap distribution of equation (4): seeds, writers and lines resampled.

    Args:
        d: shape (J, S, n): edit distances of J systems (1: one configuration;
            2: A then B), S seeds each, on the same n lines.
        m: shape (J, S, n) or (S, n) or (n,): reference lengths.
        contrast: gamma of (4), one weight per system: (1,) for a
            configuration's error rate, (-1, 1) for B - A.
        clusters: shape (n,), writer index of each line (:func:`writer_index`);
            None: each line its own writer.
        levels: what is resampled, among :data:`LEVELS`.
        confidence: sets kappa_S of (5).
        n_resamples: B.
        random_state: seed of the resampler (reproducible distributions).
        calibrate_seeds: widen per-seed deviations by kappa_S (5); False gives
            the plain bootstrap of seeds.

    Returns:
        (estimate, distribution): the statistic on the data (mean over seeds
        of the contrast of per-seed ratios (1)) and its B resampled values,
        shape (B,).
    """
    levels = check_levels(levels)
    d = np.asarray(d, float)
    J, S, n = d.shape
    m = np.broadcast_to(np.asarray(m, float), d.shape)
    gamma = np.asarray(contrast, float).reshape(J)
    clusters = np.arange(n) if clusters is None else np.asarray(clusters).reshape(n)
    estimate = float((gamma @ _ratio_of_sums(d.sum(-1), m.sum(-1))).mean())
    resample_seeds = "seeds" in levels and S > 1
    kappa = seed_scale(S, confidence) if (resample_seeds and calibrate_seeds) else 1.0
    rng = np.random.default_rng(random_state)
    if "writers" not in levels:  # writers ignored: each line its own cluster, the line bootstrap
        clusters = np.arange(n)

    def weights(b: int) -> np.ndarray:
        """(b, n) line multiplicities of b resamples, under ``levels``."""
        if "writers" not in levels and "lines" not in levels:  # the test set held fixed
            return np.ones((b, n))
        return line_weights(rng, b, clusters, within="lines" in levels)

    flat_d, flat_m = d.reshape(J * S, n).T, m.reshape(J * S, n).T  # (n, J*S): one matrix product per batch
    batch = max(1, min(n_resamples, 4_000_000 // max(n, 1)))  # keeps the (batch, n) weights near 32 MB
    out = []
    for start in range(0, n_resamples, batch):
        b = min(batch, n_resamples - start)
        # seeds first, then writers, then lines (the order of the levels)
        seeds = rng.integers(S, size=(b, S)) if resample_seeds else np.broadcast_to(np.arange(S), (b, S))
        w = weights(b)
        rates = _ratio_of_sums(w @ flat_d, w @ flat_m).reshape(b, J, S)  # CER*_{js}
        v = np.einsum("j,bjs->bs", gamma, rates)  # per-seed contrast v*_s, (b, S)
        if kappa != 1.0:  # equation (5)
            centre = v.mean(1, keepdims=True)
            v = centre + kappa * (v - centre)
        out.append(np.take_along_axis(v, seeds, axis=1).mean(1))
    return estimate, np.concatenate(out)


def hierarchical_interval(d: np.ndarray, m: np.ndarray, contrast: Sequence[float] = (1.0,),
                          clusters: np.ndarray | None = None, levels: Sequence[str] = LEVELS,
                          confidence: float = 0.95, n_resamples: int = 2000, random_state: int = 0,
                          calibrate_seeds: bool = True) -> Interval:
    """Percentile interval of :func:`hierarchical_distribution` (same arguments).

    A statistic that no resample changes (two identical systems) has a
    zero-width interval at its value.
    """
    estimate, dist = hierarchical_distribution(d, m, contrast, clusters, levels, confidence, n_resamples,
                                               random_state, calibrate_seeds)
    if len(dist) == 0 or np.ptp(dist) == 0:
        return Interval(estimate, estimate, estimate)
    low, high = np.quantile(dist, [0.5 * (1 - confidence), 0.5 * (1 + confidence)])
    return Interval(estimate, float(low), float(high))


def _hierarchical_options(kwargs: dict) -> dict:
    """The options of :func:`paired_bootstrap` that the hierarchical interval shares."""
    return {k: kwargs[k] for k in ("confidence", "n_resamples", "random_state") if k in kwargs}


# ---------------------------------------------------------------- summaries
def summarize(runs: Sequence[Run], unit: str = "char", writers: Mapping[str, str] | None = None,
              levels: Sequence[str] = LEVELS, calibrate_seeds: bool = True, **kwargs) -> Summary:
    """Error rate of one configuration over its seeds.

    Args:
        runs: one run per seed (prediction rows or files), on the same lines.
        unit: "char" for CER, "word" for WER.
        writers: line id -> writer label of the test lines
            (:func:`hwr.datasets.writers.line_writers`); None: the rows' own
            ``writer`` field where they carry one, else each line its own.
        levels: what the hierarchical interval resamples (:data:`LEVELS`).
        calibrate_seeds: kappa_S of equation (5) at the seed level.
        **kwargs: bootstrap options of :func:`paired_bootstrap` (``confidence``,
            ``n_resamples`` and ``random_state`` serve both intervals).

    Returns:
        a :class:`Summary`: ``interval`` over lines (BCa), ``hierarchical``
        over ``levels`` (its lower limit clipped at 0).
    """
    ids, d, m = _aligned(runs, unit, "summary")
    writers = writers if writers is not None else writers_in_rows(runs)
    clusters = writer_index(ids, writers)
    per_seed = _ratio(d, m, axis=-1)
    sd = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else 0.0
    hier = hierarchical_interval(d[None], m, (1.0,), clusters, levels, calibrate_seeds=calibrate_seeds,
                                 **_hierarchical_options(kwargs))
    # an error rate is not negative; the widened seed level (5) can reach below zero
    # where few seeds spread wide, as Student's t interval would
    hier = Interval(hier.estimate, max(hier.low, 0.0), hier.high)
    return Summary(unit, tuple(float(x) for x in per_seed), float(per_seed.mean()), sd,
                   _mean_of_ratios(d, m, **kwargs), d.shape[1], d.shape[0], hier, check_levels(levels),
                   _n_writers(clusters, writers))


def writers_in_rows(runs: Sequence[Run]) -> dict[str, str] | None:
    """Line id -> writer from prediction rows that carry a ``writer`` field
    (:func:`hwr.runs.report.prediction_rows` adds it), so every chapter's
    comparison counts writers without passing them; None when they do not."""
    first = runs[0] if runs else None
    if not first or isinstance(first, (str, Path)):  # a predictions file holds no writers
        return None
    rows = _rows(first)  # every run is scored on the same lines (checked by _aligned)
    return {str(r["id"]): str(r["writer"]) for r in rows} if all("writer" in r for r in rows) else None


def _n_writers(clusters: np.ndarray, writers: Mapping[str, str] | None) -> int | None:
    return None if writers is None else len(np.unique(clusters))


def compare(a_runs: Sequence[Run], b_runs: Sequence[Run], unit: str = "char", names: tuple[str, str] = ("A", "B"),
            writers: Mapping[str, str] | None = None, levels: Sequence[str] = LEVELS,
            calibrate_seeds: bool = True, **kwargs) -> Comparison:
    """Paired bootstrap of B - A, seed ``s`` of A against seed ``s`` of B.

    Args:
        a_runs, b_runs: the two configurations' runs, in seed order, the same
            number of each, all scored on the same set of line ids.
        unit: "char" (CER) or "word" (WER).
        names: labels of A and B for the explanation.
        writers: line id -> writer label of the test lines
            (:func:`hwr.datasets.writers.line_writers`); None: the rows' own
            ``writer`` field where they carry one, else each line its own.
        levels: what the hierarchical interval resamples (:data:`LEVELS`);
            A and B always get the same seed, writer and line draws.
        calibrate_seeds: kappa_S of equation (5) at the seed level.
        **kwargs: bootstrap options of :func:`paired_bootstrap` (``confidence``,
            ``n_resamples`` and ``random_state`` serve both intervals).

    Returns:
        a :class:`Comparison`: ``per_seed`` and ``pooled`` over lines (BCa),
        ``hierarchical`` over ``levels`` (the one :func:`verdict` uses).

    Raises:
        ValueError: different numbers of seeds, runs on different lines, or
            lines without a writer label.
    """
    if len(a_runs) != len(b_runs):
        raise ValueError(f"hwr.stats: {names[0]} has {len(a_runs)} seeds and {names[1]} {len(b_runs)}; "
                         "a paired comparison needs seed i of each")
    ids, d, m = _aligned([*a_runs, *b_runs], unit, f"{names[0]} vs {names[1]}")
    writers = writers if writers is not None else writers_in_rows(a_runs)
    clusters = writer_index(ids, writers)
    S = len(a_runs)
    dA, dB, mm = d[:S], d[S:], m[:S]  # references are the same lines, so m[S:] == m[:S]

    def diff(da, db, m, axis=-1):
        return _ratio(db, m, axis) - _ratio(da, m, axis)

    per_seed = tuple(paired_bootstrap(diff, [dA[s], dB[s], mm[s]], **kwargs) for s in range(S))

    def pooled_stat(*rows, axis=-1):
        return np.mean([diff(rows[s], rows[S + s], rows[2 * S + s], axis) for s in range(S)], axis=0)

    pooled = paired_bootstrap(pooled_stat, [*dA, *dB, *mm], **kwargs)
    hier = hierarchical_interval(np.stack([dA, dB]), mm, (-1.0, 1.0), clusters, levels,
                                 calibrate_seeds=calibrate_seeds, **_hierarchical_options(kwargs))
    return Comparison(unit, tuple(names), per_seed, pooled, d.shape[1], S, hier, check_levels(levels),
                      _n_writers(clusters, writers))


# ---------------------------------------------------------------- verdict
def _pts(x: float) -> str:
    return f"{100 * x:+.2f}".replace("-", "\u2212")


def _resampled(comparison: Comparison) -> str:
    """What the verdict's interval resampled, in words ("seeds, writers and lines within writers")."""
    if comparison.hierarchical is None:
        return "lines"
    levels = comparison.levels
    by_writer = "writers" in levels and comparison.n_writers is not None
    parts = (["seeds"] if "seeds" in levels and comparison.n_seeds > 1 else []) + (["writers"] if by_writer else [])
    if "lines" in levels:
        parts.append("lines within writers" if by_writer else "lines")
    if not parts:
        return "nothing"
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def verdict(comparison: Comparison, better: str) -> Verdict:
    """The chapter's answer to the claim that ``better`` has the lower error rate.

    The difference is called when the hierarchical interval of B - A
    (:attr:`Comparison.interval`) excludes zero; seeds need not agree in sign
    unless the interval leaves them out (module docstring, the verdict rule).

    Args:
        comparison: from :func:`compare` (difference B - A).
        better: the name (one of ``comparison.names``) the thesis says is better.

    Returns:
        REPRODUCED when the difference is called in the claimed direction,
        NOT_REPRODUCED when it is called in the opposite one, INCONCLUSIVE
        otherwise; with the numbers and a sentence for the book. ``low`` and
        ``high`` are the interval the outcome rests on; ``line_low`` and
        ``line_high`` the line-only one.
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
    p, seeds = comparison.interval, [d.estimate for d in comparison.per_seed]
    S, W = comparison.n_seeds, comparison.n_writers
    writers = f", {W} writer{'s' if W != 1 else ''}" if W is not None and "writers" in comparison.levels else ""
    numbers = (f"over {S} seed{'s' if S != 1 else ''}{writers} and "
               f"{comparison.n_lines:,} test lines, {b} minus {a} is {_pts(p.estimate)} {metric} points "
               f"(95 % paired bootstrap interval {_pts(p.low)} to {_pts(p.high)}, resampling {_resampled(comparison)}; "
               f"per seed {', '.join(_pts(x) for x in seeds)})")
    differ = sum(int(np.sign(x)) != int(np.sign(p.estimate)) for x in seeds)
    if outcome == INCONCLUSIVE:
        if not p.excludes_zero():
            why = "the interval includes zero" + (" (the seeds disagree in sign)" if differ else "")
        else:
            why = "the seeds disagree in sign"
        sentence = f"Inconclusive at this budget: {numbers}, and {why}, so the claim that {claim} is neither confirmed nor refuted."
    else:
        agree = (" and every seed agrees" if not differ and S > 1 else
                 f" ({differ} of {S} seeds differ in sign, within what the interval allows)" if differ else "")
        if outcome == REPRODUCED:
            sentence = f"Reproduced: {numbers}; the interval excludes zero{agree}, so {claim}."
        else:
            sentence = (f"Not reproduced: {numbers}; the interval excludes zero{agree}, "
                        f"so {other}, not {better}, has the lower {metric}.")
    line = comparison.pooled
    return Verdict(outcome, claim, p.estimate, p.low, p.high, tuple(seeds), comparison.n_lines, S, sentence,
                   numbers, line.low, line.high, comparison.levels if comparison.hierarchical is not None
                   else ("lines",), W)
