"""Accuracies scored two ways side by side (seed 003's names recogniser, ch17).

The frame comes from the ``names_reading`` analyses (:mod:`hwr.runs.analyses`);
accuracies are fractions in the frame and percent on the axis.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hwr.plots.style import WIDTH


def accuracy_bars(frame: pd.DataFrame):
    """One group of horizontal bars per model: each way of scoring, mean over seeds, seeds as dots.

    Args:
        frame: rows ``label``, ``seed``, ``measure`` (how it was scored) and
            ``accuracy`` (a fraction). Models and measures keep their order.
    """
    import seaborn as sns

    labels = list(dict.fromkeys(frame["label"]))
    measures = list(dict.fromkeys(frame["measure"]))
    colours = dict(zip(measures, sns.color_palette("deep", len(measures))))
    step = 0.8 / len(measures)
    fig, ax = plt.subplots(figsize=(WIDTH, 0.45 + 0.32 * len(labels) * len(measures)))
    for j, measure in enumerate(measures):
        rows = frame[frame["measure"] == measure]
        y = np.arange(len(labels)) + (j - (len(measures) - 1) / 2) * step
        means = [100 * rows.loc[rows["label"] == lab, "accuracy"].mean() for lab in labels]
        ax.barh(y, means, height=step * 0.9, color=colours[measure], label=measure)
        for k, lab in enumerate(labels):
            seeds = 100 * rows.loc[rows["label"] == lab, "accuracy"].to_numpy()
            ax.plot(seeds, np.full(len(seeds), y[k]), "o", color="black", ms=2.5)
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("test accuracy (%; dots: seeds)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / len(labels) / len(measures)), ncol=2,
              fontsize=10)
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    plt.close(fig)
    return fig
