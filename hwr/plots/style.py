"""The book's one figure style: a seaborn theme with fonts sized for the page.

Figures are drawn at :data:`WIDTH` inches and shown no wider than that in the
book's column (SVG, 1 in = 96 CSS px), so the font sizes here are what a
reader sees on a desktop; on a 390 px phone a figure shrinks to about two
thirds, and 11 pt ticks stay about 10 px high.
"""

from __future__ import annotations

import matplotlib as mpl

#: figure width in inches for charts; line galleries and diagrams use WIDE
WIDTH = 5.2
WIDE = 7.0
#: colours of "this dataset" and of the thesis/IAM reference in every chart
OURS = "#1f77b4"
REFERENCE = "#555555"

RC = {
    "font.size": 12, "axes.titlesize": 12, "axes.labelsize": 12, "xtick.labelsize": 11,
    "ytick.labelsize": 11, "legend.fontsize": 11, "legend.frameon": False,
    "figure.dpi": 100, "savefig.dpi": 200, "savefig.bbox": "tight",
    "svg.fonttype": "path",  # text as outlines: the same look without the fonts installed
    "axes.titlelocation": "left",
}


def apply() -> None:
    """Set the style for every figure drawn afterwards in this process."""
    import seaborn as sns

    sns.set_theme(context="notebook", style="whitegrid", palette="deep")
    mpl.rcParams.update(RC)
