"""Figures of training runs: learning curves, error against cost, confusions.

Every function takes a DataFrame (built from run records by
:mod:`hwr.runs.report`, or by hand in a later chapter) and returns a closed
matplotlib ``Figure`` in the book's style (:mod:`hwr.plots.style`): sized for
the column, labels large enough for a phone, one colour per model or variant.
Error rates are fractions in the frames and percent on the axes.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import EngFormatter, MaxNLocator
import numpy as np
import pandas as pd

from hwr.plots.labels import place_labels
from hwr.plots.style import WIDTH
from hwr.runs.report import curves_frame

#: x axes of :func:`learning_curves`: frame column and axis label
CURVE_AXES = {"lines": ("lines_seen", "training lines seen"), "minutes": ("minutes", "minutes of training")}
#: validation CER (%) above which learning curves are drawn at this value
CER_CAP = 100.0
#: colours of the three kinds of edit operation in :func:`confusion_bars`
KIND_COLOURS = {"substitution": "#4c72b0", "deletion": "#dd8452", "insertion": "#55a868"}


def palette(labels: Sequence[str]) -> dict[str, tuple]:
    """One colour per label, in order: seaborn's "deep" palette (the theme's) for up to its 10 colours,
    evenly spaced hues beyond, so that no two labels of a figure share a colour."""
    import seaborn as sns

    labels = list(dict.fromkeys(labels))
    n = max(len(labels), 1)
    return dict(zip(labels, sns.color_palette("deep", n) if n <= 10 else sns.color_palette("husl", n)))


def mean_curve(curves: Sequence[tuple[np.ndarray, np.ndarray]], points: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """The mean of several seeds' curves on a common grid.

    Seeds validate at slightly different x (a budget run ends mid-epoch, and
    minutes differ run to run), so each curve is interpolated linearly onto
    ``points`` values spanning the x range that every curve covers.

    Args:
        curves: (x, y) pairs, x increasing, one per seed.

    Returns:
        (x, mean y); empty arrays when the curves share no range.
    """
    curves = [(np.asarray(x, float), np.asarray(y, float)) for x, y in curves if len(x)]
    if not curves:
        return np.array([]), np.array([])
    if len(curves) == 1:
        return curves[0]
    lo, hi = max(x[0] for x, _ in curves), min(x[-1] for x, _ in curves)
    if hi < lo:
        return np.array([]), np.array([])
    grid = np.linspace(lo, hi, points) if hi > lo else np.array([lo])
    return grid, np.mean([np.interp(grid, x, y) for x, y in curves], axis=0)


def _cer_scale(curves: pd.DataFrame) -> tuple[float, bool]:
    """The top of the CER axis (%) and whether values above :data:`CER_CAP` are capped.

    An untrained seq2seq model can emit far more symbols than the reference
    (CER above 100 %): such points are drawn at the cap, so the scale stays useful.
    """
    peak = float(curves["val_cer"].max()) * 100 if len(curves) else 100.0
    return min(peak, CER_CAP) * 1.05, peak > CER_CAP


def _draw_curves(ax, curves: pd.DataFrame, column: str, colours: dict) -> None:
    """One thin line per (label, seed) and a thick mean per label on ``ax``."""
    for label, runs in curves.groupby("label", sort=False):
        seeds = []
        for _, run in runs.groupby("seed"):
            run = run.sort_values(column)
            x, y = run[column].to_numpy(float), np.minimum(run["val_cer"].to_numpy(float) * 100, CER_CAP)
            ax.plot(x, y, color=colours[label], lw=0.8, alpha=0.45)
            seeds.append((x, y))
        x, y = mean_curve(seeds)
        n = len(seeds)
        ax.plot(x, y, color=colours[label], lw=2.6, label=f"{label} ({n} seed{'s' if n != 1 else ''})")


def _finish(fig, panels, curves: pd.DataFrame, colours: dict, columns: Sequence[str], shared_ylabel: bool = False):
    top, capped = _cer_scale(curves)
    ylabel = "val CER (%)" + (f", capped at {CER_CAP:g}" if capped else "")
    if shared_ylabel:  # one label for a stack of short panels, which their own labels would overlap
        fig.supylabel(ylabel, fontsize=plt.rcParams["axes.labelsize"])
    for ax, column in zip(panels, columns):
        ax.set_ylabel("" if shared_ylabel else ylabel)
        ax.set_ylim(0, top)
        ax.set_xlim(left=0)
        if column == "lines_seen":
            ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    handles, labels = panels[0].get_legend_handles_labels()
    panels[0].legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=min(len(colours), 2))
    fig.tight_layout()
    plt.close(fig)


def as_curves(curves) -> pd.DataFrame:
    """A curves frame as given, or built from runs (:func:`hwr.runs.report.curves_frame`):
    plot functions take a chapter's frame or a list of runs alike."""
    if isinstance(curves, pd.DataFrame):
        return curves

    return curves_frame(list(curves))


def learning_curves(curves: pd.DataFrame, axes: Sequence[str] = ("lines", "minutes"), colours: dict | None = None,
                    height: float = 2.9):
    """Validation CER against lines seen and/or minutes: seeds thin, their mean thick.

    Args:
        curves: one row per validation, columns ``label`` (model or variant:
            one colour each), ``seed``, ``lines_seen``, ``minutes`` and
            ``val_cer`` (fraction), see :func:`hwr.runs.report.curves_frame`;
            or a list of runs.
        axes: which x axes to draw, one panel each, stacked (so each panel
            keeps the column's full width on a phone): ``"lines"``, ``"minutes"``.
        colours: label -> colour (default :func:`palette`).
        height: inches per panel.
    """
    bad = [a for a in axes if a not in CURVE_AXES]
    if bad or not axes:
        raise ValueError(f"hwr.plots.runs: axes must be some of {list(CURVE_AXES)}, not {list(axes)}")
    curves = as_curves(curves).dropna(subset=["val_cer"])
    colours = colours or palette(curves["label"])
    fig, panels = plt.subplots(len(axes), 1, figsize=(WIDTH, height * len(axes) + 0.5), squeeze=False)
    columns = [CURVE_AXES[a][0] for a in axes]
    for ax, which, column in zip(panels[:, 0], axes, columns):
        _draw_curves(ax, curves, column, colours)
        ax.set_xlabel(CURVE_AXES[which][1])
    _finish(fig, list(panels[:, 0]), curves, colours, columns)
    return fig


def learning_curves_by(curves: pd.DataFrame, panel: str, axis: str = "minutes", colours: dict | None = None,
                       height: float = 2.2):
    """:func:`learning_curves` with one stacked panel per value of ``panel`` (a task, say),
    the same colours and CER scale in every panel, each titled with its value.

    Args:
        curves: as for :func:`learning_curves`, plus the ``panel`` column.
        axis: the x axis of every panel, ``"lines"`` or ``"minutes"``.
    """
    if axis not in CURVE_AXES:
        raise ValueError(f"hwr.plots.runs: axis must be one of {list(CURVE_AXES)}, not {axis!r}")
    curves = curves.dropna(subset=["val_cer"])
    colours = colours or palette(curves["label"])
    values = list(dict.fromkeys(curves[panel]))
    column, xlabel = CURVE_AXES[axis]
    fig, panels = plt.subplots(max(len(values), 1), 1, figsize=(WIDTH, height * max(len(values), 1) + 0.6),
                               squeeze=False, sharex=True)
    for ax, value in zip(panels[:, 0], values):
        _draw_curves(ax, curves[curves[panel] == value], column, colours)
        ax.set_title(str(value), loc="left", fontsize=12)
    panels[-1, 0].set_xlabel(xlabel)
    # the legend names every label once, whichever panel drew it
    handles = {}
    for ax in panels[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab.split(" (")[0], h)
    _finish(fig, list(panels[:, 0]), curves, colours, [column] * len(values), shared_ylabel=True)
    panels[0, 0].legend(list(handles.values()), list(handles), loc="lower center", bbox_to_anchor=(0.5, 1.15),
                        ncol=min(len(handles), 3))
    fig.tight_layout()
    return fig


#: the smallest range (CER points) a CER axis of :func:`cer_against` shows
MIN_CER_SPAN = 5.0


def cer_against(frame: pd.DataFrame, x: str, xlabel: str, thesis: dict | None = None):
    """Test CER against a model property (gate blocks, DSC multiplier, width): here and in the thesis.

    Args:
        frame: one row per run: ``x``, ``cer`` (fraction) and ``label``.
        thesis: x value -> the thesis's legacy CER (%) on IAM-B, drawn in a
            second panel (its scale is another data set's).

    One dot per seed and the mean joined across ``x``; the two panels share
    the x axis but not the y axis. Each y axis spans at least
    :data:`MIN_CER_SPAN` points, so that differences of a few tenths (seed
    noise) do not fill a panel as if they were large.
    """
    panels = 2 if thesis else 1
    fig, axes = plt.subplots(1, panels, figsize=(WIDTH, 3.2), squeeze=False)
    here = axes[0, 0]
    colours = palette(frame["label"])
    for label, part in frame.groupby("label", sort=False):
        here.scatter(part[x], 100 * part["cer"], color=colours[label], s=28, alpha=0.7, zorder=3)
    mean = frame.groupby(x)["cer"].mean()
    here.plot(mean.index, 100 * mean.values, color="#333333", lw=1.5, marker="D", ms=6, zorder=2)
    here.set_title("here (book task, test CER)", fontsize=11)
    here.set_ylabel("CER (%)")
    here.set_xlabel(xlabel)
    if thesis:
        t = pd.Series(thesis).sort_index()
        axes[0, 1].plot(t.index, t.values, color="#8c8c8c", lw=1.5, marker="s", ms=6)
        axes[0, 1].set_title("thesis (IAM-B, legacy CER)", fontsize=11)
        axes[0, 1].set_xlabel(xlabel)
    for ax in axes[0]:
        ax.set_xticks(sorted(set(frame[x]) | set(thesis or {})))
        low, high = ax.get_ylim()
        if high - low < MIN_CER_SPAN:
            mid = (low + high) / 2
            ax.set_ylim(mid - MIN_CER_SPAN / 2, mid + MIN_CER_SPAN / 2)
    fig.tight_layout()
    plt.close(fig)
    return fig


def pareto_front(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Which points no other point beats: lower-or-equal in both x and y and lower in one.

    Returns:
        bool array of shape (n,), True on the Pareto front (low cost, low error).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    front = np.ones(len(x), bool)
    for i in range(len(x)):
        better = (x <= x[i]) & (y <= y[i]) & ((x < x[i]) | (y < y[i]))
        front[i] = not better.any()
    return front


def cost_scatter(frame: pd.DataFrame, x: str, y: str = "cer", sd: str | None = "cer_sd", label: str = "label",
                 xlabel: str = "parameters", ylabel: str = "test CER (%)", logx: bool = True,
                 max_labels: int = 10, height: float = 3.6, group: str | None = None):
    """Error rate against a cost (parameters, latency), the Pareto front marked.

    Args:
        frame: one row per model/variant: ``label``, the cost column ``x``,
            the error ``y`` (fraction, mean over seeds) and its seed sd ``sd``
            (fraction; None or missing for no error bars).
        x: the cost column (e.g. ``"params"``, ``"latency_ms"``).
        logx: a log cost axis where the costs span a decade or more (within one,
            a linear axis with five labelled ticks, ``1.2 M``).
        max_labels: with more points than this, only the front's are named
            (the names of a crowded cloud overlap into noise).
        height: figure height in inches.
        group: a column that colours the points by kind (a legend of a few
            entries: families, say) instead of one colour per point; for a
            crowded figure, where only the front is named.

    The front (no other model is both cheaper and better) is joined by a
    dashed step line and its points filled; the others are hollow.
    """
    df = frame.dropna(subset=[x, y]).reset_index(drop=True)
    key = group if group else label
    colours = palette(df[key])
    front = pareto_front(df[x], df[y])
    named = front if len(df) > max_labels else pd.Series(True, index=df.index)
    fig, ax = plt.subplots(figsize=(WIDTH, height))
    for i, row in df.iterrows():
        err = row[sd] * 100 if sd and sd in df and pd.notna(row[sd]) else None
        c = colours[row[key]]
        ax.errorbar(row[x], row[y] * 100, yerr=err, fmt="o", ms=8, color=c, capsize=3, lw=1.2,
                    mfc=c if front[i] else "white", mec=c, mew=1.6)
    f = df[front].sort_values(x)
    if len(f) > 1:
        ax.step(f[x], f[y] * 100, where="post", color="#333333", lw=1, ls="--", label="Pareto front")
    if group:  # one legend entry per kind, beside the front's
        for kind, c in colours.items():
            ax.plot([], [], "o", ms=8, mfc="white", mec=c, mew=1.6, label=str(kind))
    if len(f) > 1 or group:
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2 if group else 1)
    if logx and df[x].max() >= 10 * df[x].min():  # within a decade a log axis only crowds its minor labels
        ax.set_xscale("log")
    else:
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.xaxis.set_major_formatter(EngFormatter(sep=" "))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.margins(x=0.15, y=0.15)
    fig.tight_layout()  # the axes' final size first: the names are placed where they will be drawn
    names = df[named.to_numpy()] if isinstance(named, pd.Series) else df[named]
    place_labels(ax, names[x], names[y] * 100, names[label])
    plt.close(fig)
    return fig


def confusion_bars(top: pd.DataFrame, title: str | None = None):
    """The most frequent edit operations as horizontal bars, the most frequent on top.

    Args:
        top: from :func:`hwr.confusions.top_confusions` (columns
            ``operation``, ``kind``, ``count``, ``share``).
        title: optional panel title.
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 0.34 * max(len(top), 1) + 1.3))
    idx = np.arange(len(top))
    ax.barh(idx, top["share"] * 100, color=[KIND_COLOURS[k] for k in top["kind"]], height=0.7)
    ax.set_yticks(idx, list(top["operation"]))
    ax.invert_yaxis()
    ax.set_xlabel("share of all edit operations (%)")
    ax.grid(axis="y", visible=False)
    kinds = [k for k in KIND_COLOURS if k in set(top["kind"])]
    handles = [plt.Rectangle((0, 0), 1, 1, color=KIND_COLOURS[k]) for k in kinds]
    ax.legend(handles, kinds, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(kinds))
    if title:
        ax.set_title(title, pad=30)
    fig.tight_layout()
    plt.close(fig)
    return fig
