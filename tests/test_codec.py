"""The 81-symbol alphabet and the codec."""

import pytest

from hwr import codec
from hwr.codec import Codec, NormalisationReport, UnknownCharacterError, normalise_text


def test_alphabet_layout_matches_the_thesis():
    assert codec.NUM_CLASSES == 81
    assert codec.SYMBOLS[1] == " " and codec.SYMBOLS[17] == "?"
    assert codec.SYMBOLS[19] == "0" and codec.SYMBOLS[28] == "9"
    assert codec.SYMBOLS[29] == "a" and codec.SYMBOLS[54] == "z"
    assert codec.SYMBOLS[55] == "A" and codec.SYMBOLS[80] == "Z"
    assert len(codec.CHARSET) == 79


@pytest.mark.parametrize("kind", ["seq2seq", "ctc"])
def test_round_trip_every_symbol(kind):
    c = Codec(kind)
    text = "".join(sorted(codec.CHARSET))
    labels = c.encode(text)
    assert c.decode(labels) == text
    assert (labels[-1] == codec.EOS) == (kind == "seq2seq")
    assert codec.SOS not in labels  # 0 is SOS (seq2seq) or the blank (CTC), never a symbol


def test_seq2seq_decode_stops_at_eos():
    c = Codec("seq2seq")
    assert c.decode(c.encode("ab") + c.encode("cd")) == "ab"
    assert c.decode([codec.SOS] + c.encode("x")) == "x"


def test_encode_reports_unknown_characters():
    with pytest.raises(UnknownCharacterError, match="'%'"):
        Codec().encode("50%")


def test_normalisation_maps_and_counts():
    report = NormalisationReport()
    out = normalise_text("\u201cCaf\u00e9\u201d \u2014 it\u2019s  fine", report=report)
    assert out == '"Cafe" - it\'s fine'
    assert report.mapped["\u201c"] == 1 and report.mapped["\u00e9"] == 1 and not report.skipped


def test_normalisation_unknown_error_or_skip():
    with pytest.raises(UnknownCharacterError, match="U\\+263A"):
        normalise_text("hi \u263a")
    report = NormalisationReport()
    assert normalise_text("hi \u263a there", unknown="skip", report=report) == "hi there"
    assert report.skipped["\u263a"] == 1
    assert "skipped" in report.summary()
