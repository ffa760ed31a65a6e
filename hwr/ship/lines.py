"""A handful of the book's test lines, shipped beside the models so the page can offer them.

``ship_lines("synth:phrases-xl", 6)`` writes the first ``count`` lines of the data's test split as
grey PNGs into ``models/lines/`` with ``lines.json`` (file, id, text): the page's "pick a test line"
menu, and the lines the browser test reads.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from PIL import Image

from hwr.errors import HwrError
from hwr.ship.store import shipped_dir

LINES = "lines"
INDEX = "lines.json"


def lines_dir() -> Path:
    """Where the shipped test lines are: ``models/lines/``."""
    return shipped_dir() / LINES


def read_lines(folder: Path | None = None) -> list[dict]:
    """The shipped test lines, ``[{"file", "id", "text"}, ...]`` (empty when none are shipped)."""
    index = (folder or lines_dir()) / INDEX
    return json.loads(index.read_text(encoding="utf-8")) if index.is_file() else []


def ship_lines(data: str, count: int = 6, split: str = "test") -> Path:
    """Copy the first ``count`` lines of ``data``'s ``split`` into :func:`lines_dir` (replacing it).

    Raises:
        HwrError: the split has fewer lines than asked.
    """
    from hwr.datasets import open_dataset

    dataset = open_dataset(data, split)
    if len(dataset) < count:
        raise HwrError(f"{data}: the {split} split has {len(dataset)} lines, fewer than {count}")
    target = lines_dir()
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    rows = []
    for i in range(count):
        item = dataset[i]
        file = f"{i:02d}.png"
        Image.fromarray(item.image).save(target / file, optimize=True)
        rows.append({"file": file, "id": str(item.id), "text": item.text, "data": data, "split": split})
    (target / INDEX).write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
