"""Error rates: the standard corpus CER/WER and the thesis's "legacy CER".

The book's main metrics are the corpus character and word error rates: the sum
of the Levenshtein distances over all lines divided by the sum of the
reference lengths, as fractions (0.05 = 5 %). Averaging per-line rates instead
would let short lines weigh as much as long ones.

The thesis reported a different number (thesis spec §10), reproduced by
:func:`legacy_cer` so the book can compare with it:

* the reference is the label sequence of the ground truth *with* its end token
  (EOS), i.e. ``len(text) + 1`` symbols;
* the prediction is the raw argmax label sequence cut to ``len(text) + 1``
  symbols, so anything the model emits past the reference length is free;
* both are scored on UTF-8 bytes (the scoring library's unit), where EOS was a
  two-byte character, so EOS counts as 2 characters: a missing or misplaced
  EOS costs 2, and the reference length is ``len(text) + 2``;
* per batch of 64 lines a corpus CER in percent, and the reported figure is the
  mean over batches (the last, smaller batch weighs as much as a full one).
"""

from __future__ import annotations

from typing import Sequence

import editdistance

from hwr.codec import EOS, SOS, SYMBOLS
from hwr.errors import EmptyScoreError

# Stand-ins for the two special tokens when counting bytes: EOS was a
# two-byte UTF-8 character in the original scoring; SOS (index 0) is never a
# reference symbol, so any one-byte code that no text uses will do.
_EOS_BYTES = "\u00b6".encode()  # pilcrow: 2 bytes in UTF-8
_SOS_BYTES = b"\x00"
assert len(_EOS_BYTES) == 2


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance between two strings (or sequences of labels/words)."""
    return int(editdistance.eval(a, b))


def _check(refs: Sequence, hyps: Sequence, metric: str) -> None:
    """Same number of references and hypotheses, and at least one line: an
    error rate over no line is undefined, never 0 (it would read as perfect)."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    if len(refs) == 0:
        raise EmptyScoreError(f"{metric} over 0 lines is undefined: nothing was scored")


def cer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus character error rate, a fraction.

    Args:
        refs: reference transcriptions (decoded text, no special tokens).
        hyps: hypotheses, one per reference.

    Returns:
        sum of character edit distances / sum of reference lengths
        (0.0 for all-empty references with empty hypotheses, inf with
        non-empty ones).

    Raises:
        EmptyScoreError: for zero lines.
    """
    _check(refs, hyps, "CER")
    dist = sum(edit_distance(r, h) for r, h in zip(refs, hyps))
    total = sum(len(r) for r in refs)
    return _ratio(dist, total)


def wer(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Corpus word error rate, a fraction: words are runs of non-space
    characters, so punctuation attached to a word is part of it.

    Raises:
        EmptyScoreError: for zero lines.
    """
    _check(refs, hyps, "WER")
    dist = sum(edit_distance(r.split(), h.split()) for r, h in zip(refs, hyps))
    total = sum(len(r.split()) for r in refs)
    return _ratio(dist, total)


def _ratio(dist: int, total: int) -> float:
    if total == 0:
        # Nothing to recognise: perfect if nothing was inserted either.
        return 0.0 if dist == 0 else float("inf")
    return dist / total


def _legacy_bytes(labels: Sequence[int]) -> bytes:
    """Label sequence -> the bytes the original scoring compared."""
    out = bytearray()
    for i in labels:
        i = int(i)
        if i == EOS:
            out += _EOS_BYTES
        elif i == SOS:
            out += _SOS_BYTES
        else:
            out += SYMBOLS[i].encode()
    return bytes(out)


def legacy_line(ref: str, hyp_labels: Sequence[int]) -> tuple[int, int]:
    """One line's share of the legacy CER: (byte edit distance, reference bytes).

    Args:
        ref: reference text (in the alphabet, no special tokens).
        hyp_labels: the raw seq2seq argmax labels over the decoder steps
            (EOS included, anything after it too).
    """
    ref_b = ref.encode() + _EOS_BYTES
    hyp_b = _legacy_bytes(list(hyp_labels)[: len(ref) + 1])
    return edit_distance(ref_b, hyp_b), len(ref_b)


def legacy_cer(refs: Sequence[str], hyp_labels: Sequence[Sequence[int]], batch_size: int = 64) -> float:
    """The thesis's CER in percent (see the module docstring for the rules).

    Args:
        refs: reference texts, in evaluation order (batches are consecutive
            runs of ``batch_size`` lines, as the thesis's test loader made them).
        hyp_labels: per line, the raw argmax label sequence of every decoder
            step (EOS included).
        batch_size: lines per scoring batch (64 in the thesis).

    Returns:
        mean over batches of 100 * sum(distances) / sum(reference bytes).

    Raises:
        EmptyScoreError: for zero lines.
    """
    _check(refs, hyp_labels, "legacy CER")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, not {batch_size}")
    rates = []
    for start in range(0, len(refs), batch_size):
        pairs = [legacy_line(r, h) for r, h in zip(refs[start : start + batch_size], hyp_labels[start : start + batch_size])]
        rates.append(100.0 * sum(d for d, _ in pairs) / sum(n for _, n in pairs))
    return sum(rates) / len(rates)


def line_accuracy(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Share of lines read exactly (a name read with every character right): seed 003's "word accuracy"
    done right, since each of its lines is one name.

    Raises:
        EmptyScoreError: for zero lines.
    """
    _check(refs, hyps, "line accuracy")
    return sum(r == h for r, h in zip(refs, hyps)) / len(refs)


def positional_accuracy(refs: Sequence[Sequence[int]], hyps: Sequence[Sequence[int]]) -> tuple[float, float]:
    """Seed 003's two accuracies, reconstructed from its notes: symbols compared position by position.

    The seed counted a character right where the prediction had the label's
    symbol at the same position ("compare characters [where] the label was
    not -1 padded") and a word right when all of them were. Compared by
    position, one missing or extra symbol shifts everything after it; and if
    ``hyps`` are a CTC model's raw per-frame argmax (blanks and repeats not
    collapsed), the frames line up with the label's positions by chance only,
    so the word accuracy stays near zero however well the model reads.

    Args:
        refs: label sequences of the references (no padding).
        hyps: predicted label sequences, one per reference (any length).

    Returns:
        (character accuracy: matching positions / reference symbols,
        word accuracy: share of lines whose every reference position matches),
        both fractions.

    Raises:
        EmptyScoreError: for zero lines.
    """
    _check(refs, hyps, "positional accuracy")
    right = total = words = 0
    for ref, hyp in zip(refs, hyps):
        hits = sum(1 for i, r in enumerate(ref) if i < len(hyp) and int(hyp[i]) == int(r))
        right, total, words = right + hits, total + len(ref), words + (hits == len(ref))
    return (right / total if total else 1.0), words / len(refs)


def perfect_ctc_frames(label: Sequence[int], frames: int, blank: int) -> list[int]:
    """The per-frame argmax of a CTC reader that reads ``label`` perfectly.

    A trained CTC model fires each symbol in about one frame and writes the
    blank everywhere else. This one gives every symbol an equal share of the
    ``frames`` and fires it in the middle of its share, so collapsing the
    result (repeats merged, blanks removed) gives ``label`` back exactly: a
    reader with no errors, to score with :func:`positional_accuracy` the way
    seed 003 scored its raw frames.

    Args:
        label: the reference's label sequence.
        frames: the model's output length.
        blank: the blank's label.

    Returns:
        ``frames`` labels.

    Raises:
        ValueError: for a label with more symbols than half the frames (shares
            of fewer than 2 frames could put two equal symbols side by side
            with no blank between).
    """
    n = len(label)
    if 2 * n > frames:
        raise ValueError(f"perfect_ctc_frames: {n} symbols need at least {2 * n} frames, got {frames}")
    out = [blank] * frames
    for k, symbol in enumerate(label):
        start, end = k * frames // n, (k + 1) * frames // n
        out[(start + end) // 2] = int(symbol)
    return out


#: a hypothesis emitted on more than this share of a split's lines is a "frequent output" (and, where
#: wrong, a sign that the model writes it whatever the image shows)
FREQUENT_OUTPUT = 0.02
#: ... provided it covers at least this many lines (a tiny split has no frequent outputs)
FREQUENT_MIN_LINES = 3
#: one word this many times in a row ("the the the") is a language-prior loop, not a reading
REPEATED_WORD = 3
#: a run whose degenerate share (:func:`degenerate_share`) is above this is flagged: no verdict is
#: drawn from it and its CER is never averaged into one
DEGENERATE_LIMIT = 0.05


def _repeats_a_word(text: str, times: int = REPEATED_WORD) -> bool:
    words = text.split()
    run = 1
    for a, b in zip(words, words[1:]):
        run = run + 1 if a == b else 1
        if run >= times:
            return True
    return False


def degenerate_lines(refs: Sequence[str], hyps: Sequence[str]) -> list[bool]:
    """Per line, whether its output looks independent of the image.

    A wrong output is *degenerate* when the model writes the same string on
    more than :data:`FREQUENT_OUTPUT` of the lines (at least
    :data:`FREQUENT_MIN_LINES` of them: a decoder that has learnt the language
    prior and ignores the picture writes "the" under every line), or when it
    repeats one word :data:`REPEATED_WORD` times in a row where the
    reference does not ("the the the"). A correct output is never
    degenerate, so a test set that repeats a phrase cannot trip it.

    Raises:
        EmptyScoreError: for zero lines.
    """
    _check(refs, hyps, "degenerate share")
    from collections import Counter

    counts = Counter(hyps)
    frequent = {h for h, n in counts.items() if n >= FREQUENT_MIN_LINES and n > FREQUENT_OUTPUT * len(hyps)}
    return [h != r and (h in frequent or (_repeats_a_word(h) and not _repeats_a_word(r)))
            for r, h in zip(refs, hyps)]


def degenerate_share(refs: Sequence[str], hyps: Sequence[str]) -> float:
    """Share of lines whose output is degenerate (:func:`degenerate_lines`); above
    :data:`DEGENERATE_LIMIT` the run is flagged."""
    flags = degenerate_lines(refs, hyps)
    return sum(flags) / len(flags)
