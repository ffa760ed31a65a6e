"""Line datasets: one interface over the synthetic set and real layouts.

>>> ds = open_dataset("synth", "train")          # the default synthetic set
>>> ds = open_dataset("/data/IAM", "test")       # IAM official layout + IAM-B split
>>> item = ds[0]; item.image.shape, item.text    # (H, W) uint8, normalised text

:func:`open_dataset` recognises the layout of a path (see :func:`detect_layout`);
every loader returns a :class:`LineDataset` with ``ids``, ``texts``, ``sizes()``
available without decoding images, and ``skipped`` (lines left out with
``bad="skip"``, as :class:`Skipped` ``(source, reason)``; see
:mod:`hwr.datasets.base`).
"""

from __future__ import annotations

import os

from pathlib import Path

from hwr.datasets.base import DatasetError, DatasetReport, LineDataset, LineItem, Skipped, SubsetDataset
from hwr.datasets.gttxt import GtTxtDataset
from hwr.datasets.iam import IamDataset
from hwr.datasets.parquet import ParquetDataset
from hwr.datasets.views import MemoryDataset

__all__ = ["DatasetError", "DatasetReport", "LineDataset", "LineItem", "MemoryDataset", "Skipped", "SubsetDataset",
           "open_dataset", "detect_layout", "LAYOUTS"]

LAYOUTS = ("synth", "gt-txt", "iam", "parquet")


def detect_layout(path: str | Path) -> str:
    """Name the layout of a dataset path: ``"synth"`` (folder with
    manifest.json), ``"iam"`` (``lines/`` plus ``xml/`` or ``ascii/lines.txt``),
    ``"parquet"`` (a .parquet file or a folder holding some), ``"gt-txt"``
    (image + .gt.txt pairs, in split subfolders or with split lists).

    Raises:
        DatasetError: the path is missing or matches no layout.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: dataset path not found")
    if path.is_file():
        if path.suffix == ".parquet":
            return "parquet"
        raise DatasetError(f"{path}: a file, but not a .parquet export; give a dataset folder")
    if (path / "manifest.json").is_file():
        return "synth"
    if (path / "lines").is_dir() and ((path / "xml").is_dir() or (path / "ascii" / "lines.txt").is_file()):
        return "iam"
    if next(path.rglob("*.parquet"), None) is not None:
        return "parquet"
    if next(path.rglob("*.gt.txt"), None) is not None:
        return "gt-txt"
    raise DatasetError(f"{path}: not a recognised dataset layout (expected a synthetic set with "
                       "manifest.json, IAM lines/ + xml/ or ascii/lines.txt, Parquet files, or image + .gt.txt pairs)")


def open_dataset(source: str | Path | LineDataset, split: str | None = "train", layout: str | None = None,
                 **kw) -> LineDataset:
    """Open one split of a dataset.

    Args:
        source: ``"synth"`` (the default synthetic set, generated on first
            use), ``"synth:<preset>"``, a dataset path (layout auto-detected),
            or an already opened :class:`LineDataset` (returned as is).
        split: ``"train"``, ``"valid"`` (``"validation"``), ``"test"``; None for
            every line of a gt-txt folder.
        layout: force a layout instead of detecting it (one of :data:`LAYOUTS`).
        **kw: passed to the loader: ``unknown="error"|"skip"`` (characters
            outside the alphabet), ``bad="error"|"skip"`` (unusable lines),
            ``table`` (normalisation table); IAM: ``splits`` (split folder),
            ``text_source``; Parquet: ``image_column``, ``text_column``,
            ``id_column``, ``split_column``.
    """
    if isinstance(source, LineDataset):
        return source
    if isinstance(source, str) and (source == "synth" or source.startswith("synth:")):
        from hwr.synth import dataset_path  # lazy: generation pulls in fonts and node tools

        preset = source.partition(":")[2] or "default"
        kw.setdefault("name", f"synth:{preset}")
        # a chapter's kernel sets TQDM_DISABLE; the generator's bar takes an explicit disable=, which tqdm
        # lets win over the variable, so say it here (hwr/synth is hashed into every dataset's manifest)
        quiet = os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true")
        return GtTxtDataset(dataset_path(preset, progress=not quiet), split, **kw)
    layout = layout or detect_layout(source)
    if layout in ("synth", "gt-txt"):

        return GtTxtDataset(source, split, **kw)
    if layout == "iam":

        return IamDataset(source, split, **kw)
    if layout == "parquet":

        return ParquetDataset(source, split, **kw)
    raise ValueError(f"layout must be one of {LAYOUTS}, not {layout!r}")
