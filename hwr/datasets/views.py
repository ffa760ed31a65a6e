"""Datasets held in memory (tests, small experiments).

(Subsets of a dataset live beside :class:`~hwr.datasets.base.LineDataset`,
whose ``subset`` makes them; this module only imports from ``base``.)
"""

from __future__ import annotations

from typing import Sequence

from hwr.datasets.base import LineDataset, LineItem, Records


class MemoryDataset(LineDataset):
    """Lines held in memory (tests, small experiments). Texts are taken as
    given; use :func:`hwr.codec.normalise_text` first if needed."""

    def __init__(self, items: Sequence[LineItem], name: str = "memory", split: str | None = None):
        records = Records(name)
        for it in items:
            records.ids.append(it.id)
            records.texts.append(it.text)
            records.sources.append(it.source or it.id)
            records.raw_changed.append(False)
        self.items = list(items)
        super().__init__(records, split)

    def __getitem__(self, i: int) -> LineItem:
        return self.items[i]

    def sizes(self) -> list[tuple[int, int]]:
        return [tuple(it.image.shape[:2]) for it in self.items]
