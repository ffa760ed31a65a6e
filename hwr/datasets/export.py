"""Write any line dataset as ``<id>.png`` + ``<id>.gt.txt`` pairs.

The folder is what kraken (``ketos train -f path``), tesstrain
(``data/<model>-ground-truth``) and Calamari (``--train.images *.png``) read,
so the book's data can be fed to those tools unchanged; the book's own
loader reads it back (:class:`hwr.datasets.gttxt.GtTxtDataset`).

The output folder may not overlap the dataset's own files (be it, lie inside
it, or hold it): writing pairs there would overwrite the source's
``gt.txt`` files or mix the export into the next read of the source.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from PIL import Image

from hwr.datasets.base import DatasetError, Skipped

log = logging.getLogger("hwr.datasets")


def safe_name(line_id: str) -> str:
    """A file name for a line id (path separators and odd characters replaced)."""
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in line_id).lstrip(".") or "line"


def refuse_overlap(source: str | Path | None, out_dir: str | Path) -> None:
    """Raise :class:`DatasetError` when ``out_dir`` is ``source``, lies inside
    it or holds it (symbolic links resolved); nothing is written."""
    if source is None:
        return
    src, out = Path(source).resolve(), Path(out_dir).resolve()
    how = ("is the dataset" if src == out else "lies inside the dataset" if src in out.parents
           else "holds the dataset" if out in src.parents else None)
    if how:
        raise DatasetError(f"{out_dir}: output folder {how} {source}; choose a folder outside it "
                           "(the export would overwrite or mix with the source)")


def refuse_nonempty(out: Path) -> None:
    """Refuse an output folder that holds anything: an export into it would
    overwrite files of the same names, or merge with an earlier export into a
    dataset that is neither.

    Raises:
        DatasetError: naming the folder and a few of its entries.
    """
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out}: exists and is not a folder")
    entries = sorted(e.name for e in out.iterdir()) if out.is_dir() else []
    if entries:
        shown = ", ".join(entries[:3]) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
        raise DatasetError(f"{out}: not empty ({shown}); an export writes into a new or empty folder, so that "
                           f"no file is overwritten and no two exports are merged")


def export_gt_txt(dataset, out_dir: str | Path, boxes: bool = True) -> dict:
    """Write every line of ``dataset`` into ``out_dir``.

    Args:
        dataset: a :class:`hwr.datasets.LineDataset` (or sequence of LineItem).
        out_dir: a new or empty folder (created if needed).
        boxes: also write ``<id>.boxes.json`` for lines that have boxes.

    Returns:
        ``{"written": n, "skipped": [Skipped(source, error), ...]}``; an unreadable
        line is skipped with a warning naming its file, not fatal.

    Raises:
        DatasetError: ``out_dir`` overlaps the dataset's ``root``, or is not
            empty (its files would be overwritten, or two exports merged).
    """
    refuse_overlap(getattr(dataset, "root", None), out_dir)
    out = Path(out_dir)
    refuse_nonempty(out)
    out.mkdir(parents=True, exist_ok=True)
    written, skipped, seen = 0, [], set()
    for i in range(len(dataset)):
        try:
            item = dataset[i]
        except Exception as e:  # noqa: BLE001 - counted and named, the export goes on
            source = getattr(dataset, "sources", [f"item {i}"] * len(dataset))[i]
            skipped.append(Skipped(str(source), f"{type(e).__name__}: {e}"))
            log.warning("export: skipped %s (%s)", source, e)
            continue
        name = safe_name(item.id)
        if name in seen:  # two ids mapping to one file name must not overwrite each other
            name = f"{name}_{i}"
        seen.add(name)
        Image.fromarray(item.image).save(out / f"{name}.png")
        (out / f"{name}.gt.txt").write_text(item.text + "\n", encoding="utf-8")
        if boxes and item.boxes is not None:
            (out / f"{name}.boxes.json").write_text(json.dumps({"chars": item.boxes.tolist()}))
        written += 1
    return {"written": written, "skipped": skipped}
