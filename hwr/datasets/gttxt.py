"""The ``<id>.png`` + ``<id>.gt.txt`` folder layout (kraken, tesstrain, Calamari).

Accepted shapes of a folder ``root``:

* split subfolders ``root/train/``, ``root/valid/`` (or ``validation/``,
  ``val/``), ``root/test/``, each holding image + ``.gt.txt`` pairs (searched
  recursively);
* a flat folder with split list files ``root/<split>.txt`` (or ``.lst``), one
  line per image: an id, or an image path relative to ``root``;
* ``split=None``: every pair under ``root``.

The synthetic set is this layout plus ``manifest.json`` at the top and an
optional ``<id>.boxes.json`` per line (``{"chars": [[x0, x1], ...]}``, one
x-range per character), which becomes :attr:`LineItem.boxes`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwr.datasets.base import (IMAGE_SUFFIXES, DatasetError, LineDataset, Records, read_boxes,
                               split_aliases)

GT_SUFFIX = ".gt.txt"


def _stem(path: Path) -> Path:
    """``dir/x.png`` or ``dir/x.gt.txt`` -> ``dir/x``."""
    name = path.name
    if name.endswith(GT_SUFFIX):
        return path.with_name(name[: -len(GT_SUFFIX)])
    return path.with_name(path.stem)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _find_image(stem: Path) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        p = stem.with_name(stem.name + suffix)
        if p.is_file():
            return p
    return None


def _list_split(root: Path, split: str | None) -> tuple[Path, list[Path], list[Path]]:
    """(base folder for ids, stems with an image, stems of gt.txt files without one)."""
    if split is None:
        folders = [root]
    else:
        folders = [root / a for a in split_aliases(split) if (root / a).is_dir()][:1]
    if folders:
        base = folders[0]
        images = {_stem(p): p for p in base.rglob("*") if _is_image(p)}
        orphans = sorted(s for s in map(_stem, base.rglob("*" + GT_SUFFIX)) if s not in images)
        return base, sorted(images), orphans
    for a in split_aliases(split):
        for ext in (".txt", ".lst", ".list"):
            listing = root / f"{a}{ext}"
            if listing.is_file():
                return root, *_read_list(root, listing)
    raise DatasetError(f"{root}: no split {split!r}: expected a subfolder {root / split}/ with image + "
                       f".gt.txt pairs or a list file {root / split}.txt")


def _read_list(root: Path, listing: Path) -> tuple[list[Path], list[Path]]:
    stems, missing = [], []
    for line in listing.read_text(encoding="utf-8").splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        p = Path(entry)
        p = p if p.is_absolute() else root / p
        stem = _stem(p) if (p.suffix.lower() in IMAGE_SUFFIXES or p.name.endswith(GT_SUFFIX)) else p
        (stems if _find_image(stem) else missing).append(stem)
    return stems, missing


class GtTxtDataset(LineDataset):
    """Lines of a png + gt.txt folder (see the module docstring).

    Args:
        root: the folder.
        split: ``"train"``, ``"valid"``, ``"test"`` (or any subfolder / list
            name), or None for every pair under ``root``.
        unknown, bad, table: see :class:`hwr.datasets.base.Records`.
        name: dataset name; default: the manifest's ``name`` or the folder name.
    """

    def __init__(self, root: str | Path, split: str | None, unknown: str = "error", bad: str = "error",
                 table: dict | None = None, name: str | None = None):
        root = Path(root)
        if not root.is_dir():
            raise DatasetError(f"{root}: dataset folder not found")
        manifest = root / "manifest.json"
        self.manifest = json.loads(manifest.read_text()) if manifest.is_file() else None
        if name is None:
            name = (self.manifest or {}).get("name") or root.name
        self.root = root
        records = Records(name, unknown, bad, table)
        base, stems, orphans = _list_split(root, split)
        for stem in orphans:
            records.problem("missing image", f"{stem}{GT_SUFFIX}: no image file {stem.name}.png beside it")
        self._images: list[Path] = []
        for stem in stems:
            image = _find_image(stem)
            gt = stem.with_name(stem.name + GT_SUFFIX)
            if not gt.is_file():
                records.problem("missing transcription", f"{image}: no transcription file {gt.name} beside it")
                continue
            try:
                text = gt.read_text(encoding="utf-8").rstrip("\r\n")  # the file's final newline is not text
            except (OSError, UnicodeDecodeError) as e:
                records.problem("unreadable transcription", f"{gt}: cannot read ({type(e).__name__}: {e})")
                continue
            if records.add(stem.relative_to(base).as_posix(), text, str(image)):
                self._images.append(image)
        if not records.ids and not records.report.dropped:
            raise DatasetError(f"{base}: no image + .gt.txt pairs found for split {split!r}")
        super().__init__(records, split)

    def _image_data(self, i: int) -> Path:
        return self._images[i]

    def _boxes(self, i: int) -> np.ndarray | None:
        image = self._images[i]
        return read_boxes(image.with_name(_stem(image).name + ".boxes.json"), len(self.texts[i]))
