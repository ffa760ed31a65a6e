"""A gallery figure and text statistics of a synthetic set, for the book.

:data:`IAM_STATS` holds the reference numbers that :func:`stats` measures on
a synthetic set, so a chapter can put the two side by side.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

#: IAM line statistics, measured on the transcriptions of IAM's line list
#: (``ascii/lines.txt`` of the IAM Handwriting Database 3.0, all 13,353 lines;
#: ``spec/data.md`` §1). Rates are per 1000 characters (spaces included);
#: ``upper_percent`` is the share of upper-case letters among all characters.
IAM_STATS: dict = {
    "source": "IAM Handwriting Database 3.0, ascii/lines.txt (all lines)",
    "length_mean": 42.2, "length_sd": 10.3, "length_p5": 25, "length_p95": 58, "length_max": 87,
    "per_1000": {".": 11.0, ",": 10.0, "'": 3.5, '"': 2.9, "-": 2.75, ";": 0.36, ":": 0.29,
                 "?": 0.46, "!": 0.40, "(": 0.36, ")": 0.36, "&": 0.10, "#": 0.14},
    "digits_per_1000": 3.7,
    "upper_percent": 2.9,
}


def text_stats(texts: list[str]) -> dict:
    """Line-length and character statistics of transcriptions, in the shape
    of :data:`IAM_STATS`."""
    if not texts:
        raise ValueError("no texts to measure")
    lengths = np.array([len(t) for t in texts])
    counts = Counter("".join(texts))
    n = max(1, int(lengths.sum()))
    return {
        "lines": len(texts),
        "length_mean": round(float(lengths.mean()), 1), "length_sd": round(float(lengths.std()), 1),
        "length_p5": int(np.percentile(lengths, 5)), "length_p95": int(np.percentile(lengths, 95)),
        "length_max": int(lengths.max()),
        "per_1000": {ch: round(1000 * counts[ch] / n, 2) for ch in IAM_STATS["per_1000"]},
        "digits_per_1000": round(1000 * sum(counts[d] for d in "0123456789") / n, 2),
        "upper_percent": round(100 * sum(v for k, v in counts.items() if k.isupper()) / n, 2),
    }


def _texts(dataset_dir: Path, split: str | None) -> list[tuple[Path, str]]:
    folders = [dataset_dir / split] if split else [dataset_dir / s for s in ("train", "valid", "test")]
    out = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such split folder")
        for gt in sorted(folder.glob("*.gt.txt")):
            out.append((gt, gt.read_text(encoding="utf-8").rstrip("\n")))
    return out


def stats(dataset_dir: str | Path, split: str | None = None) -> dict:
    """Statistics of a dataset's transcriptions (all splits, or one), to
    compare with :data:`IAM_STATS`."""
    return text_stats([t for _, t in _texts(Path(dataset_dir), split)])


def compare(dataset_dir: str | Path, split: str | None = None) -> list[tuple[str, float, float]]:
    """Rows ``(statistic, synthetic, IAM)`` for a table in the book."""
    s = stats(dataset_dir, split)
    rows = [(k, s[k], IAM_STATS[k]) for k in ("length_mean", "length_sd", "length_p5", "length_p95",
                                               "length_max")]
    rows += [(f"'{ch}' per 1000", s["per_1000"][ch], v) for ch, v in IAM_STATS["per_1000"].items()]
    rows += [("digits per 1000", s["digits_per_1000"], IAM_STATS["digits_per_1000"]),
             ("upper case %", s["upper_percent"], IAM_STATS["upper_percent"])]
    return rows


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
    import matplotlib.pyplot as plt
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
    width = max(im.shape[1] for im in images)
    heights = [im.shape[0] for im in images]
    fig, axes = plt.subplots(len(images), 1, figsize=(10, 0.3 + sum(h / width * 10 + 0.3 for h in heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, im, (gt, text, bx, writer) in zip(axes[:, 0], images, picked):
        ax.imshow(im, cmap="gray", vmin=0, vmax=255, interpolation="antialiased")
        ax.set_xlim(0, width)
        ax.set_axis_off()
        ax.set_title(f"{text}    [{writer}]", fontsize=8, loc="left", family="monospace")
        if boxes:
            for x0, _ in bx:
                ax.axvline(x0, color="tab:red", lw=0.4, alpha=0.6)
    fig.tight_layout(h_pad=0.4)
    return fig
