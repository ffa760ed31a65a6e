"""hwr.stats: ratio-of-sums bootstrap, paired comparisons and the verdict rule,
on made-up prediction records whose answer is known."""

import numpy as np
import pytest

from hwr import metrics, stats
from hwr.evaluation import write_predictions

N_LINES = 300


def lengths(n=N_LINES, seed=0):
    return np.random.default_rng(seed).integers(10, 60, n)


def run(rate, seed, m=None):
    """One run's predictions: line i has m_i characters, of which about
    ``rate`` (a number, or one per line) are substituted."""
    m = lengths() if m is None else m
    rng = np.random.default_rng(seed)
    d = rng.binomial(m, np.broadcast_to(rate, m.shape))
    return [{"id": f"line-{i:04d}", "reference": "x" * int(mi), "hypothesis": "y" * int(di) + "x" * int(mi - di),
             "distance": int(di)} for i, (mi, di) in enumerate(zip(m, d))]


def seeds(rate, first, n=3):
    return [run(rate, first + s) for s in range(n)]


def test_line_counts_give_the_metrics_cer_and_wer(tmp_path):
    rows = [{"id": "a", "reference": "the cat sat", "hypothesis": "the bat sat", "distance": 1},
            {"id": "b", "reference": "on a mat", "hypothesis": "on mat", "distance": 2}]
    path = write_predictions(rows, tmp_path / "p.csv")
    refs, hyps = [r["reference"] for r in rows], [r["hypothesis"] for r in rows]
    for unit, expected in (("char", metrics.cer(refs, hyps)), ("word", metrics.wer(refs, hyps))):
        ids, d, m = stats.line_counts(path, unit)  # read back from the file
        assert ids == ["a", "b"]
        assert d.sum() / m.sum() == pytest.approx(expected)
    assert stats.line_counts(rows, "word")[1].tolist() == [1.0, 1.0]  # "cat"->"bat", "a" deleted


def test_ratio_interval_is_of_the_ratio_of_sums_and_shrinks_with_more_lines():
    # Short lines fail often, long lines rarely: the mean of per-line rates
    # (about 0.35) is far from the corpus rate (about 0.09).
    def lines(n, seed):
        rng = np.random.default_rng(seed)
        long = rng.random(n) < 0.5
        m = np.where(long, 100, 5)
        d = rng.binomial(m, np.where(long, 0.05, 0.6))
        return d.astype(float), m.astype(float)

    true_ratio = (0.5 * 100 * 0.05 + 0.5 * 5 * 0.6) / (0.5 * 100 + 0.5 * 5)  # 6.5 / 52.5
    small, large = stats.ratio_interval(*lines(200, 1)), stats.ratio_interval(*lines(3200, 2))
    for iv, (d, m) in ((small, lines(200, 1)), (large, lines(3200, 2))):
        assert iv.estimate == pytest.approx(d.sum() / m.sum())
        assert iv.low < true_ratio < iv.high
        assert not iv.low < np.mean(d / m) < iv.high  # a mean of per-line rates is another quantity
    assert (large.high - large.low) < 0.5 * (small.high - small.low)  # 16x the lines: about 1/4 the width
    assert stats.ratio_interval(*lines(200, 1)) == small  # fixed random_state: reproducible


def test_summary_over_seeds():
    s = stats.summarize(seeds(0.10, 0))
    per_seed = [metrics.cer([r["reference"] for r in rows], [r["hypothesis"] for r in rows]) for rows in seeds(0.10, 0)]
    assert s.per_seed == pytest.approx(per_seed)
    assert s.mean == pytest.approx(np.mean(per_seed)) and s.sd == pytest.approx(np.std(per_seed, ddof=1))
    assert s.interval.low < s.mean < s.interval.high and s.interval.low < 0.10 < s.interval.high
    assert (s.n_lines, s.n_seeds) == (N_LINES, 3)


def test_clear_win_is_reproduced():
    c = stats.compare(seeds(0.10, 0), seeds(0.05, 10), names=("ctc", "gate"))
    v = stats.verdict(c, better="gate")
    assert v.outcome == stats.REPRODUCED
    assert v.high < 0 and all(x < 0 for x in v.per_seed) and len(v.per_seed) == 3
    assert v.mean_diff == pytest.approx(-0.05, abs=0.01)
    assert v.explanation.startswith("Reproduced") and "gate has a lower CER than ctc" in v.explanation


def test_opposite_clear_result_is_not_reproduced():
    c = stats.compare(seeds(0.05, 0), seeds(0.10, 10), names=("ctc", "gate"))
    v = stats.verdict(c, better="gate")
    assert v.outcome == stats.NOT_REPRODUCED and v.low > 0
    assert stats.verdict(c, better="ctc").outcome == stats.REPRODUCED  # the same numbers, the other claim


def test_identical_systems_are_inconclusive():
    a = seeds(0.10, 0)
    c = stats.compare(a, a, names=("A", "B"))
    v = stats.verdict(c, better="B")
    assert v.outcome == stats.INCONCLUSIVE
    assert (v.mean_diff, v.low, v.high) == (0.0, 0.0, 0.0) and v.per_seed == (0.0, 0.0, 0.0)
    assert "includes zero" in v.explanation


def test_close_systems_are_inconclusive():
    v = stats.verdict(stats.compare(seeds(0.100, 0), seeds(0.099, 10), names=("A", "B")), better="B")
    assert v.outcome == stats.INCONCLUSIVE and v.low < 0 < v.high


def test_seeds_disagreeing_in_sign_are_inconclusive_even_when_the_pooled_interval_excludes_zero():
    a = seeds(0.10, 0)
    b = [run(0.04, 10), run(0.04, 11), run(0.11, 12)]  # two seeds much better, one worse
    c = stats.compare(a, b, names=("A", "B"))
    assert c.pooled.excludes_zero() and c.pooled.high < 0
    assert c.per_seed[2].estimate > 0
    v = stats.verdict(c, better="B")
    assert v.outcome == stats.INCONCLUSIVE and "disagree in sign" in v.explanation


def test_lines_are_matched_by_id_whatever_their_order():
    a, b = seeds(0.10, 0), seeds(0.05, 10)
    shuffled = [list(reversed(rows)) for rows in b]
    assert stats.compare(a, shuffled) == stats.compare(a, b)


def test_mismatched_line_ids_are_refused():
    a, b = seeds(0.10, 0), seeds(0.05, 10)
    b[1] = b[1][:-1] + [dict(b[1][-1], id="another-line")]
    with pytest.raises(ValueError, match="other lines"):
        stats.compare(a, b)
    with pytest.raises(ValueError, match="seeds"):
        stats.compare(a, b[:2])
    with pytest.raises(ValueError, match="neither"):
        stats.verdict(stats.compare(a, a), better="C")


# ---------------------------------------------------------------- hierarchical bootstrap
# Constructed test sets: 8 writers of 100 lines each, line lengths drawn once.
WRITERS, PER_WRITER = 8, 100


def counts(rate, seed, m):
    """Edit distances of one run: line i has about ``rate[i]`` of its m_i characters wrong."""
    return np.random.default_rng(seed).binomial(m, np.broadcast_to(rate, m.shape))


def rows_of(d, m):
    """Prediction rows of one run from per-line counts (ids ``w<writer>-<line>``)."""
    return [{"id": f"w{i // PER_WRITER}-{i:04d}", "reference": "x" * int(mi),
             "hypothesis": "y" * int(di) + "x" * int(mi - di), "distance": int(di)}
            for i, (mi, di) in enumerate(zip(m, d))]


def writer_labels():
    return {f"w{i // PER_WRITER}-{i:04d}": f"font-{i // PER_WRITER}" for i in range(WRITERS * PER_WRITER)}


def config(rates, first, m):
    """One run per seed; ``rates`` gives each seed's rate (a number or one per line)."""
    return [rows_of(counts(r, first + s, m), m) for s, r in enumerate(rates)]


M = lengths(WRITERS * PER_WRITER, seed=7)


def width(iv):
    return iv.high - iv.low


def test_seed_dominated_difference_is_inconclusive():
    # per-seed differences of about +4, -3 and +5 points, each measured tightly on 800 lines
    a = config([0.10, 0.10, 0.10], 0, M)
    b = config([0.14, 0.07, 0.15], 10, M)
    c = stats.compare(a, b, names=("A", "B"), writers=writer_labels())
    assert [round(100 * x.estimate) for x in c.per_seed] == [4, -3, 5]
    assert c.pooled.excludes_zero()  # resampling lines alone would call +2 points
    assert c.hierarchical.low < 0 < c.hierarchical.high
    v = stats.verdict(c, better="B")
    assert v.outcome == stats.INCONCLUSIVE and "includes zero" in v.explanation
    assert (v.low, v.high) == (c.hierarchical.low, c.hierarchical.high) and v.line_low == c.pooled.low


def test_seeds_that_agree_in_sign_but_spread_wider_than_their_mean_are_inconclusive():
    # +1, +4, +7 points: every seed agrees and the line interval excludes zero, so
    # the old rule called it; three seeds this spread do not pin the mean above zero
    a = config([0.10, 0.10, 0.10], 0, M)
    b = config([0.11, 0.14, 0.17], 10, M)
    c = stats.compare(a, b, writers=writer_labels())
    assert all(x.estimate > 0 for x in c.per_seed) and c.pooled.low > 0
    assert c.hierarchical.low < 0 < c.hierarchical.high and c.direction == 0
    # the plain seed bootstrap spans about [min, max] of the seeds and would call it
    plain = stats.compare(a, b, writers=writer_labels(), calibrate_seeds=False)
    assert plain.hierarchical.low > 0 and plain.direction == +1


def test_large_consistent_difference_is_decided():
    a = config([0.10, 0.10, 0.10], 0, M)
    b = config([0.05, 0.05, 0.05], 10, M)
    c = stats.compare(a, b, names=("ctc", "gate"), writers=writer_labels())
    v = stats.verdict(c, better="gate")
    assert v.outcome == stats.REPRODUCED and v.high < 0 and v.mean_diff == pytest.approx(-0.05, abs=0.005)
    assert c.n_writers == WRITERS and "8 writers" in v.numbers and "seeds, writers and lines" in v.numbers
    assert stats.verdict(c, better="ctc").outcome == stats.NOT_REPRODUCED


def test_seeds_are_paired_between_the_systems():
    # each seed shifts both systems alike (a seed that is 9 points worse is worse in A and B):
    # B - A is about -3 points for every seed, which only a paired seed draw sees
    a = config([0.06, 0.10, 0.15], 0, M)
    b = config([0.03, 0.07, 0.12], 10, M)
    c = stats.compare(a, b, writers=writer_labels())
    assert c.hierarchical.high < 0 and c.direction == -1
    crossed = stats.compare(a, b[::-1], writers=writer_labels())  # seed 0 of A against seed 2 of B...
    assert crossed.hierarchical.low < 0 < crossed.hierarchical.high


def test_one_writer_carrying_the_difference_widens_the_interval():
    # B is A everywhere but on writer 0, where it fails four times as often
    on_writer_0 = np.where(np.arange(len(M)) < PER_WRITER, 0.40, 0.10)
    a, b = config([0.10], 0, M), config([on_writer_0], 10, M)
    # the same mean difference spread over every writer
    spread = config([0.10 + (0.40 - 0.10) * (M * (np.arange(len(M)) < PER_WRITER)).sum() / M.sum()], 10, M)
    concentrated = stats.compare(a, b, writers=writer_labels())
    even = stats.compare(a, spread, writers=writer_labels())
    assert concentrated.pooled.estimate == pytest.approx(even.pooled.estimate, abs=0.005)
    assert width(concentrated.hierarchical) > 3 * width(concentrated.pooled)  # lines alone: far too sure
    assert width(even.hierarchical) < 1.5 * width(even.pooled)  # no writer effect: about the line interval
    # a writer drawn zero times in a third of the resamples: the difference is not called
    assert concentrated.pooled.excludes_zero() and stats.verdict(concentrated, "A").outcome == stats.INCONCLUSIVE
    # without writer labels the same data gives the line interval back
    assert width(stats.compare(a, b).hierarchical) < 1.5 * width(concentrated.pooled)


@pytest.mark.parametrize("writers", [None, "own"])
def test_one_seed_and_one_writer_per_line_is_the_line_bootstrap(writers):
    a, b = config([0.10], 0, M), config([0.08], 10, M)
    labels = None if writers is None else {r["id"]: r["id"] for r in a[0]}
    for result in (stats.compare(a, b, writers=labels), stats.summarize(a, writers=labels)):
        line = result.pooled if hasattr(result, "pooled") else result.interval
        hier = result.hierarchical
        assert hier.estimate == pytest.approx(line.estimate)
        assert abs(hier.low - line.low) < 0.1 * width(line) and abs(hier.high - line.high) < 0.1 * width(line)


def test_hierarchical_summary_counts_seeds_and_writers():
    wide = stats.summarize(config([0.06, 0.10, 0.15], 0, M), writers=writer_labels())
    assert wide.hierarchical.low < 0.06 and wide.hierarchical.high > 0.15  # seeds 6 to 15 %: t-wide at S = 3
    assert wide.hierarchical.low >= 0  # a rate: clipped at zero
    assert wide.interval.high - wide.interval.low < 0.01  # the line interval knows nothing of it
    assert (wide.n_writers, wide.levels) == (WRITERS, stats.LEVELS)
    only_lines = stats.summarize(config([0.06, 0.10, 0.15], 0, M), levels=("lines",))
    assert width(only_lines.hierarchical) == pytest.approx(width(only_lines.interval), rel=0.2)


def test_line_weights_keep_writers_whole_and_counts_right():
    rng = np.random.default_rng(0)
    clusters = np.repeat([0, 1, 2], [5, 1, 10])  # unequal writers
    w = stats.line_weights(rng, 500, clusters)
    assert w.shape == (500, 16) and (w >= 0).all()
    per_writer = np.stack([w[:, clusters == g].sum(1) for g in range(3)], 1)  # lines drawn per writer slot
    sizes = np.array([5, 1, 10])
    assert ((per_writer % sizes) == 0).all()  # a drawn writer brings as many lines as it has
    assert (per_writer.sum(1) == (per_writer // sizes) @ sizes).all()
    assert ((per_writer // sizes).sum(1) == 3).all()  # G writers drawn per resample
    whole = stats.line_weights(rng, 50, clusters, within=False)  # whole writers: its lines equally often
    for g in range(3):
        assert (whole[:, clusters == g] == whole[:, clusters == g][:, :1]).all()
    assert stats.line_weights(np.random.default_rng(1), 5, clusters).tolist() == \
        stats.line_weights(np.random.default_rng(1), 5, clusters).tolist()  # seeded: reproducible


def test_hierarchical_options_are_checked():
    a = config([0.10], 0, M)
    with pytest.raises(ValueError, match="levels"):
        stats.summarize(a, levels=("seeds", "pages"))
    with pytest.raises(ValueError, match="no writer label"):
        stats.summarize(a, writers={"w0-0000": "font-0"})
    assert stats.seed_scale(1) == 1.0 and stats.seed_scale(3) == pytest.approx(2.69, abs=0.01)
    same = stats.compare(a, a, writers=writer_labels()).hierarchical
    assert (same.low, same.high) == (0.0, 0.0)
