"""The appendix's learning-curve figure: every system's CER against training lines and minutes.

One colour per system (the book's palette), solid for validation CER, dashed for a
tool's running error on its own training lines (lstmtraining's BCER), the legend
under the panels so that long system names do not squeeze them on a phone.
"""

from __future__ import annotations

import pandas as pd

from hwr.plots.runs import palette
from hwr.plots.style import WIDTH

PANELS = (("lines_seen", "training lines"), ("minutes", "minutes of training"))


def curves_figure(curves: pd.DataFrame, height: float = 2.6):
    """Two stacked panels (x: lines, then minutes; y: CER in %, capped at 100).

    Args:
        curves: :func:`hwr.peers.records.curves` (columns system, label, kind, lines_seen, minutes, val_cer).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    colours = palette(curves["system"])
    entries = curves[["system", "kind"]].drop_duplicates().shape[0]
    legend = 0.27 * entries + 0.2  # inches under the panels for the legend, one entry a line
    total = 2 * height + legend
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, total))
    for ax, (column, xlabel) in zip(axes, PANELS):
        for (system, kind), part in curves.groupby(["system", "kind"], sort=False):
            part = part.sort_values(column)
            dense = len(part) > 40  # lstmtraining logs every 100 lines: markers would merge into a band
            ax.plot(part[column], 100 * part["val_cer"].clip(upper=1.0), color=colours[system],
                    linestyle="-" if kind == "validation" else "--", marker=None if dense else "o", markersize=3,
                    linewidth=1.0 if dense else 1.5, label=part["label"].iloc[0])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("CER (%)")
        ax.set_ylim(0, 105)
        ax.set_xlim(left=0)
    axes[0].xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=1, bbox_to_anchor=(0.5, 0.0), fontsize=10)
    fig.tight_layout(rect=(0, legend / total, 1, 1))
    plt.close(fig)  # glued into the page: closed here, or Jupyter's inline backend would show it a second time
    return fig
