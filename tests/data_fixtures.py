"""Tiny fabricated datasets in every supported layout, written into a folder.

Each writer returns the dataset root; images are small grey "lines" (a dark
block per character) so tests stay fast.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

LINES = {
    "train": [("l0", "A move to stop"), ("l1", "Mr. Gaitskell's"), ("l2", "nominating any")],
    "valid": [("l3", "more Labour")],
    "test": [("l4", "life Peers."), ("l5", "is 42")],
}


def line_image(text: str, height: int = 20, char_w: int = 6) -> np.ndarray:
    """H x W uint8: white with a dark block per non-space character."""
    img = np.full((height, char_w * len(text) + 4), 255, np.uint8)
    for k, ch in enumerate(text):
        if ch != " ":
            img[5:15, 2 + k * char_w : 2 + k * char_w + char_w - 1] = 30
    return img


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def write_pair(folder: Path, id: str, text: str, boxes: bool = False, image: np.ndarray | None = None) -> Path:
    """``id.png`` (``image``, default :func:`line_image` of the text) and ``id.gt.txt``."""
    folder.mkdir(parents=True, exist_ok=True)
    img = line_image(text) if image is None else image
    Image.fromarray(img).save(folder / f"{id}.png")
    (folder / f"{id}.gt.txt").write_text(text + "\n", encoding="utf-8")
    if boxes:
        chars = [[2 + 6 * k, 2 + 6 * k + 6] for k in range(len(text))]
        (folder / f"{id}.boxes.json").write_text(json.dumps({"chars": chars, "chars_unwarped": chars}))
    return folder / f"{id}.png"


def write_gt_txt(root: Path, lines=LINES) -> Path:
    """png + gt.txt pairs in split subfolders.

    Args:
        lines: {split: entries}; an entry is ``(id, text)`` (drawn by
            :func:`line_image`) or ``(id, text, image H x W uint8)``.
    """
    for split, items in lines.items():
        for id, text, *image in items:
            write_pair(root / split, id, text, image=image[0] if image else None)
    return root


def write_gt_txt_flat(root: Path, lines=LINES) -> Path:
    """A flat folder of pairs plus train.txt / valid.txt / test.txt lists
    (ids, image names and relative paths all accepted)."""
    for split, items in lines.items():
        for id, text in items:
            write_pair(root, id, text)
    (root / "train.txt").write_text("l0\nl1.png\n\n# comment\n./l2.png\n")
    (root / "valid.txt").write_text("l3\n")
    (root / "test.txt").write_text("l4\nl5\n")
    return root


def write_synth(root: Path, lines=LINES) -> Path:
    """The synthetic layout: pairs with boxes.json plus manifest.json."""
    for split, items in lines.items():
        for id, text in items:
            write_pair(root / split, id, text, boxes=True)
    (root / "manifest.json").write_text(json.dumps({"name": "synth:fixture", "seed": 0,
                                                     "sizes": {s: len(v) for s, v in lines.items()}}))
    return root


IAM_LINES = {
    "a01-000u-00": ('A MOVE to stop Mr. Gaitskell from', "ok"),
    "a01-000u-01": ("nominating any more Labour life", "err"),
    "a01-000u-02": ("Peers is to be made at a meeting & \"so\" it's", "ok"),
    "b02-010-00": ("is 42 (forty-two)?", "ok"),
}
IAM_SPLIT = {"train": ["a01-000u-00", "a01-000u-01"], "valid": ["a01-000u-02"], "test": ["b02-010-00"]}


def _xml_attr(s: str) -> str:
    return s.replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#39;")


def write_iam(root: Path, text_source: str = "xml", split_dir: str = "splits") -> Path:
    """IAM official layout: lines/<w>/<form>/<id>.png plus xml/ or ascii/lines.txt."""
    forms: dict[str, list[str]] = {}
    for id, (text, _) in IAM_LINES.items():
        writer, form = id.split("-")[0], "-".join(id.split("-")[:2])
        forms.setdefault(form, []).append(id)
        folder = root / "lines" / writer / form
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(line_image(text)).save(folder / f"{id}.png")
    if text_source == "xml":
        (root / "xml").mkdir(parents=True)
        for form, ids in forms.items():
            body = "".join(f'<line id="{i}" text="{_xml_attr(IAM_LINES[i][0])}" segmentation="{IAM_LINES[i][1]}">'
                           f'<word id="{i}-00" text="x"/></line>' for i in ids)
            (root / "xml" / f"{form}.xml").write_text(
                f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<form id="{form}"><handwritten-part>{body}'
                "</handwritten-part></form>", encoding="iso-8859-1")
    else:
        (root / "ascii").mkdir(parents=True)
        rows = ["#--- IAM lines.txt ---", "# format: a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to"]
        rows += [f"{i} {st} 154 19 408 746 1661 89 {t.replace(' ', '|')}" for i, (t, st) in IAM_LINES.items()]
        (root / "ascii" / "lines.txt").write_text("\n".join(rows) + "\n")
    (root / split_dir).mkdir(parents=True)
    for split, ids in IAM_SPLIT.items():
        (root / split_dir / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return root


def write_parquet(root: Path, struct_images: bool = False, lines=LINES) -> Path:
    """A Parquet export: train-/validation-/test-*.parquet with image, text."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (root / "data").mkdir(parents=True)
    names = {"train": "train", "valid": "validation", "test": "test"}
    for split, items in lines.items():
        images = [png_bytes(line_image(t)) for _, t in items]
        col = pa.array([{"bytes": b, "path": None} for b in images],
                       pa.struct([("bytes", pa.binary()), ("path", pa.string())])) if struct_images else pa.array(images, pa.binary())
        table = pa.table({"image": col, "text": [t for _, t in items]})
        pq.write_table(table, root / "data" / f"{names[split]}-00000-of-00001.parquet")
    return root
