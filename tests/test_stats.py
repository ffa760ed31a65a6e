"""hwr.stats: ratio-of-sums bootstrap, paired comparisons and the verdict rule,
on made-up prediction records whose answer is known."""

import numpy as np
import pytest

from hwr import metrics, stats
from hwr.evaluate import write_predictions

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
