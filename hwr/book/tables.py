"""Tables for the book's pages: numbered, captioned, formatted one way.

:class:`Table` is a cell output with two faces. The website renders its
Markdown face, a MyST ``{table}`` directive, so the table is numbered
("Table 2") and can be cited with ``{numref}`tbl-name```; Jupyter shows its
HTML face with the same caption and formatting. Numbers follow one rule:
integers with thousands separators, other numbers with ``decimals`` places,
numbers right-aligned and text left-aligned.
"""

from __future__ import annotations

import html
import numbers
from typing import Any, Callable

import pandas as pd


def fmt(value: Any, decimals: int = 2, integer: bool = False) -> str:
    """One cell as text: ``12,345``; ``3.14``; ``-`` for missing values.
    ``integer`` formats a whole float (a count that pandas stored as float) as an integer."""
    if value is None or isinstance(value, float) and value != value:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral) or integer and isinstance(value, numbers.Real):
        return f"{int(round(float(value))):,}"
    if isinstance(value, numbers.Real):
        return f"{float(value):,.{decimals}f}"
    return str(value)


def _whole(series: pd.Series) -> bool:
    """A numeric column whose values are all whole numbers (counts)."""
    values = pd.to_numeric(series, errors="coerce").dropna()
    return len(values) > 0 and bool((values == values.round()).all())


class Table:
    """A captioned, numbered table.

    Args:
        frame: the data; its index becomes the first column unless ``index=False``.
        caption: one sentence, Markdown allowed.
        name: the label for ``{numref}`` (``tbl-...``).
        decimals: places for non-integer numbers (per column via ``formats``).
        formats: column -> function(value) -> str, overriding :func:`fmt`.
        index: show the index as the first column.
        breakable: columns of long identifiers (run ids) that may wrap after
            each ``_`` when the table would not fit the page otherwise.
    """

    def __init__(self, frame: pd.DataFrame, caption: str, name: str, decimals: int = 2,
                 formats: dict[str, Callable[[Any], str]] | None = None, index: bool = True,
                 breakable: tuple[str, ...] = ()):
        self.frame, self.caption, self.name = frame, caption, name
        self.decimals, self.formats, self.index = decimals, formats or {}, index
        self.breakable = set(breakable)

    def _breaks(self, header: list[str]) -> list[bool]:
        return [h in self.breakable for h in header]

    def rows(self) -> tuple[list[str], list[list[str]], list[bool]]:
        """Header, formatted rows, and for each column whether it is numeric."""
        df = self.frame.reset_index() if self.index else self.frame
        header = ["" if c is None or c == "index" else str(c) for c in df.columns]
        numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
                   for c in df.columns]
        whole = [n and _whole(df[c]) for c, n in zip(df.columns, numeric)]
        rows = []
        for _, row in df.iterrows():
            rows.append([self.formats[c](v) if c in self.formats else fmt(v, self.decimals, w)
                         for c, v, w in zip(df.columns, row, whole)])
        return header, rows, numeric

    def _repr_markdown_(self) -> str:
        header, rows, numeric = self.rows()

        def line(cells):
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        # a colon fence: a backtick fence's info string may not hold backticks (CommonMark), and a caption
        # naming a model in `code` would turn the whole table into a paragraph of text
        out = [f":::{{table}} {self.caption}", f":name: {self.name}", "", line(header),
               "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"]
        breaks = self._breaks(header)
        out += [line([c.replace("_", "_<wbr>") if b else c for c, b in zip(r, breaks)]) for r in rows]
        return "\n".join(out + [":::"])

    def _repr_html_(self) -> str:
        header, rows, numeric = self.rows()
        align = ["right" if n else "left" for n in numeric]
        th = "".join(f'<th style="text-align:{a}">{html.escape(h)}</th>' for h, a in zip(header, align))
        breaks = self._breaks(header)
        body = "".join("<tr>" + "".join(f'<td style="text-align:{a}">'
                                        f'{html.escape(c).replace("_", "_<wbr>") if b else html.escape(c)}</td>'
                                        for c, a, b in zip(r, align, breaks)) + "</tr>" for r in rows)
        return (f"<table><caption>{html.escape(self.caption)}</caption>"
                f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")

    def __repr__(self) -> str:
        header, rows, _ = self.rows()
        return "\n".join(["  ".join(header)] + ["  ".join(r) for r in rows])
