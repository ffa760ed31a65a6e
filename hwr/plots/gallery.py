"""A gallery of a synthetic set: one line per writer, round robin.

Text statistics that compare any dataset with IAM's live in
:mod:`hwr.datasets.stats`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from hwr.plots.lines import line_gallery


def _texts(dataset_dir: Path, split: str | None) -> list[tuple[Path, str]]:
    folders = [dataset_dir / split] if split else [dataset_dir / s for s in ("train", "valid", "test")]
    out = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such split folder")
        for gt in sorted(folder.glob("*.gt.txt")):
            out.append((gt, gt.read_text(encoding="utf-8").rstrip("\n")))
    return out


def gallery(dataset_dir: str | Path, n: int = 12, split: str = "train", boxes: bool = False):
    """A figure of ``n`` lines from as many different writers as possible,
    each titled with its transcription and writer.

    Args:
        dataset_dir: a synthetic dataset folder.
        n: number of lines.
        split: which split to show.
        boxes: draw the left edge of every character box.

    Returns:
        A matplotlib Figure (all lines at the same pixel scale).
    """
    from PIL import Image

    by_writer: dict[str, list[tuple[Path, str, list, str]]] = {}
    for gt, text in _texts(Path(dataset_dir), split):
        meta = json.loads(gt.with_name(gt.name[:-len(".gt.txt")] + ".boxes.json").read_text())
        writer = meta.get("writer", "?")
        by_writer.setdefault(writer, []).append((gt, text, meta["chars"], writer))
    picked = []  # round robin over writers: as many different hands as possible
    for k in range(max(map(len, by_writer.values()), default=0)):
        picked += [lines[k] for lines in by_writer.values() if k < len(lines)]
    picked = picked[:n]
    if not picked:
        raise FileNotFoundError(f"{dataset_dir}: no lines in split {split!r}")
    images = [np.asarray(Image.open(gt.with_name(gt.name[:-len(".gt.txt")] + ".png")).convert("L"))
              for gt, *_ in picked]
    return line_gallery(images, [f"{text}    [{writer}]" for _, text, _, writer in picked],
                        boxes=[bx for _, _, bx, _ in picked] if boxes else None)
