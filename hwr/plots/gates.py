"""What the GFCN gate blocks let through (analysis ``gate_activations``)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hwr.plots.style import WIDE


def gate_maps(image: np.ndarray, gates: Sequence[np.ndarray], centres: Sequence[np.ndarray], title: str = ""):
    """A line image above the sigmoid half of each gate block, channels by column.

    Args:
        image: H x W (the prepared line, unpadded).
        gates: per block, C x W'_b gate values in [0, 1] (mean over feature rows).
        centres: per block, the input column (px) each of its columns is centred on.

    Channels are sorted by their mean over the line (most open at the top),
    so a channel that stays open or closed is a band and one that switches
    with the content shows as columns; each map is placed at its columns'
    centres, so the later blocks' narrower maps line up with the image.
    """
    h, w = image.shape
    n = len(gates)
    img_h = max(0.5, WIDE * h / w)
    fig, axes = plt.subplots(n + 1, 1, figsize=(WIDE, img_h + 1.5 * n + 0.9), sharex=True,
                             gridspec_kw={"height_ratios": [img_h] + [1.5] * n})
    axes[0].imshow(image, cmap="gray", aspect="auto", extent=(0, w, h, 0))
    axes[0].set_yticks([])
    if title:
        axes[0].set_title(title)
    for b, (g, c) in enumerate(zip(gates, centres)):
        g = np.asarray(g, dtype=np.float32)
        c = np.asarray(c, dtype=np.float32)[: g.shape[1]]
        order = np.argsort(-g.mean(axis=1))
        step = float(c[1] - c[0]) if len(c) > 1 else 1.0
        im = axes[b + 1].imshow(g[order], cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest",
                                extent=(c[0] - step / 2, c[-1] + step / 2, g.shape[0], 0))
        axes[b + 1].set_ylabel(f"gate {b + 1}\nchannel", fontsize=11)
        axes[b + 1].set_yticks([])
    for ax in axes:
        ax.grid(False)
    axes[-1].set_xlim(0, w)
    axes[-1].set_xlabel("image column (px)")
    fig.colorbar(im, ax=list(axes[1:]), fraction=0.025, pad=0.01, label="sigmoid half")
    plt.close(fig)
    return fig


def gate_histograms(frame: pd.DataFrame):
    """The distribution of gate values per model and block.

    Args:
        frame: one row per model, block and bin: ``label``, ``block``,
            ``value`` (the bin's centre in [0, 1]) and ``share`` (of all values).
    """
    labels = list(dict.fromkeys(frame["label"]))
    fig, axes = plt.subplots(1, len(labels), figsize=(WIDE, 3.0), sharey=True, squeeze=False)
    for ax, label in zip(axes[0], labels):
        sub = frame[frame["label"] == label]
        for block, part in sub.groupby("block"):
            ax.plot(part["value"], 100 * part["share"], label=f"gate {block}", lw=1.8)
        ax.set_title(label, fontsize=11)
        ax.set_xlabel("gate value")
        ax.set_xlim(0, 1)
        ax.legend(fontsize=11)
    axes[0, 0].set_ylabel("share of values (%)")
    fig.tight_layout()
    plt.close(fig)
    return fig
