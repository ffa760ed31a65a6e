"""The thesis alphabet and the codec between text and label sequences.

The alphabet has 81 classes (``book/ch01_data``; thesis spec §2). Index layout
for the seq2seq models:

====== =========================================================
index  symbol
====== =========================================================
0      SOS, the start token fed to the decoder's first step
1-17   space and ``! " # & ' ( ) * + , - . / : ; ?``
18     EOS, the end token (also the padding value of targets)
19-28  digits ``0-9``
29-54  ``a-z``
55-80  ``A-Z``
====== =========================================================

The CTC models use the same table with index 0 as the CTC blank; EOS stays at
18 (never emitted) so both families share one output layer size and the
parameter counts match the thesis.

Characters outside the alphabet are mapped by a configurable normalisation
table (curly quotes to ASCII, dashes to ``-``, ...); what is still unknown is
either reported (:class:`UnknownCharacterError`) or skipped with a count,
never dropped silently.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from hwr.errors import HwrError

SOS = 0
BLANK = 0
EOS = 18
NUM_CLASSES = 81
PUNCTUATION = " !\"#&'()*+,-./:;?"  # indices 1..17, space first
DIGITS = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()

#: index -> printable symbol, with "" for the two special tokens
SYMBOLS: tuple[str, ...] = ("",) + tuple(PUNCTUATION) + ("",) + tuple(DIGITS + LOWER + UPPER)
assert len(SYMBOLS) == NUM_CLASSES and SYMBOLS[EOS] == ""
CHARSET = frozenset(s for s in SYMBOLS if s)
_INDEX = {s: i for i, s in enumerate(SYMBOLS) if s}

#: default normalisation: typographic characters -> the nearest ASCII symbols
DEFAULT_NORMALISATION: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": " - ", "\u2015": " - ", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\t": " ", "\n": " ", "\r": " ",
    "[": "(", "]": ")", "{": "(", "}": ")", "%": " per cent", "$": "#", "_": "-",
    "=": "-", "<": "(", ">": ")", "|": "/", "\\": "/", "~": "-", "@": "a", "^": "'",
}


class UnknownCharacterError(HwrError, ValueError):
    """A transcription holds a character the alphabet cannot represent (an
    input problem: one line, exit code 2 from the ``hwr`` command)."""


@dataclass
class NormalisationReport:
    """What normalisation changed or skipped, for the log of a dataset build."""

    mapped: Counter = field(default_factory=Counter)   # source char -> count
    skipped: Counter = field(default_factory=Counter)  # unknown char -> count

    def __bool__(self) -> bool:
        return bool(self.mapped or self.skipped)

    def update(self, other: "NormalisationReport") -> None:
        self.mapped.update(other.mapped)
        self.skipped.update(other.skipped)

    def summary(self) -> str:
        def fmt(c: Counter) -> str:
            return ", ".join(f"{k!r}x{v}" for k, v in c.most_common(12)) or "none"
        return f"mapped: {fmt(self.mapped)}; skipped: {fmt(self.skipped)}"


def normalise_text(
    text: str,
    table: dict[str, str] | None = None,
    unknown: str = "error",
    report: NormalisationReport | None = None,
) -> str:
    """Map ``text`` onto the alphabet.

    Args:
        text: any Unicode string.
        table: character replacements; defaults to :data:`DEFAULT_NORMALISATION`.
            Accented letters are reduced to their base letter first (é -> e).
        unknown: what to do with characters still outside the alphabet:
            ``"error"`` raises :class:`UnknownCharacterError`, ``"skip"``
            removes them and counts them in ``report``.
        report: collects counts of mapped and skipped characters.

    Returns:
        The normalised text, with runs of spaces collapsed and ends stripped.
    """
    table = DEFAULT_NORMALISATION if table is None else table
    out: list[str] = []
    for ch in text:
        if ch in CHARSET:
            out.append(ch)
            continue
        repl = table.get(ch)
        if repl is None:
            base = unicodedata.normalize("NFKD", ch)
            base = "".join(c for c in base if not unicodedata.combining(c))
            if base and all(c in CHARSET for c in base):
                repl = base
        if repl is not None:
            out.append(repl)
            if report is not None:
                report.mapped[ch] += 1
        elif unknown == "skip":
            if report is not None:
                report.skipped[ch] += 1
        else:
            raise UnknownCharacterError(f"character {ch!r} (U+{ord(ch):04X}) is not in the alphabet, in {text!r}")
    return " ".join("".join(out).split())


class Codec:
    """Encode text to label sequences and decode them back.

    Args:
        kind: ``"seq2seq"`` (targets end with EOS) or ``"ctc"`` (no EOS;
            index 0 is the blank).
    """

    def __init__(self, kind: str = "seq2seq"):
        if kind not in ("seq2seq", "ctc"):
            raise ValueError(f"codec kind must be 'seq2seq' or 'ctc', not {kind!r}")
        self.kind = kind
        self.num_classes = NUM_CLASSES

    def encode(self, text: str) -> list[int]:
        """Text -> labels; seq2seq targets get a trailing EOS.

        Raises:
            UnknownCharacterError: for a character outside the alphabet
                (normalise first with :func:`normalise_text`).
        """
        try:
            labels = [_INDEX[c] for c in text]
        except KeyError as e:
            raise UnknownCharacterError(f"character {e.args[0]!r} is not in the alphabet, in {text!r}") from None
        return labels + [EOS] if self.kind == "seq2seq" else labels

    def decode(self, labels: Iterable[int]) -> str:
        """Labels -> text. Seq2seq: stops at the first EOS and ignores SOS.
        CTC: expects already collapsed labels and ignores blanks."""
        out = []
        for i in labels:
            i = int(i)
            if i == EOS and self.kind == "seq2seq":
                break
            out.append(SYMBOLS[i])
        return "".join(out)

    def decode_batch(self, batch: Sequence[Iterable[int]]) -> list[str]:
        return [self.decode(x) for x in batch]
