"""Does a chapter's prose say more than its verdicts? Directions stated in text, checked against the verdicts.

A chapter may write "`light_no_pe` reads better than `light_in` here" only
when a verdict of that chapter decided it. This module reads an executed
chapter (its notebook), renders the prose a reader sees (markdown cells with
every ``{glue}`` role replaced by its glued value, and the markdown that code
cells display), finds the sentences that order two named things ("A reads
better than B", "A is behind B", "Answer: A is lower"), and checks each one
against the verdicts that :func:`hwr.book.blocks.judge` recorded in the same
notebook (one ``judged_*`` glue per verdict).

A statement is a problem when no verdict of the chapter judged that pair,
when the verdict is inconclusive, or when it points the other way. What is
not the chapter's own voice is left out before the search: the verdicts'
own explanations (they carry their caveats), the claims under test (the
thesis's and the seeds', :data:`hwr.thesis.CLAIMS`, :data:`hwr.seeds.SEED_CLAIMS`),
quotations, and sentences that report what the thesis or a seed found.

>>> problems_in_notebook(Path("results/book/ch06_light/ch06_light.ipynb"))
[]
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

#: prefix of the glue names under which :func:`hwr.book.blocks.judge` records each verdict
JUDGED_PREFIX = "judged_"

#: phrases "A <phrase> B" that put A first (the lower error rate) or last
_FIRST_LOWER = ("reads better than", "read better than", "is better than", "does better than", "better than",
                "beats", "beat", "is ahead of", "ahead of", "outperforms", "outperform", "has a lower CER than",
                "a lower CER than", "lower CER than", "is lower than", "lower than", "makes fewer errors than",
                "fewer errors than", "wins over", "wins against")
_FIRST_HIGHER = ("reads worse than", "read worse than", "is worse than", "does worse than", "worse than",
                 "is behind", "behind", "trails", "trail", "has a higher CER than", "a higher CER than",
                 "higher CER than", "is higher than", "higher than", "makes more errors than", "more errors than",
                 "loses to", "lose to")
#: "A <phrase>" with no second name: A is the lower (or higher) one of the pair the sentence is about
_ALONE_LOWER = ("is lower", "reads better", "is better", "wins", "is ahead")
_ALONE_HIGHER = ("is higher", "reads worse", "is worse", "loses", "is behind")

#: a sentence that reports someone else's finding, not the book's
_REPORTED = re.compile(r"\b(?:the thesis(?:'s|’s)?|the seed|seed \d{3}|its notes|the paper|the authors)\b[^.;:]*?"
                       r"\b(?:found|finds|claims?|claimed|reports?|reported|says|said|measured|concluded|"
                       r"expects?|expected|argues?|argued)\b", re.I)
#: quotations (straight or curly double quotes) and italic claim texts
_QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”|(?<![*\w])\*[^*\n]+\*(?![*\w])")
_GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`")
_FENCE = re.compile(r"^(`{3,}|:{3,}).*?^\1\s*$", re.M | re.S)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`*(\"“])|\n\s*\n|\n\s*[-*] ")


@dataclass(frozen=True)
class Judged:
    """One verdict as :func:`hwr.book.blocks.judge` records it: the two names and which is lower, if decided."""

    better: str  # the name the claim favours
    other: str
    outcome: str  # hwr.stats.REPRODUCED, NOT_REPRODUCED or INCONCLUSIVE
    lower: str | None  # the name with the lower error rate where the verdict decided, else None
    explanation: str = ""

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "Judged":
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Statement:
    """A sentence of the prose that orders two names: ``lower`` is said to read better than ``higher``."""

    lower: str
    higher: str | None  # None when the sentence names only the winner ("Answer: A is lower")
    sentence: str


# ---------------------------------------------------------------- the notebook's prose and verdicts
def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _unrepr(text: str) -> str:
    """A glued string's value from its ``repr`` (glue stores ``'it''s'`` as ``"it's"``); other values as they are."""
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return value if isinstance(value, str) else text
    return text


def glued_values(nb: Mapping) -> dict[str, str]:
    """Glue name -> the value a reader sees (markdown where glued as markdown, else the plain text,
    unquoted); figures and other rich outputs are left out."""
    values = {}
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            meta = (out.get("metadata") or {}).get("scrapbook")
            if not meta:
                continue
            data, prefix = out.get("data", {}), meta.get("mime_prefix", "")
            value = data.get(prefix + "text/markdown", data.get(prefix + "text/plain"))
            if value is None or prefix + "image/svg+xml" in data or "image/svg+xml" in data:
                continue
            text = _text(value)
            if prefix + "text/markdown" not in data:
                text = _unrepr(text)
            values[meta["name"]] = text
    return values


def judged_in(nb: Mapping) -> list[Judged]:
    """The verdicts recorded in an executed notebook (:data:`JUDGED_PREFIX` glues)."""
    return [Judged.from_json(v) for k, v in glued_values(nb).items() if k.startswith(JUDGED_PREFIX)]


def rendered_prose(nb: Mapping) -> str:
    """The chapter's prose as a reader sees it: markdown cells with glue roles replaced, then the markdown
    that code cells display; code fences and directives (figures, tables) are dropped."""
    values = glued_values(nb)
    parts = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = _FENCE.sub(" ", _text(cell.get("source", "")))
            parts.append(_GLUE_ROLE.sub(lambda m: values.get(m.group(1), ""), source))
        elif cell.get("cell_type") == "code":
            for out in cell.get("outputs", []):
                if not (out.get("metadata") or {}).get("scrapbook") and "text/markdown" in out.get("data", {}):
                    parts.append(_text(out["data"]["text/markdown"]))
    return "\n\n".join(parts)


# ---------------------------------------------------------------- statements
def _names_in(sentence: str, names: Sequence[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping occurrences (start, end, name) of ``names`` in ``sentence``, longest names first."""
    found: list[tuple[int, int, str]] = []
    for name in sorted(set(names), key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", sentence):
            if all(m.end() <= s or m.start() >= e for s, e, _ in found):
                found.append((m.start(), m.end(), name))
    return sorted(found)


def _phrase(text: str, phrases: Iterable[str], at_start: bool) -> bool:
    pattern = "|".join(re.escape(p) for p in phrases)
    where = rf"^\W*(?:{pattern})\b" if at_start else rf"\b(?:{pattern})\b"
    return re.search(where, text, re.I) is not None


def sentences(text: str) -> list[str]:
    """The text cut into sentences (and list items), markup backticks kept."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def statements(text: str, names: Sequence[str], claims: Sequence[str] = ()) -> list[Statement]:
    """Sentences of ``text`` that order two of ``names`` (or name one as the lower), in the book's own voice.

    ``claims`` are texts under test (left out wherever they appear). A sentence reporting another's
    finding (:data:`_REPORTED`) and quoted text are left out too.
    """
    for claim in sorted(claims, key=len, reverse=True):
        text = re.sub(re.escape(claim), " ", text, flags=re.I)
    found = []
    for sentence in sentences(_QUOTED.sub(" ", text)):
        if _REPORTED.search(sentence):
            continue
        hits = _names_in(sentence, names)
        for (_, e1, a), (s2, _, b) in zip(hits, hits[1:]):
            if a == b:
                continue
            between = sentence[e1:s2]
            if _phrase(between, _FIRST_LOWER, at_start=False):
                found.append(Statement(a, b, sentence))
            elif _phrase(between, _FIRST_HIGHER, at_start=False):
                found.append(Statement(b, a, sentence))
        paired = {n for st in found if st.sentence == sentence for n in (st.lower, st.higher)}
        for _, e, a in hits:
            after = sentence[e:].lstrip("`* ")
            if a in paired or re.match(r"^\W*\w+(?:\s+\w+)?\s+than\b", after):
                continue
            if _phrase(after, _ALONE_LOWER, at_start=True):
                found.append(Statement(a, None, sentence))
            elif _phrase(after, _ALONE_HIGHER, at_start=True):
                others = [n for _, _, n in hits if n != a]
                if len(set(others)) == 1:
                    found.append(Statement(others[0], a, sentence))
    return found


def check(found: Sequence[Statement], judged: Sequence[Judged]) -> list[str]:
    """One problem per statement that no verdict of ``judged`` supports (none judged the pair, the verdict
    is inconclusive, or it points the other way)."""
    problems = []
    for st in found:
        pair = [j for j in judged if st.lower in (j.better, j.other)
                and (st.higher is None or st.higher in (j.better, j.other))]
        quote = st.sentence if len(st.sentence) <= 160 else st.sentence[:157] + "..."
        said = f"{st.lower} lower than {st.higher}" if st.higher else f"{st.lower} lower"
        if not pair:
            problems.append(f'states "{said}" but no verdict of the chapter judges it: "{quote}"')
        elif not any(j.lower == st.lower for j in pair):
            why = ("its verdict is inconclusive" if all(j.lower is None for j in pair)
                   else "its verdict says the opposite")
            problems.append(f'states "{said}" but {why}: "{quote}"')
    return problems


def problems_in_notebook(path: Path) -> list[str]:
    """The unsupported directions of one executed chapter (see the module's docstring)."""
    from hwr.models.registry import MODELS
    from hwr.seeds import SEED_CLAIMS
    from hwr.thesis import CLAIMS

    nb = json.loads(Path(path).read_text())
    judged = judged_in(nb)
    text = rendered_prose(nb)
    # a verdict's own explanation carries its caveats ("so on these runs A is lower; but ...")
    own = [j.explanation for j in judged if j.explanation]
    own += [v for k, v in glued_values(nb).items() if k.startswith("verdict_")]
    claims = [c.text for c in CLAIMS.values()] + [c.text for c in SEED_CLAIMS.values()]
    names = list(MODELS) + [n for j in judged for n in (j.better, j.other)]
    return check(statements(text, names, claims + own), judged)
