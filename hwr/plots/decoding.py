"""Figures of decoding: beam width against error and time, per-line errors, error kinds.

Frames come from :mod:`hwr.runs.analyses` records (via the chapters); rates
are fractions in the frames and percent on the axes.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hwr.plots.runs import KIND_COLOURS, palette
from hwr.plots.style import WIDTH


def beam_widths(frame: pd.DataFrame):
    """Test CER and decoding time per line against the beam width.

    Args:
        frame: rows ``label``, ``seed``, ``decoder`` ("greedy" or "beam"),
            ``width``, ``cer``, ``seconds_per_line``. Beam rows are drawn
            against their width (one thin line per seed, the mean thick);
            greedy rows as a dashed level per label.
    """
    colours = palette(frame["label"])
    fig, axes = plt.subplots(2, 1, figsize=(WIDTH, 5.4), sharex=True)
    for (label, decoder), rows in frame.groupby(["label", "decoder"], sort=False):
        c = colours[label]
        for column, ax, scale in (("cer", axes[0], 100), ("seconds_per_line", axes[1], 1000)):
            if decoder == "greedy":
                ax.axhline(rows[column].mean() * scale, color=c, ls="--", lw=1.2)
                continue
            for _, seed in rows.groupby("seed"):
                ax.plot(seed["width"], seed[column] * scale, color=c, lw=0.7, alpha=0.5)
            mean = rows.groupby("width")[column].mean()
            ax.plot(mean.index, mean.values * scale, color=c, lw=2.2, marker="o", ms=4, label=label)
    axes[0].set_ylabel("test CER (%)")
    axes[1].set_ylabel("decoding ms per line")
    axes[1].set_yscale("log")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("beam width (dashed: greedy)")
    widths = sorted(frame.loc[frame["decoder"] == "beam", "width"].unique())
    axes[1].set_xticks(widths, [str(w) for w in widths])
    axes[1].minorticks_off()
    if frame["label"].nunique() > 1:
        axes[0].legend(loc="upper right")
    fig.tight_layout()
    plt.close(fig)
    return fig


def line_error_ecdf(frame: pd.DataFrame, cap: float = 1.0):
    """The distribution of per-line CER: for each x, the share of test lines with CER <= x.

    Args:
        frame: rows ``label`` and ``cer`` (one per line and run).
        cap: per-line CERs above this are drawn at it (insertions can exceed 100 %).
    """
    import seaborn as sns

    data = frame.assign(cer=np.minimum(frame["cer"], cap) * 100)
    fig, ax = plt.subplots(figsize=(WIDTH, 3.4))
    sns.ecdfplot(data=data, x="cer", hue="label", ax=ax, palette=palette(data["label"]), lw=2)
    ax.set_xlabel("CER of a test line (%)")
    ax.set_ylabel("share of lines")
    leg = ax.get_legend()
    if leg is not None:
        leg.set_title(None)
        leg.set_frame_on(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def error_kinds(frame: pd.DataFrame):
    """Substitutions, deletions and insertions per reference character, per model.

    Args:
        frame: rows ``label``, ``kind`` (substitution, deletion, insertion),
            ``rate`` (operations of that kind per reference character, summed
            over the seeds' lines and divided by their reference characters).
    """
    labels = list(dict.fromkeys(frame["label"]))
    fig, ax = plt.subplots(figsize=(WIDTH, 0.55 * len(labels) + 1.5))
    left = np.zeros(len(labels))
    for kind, colour in KIND_COLOURS.items():
        rates = np.array([frame[(frame["label"] == lab) & (frame["kind"] == kind)]["rate"].sum() for lab in labels])
        ax.barh(labels, rates * 100, left=left, color=colour, height=0.6, label=kind)
        left += rates * 100
    ax.invert_yaxis()
    ax.set_xlabel("edit operations per 100 reference characters")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3)
    fig.tight_layout()
    plt.close(fig)
    return fig


#: the units of :func:`hwr.decode.effect.decoder_effect`, as the axis names them
EFFECT_UNITS = {"cer": "characters", "wer": "words", "line": "whole lines"}


def decoder_effect(frame: pd.DataFrame):
    """The share of one decoder's errors another removes, counted in characters, words and lines.

    Args:
        frame: rows ``label``, ``seed``, ``unit`` (a key of :data:`EFFECT_UNITS`) and
            ``relative`` (fraction of the first decoder's errors removed; negative: added).
            Bars are means over seeds; dots are the seeds.
    """
    labels = list(dict.fromkeys(frame["label"]))
    units = [u for u in EFFECT_UNITS if u in set(frame["unit"])]
    colours = dict(zip(units, plt.get_cmap("viridis")(np.linspace(0.15, 0.8, len(units)))))
    fig, ax = plt.subplots(figsize=(WIDTH, 0.7 * len(labels) * len(units) / 2 + 1.4))
    step = 0.8 / len(units)
    for k, unit in enumerate(units):
        rows = frame[frame["unit"] == unit]
        y = np.arange(len(labels)) + (k - (len(units) - 1) / 2) * step
        means = [100 * rows[rows["label"] == lab]["relative"].mean() for lab in labels]
        ax.barh(y, means, height=step * 0.9, color=colours[unit], label=EFFECT_UNITS[unit])
        for yy, lab in zip(y, labels):
            seeds = 100 * rows[rows["label"] == lab]["relative"]
            ax.plot(seeds, np.full(len(seeds), yy), "o", color="black", ms=2.5, alpha=0.6)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("share of greedy decoding's errors the beam removes (%)")
    ax.grid(axis="y", visible=False)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(units), title="errors counted in")
    fig.tight_layout()
    plt.close(fig)
    return fig
