"""Runs grouped by label, and their validation curves: what every results table and figure starts from."""

from __future__ import annotations

from typing import Callable, Sequence

import pandas as pd

from hwr.runs.store import RunRecord


def by_label(records: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    """Records grouped by model/variant label, each group in seed order."""
    groups: dict[str, list[RunRecord]] = {}
    for rec in records:
        groups.setdefault(rec.spec.label, []).append(rec)
    return {k: sorted(v, key=lambda r: r.spec.seed) for k, v in groups.items()}


def curves_frame(records: Sequence[RunRecord], label: Callable[[RunRecord], str] | None = None) -> pd.DataFrame:
    """One row per validation of every run, for :func:`hwr.plots.runs.learning_curves`.

    Args:
        records: finished runs.
        label: run -> legend label (default: the run's model and variant).

    Returns:
        columns label, seed, epoch, lines_seen (cumulative training lines at
        that validation), minutes (run time at that validation) and val_cer.
    """
    label = label or (lambda rec: rec.spec.label)
    frames = []
    for rec in records:
        h = rec.history
        frames.append(pd.DataFrame({
            "label": label(rec), "seed": rec.spec.seed, "epoch": h["epoch"],
            "lines_seen": h["lines"].fillna(0).cumsum(), "minutes": h["elapsed"] / 60, "val_cer": h["val_cer"]}))
    columns = ["label", "seed", "epoch", "lines_seen", "minutes", "val_cer"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
