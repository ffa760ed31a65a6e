"""Attention measured as character segmentation (:mod:`hwr.segmentation`): distributions and examples."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hwr.confusions import alignment
from hwr.plots.labels import fit, place_labels
from hwr.plots.runs import palette
from hwr.plots.style import WIDE, WIDTH

HIT, MISS = "#2a9d4b", "#d1495b"


def boxes_and_peaks(image: np.ndarray, attention: np.ndarray, boxes: np.ndarray, centres: Sequence[float],
                    reference: str, decoded: str, title: str = "", max_steps: int = 40):
    """One line: its character boxes, where each decoder step's attention peaks, and the maps.

    Args:
        image: H x W (the prepared line).
        attention: S x W' (or S x H' x W', summed over H').
        boxes: len(reference) x 2 boxes ``[a, b)`` at the input (px).
        centres: W' input columns the feature columns are centred on.
        reference, decoded: the true and decoded texts (aligned as in :func:`hwr.segmentation.score_line`).

    Top: the image, boxes shaded in alternating tints, and one mark per
    aligned step at its attention peak, green when the peak lies in the box
    of the character the step is aligned with, red otherwise. Bottom: the
    maps, one row per step, with that character's box outlined.
    """
    from matplotlib.patches import Rectangle

    att = np.asarray(attention, dtype=np.float32)
    att = att.sum(axis=1) if att.ndim == 3 else att
    steps = min(len(att), max_steps)
    centres = np.asarray(centres, dtype=np.float32)[: att.shape[1]]
    step_w = float(centres[1] - centres[0]) if len(centres) > 1 else 1.0
    h, w = image.shape
    img_h = max(0.6, WIDE * h / w)
    rows_h = 0.2 * steps  # a row per step, tall enough for its 11 pt label
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDE, img_h + rows_h + 1.0), sharex=True,
                                      gridspec_kw={"height_ratios": [img_h, rows_h]})
    top.imshow(image, cmap="gray", aspect="auto", extent=(0, w, h, 0))
    for i, (a, b) in enumerate(boxes):
        if reference[i] != " ":
            top.axvspan(a, b, color=("#4c72b0" if i % 2 else "#dd8452"), alpha=0.18, lw=0)
    bottom.imshow(att[:steps], cmap="magma", aspect="auto", interpolation="nearest",
                  extent=(centres[0] - step_w / 2, centres[-1] + step_w / 2, steps - 0.5, -0.5))
    for i, j in alignment(reference, decoded):
        if i is None or j is None or j >= steps:
            continue
        a, b = boxes[i]
        peak = centres[int(np.argmax(att[j]))]
        colour = HIT if a <= peak < b else MISS
        top.plot([peak], [h * 0.92], marker="^", color=colour, ms=6, mec="white", mew=0.5)
        bottom.add_patch(Rectangle((a, j - 0.5), b - a, 1, fill=False, ec="#66c2a5", lw=1.0))
    labels = [{" ": "␣", "$": r"\$"}.get(c, c) for c in decoded[:steps]] + ["EOS"] * max(0, steps - len(decoded))
    bottom.set_yticks(range(steps), labels, fontsize=11)
    bottom.set_xlim(0, w)
    bottom.set_xlabel("image column (px)")
    top.set_yticks([])
    for ax in (top, bottom):
        ax.grid(False)
    if title:
        top.set_title(fit(title, WIDE, 11), fontsize=11)
    fig.tight_layout(h_pad=0.3)
    plt.close(fig)
    return fig


def measure_distributions(frame: pd.DataFrame, char_width: float | None = None):
    """Per model: where the attention peak falls relative to its character's box centre.

    Args:
        frame: one row per scored character: ``label``, ``offset`` (peak
            minus box centre, px) and ``space`` (bool).
        char_width: the mean character box width (px), marked as ± half of it.

    Box plots of the offsets of characters (left) and spaces (right), one
    row per model in the frame's order; outliers are not drawn.
    """
    labels = list(dict.fromkeys(frame["label"]))
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH * 1.25, 0.42 * len(labels) + 1.2), sharey=True)
    for ax, space, name in ((axes[0], False, "characters"), (axes[1], True, "spaces")):
        data = [frame[(frame["label"] == m) & (frame["space"] == space)]["offset"].to_numpy() for m in labels]
        data = [d if len(d) else np.array([np.nan]) for d in data]
        ax.boxplot(data, orientation="horizontal", showfliers=False, widths=0.6,
                   medianprops={"color": "#333333"}, boxprops={"color": "#4c72b0"})
        if char_width:
            ax.axvspan(-char_width / 2, char_width / 2, color=HIT, alpha=0.12, lw=0)
        ax.axvline(0, color="#999999", lw=0.8)
        ax.set_title(name, fontsize=11)
        ax.set_xlabel("peak − box centre (px)")
    axes[0].set_yticks(range(1, len(labels) + 1), labels, fontsize=11)
    axes[0].invert_yaxis()
    fig.tight_layout()
    plt.close(fig)
    return fig


def hit_against_cer(frame: pd.DataFrame, named: int = 3):
    """Share of characters whose peak is in their box against test CER, one point per run.

    Args:
        frame: ``label``, ``family`` (e.g. "1D", "2D"), ``hit`` and ``cer`` (fractions).
        named: the runs with the highest shares that are named on the plot (a legend of
            twenty models squeezed the plot to a third of the figure).

    Colour and marker give the family (a legend of a few entries).
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 3.6))
    families = list(dict.fromkeys(frame["family"]))
    markers = dict(zip(families, "os^D"))
    colours = palette(families)
    for family, part in frame.groupby("family", sort=False):
        ax.scatter(100 * part["cer"], 100 * part["hit"], marker=markers[family], s=30, color=colours[family],
                   label=family, alpha=0.85)
    ax.set_xlabel("test CER (%)")
    ax.set_ylabel("peaks in their box (%)")
    if len(families) > 1:
        ax.legend(fontsize=11, loc="upper right")
    ax.margins(x=0.15, y=0.1)
    fig.tight_layout()
    top = frame.nlargest(named, "hit")
    place_labels(ax, 100 * top["cer"], 100 * top["hit"], top["label"], fontsize=11)
    plt.close(fig)
    return fig
