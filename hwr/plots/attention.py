"""Attention maps of the seq2seq models drawn over their line images."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from hwr.plots.style import WIDE


def _label(ch: str) -> str:
    return {" ": "␣", "$": r"\$"}.get(ch, ch)


def attention_steps(image: np.ndarray, attention: np.ndarray, decoded: str, title: str | None = None,
                    max_steps: int = 40):
    """One line's image above its attention map, one row per decoder step.

    Args:
        image: H x W uint8 or float (the prepared line, unpadded).
        attention: S x W' weights per step over the feature columns (a 2D
            map, S x H' x W', is summed over H').
        decoded: the decoded text; step ``i`` emitted ``decoded[i]`` (the step
            after the last character emitted EOS, labelled "EOS").
        max_steps: rows shown at most.

    Each feature column covers ``W / W'`` image columns, so the map is drawn
    stretched to the image's width: a step's bright cells lie over the part
    of the line it read.
    """
    att = np.asarray(attention, dtype=np.float32)
    if att.ndim == 3:
        att = att.sum(axis=1)
    steps = min(len(att), max_steps)
    att = att[:steps]
    h, w = image.shape
    labels = [_label(c) for c in decoded[:steps]] + ["EOS"] * max(0, steps - len(decoded))
    rows_h = 0.16 * steps
    img_h = max(0.5, WIDE * h / w)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDE, img_h + rows_h + 0.8), sharex=True,
                                      gridspec_kw={"height_ratios": [img_h, rows_h]})
    top.imshow(image, cmap="gray", aspect="auto", extent=(0, w, h, 0))
    top.set_yticks([])
    top.grid(False)
    bottom.imshow(att, cmap="magma", aspect="auto", extent=(0, w, steps - 0.5, -0.5), interpolation="nearest")
    bottom.set_yticks(range(steps), labels, fontsize=9)
    bottom.set_xlabel("image column (px)")
    bottom.grid(False)
    if title:
        top.set_title(title)
    fig.tight_layout(h_pad=0.3)
    plt.close(fig)
    return fig


def attention_gallery(items: Sequence[dict], max_steps: int = 30):
    """Several lines' attention maps, side by side in one figure (one column each).

    Args:
        items: dicts with ``image``, ``attention``, ``decoded``, ``title``.
    """
    n = len(items)
    fig, axes = plt.subplots(2, n, figsize=(WIDE, 5.2), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 5]})
    for k, it in enumerate(items):
        att = np.asarray(it["attention"], dtype=np.float32)
        att = att.sum(axis=1) if att.ndim == 3 else att
        steps = min(len(att), max_steps)
        h, w = it["image"].shape
        axes[0, k].imshow(it["image"], cmap="gray", aspect="auto", extent=(0, w, h, 0))
        axes[0, k].set_title(it.get("title", ""), fontsize=10)
        axes[1, k].imshow(att[:steps], cmap="magma", aspect="auto", extent=(0, w, steps - 0.5, -0.5),
                          interpolation="nearest")
        labels = [_label(c) for c in it["decoded"][:steps]] + ["EOS"] * max(0, steps - len(it["decoded"]))
        axes[1, k].set_yticks(range(steps), labels, fontsize=8)
        for ax in axes[:, k]:
            ax.grid(False)
            ax.set_xticks([])
        axes[0, k].set_yticks([])
    fig.tight_layout()
    plt.close(fig)
    return fig
