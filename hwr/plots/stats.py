"""Distributions and rates of this dataset against a reference (IAM)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from hwr.plots.style import OURS, REFERENCE, WIDTH


def length_histogram(lengths: Sequence[int], reference_mean: float, reference_sd: float,
                     label: str = "this dataset", reference_label: str = "IAM"):
    """Histogram of line lengths in characters against a normal curve with the
    reference mean and standard deviation."""
    lengths = np.asarray(lengths)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4))
    bins = np.arange(0, max(int(lengths.max()) + 5, 90), 3)
    ax.hist(lengths, bins=bins, density=True, color=OURS, alpha=0.75, label=f"{label} ({len(lengths):,} lines)")
    x = np.linspace(0, bins[-1], 300)
    ax.plot(x, np.exp(-0.5 * ((x - reference_mean) / reference_sd) ** 2) / (reference_sd * np.sqrt(2 * np.pi)),
            color=REFERENCE, lw=2, label=f"{reference_label}: mean {reference_mean}, sd {reference_sd}")
    ax.set_xlabel("characters per line")
    ax.set_ylabel("share of lines")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=1)
    fig.tight_layout()
    plt.close(fig)
    return fig


def rate_comparison(names: Sequence[str], ours: Sequence[float], reference: Sequence[float],
                    label: str = "this dataset", reference_label: str = "IAM"):
    """Paired horizontal bars of per-1000-character rates, one row per name
    (horizontal, so that the names stay readable on a narrow screen)."""
    idx = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(WIDTH, 0.32 * len(names) + 1.2))
    ax.barh(idx - 0.2, reference, 0.4, label=reference_label, color=REFERENCE)
    ax.barh(idx + 0.2, ours, 0.4, label=label, color=OURS)
    ax.set_yticks(idx, list(names))
    ax.invert_yaxis()
    ax.set_xlabel("per 1000 characters (log scale above 1)")
    ax.set_xscale("symlog", linthresh=1)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    plt.close(fig)
    return fig
