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

Refused (or, with ``bad="skip"``, left out and listed in ``skipped``): two
images for one line (``x.png`` beside ``x.jpg``), an entry listed twice in a
split list. Text files may start with a UTF-8 byte-order mark.
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


class _Images:
    """The image files of each line stem, one folder listing at a time
    (a flat folder of 100k pairs is listed once, not once per line)."""

    def __init__(self):
        self._folders: dict[Path, dict[str, list[Path]]] = {}

    def of(self, stem: Path) -> list[Path]:
        """Every image ``stem.<png|jpg|...>`` (any case), sorted."""
        folder = self._folders.get(stem.parent)
        if folder is None:
            folder = self._folders[stem.parent] = {}
            if stem.parent.is_dir():
                for p in sorted(stem.parent.iterdir()):
                    if _is_image(p):
                        folder.setdefault(p.stem, []).append(p)
        return folder.get(stem.name, [])


def _list_split(root: Path, split: str | None, records: Records
                ) -> tuple[Path, list[tuple[Path, list[Path]]], list[Path]]:
    """(base folder for ids, (stem, its images) for stems with an image,
    stems of gt.txt files without one)."""
    if split is None:
        folders = [root]
    else:
        folders = [root / a for a in split_aliases(split) if (root / a).is_dir()][:1]
    if folders:
        base = folders[0]
        images: dict[Path, list[Path]] = {}
        for p in sorted(base.rglob("*")):
            if _is_image(p):
                images.setdefault(_stem(p), []).append(p)
        orphans = sorted(s for s in map(_stem, base.rglob("*" + GT_SUFFIX)) if s not in images)
        return base, sorted(images.items()), orphans
    for a in split_aliases(split):
        for ext in (".txt", ".lst", ".list"):
            listing = root / f"{a}{ext}"
            if listing.is_file():
                return root, *_read_list(root, listing, records)
    raise DatasetError(f"{root}: no split {split!r}: expected a subfolder {root / split}/ with image + "
                       f".gt.txt pairs or a list file {root / split}.txt")


def _read_list(root: Path, listing: Path, records: Records) -> tuple[list[tuple[Path, list[Path]]], list[Path]]:
    stems = []
    for line in listing.read_text(encoding="utf-8-sig").splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        p = Path(entry)
        p = p if p.is_absolute() else root / p
        stems.append(_stem(p) if (p.suffix.lower() in IMAGE_SUFFIXES or p.name.endswith(GT_SUFFIX)) else p)
    # "l0", "l0.png" and "./l0.png" are one line: compare the ids they give
    records.refuse_duplicates([_line_id(s, root) for s in stems], listing)
    index = _Images()
    found, missing = [], []
    for stem in stems:
        images = index.of(stem)
        if images:
            found.append((stem, images))
        else:
            missing.append(stem)
    return found, missing


def _line_id(stem: Path, base: Path) -> str:
    try:
        return stem.relative_to(base).as_posix()
    except ValueError:  # an absolute path outside the folder
        return stem.as_posix()


def read_manifest(path: Path) -> dict | None:
    """The ``manifest.json`` of a dataset folder (a synthetic set's), None when there is none.

    Raises:
        DatasetError: naming the file, when it is not JSON or not a JSON object.
    """
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        raise DatasetError(f"{path}: not a readable manifest ({type(e).__name__}: {e}); regenerate the "
                           "dataset, or remove the file to read the folder as plain image + .gt.txt pairs") from None
    if not isinstance(manifest, dict):
        raise DatasetError(f"{path}: a manifest is a JSON object, not {type(manifest).__name__}")
    return manifest


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
        self.manifest = read_manifest(root / "manifest.json")
        if name is None:
            name = (self.manifest or {}).get("name") or root.name
        self.root = root
        records = Records(name, unknown, bad, table)
        base, stems, orphans = _list_split(root, split, records)
        for stem in orphans:
            records.problem("missing image", f"{stem}{GT_SUFFIX}", f"no image file {stem.name}.png beside it")
        self._images: list[Path] = []
        for stem, images in stems:
            image = images[0]
            if len(images) > 1:  # which one holds the line is unknowable: never pick one silently
                others = " and ".join(p.name for p in images[1:])
                records.problem("two images", str(image), f"{len(images)} images for one line: "
                                f"{image.name} and {others} in {image.parent}; keep only one")
                continue
            gt = stem.with_name(stem.name + GT_SUFFIX)
            if not gt.is_file():
                records.problem("missing transcription", str(image), f"no transcription file {gt.name} beside it")
                continue
            try:  # utf-8-sig: a byte-order mark some editors write is not text
                text = gt.read_text(encoding="utf-8-sig").rstrip("\r\n")  # the final newline is not text
            except (OSError, UnicodeDecodeError) as e:
                records.problem("unreadable transcription", str(gt), f"cannot read ({type(e).__name__}: {e})")
                continue
            if records.add(_line_id(stem, base), text, str(image)):
                self._images.append(image)
        if not records.ids and not records.report.dropped:
            raise DatasetError(f"{base}: no image + .gt.txt pairs found for split {split!r}")
        super().__init__(records, split)

    def _image_data(self, i: int) -> Path:
        return self._images[i]

    def _boxes(self, i: int) -> np.ndarray | None:
        image = self._images[i]
        return read_boxes(image.with_name(_stem(image).name + ".boxes.json"), len(self.texts[i]))
