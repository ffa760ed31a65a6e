"""Figures of the normalisation chapter: error under other batchings, and statistics per line."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hwr.plots.runs import palette
from hwr.plots.style import WIDTH


def conditions(frame: pd.DataFrame):
    """Test CER of each model under each inference condition (mean over seeds, seeds as dots).

    Args:
        frame: rows ``label``, ``seed``, ``condition`` (text, in display
            order), ``cer``.
    """
    conds = list(dict.fromkeys(frame["condition"]))
    labels = list(dict.fromkeys(frame["label"]))
    colours = palette(labels)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.42 * len(conds) + 1.6))
    offsets = np.linspace(-0.25, 0.25, len(labels)) if len(labels) > 1 else [0.0]
    for off, label in zip(offsets, labels):
        rows = frame[frame["label"] == label]
        y = [conds.index(c) + off for c in rows["condition"]]
        ax.scatter(rows["cer"] * 100, y, color=colours[label], s=12, alpha=0.5)
        mean = rows.groupby("condition", sort=False)["cer"].mean()
        ax.scatter(mean.values * 100, [conds.index(c) + off for c in mean.index], color=colours[label],
                   s=60, marker="D", label=label)
    ax.set_yticks(range(len(conds)), conds)
    ax.invert_yaxis()
    ax.set_xlabel("test CER (%)")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(4, len(labels)))
    fig.tight_layout()
    plt.close(fig)
    return fig


def line_statistics(line_mean: np.ndarray, line_var: np.ndarray, running_mean: np.ndarray | None = None,
                    running_var: np.ndarray | None = None, channels: int = 8):
    """Per channel, each line's own mean and variance (dots) against the BatchNorm running ones (bars).

    Args:
        line_mean, line_var: lines x channels.
        running_mean, running_var: channels (None: no running statistics, IN).
    """
    c = min(channels, line_mean.shape[1])
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 4.8), sharex=True)
    rng = np.random.default_rng(0)
    for ax, values, running, name in ((axes[0], line_mean, running_mean, "mean"),
                                      (axes[1], line_var, running_var, "variance")):
        for k in range(c):
            jitter = rng.uniform(-0.25, 0.25, len(values))
            # thousands of dots: drawn as pixels inside the SVG, which stays small
            ax.scatter(k + jitter, values[:, k], s=4, alpha=0.35, color="#4c72b0", rasterized=True)
            if running is not None:
                ax.plot([k - 0.4, k + 0.4], [running[k]] * 2, color="#c44e52", lw=2.5)
        ax.set_ylabel(f"per-line {name}")
    axes[1].set_xticks(range(c), [str(k) for k in range(c)])
    axes[1].set_xlabel("channel of the first normalisation layer")
    if running_mean is not None:
        handles = [plt.Line2D([], [], color="#4c72b0", marker="o", ls="", ms=4),
                   plt.Line2D([], [], color="#c44e52", lw=2.5)]
        axes[0].legend(handles, ["one test line", "BatchNorm running statistic"], loc="lower center",
                       bbox_to_anchor=(0.5, 1.0), ncol=2)
    fig.tight_layout()
    plt.close(fig)
    return fig
