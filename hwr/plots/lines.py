"""Line images: galleries with their transcriptions, the preprocessing steps."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from hwr.plots.labels import fit
from hwr.plots.style import WIDE


def line_gallery(images: Sequence[np.ndarray], titles: Sequence[str],
                 boxes: Sequence[Sequence[tuple[int, int]]] | None = None, width_in: float = WIDE,
                 fontsize: float = 13, columns: int = 1):
    """Line images stacked one per row, all at the same pixel scale, each
    under its title (its transcription, say) in a font as large as the
    book's body text.

    Args:
        images: uint8 H x W grey lines.
        titles: one per image.
        boxes: optional per-image character x-ranges; their left edges are drawn.
        width_in: figure width in inches (the widest line spans it, or a column).
        fontsize: title size in points.
        columns: images per row, in reading order: short images (single
            words, a word before and after a transform) side by side instead
            of each stretched to the full width.
    """
    width = max(im.shape[1] for im in images)
    column_in = width_in / columns
    title_in = fontsize / 72 * 1.7  # a title line with its spacing, in inches
    rows = [list(range(i, min(i + columns, len(images)))) for i in range(0, len(images), columns)]
    heights = [max(images[i].shape[0] for i in row) / width * column_in + title_in for row in rows]
    fig = plt.figure(figsize=(width_in, sum(heights)))
    top = 1.0
    total = sum(heights)
    for row, h in zip(rows, heights):
        img_h = (h - title_in) / total
        top -= title_in / total
        tallest = max(images[j].shape[0] for j in row)
        for k, i in enumerate(row):
            im = images[i]
            ax_h = img_h * im.shape[0] / tallest  # every image at the same pixel scale, top-aligned in its row
            ax = fig.add_axes((k / columns, top - ax_h, im.shape[1] / width / columns, ax_h))
            ax.imshow(im, cmap="gray", vmin=0, vmax=255, interpolation="antialiased", aspect="auto")
            ax.set_axis_off()
            ax.set_title(fit(titles[i], column_in, fontsize), loc="left", fontsize=fontsize, pad=0.25 * fontsize)
            for x0, _ in (boxes[i] if boxes is not None else ()):
                ax.axvline(x0, color="tab:red", lw=0.4, alpha=0.6)
        top -= img_h
    plt.close(fig)  # shown where the chapter glues or displays it, not twice
    return fig


def preprocessing_steps(image: np.ndarray, padded: np.ndarray, prepared: np.ndarray,
                        batch_row: np.ndarray):
    """The thesis preprocessing of one line, one panel per step.

    Args:
        image: the raw line, uint8 H x W.
        padded: after the white border (uint8 (H+32) x (W+64)).
        prepared: resized to the model height and scaled to [0, 1] (float H' x W').
        batch_row: the same line as it sits in a batch, right-padded by edge
            replication to the batch's widest line (float H' x W_batch).
    """
    panels = [
        (image, 255, f"1. raw line: {image.shape[0]} x {image.shape[1]} px, uint8"),
        (padded, 255, f"2. white border (16 px, 32 px): {padded.shape[0]} x {padded.shape[1]}"),
        (prepared, 1.0, f"3. resized to height {prepared.shape[0]}, values in [0, 1]: "
                        f"{prepared.shape[0]} x {prepared.shape[1]}"),
        (batch_row, 1.0, f"4. in a batch: edge-replicated to {batch_row.shape[1]} px"),
    ]
    widest = max(p[0].shape[1] for p in panels)
    ratios = [p[0].shape[0] / widest * WIDE + 0.45 for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDE, sum(ratios)),
                             gridspec_kw={"height_ratios": ratios})
    for ax, (img, vmax, label) in zip(axes, panels):
        ax.imshow(img, cmap="gray", vmin=0, vmax=vmax, aspect="equal")
        ax.set_xlim(-0.5, widest - 0.5)
        ax.set_title(label, fontsize=12, loc="left")
        ax.set_axis_off()
    axes[-1].axvline(prepared.shape[1] - 0.5, color="tab:red", lw=1.5, ls="--")
    fig.tight_layout(h_pad=0.3)
    plt.close(fig)
    return fig
