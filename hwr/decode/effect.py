"""What a second decoder changes, read on the same lines with three metrics.

Seed 001 saw beam search move the CER by about a point while its outputs
"looked much better". The two are compatible when the beam's fixes are
small in characters but large in what a reader counts: one character fixed
can turn a wrong word right (a whole word in WER) or a wrong line exactly
right. :func:`decoder_effect` measures one decoder's change against another
on the same test lines in all three units, so a chapter can show which unit
the change is large in.

>>> effect = decoder_effect(lines_table, "greedy", "beam")
>>> effect["cer"]["relative"], effect["wer"]["relative"], effect["line"]["relative"]
"""

from __future__ import annotations

from statistics import median
from typing import Sequence

from hwr.metrics import edit_distance

#: the units an error is counted in, and what each counts as one error
UNITS = {"cer": "character edits per reference character",
         "wer": "word edits per reference word",
         "line": "lines not read exactly"}


def _errors(reference: str, hypothesis: str) -> dict[str, int]:
    """Errors of one line in each unit, and the size of each unit's reference."""
    return {"cer": edit_distance(reference, hypothesis), "cer_n": len(reference),
            "wer": edit_distance(reference.split(), hypothesis.split()), "wer_n": len(reference.split()),
            "line": int(reference != hypothesis), "line_n": 1}


def decoder_effect(lines: Sequence[dict], before: str = "greedy", after: str = "beam") -> dict:
    """Error rates of two decoders' outputs of the same lines, and the change.

    Args:
        lines: rows with ``reference`` and the two hypotheses under the keys
            ``before`` and ``after`` (an analysis's ``lines_table``).

    Returns:
        ``{unit: {"before", "after", "relative"}}`` for each unit of
        :data:`UNITS` (rates as fractions; ``relative`` the share of
        ``before``'s errors that ``after`` removes, negative when it adds
        some), plus ``changed`` (share of lines whose text differs),
        ``edits_per_change`` (median characters between the two texts of a
        changed line) and ``lines``.

    Raises:
        ValueError: no lines.
    """
    if not lines:
        raise ValueError("decoder_effect: no lines to compare")
    totals = {key: 0 for key in ("cer", "wer", "line", "cer_n", "wer_n", "line_n")}
    sums = {before: dict(totals), after: dict(totals)}
    edits = []
    for row in lines:
        for decoder in (before, after):
            for key, value in _errors(row["reference"], row[decoder]).items():
                sums[decoder][key] += value
        if row[before] != row[after]:
            edits.append(edit_distance(row[before], row[after]))
    out = {}
    for unit in UNITS:
        rate = {d: sums[d][unit] / max(1, sums[d][f"{unit}_n"]) for d in (before, after)}
        out[unit] = {"before": rate[before], "after": rate[after],
                     "relative": (rate[before] - rate[after]) / rate[before] if rate[before] else 0.0}
    out["changed"] = len(edits) / len(lines)
    out["edits_per_change"] = median(edits) if edits else 0
    out["lines"] = len(lines)
    return out
