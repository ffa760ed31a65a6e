"""hwr.decode.effect: one decoder's change against another, counted in characters, words and lines."""

from __future__ import annotations

import pytest

from hwr.decode.effect import decoder_effect


def test_one_character_fixed_is_small_in_cer_and_large_in_words_and_lines():
    lines = [{"reference": "the quick fox", "greedy": "the quik fox", "beam": "the quick fox"},
             {"reference": "a lazy dog", "greedy": "a lazy dog", "beam": "a lazy dog"},
             {"reference": "over there", "greedy": "ovr thre", "beam": "over thre"}]
    e = decoder_effect(lines)
    chars = len("the quick fox") + len("a lazy dog") + len("over there")
    assert e["cer"]["before"] == pytest.approx(3 / chars) and e["cer"]["after"] == pytest.approx(1 / chars)
    assert e["wer"]["before"] == pytest.approx(3 / 8) and e["wer"]["after"] == pytest.approx(1 / 8)
    assert e["line"]["before"] == pytest.approx(2 / 3) and e["line"]["after"] == pytest.approx(1 / 3)
    assert e["cer"]["relative"] == pytest.approx(2 / 3) and e["line"]["relative"] == pytest.approx(0.5)
    assert e["changed"] == pytest.approx(2 / 3) and e["edits_per_change"] == 1 and e["lines"] == 3


def test_a_worse_second_decoder_has_a_negative_change_and_no_lines_is_refused():
    e = decoder_effect([{"reference": "ab", "greedy": "ab", "beam": "a"},
                        {"reference": "cd", "greedy": "c", "beam": "c"}])
    assert e["cer"]["relative"] == pytest.approx(-1.0)
    assert e["line"]["relative"] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="no lines"):
        decoder_effect([])
