"""Which characters a recogniser confuses: edit operations from aligned text.

:func:`edit_operations` aligns a reference with a hypothesis by the same
Levenshtein distance the CER counts (:func:`hwr.metrics.edit_distance`) and
lists the operations of one minimal alignment; :func:`confusion_counts` adds
them up over the per-line test predictions of one or more runs, the input of
:func:`hwr.plots.runs.confusion_bars`.

An operation is a pair ``(reference character, hypothesis character)``:
``("e", "c")`` a substitution, ``("e", "")`` a deletion (the model missed an
``e``), ``("", "e")`` an insertion.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

#: how a space is shown in labels, so that a confused space is visible
SPACE = "\u2423"


def alignment(reference: str, hypothesis: str) -> list[tuple[int | None, int | None]]:
    """One minimal alignment of ``reference`` and ``hypothesis``, as index pairs.

    The alignment is found by the Levenshtein recurrence (unit costs) and read
    back from the end; where several alignments are minimal, a diagonal step
    (match or substitution) is preferred, then a deletion, then an insertion,
    so the result is deterministic.

    Returns:
        in text order, ``(i, j)`` for reference[i] aligned with hypothesis[j]
        (a match or a substitution), ``(i, None)`` for a deleted reference
        character and ``(None, j)`` for an inserted one.
    """
    n, m = len(reference), len(hypothesis)
    # D[i][j]: distance between reference[:i] and hypothesis[:j]; (n+1) x (m+1)
    D = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        D[i][0] = i
    for j in range(m + 1):
        D[0][j] = j
    for i in range(1, n + 1):
        r, row, prev = reference[i - 1], D[i], D[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + (r != hypothesis[j - 1]), prev[j] + 1, row[j - 1] + 1)
    steps: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and D[i][j] == D[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]):
            steps.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and D[i][j] == D[i - 1][j] + 1:
            steps.append((i - 1, None))
            i -= 1
        else:
            steps.append((None, j - 1))
            j -= 1
    return steps[::-1]


def edit_operations(reference: str, hypothesis: str) -> list[tuple[str, str]]:
    """The substitutions, deletions and insertions of one minimal alignment
    (:func:`alignment`); ``len(result)`` equals the edit distance.

    Args:
        reference: the true text (length n).
        hypothesis: the recognised text (length m).

    Returns:
        the operations in text order, matches left out.
    """
    ops = []
    for i, j in alignment(reference, hypothesis):
        r = "" if i is None else reference[i]
        h = "" if j is None else hypothesis[j]
        if r != h:
            ops.append((r, h))
    return ops


def confusion_counts(rows: Iterable[Mapping]) -> Counter:
    """Edit operations counted over prediction rows (``reference``, ``hypothesis``).

    Args:
        rows: per-line predictions, e.g. the rows of several runs'
            ``predictions.csv`` (a DataFrame's ``to_dict("records")``).

    Returns:
        Counter of ``(reference char, hypothesis char)`` pairs (see the module).
    """
    counts: Counter = Counter()
    for row in rows:
        counts.update(edit_operations(str(row["reference"]), str(row["hypothesis"])))
    return counts


def label(op: tuple[str, str]) -> str:
    """``e → c``, ``e → ∅`` (deleted), ``∅ → e`` (inserted); spaces shown as ␣."""
    show = lambda c: "\u2205" if c == "" else c.replace(" ", SPACE)  # noqa: E731
    return f"{show(op[0])} \u2192 {show(op[1])}"


def kind(op: tuple[str, str]) -> str:
    """``"substitution"``, ``"deletion"`` or ``"insertion"``."""
    return "deletion" if op[1] == "" else "insertion" if op[0] == "" else "substitution"


def top_confusions(counts: Mapping[tuple[str, str], int], k: int = 15):
    """The ``k`` most frequent operations as a DataFrame.

    Columns: ``operation`` (its :func:`label`), ``kind``, ``count`` and
    ``share`` (of all counted operations). Ties are broken by the label, so
    the order does not depend on the input order.
    """
    import pandas as pd

    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], label(kv[0])))[:k]
    return pd.DataFrame([{"operation": label(op), "kind": kind(op), "count": int(n),
                          "share": n / total if total else 0.0} for op, n in ranked],
                        columns=["operation", "kind", "count", "share"])


def kind_rates(rows: Iterable[Mapping]) -> dict[str, float]:
    """Substitutions, deletions and insertions per reference character.

    The three rates sum to the corpus CER of ``rows`` (per-line predictions
    with ``reference`` and ``hypothesis``), since one minimal alignment's
    operations number the edit distance.
    """
    counts = {"substitution": 0, "deletion": 0, "insertion": 0}
    chars = 0
    for row in rows:
        ref, hyp = str(row["reference"]), str(row["hypothesis"])
        chars += len(ref)
        for op in edit_operations(ref, hyp):
            counts[kind(op)] += 1
    return {k: v / max(1, chars) for k, v in counts.items()}


def in_repeats(text: str) -> list[bool]:
    """For each character, whether it belongs to a run of two or more equal characters ("ll" in "hello").

    Such a run is what CTC cannot emit without a blank between its members.
    """
    return [(i > 0 and c == text[i - 1]) or (i + 1 < len(text) and c == text[i + 1]) for i, c in enumerate(text)]


def repeat_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """Edit operations of one minimal alignment (:func:`alignment`), and how many of them touch a repeated
    reference character (:func:`in_repeats`).

    A substitution or deletion touches the character it changes; an insertion
    touches the reference characters on either side of it (inserting an
    extra ``l`` after "ll" is an error of the repeat).

    Returns:
        (operations on repeated characters, all operations): the second is the edit distance.
    """
    repeated = in_repeats(reference)
    steps = alignment(reference, hypothesis)
    on_repeats = errors = 0
    last_ref = None  # the reference index aligned last, for an insertion's left neighbour
    for k, (i, j) in enumerate(steps):
        if i is not None:
            last_ref = i
            if j is None or reference[i] != hypothesis[j]:
                errors += 1
                on_repeats += repeated[i]
            continue
        errors += 1
        after = next((s[0] for s in steps[k + 1:] if s[0] is not None), None)
        on_repeats += any(repeated[n] for n in (last_ref, after) if n is not None)
    return on_repeats, errors


def repeat_error_counts(rows: Iterable[Mapping]) -> list[tuple[int, int, int, int]]:
    """Per prediction row: (errors on repeated characters, errors, repeated reference characters,
    reference characters), the counts of seed 004's claim that most errors come from repeated characters."""
    out = []
    for row in rows:
        ref, hyp = str(row["reference"]), str(row["hypothesis"])
        on_repeats, errors = repeat_errors(ref, hyp)
        out.append((on_repeats, errors, sum(in_repeats(ref)), len(ref)))
    return out
