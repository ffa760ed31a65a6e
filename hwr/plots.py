"""Figures the chapters share: line galleries, preprocessing steps, statistics.

Every function returns a matplotlib ``Figure`` and leaves showing or saving it
to the caller, so chapters display them as cell outputs and tests can check
them without a screen.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np


def line_gallery(images: Sequence[np.ndarray], titles: Sequence[str],
                 boxes: Sequence[Sequence[tuple[int, int]]] | None = None, width_in: float = 10.0):
    """Line images stacked one per row, all at the same pixel scale, each
    titled (with its transcription, say).

    Args:
        images: uint8 H x W grey lines.
        titles: one per image.
        boxes: optional per-image character x-ranges; their left edges are drawn.
    """
    width = max(im.shape[1] for im in images)
    heights = [im.shape[0] for im in images]
    fig, axes = plt.subplots(len(images), 1, squeeze=False, gridspec_kw={"height_ratios": heights},
                             figsize=(width_in, 0.3 + sum(h / width * width_in + 0.3 for h in heights)))
    for i, (ax, im, title) in enumerate(zip(axes[:, 0], images, titles)):
        ax.imshow(im, cmap="gray", vmin=0, vmax=255, interpolation="antialiased")
        ax.set_xlim(0, width)
        ax.set_axis_off()
        ax.set_title(title, fontsize=8, loc="left", family="monospace")
        for x0, _ in (boxes[i] if boxes is not None else ()):
            ax.axvline(x0, color="tab:red", lw=0.4, alpha=0.6)
    fig.tight_layout(h_pad=0.4)
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
        (image, 255, f"1. raw line, {image.shape[0]} x {image.shape[1]} px (uint8)"),
        (padded, 255, f"2. white border 16 px top/bottom, 32 px left/right: {padded.shape[0]} x {padded.shape[1]}"),
        (prepared, 1.0, f"3. bilinear resize to height {prepared.shape[0]}, values in [0, 1]: "
                        f"{prepared.shape[0]} x {prepared.shape[1]}"),
        (batch_row, 1.0, f"4. in a batch: right-padded by edge replication to {batch_row.shape[1]} px"),
    ]
    widest = max(p[0].shape[1] for p in panels)
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 6.5))
    for ax, (img, vmax, label) in zip(axes, panels):
        ax.imshow(img, cmap="gray", vmin=0, vmax=vmax, aspect="equal")
        ax.set_xlim(-0.5, widest - 0.5)
        ax.set_title(label, fontsize=9, loc="left")
        ax.set_yticks([])
    axes[-1].axvline(prepared.shape[1] - 0.5, color="tab:red", lw=1, ls="--")
    fig.tight_layout()
    plt.close(fig)
    return fig


def length_histogram(lengths: Sequence[int], reference_mean: float, reference_sd: float,
                     label: str = "this dataset", reference_label: str = "IAM lines"):
    """Histogram of line lengths in characters against a normal curve with the
    reference mean and standard deviation."""
    lengths = np.asarray(lengths)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = np.arange(0, max(int(lengths.max()) + 5, 90), 3)
    ax.hist(lengths, bins=bins, density=True, alpha=0.7, label=f"{label} (n = {len(lengths)})")
    x = np.linspace(0, bins[-1], 300)
    ax.plot(x, np.exp(-0.5 * ((x - reference_mean) / reference_sd) ** 2) / (reference_sd * np.sqrt(2 * np.pi)),
            color="black", lw=1.5, label=f"{reference_label}: N({reference_mean}, {reference_sd}²)")
    ax.set_xlabel("characters per line")
    ax.set_ylabel("density")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig


def rate_comparison(names: Sequence[str], ours: Sequence[float], reference: Sequence[float],
                    label: str = "this dataset", reference_label: str = "IAM"):
    """Paired bars of per-1000-character rates (punctuation, digits, ...)."""
    idx = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(8, 3.2))
    ax.bar(idx - 0.2, reference, 0.4, label=reference_label, color="0.4")
    ax.bar(idx + 0.2, ours, 0.4, label=label, color="tab:blue")
    ax.set_xticks(idx, list(names))
    ax.set_ylabel("per 1000 characters")
    ax.set_yscale("symlog", linthresh=1)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    plt.close(fig)
    return fig
