"""Numbers and names as a chapter's prose and tables print them."""

from __future__ import annotations

import re
from typing import Sequence


def percent(x: float) -> str:
    """A rate in percent with one decimal, ``12.3`` (``-`` when missing)."""
    return "-" if x is None or x != x else f"{100 * x:.1f}"


def percent_text(x: float) -> str:
    """A share for prose, ``12.3 %`` (``-`` when missing)."""
    return "-" if x is None or x != x else f"{100 * x:.1f} %"


def mean_sd_text(mean: float, sd: float) -> str:
    """``12.3±1.4`` (percent, one decimal; no spaces, so a narrow column never splits it
    over lines); one seed has no ``±``."""
    return percent(mean) if sd is None or sd != sd else f"{percent(mean)}±{percent(sd)}"


def points(x: float) -> str:
    """A difference of rates in signed percentage points, ``+1.23`` / ``−0.45`` (``-`` when missing)."""
    return "-" if x is None or x != x else f"{100 * x:+.2f}".replace("-", "\u2212")


def change_text(change: float, digits: int = 2) -> str:
    """A change of a rate (after minus before, a fraction) in words whose verb carries the sign:
    ``falls by 0.32 points``, ``rises by 1.20 points``, ``does not change`` (``-`` when missing)."""
    if change is None or change != change:
        return "-"
    size = f"{100 * abs(change):.{digits}f}"
    if float(size) == 0:
        return "does not change"
    return f"{'falls' if change < 0 else 'rises'} by {size} points"


def code_names(text: str, names: Sequence[str]) -> str:
    """``text`` with every occurrence of the model names ``names`` in backticks (Markdown
    code), so that an underscore in ``light_in`` is not read as emphasis."""
    pattern = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True))
    return re.sub(rf"(?<![\w`])({pattern})(?![\w`])", r"`\1`", text)
