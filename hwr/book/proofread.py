"""Mechanical proofreading of a rendered page's text.

Glued numbers and hand-written prose meet only when the page is rendered, so
some slips show nowhere in a chapter's source:

- a unit written twice, ``69.5 % %`` (a glued value that carries its unit, and
  a unit in the sentence around it);
- a sign that contradicts its verb, ``falls by +0.32`` or ``rises by −1.2``;
- notes about how the runs were produced, which belong in the run records and
  the reproducibility appendix, not in a chapter's argument (``checkpoints are
  gone``, ``trained in an earlier session``).

>>> problems("The CER falls by +0.32 points and stays at 12.0 % %.")
['doubled unit: "12.0 % %"', 'sign against its verb: "falls by +0.32"']
"""

from __future__ import annotations

import html
import re

#: (what, pattern) checked on the page's visible text
RULES = [
    ("doubled unit", re.compile(r"\d+(?:[.,]\d+)?\s?(%|points?|ms|pt)\s+\1(?!\w)")),
    ("sign against its verb", re.compile(r"\b(?:falls|drops|decreases|shrinks)\s+by\s+\+\d[\d.,]*"
                                         r"|\b(?:rises|grows|increases)\s+by\s+[−-]\d[\d.,]*")),
    ("note on how the runs were produced", re.compile(
        r"checkpoints? (?:are|is|were|was) gone|earlier session|(?:was|were) still at hand"
        r"|before (?:this|the) (?:analysis|measure) existed", re.I)),
]


def visible_text(page: str) -> str:
    """The text a reader sees in an HTML page: scripts, styles and tags dropped, entities decoded,
    white space collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def problems(text: str) -> list[str]:
    """Every slip in ``text`` (plain text), as ``what: "the words"``, in the order of :data:`RULES`."""
    return [f'{what}: "{m.group(0)}"' for what, rule in RULES for m in rule.finditer(text)]
