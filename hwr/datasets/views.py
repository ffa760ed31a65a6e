"""Datasets built from other datasets or from memory: subsets, in-memory lists."""

from __future__ import annotations

from typing import Sequence

from hwr.datasets.base import LineDataset, LineItem, Records


class SubsetDataset(LineDataset):
    """Lines ``indices`` of another dataset, in that order."""

    def __init__(self, parent: LineDataset, indices: Sequence[int]):
        self.parent, self.indices = parent, [int(i) for i in indices]
        self.name, self.split, self.report = parent.name, parent.split, parent.report
        self.ids = [parent.ids[i] for i in self.indices]
        self.texts = [parent.texts[i] for i in self.indices]
        self.sources = [parent.sources[i] for i in self.indices]
        self._sizes = None

    def __getitem__(self, i: int) -> LineItem:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"line {i} out of range for {self!r}")
        return self.parent[self.indices[i]]

    def sizes(self) -> list[tuple[int, int]]:
        parent = self.parent.sizes()
        return [parent[i] for i in self.indices]


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
