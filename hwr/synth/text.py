"""Line texts for the synthetic set, shaped to look like IAM's line list.

The documents (:mod:`hwr.synth.corpus`: Moby-Dick and the State of the Union
addresses) resemble IAM's LOB texts (press, editorials, fiction) but 19th-century prose
has long sentences full of ``;`` and ``,``, so passages are lightly
modernised: most ``;`` become ``,`` or ``.``, some ``, and`` / ``, but`` start
a new sentence, and number words are sometimes written in digits (IAM:
3.7 digits per 1000 characters). Lines are wrapped greedily to target lengths
drawn around IAM's distribution, with occasional end-of-line hyphenation.

Short lines ("phrases", a book-task candidate) come from the same passages,
cut into runs of a few consecutive words (:func:`chop`) instead of wrapped.

Texts are disjoint across splits: every chapter or address belongs to exactly
one split (:func:`hwr.synth.corpus.split_documents`).
"""

from __future__ import annotations

import random
import re

from hwr.codec import normalise_text
from hwr.synth.corpus import CORPORA, FALLBACK, Document, load_documents, split_documents  # noqa: F401

# Line-length model: greedy wrapping to a target drawn from N(mean, sd) ends
# lines about one word short of the target; these values give IAM's line
# length statistics (mean 42.2, sd 10.3, 5-95 % 25-58) once paragraph ends
# are included (calibrated with hwr.datasets.stats).
TARGET_MEAN, TARGET_SD, TARGET_MIN, TARGET_MAX = 46.0, 9.0, 12, 87
# Text shaping, calibrated with hwr.datasets.stats against IAM's rates
P_SEMICOLON = {",": 0.4, ".": 0.5}       # "; x" -> ", x" or ". X"; else ";" is kept
P_CONJ_SPLIT = 0.6                       # ", and X" -> ". And X"
P_COMMA_SPLIT = 0.2                      # ", word" -> ". Word"
P_DIGITS = 0.55                          # number word -> digits
P_HYPHENATE = 0.4                        # break a long word that does not fit
P_PARAGRAPH_END = 0.07                   # SOTU has no paragraph marks: end one after a sentence
CORPUS_WEIGHTS = {"moby-dick": 0.6, "sotu": 0.4}  # fiction brings quotes, addresses numbers

NUMBER_WORDS = {
    "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "fifteen": "15", "twenty": "20",
    "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "hundred": "100",
    "thousand": "1,000", "million": "1,000,000",
}
_NUMBER_RE = re.compile(r"\b(" + "|".join(NUMBER_WORDS) + r")\b")
_VOWELS = set("aeiouy")


def modernise(text: str, rng: random.Random) -> str:
    """Shorten 19th-century sentences and write some numbers in digits.

    ``text`` is already normalised to the alphabet; the result is too.
    """
    def semi(m: re.Match) -> str:
        r = rng.random()
        if r < P_SEMICOLON[","]:
            return ", " + m.group(1)
        if r < P_SEMICOLON[","] + P_SEMICOLON["."]:
            return ". " + m.group(1).upper()
        return m.group(0)

    def conj(m: re.Match) -> str:
        return ". " + m.group(1).capitalize() if rng.random() < P_CONJ_SPLIT else m.group(0)

    def number(m: re.Match) -> str:
        return NUMBER_WORDS[m.group(1)] if rng.random() < P_DIGITS else m.group(0)

    text = re.sub(r"; (\w)", semi, text)
    text = re.sub(r", (and|but|yet|so) ", lambda m: conj(m) + " ", text)
    # IAM has shorter sentences: about one in five remaining commas ends one
    text = re.sub(r", ([a-z]{2,})", lambda m: ". " + m.group(1).capitalize()
                  if rng.random() < P_COMMA_SPLIT else m.group(0), text)
    text = _NUMBER_RE.sub(number, text)
    return text


def hyphenate(word: str, room: int) -> tuple[str, str] | None:
    """Split ``word`` as ``head-`` / ``tail`` with ``len(head) + 1 <= room``,
    both at least 3 letters, between a vowel and a consonant-vowel pair
    (``whale-man``); None when no such break exists."""
    if len(word) < 6 or not word.isalpha():
        return None
    best = None
    for i in range(3, min(len(word) - 3, room - 1) + 1):
        a, b = word[i - 1].lower(), word[i].lower()
        tail = word[i:].lower()
        # "whale-man", not "forei-gn": the tail keeps a vowel and starts with
        # at most one consonant before it
        if a in _VOWELS and b not in _VOWELS and tail[1] in _VOWELS:
            best = i
    return (word[:best] + "-", word[best:]) if best else None


def wrap(paragraphs: list[str], n_lines: int, rng: random.Random) -> list[str]:
    """Greedy wrap to IAM-like target lengths: up to ``n_lines`` lines."""
    lines: list[str] = []
    for para in paragraphs:
        words = para.split()
        cur = ""
        target = _target(rng)
        i = 0
        while i < len(words) and len(lines) < n_lines:
            w = words[i]
            cand = w if not cur else cur + " " + w
            if len(cand) <= target or not cur:
                cur = cand[:TARGET_MAX]
                i += 1
                continue
            room = target - len(cur) - 1
            split = hyphenate(w, room) if rng.random() < P_HYPHENATE else None
            if split:
                cur = cur + " " + split[0]
                words[i] = split[1]
            lines.append(cur)
            cur = ""
            target = _target(rng)
        if cur and len(lines) < n_lines:
            lines.append(cur)
        if len(lines) >= n_lines:
            break
    return lines


#: a phrase shorter than this is dropped (a lone "a", "I", "of" or "-" is
#: hardly a text line, and narrower than a gate model's smallest input)
PHRASE_MIN_CHARS = 3


def chop(paragraphs: list[str], n_lines: int, rng: random.Random, words: tuple[int, int],
         exclude: frozenset | set = frozenset()) -> list[str]:
    """Cut paragraphs into phrases of ``words[0]``..``words[1]`` consecutive
    words (count drawn uniformly per phrase; a paragraph's last phrase may be
    shorter): up to ``n_lines`` phrases. Phrases never span paragraphs;
    those under :data:`PHRASE_MIN_CHARS` characters or in ``exclude`` (the
    texts of earlier splits: short phrases such as "in the" recur across
    documents) are dropped."""
    lines: list[str] = []
    for para in paragraphs:
        tokens = para.split()
        i = 0
        while i < len(tokens) and len(lines) < n_lines:
            k = rng.randint(*words)
            phrase = " ".join(tokens[i:i + k])[:TARGET_MAX]
            i += k
            if len(phrase) >= PHRASE_MIN_CHARS and phrase not in exclude:
                lines.append(phrase)
        if len(lines) >= n_lines:
            break
    return lines


def _target(rng: random.Random) -> int:
    return int(min(TARGET_MAX, max(TARGET_MIN, round(rng.gauss(TARGET_MEAN, TARGET_SD)))))


def passage(doc: Document, rng: random.Random, chars: int, used: set | None = None) -> list[str]:
    """About ``chars`` characters of ``doc`` from a random sentence start, as
    normalised, modernised paragraphs. Starts already in ``used`` are
    avoided (a few tries), so a split rarely repeats a line."""
    weights = [len(p) for p in doc.paragraphs]
    for _ in range(8):  # a paragraph, then a sentence start inside it
        pi = rng.choices(range(len(doc.paragraphs)), weights=weights)[0]
        para = doc.paragraphs[pi]
        starts = [0] + [m.end() for m in re.finditer(r"[.?!][\"']? ", para)]
        start = rng.choice(starts[: max(1, len(starts) - 1)])
        if used is None or (doc.id, pi, start) not in used:
            break
    if used is not None:
        used.add((doc.id, pi, start))
    out, total = [], 0
    raw = [para[start:]] + doc.paragraphs[pi + 1:]
    for p in raw:
        text = modernise(normalise_text(p, unknown="skip"), rng)
        if not doc.id.startswith("sotu/"):
            pieces = [text]
        else:  # addresses come without paragraph marks: invent some
            pieces, cur = [], []
            for s in re.split(r"(?<=[.?!]) ", text):
                cur.append(s)
                if rng.random() < P_PARAGRAPH_END:
                    pieces.append(" ".join(cur))
                    cur = []
            pieces.append(" ".join(cur))
        for piece in pieces:
            if piece:
                out.append(piece)
                total += len(piece)
        if total >= chars:
            break
    return out


def make_lines(docs: list[Document], n: int, rng: random.Random,
               form_lines: tuple[int, int] = (4, 10),
               words: tuple[int, int] | None = None,
               exclude: frozenset | set = frozenset()) -> list[tuple[str, int]]:
    """``n`` line texts from ``docs``, in "forms" of consecutive lines.

    ``words=None`` wraps passages into IAM-like lines (:func:`wrap`);
    ``words=(lo, hi)`` cuts them into phrases of lo..hi words (:func:`chop`),
    none of them in ``exclude``.

    Returns:
        ``[(text, form_index), ...]``: a form is a passage wrapped into
        4-10 lines, later written by one writer (as an IAM form is).
    """
    if not docs:
        raise ValueError("no documents to draw line texts from")
    by_corpus: dict[str, list[Document]] = {}
    for d in docs:
        by_corpus.setdefault(d.id.split("/")[0], []).append(d)
    corpora = sorted(by_corpus)
    lines: list[tuple[str, int]] = []
    used: set = set()
    form = 0
    while len(lines) < n:
        # fiction brings the quotes and apostrophes IAM has, addresses the numbers
        corpus = by_corpus[rng.choices(corpora, weights=[CORPUS_WEIGHTS.get(c, 1.0) for c in corpora])[0]]
        doc = rng.choices(corpus, weights=[d.size for d in corpus])[0]
        k = rng.randint(*form_lines)
        paragraphs = passage(doc, rng, chars=60 * k + 200, used=used)
        if words is None:
            got = wrap(paragraphs, min(k, n - len(lines)), rng)
        else:
            got = chop(paragraphs, min(k, n - len(lines)), rng, words, exclude)
        got = [t for t in got if t.strip()]
        lines += [(t, form) for t in got]
        form += 1
    return lines[:n]
