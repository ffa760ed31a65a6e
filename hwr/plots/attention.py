"""Attention maps of the seq2seq models drawn over their line images."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from hwr.plots.labels import fit
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
    rows_h = 0.2 * steps  # a row per step, tall enough for its 11 pt label
    img_h = max(0.5, WIDE * h / w)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDE, img_h + rows_h + 0.8), sharex=True,
                                      gridspec_kw={"height_ratios": [img_h, rows_h]})
    top.imshow(image, cmap="gray", aspect="auto", extent=(0, w, h, 0))
    top.set_yticks([])
    top.grid(False)
    bottom.imshow(att, cmap="magma", aspect="auto", extent=(0, w, steps - 0.5, -0.5), interpolation="nearest")
    bottom.set_yticks(range(steps), labels, fontsize=11)
    bottom.set_xlabel("image column (px)")
    bottom.grid(False)
    if title:
        top.set_title(fit(title, WIDE, plt.rcParams["axes.titlesize"]))
    fig.tight_layout(h_pad=0.3)
    plt.close(fig)
    return fig


def attention_gallery(items: Sequence[dict], max_steps: int = 30):
    """Several lines' attention maps, side by side in one figure (one column each).

    Args:
        items: dicts with ``image``, ``attention``, ``decoded``, ``title``.
    """
    n = len(items)
    rows = max(min(len(it["attention"]), max_steps) for it in items) if items else 1
    rows_h = 0.2 * rows  # a row per step, tall enough for its 11 pt label
    fig, axes = plt.subplots(2, n, figsize=(WIDE, rows_h + 1.6), squeeze=False,
                             gridspec_kw={"height_ratios": [0.8, rows_h]})
    for k, it in enumerate(items):
        att = np.asarray(it["attention"], dtype=np.float32)
        att = att.sum(axis=1) if att.ndim == 3 else att
        steps = min(len(att), max_steps)
        h, w = it["image"].shape
        axes[0, k].imshow(it["image"], cmap="gray", aspect="auto", extent=(0, w, h, 0))
        axes[0, k].set_title(fit(it.get("title", ""), WIDE / n, 11), fontsize=11)
        axes[1, k].imshow(att[:steps], cmap="magma", aspect="auto", extent=(0, w, steps - 0.5, -0.5),
                          interpolation="nearest")
        labels = [_label(c) for c in it["decoded"][:steps]] + ["EOS"] * max(0, steps - len(it["decoded"]))
        axes[1, k].set_yticks(range(steps), labels, fontsize=11)
        for ax in axes[:, k]:
            ax.grid(False)
            ax.set_xticks([])
        axes[0, k].set_yticks([])
    fig.tight_layout()
    plt.close(fig)
    return fig


#: the colour an attention cell is drawn in over its line
HEAT = (1.0, 0.45, 0.0)


def _overlay(ax, image: np.ndarray, weights: np.ndarray, centres: np.ndarray) -> float:
    """One H' x W' attention map over its line image: each cell drawn over the image rows and columns it
    covers (rows split evenly, columns centred on ``centres``), as a colour whose opacity is the cell's
    weight over the map's largest. The step's peak is always visible, the line shows through wherever the
    step does not look, and a map spread evenly over the line shows as an even wash.

    Returns:
        the map's largest weight (its share of the step's attention).
    """
    h, w = image.shape
    step = float(centres[1] - centres[0]) if len(centres) > 1 else float(w)
    peak = float(weights.max())
    rgba = np.zeros((*weights.shape, 4), dtype=np.float32)
    rgba[..., :3] = HEAT
    rgba[..., 3] = 0.85 * weights / (peak or 1.0)
    ax.imshow(image, cmap="gray", aspect="auto", extent=(0, w, h, 0))
    ax.imshow(rgba, aspect="auto", interpolation="nearest",
              extent=(centres[0] - step / 2, centres[len(weights[0]) - 1] + step / 2, h, 0))
    ax.set_xlim(0, w)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return peak


def attention_frames(image: np.ndarray, attention: np.ndarray, decoded: str, centres: Sequence[float],
                     max_frames: int = 12, columns: int = 3, title: str | None = None):
    """A 2D attention map per decoded character, as a strip of frames over the line.

    Args:
        image: H x W (the prepared line, unpadded).
        attention: S x H' x W' weights (one map per step; a 1D map S x W' is
            drawn as one row).
        decoded: the decoded text; step ``i`` emitted ``decoded[i]``, the
            step after the last character EOS.
        centres: W' input columns (px) the feature columns are centred on.
        max_frames: the first this many steps are drawn.

    Each frame is drawn to its own largest weight (:func:`_overlay`) and titled with the emitted character
    and that weight's share of the step's attention, so a flat map reads as flat, not as a dark frame.
    """
    att = np.asarray(attention, dtype=np.float32)
    att = att[:, None, :] if att.ndim == 2 else att
    steps = min(len(att), max_frames)
    rows = -(-steps // columns)
    h, w = image.shape
    cell_w = WIDE / columns
    fig, axes = plt.subplots(rows, columns, figsize=(WIDE, rows * (cell_w * h / w + 0.35) + 0.4), squeeze=False)
    centres = np.asarray(centres, dtype=np.float32)
    for k, ax in enumerate(axes.flat):
        if k >= steps:
            ax.axis("off")
            continue
        peak = _overlay(ax, image, att[k], centres)
        label = _label(decoded[k]) if k < len(decoded) else "EOS"
        ax.set_title(f"{k + 1}: {label}, peak {100 * peak:.0f} %", fontsize=11, pad=2)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout(h_pad=0.2, w_pad=0.3)
    plt.close(fig)
    return fig


def attention_animation(image: np.ndarray, attention: np.ndarray, decoded: str, centres: Sequence[float],
                        max_frames: int = 40, fps: int = 3, dpi: int = 110) -> bytes:
    """The same maps as :func:`attention_frames`, one frame per step, as an animated GIF.

    Written with matplotlib's Pillow writer (Pillow is a matplotlib
    dependency); the decoded text so far is the frame's title.

    Returns:
        the GIF's bytes (for ``IPython.display.Image(data=..., format="gif")``).
    """
    import tempfile
    from pathlib import Path

    from matplotlib.animation import FuncAnimation, PillowWriter

    att = np.asarray(attention, dtype=np.float32)
    att = att[:, None, :] if att.ndim == 2 else att
    steps = min(len(att), max_frames)
    h, w = image.shape
    fig, ax = plt.subplots(figsize=(WIDE, max(1.0, WIDE * h / w) + 0.5))
    centres = np.asarray(centres, dtype=np.float32)

    def draw(k):
        ax.clear()
        _overlay(ax, image, att[k], centres)
        text = decoded[: k + 1] + (" ⟨EOS⟩" if k >= len(decoded) else "")
        ax.set_title(text.replace("$", r"\$"), fontsize=11, loc="left")
        return ax.images

    animation = FuncAnimation(fig, draw, frames=steps, blit=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attention.gif"
        animation.save(path, writer=PillowWriter(fps=fps), dpi=dpi)
        data = path.read_bytes()
    plt.close(fig)
    return data
