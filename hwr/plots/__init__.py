"""Figures the chapters share, all in one style (:mod:`hwr.plots.style`).

Every function returns a matplotlib ``Figure`` already closed in pyplot, so a
chapter shows it only where it glues or displays it, and tests can check it
without a screen.

- :mod:`hwr.plots.style`  the seaborn theme, font sizes and figure widths
- :mod:`hwr.plots.lines`  line galleries and the preprocessing steps
- :mod:`hwr.plots.gallery`  a synthetic set's lines, grouped by writer (chapter 1)
- :mod:`hwr.plots.stats`  distributions and rates against a reference
- :mod:`hwr.plots.runs`   learning curves, error against cost, character confusions
"""

from hwr.plots.lines import line_gallery, preprocessing_steps
from hwr.plots.runs import confusion_bars, cost_scatter, learning_curves
from hwr.plots.stats import length_histogram, rate_comparison

__all__ = ["line_gallery", "preprocessing_steps", "length_histogram", "rate_comparison", "learning_curves",
           "cost_scatter", "confusion_bars"]
