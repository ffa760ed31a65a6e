"""Metrics on hand-computed pairs; the arithmetic is in the comments."""

import math

import pytest

from hwr.codec import EOS, SOS, Codec
from hwr.errors import EmptyScoreError
from hwr.metrics import cer, edit_distance, legacy_cer, legacy_line, wer

enc = Codec("seq2seq").encode  # text -> labels + [EOS]


def labels(text: str) -> list[int]:
    return enc(text)[:-1]


def test_edit_distance():
    assert edit_distance("kitten", "sitting") == 3  # k->s, e->i, +g
    assert edit_distance("", "abc") == 3
    assert edit_distance("abc", "abc") == 0
    assert edit_distance(["a", "b"], ["b"]) == 1


def test_cer_is_corpus_level():
    # "abcd" vs "abxd": 1 substitution; "ab" vs "": 2 deletions.
    # corpus: (1 + 2) / (4 + 2) = 0.5 (a per-line mean would be (0.25 + 1) / 2 = 0.625)
    assert cer(["abcd", "ab"], ["abxd", ""]) == pytest.approx(0.5)
    assert cer(["same"], ["same"]) == 0.0
    # insertions can push it above 1: "a" vs "abc" = 2 / 1
    assert cer(["a"], ["abc"]) == pytest.approx(2.0)


def test_wer():
    # "the cat sat" vs "the bat sat": 1 of 3 words; "a b" vs "a b c": 1 insertion / 2
    # corpus: (1 + 1) / (3 + 2) = 0.4
    assert wer(["the cat sat", "a b"], ["the bat sat", "a b c"]) == pytest.approx(0.4)
    # punctuation attached to a word is part of it: "end." vs "end ." = 1 sub + 1 ins over 1 word
    assert wer(["end."], ["end ."]) == pytest.approx(2.0)


def test_empty_references():
    assert cer([""], [""]) == 0.0
    assert math.isinf(cer([""], ["x"]))


def test_length_mismatch():
    with pytest.raises(ValueError, match="2 references but 1"):
        cer(["a", "b"], ["a"])


def test_legacy_line_perfect():
    # "ab" + EOS vs prediction a b EOS: reference bytes "ab" + 2 = 4, distance 0
    assert legacy_line("ab", enc("ab")) == (0, 4)


def test_legacy_line_cuts_after_len_plus_one():
    # prediction "ab" EOS "zzz": cut to 3 symbols -> "ab" EOS: free insertions
    assert legacy_line("ab", enc("ab") + labels("zzz")) == (0, 4)
    # prediction "abzzz" EOS: cut to "abz" -> bytes "abz" vs "ab"+EOS(2 bytes):
    # substitute z for the first EOS byte, delete the second -> 2
    assert legacy_line("ab", labels("abzzz") + [EOS]) == (2, 4)


def test_legacy_line_eos_counts_two():
    # prediction: a single EOS; bytes E1 E2 vs a b E1 E2: delete "a" and "b" -> 2
    assert legacy_line("ab", [EOS]) == (2, 4)
    # EOS repeated over all 98 steps, cut to 3 symbols: E1 E2 E1 E2 E1 E2 vs a b E1 E2:
    # 2 substitutions + 2 deletions -> 4 (every EOS after the first costs 2)
    assert legacy_line("ab", [EOS] * 98) == (4, 4)
    # early EOS then garbage: "a" EOS "b" -> bytes a,E1,E2,b vs a,b,E1,E2 -> 2
    assert legacy_line("ab", labels("a") + [EOS] + labels("b")) == (2, 4)
    # no EOS at all, right text: "abc" cut to "abc" vs "ab"+EOS -> sub + del = 2
    assert legacy_line("ab", labels("abc")) == (2, 4)


def test_legacy_line_sos_is_one_wrong_byte():
    # SOS never matches the reference: "a" SOS EOS vs "ab" EOS -> 1 substitution
    assert legacy_line("ab", labels("a") + [SOS, EOS]) == (1, 4)


def test_legacy_cer_mean_over_batches():
    refs = ["ab", "abcd", "x"]
    hyps = [enc("ab"), labels("abxd") + [EOS], [EOS]]
    # batch_size 2: batch 1: distances 0 + 1, bytes 4 + 6 -> 10 %;
    #               batch 2: "x"+EOS (3 bytes) vs EOS -> 1 / 3 -> 33.33 %
    # mean over batches: (10 + 33.333) / 2 = 21.667 %
    assert legacy_cer(refs, hyps, batch_size=2) == pytest.approx((10 + 100 / 3) / 2)
    # one batch: (0 + 1 + 1) / (4 + 6 + 3) = 15.385 %
    assert legacy_cer(refs, hyps, batch_size=64) == pytest.approx(200 / 13)


@pytest.mark.parametrize("metric", [cer, wer, legacy_cer])
def test_zero_lines_have_no_score(metric):
    # an error rate over no line is undefined: 0 % would read as perfect
    with pytest.raises(EmptyScoreError, match="over 0 lines is undefined"):
        metric([], [])


def test_line_accuracy_counts_exact_lines():
    from hwr.metrics import line_accuracy

    assert line_accuracy(["ANNA", "BOB", "EVE"], ["ANNA", "BOB ", "EVA"]) == pytest.approx(1 / 3)
    with pytest.raises(EmptyScoreError):
        line_accuracy([], [])


def test_positional_accuracy_is_the_seeds_and_shifts_after_one_error():
    from hwr.metrics import positional_accuracy

    assert positional_accuracy([[1, 2, 3]], [[1, 2, 3]]) == (1.0, 1.0)
    # one deletion at the front: every later position is wrong, though the edit distance is 1
    assert positional_accuracy([[1, 2, 3, 4]], [[2, 3, 4]]) == (0.0, 0.0)
    # an extra symbol past the reference is not counted (the seed compared only the label's positions)
    assert positional_accuracy([[1, 2]], [[1, 2, 9]]) == (1.0, 1.0)
    # raw CTC frames (blanks, repeats) line up with the label by chance only
    assert positional_accuracy([[5, 6]], [[0, 5, 5, 0, 6]]) == (0.0, 0.0)


def test_perfect_ctc_frames_collapse_to_the_label_yet_fail_the_seeds_raw_frame_score():
    from hwr.metrics import perfect_ctc_frames, positional_accuracy

    blank = 0
    label = [5, 5, 7, 3]  # a doubled symbol needs a blank between its two firings
    frames = perfect_ctc_frames(label, 16, blank)
    assert len(frames) == 16
    collapsed = [s for i, s in enumerate(frames) if s != blank and (i == 0 or s != frames[i - 1])]
    assert collapsed == label
    # scored position by position on the raw frames, the perfect reader reads no word right
    assert positional_accuracy([label], [frames])[1] == 0.0
    assert positional_accuracy([label], [collapsed]) == (1.0, 1.0)
    with pytest.raises(ValueError):
        perfect_ctc_frames([1, 2, 3], 5, blank)
