"""Do attention maps segment characters? The per-run measure against the rendered character boxes
(:mod:`hwr.segmentation`), read from each run's ``segmentation`` analysis, and its verdicts."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from hwr import stats
from hwr.models import build
from hwr.models.registry import EXPERIMENTS
from hwr.runs.analyses import SEGMENTATION_LINES, analysis, test_lines
from hwr.runs.candidates import CRITERION_MEAN
from hwr.runs.curves import by_label
from hwr.runs.store import RunRecord
from hwr.runs.text import percent
from hwr.runs.verdicts import mean_val_cer
from hwr.segmentation import reference_summary


def segmentation_verdict(family: str, chars: float, spaces: float, uniform: float, val_cer: float,
                         budget_cer: float | None = None) -> tuple[str, str]:
    """The verdict on "attention maps act as per-character segmentation, spaces excepted" for one family.

    Reproduced when the family's attention peaks fall in their characters'
    boxes more often than a constant-speed reader's would (``uniform``,
    :func:`hwr.segmentation.reference_maps`) and spaces less often than
    other characters; not reproduced otherwise; inconclusive at this budget
    when the family's mean best validation CER is above ``budget_cer`` (the
    book-task criterion), since a model still learning to read is still
    learning to align.

    Args:
        chars, spaces: hit shares of characters and of spaces (mean over runs).
        uniform: the constant-speed reader's hit share of characters.

    Returns:
        ``(outcome, explanation)``.
    """
    budget_cer = CRITERION_MEAN if budget_cer is None else budget_cer
    segments = chars > uniform
    spaces_apart = spaces < chars
    found = (f"{family}: {percent(chars)} % of characters have their attention peak in their own box, against "
             f"{percent(uniform)} % for a reader moving at constant speed, and {percent(spaces)} % of spaces")
    outcome = stats.REPRODUCED if segments and spaces_apart else stats.NOT_REPRODUCED
    if val_cer > budget_cer:
        return stats.INCONCLUSIVE, (f"Inconclusive at this budget. {found}; but the family's validation CER, "
                                    f"{percent(val_cer)} %, is above the {percent(budget_cer)} % the book asks of a "
                                    f"trained model, and a model still learning to read is still learning to align.")
    why = ("the maps locate characters better than constant speed would, and spaces less well" if outcome ==
           stats.REPRODUCED else "the maps do not locate characters better than constant speed would"
           if not segments else "spaces are located as well as other characters")
    return outcome, f"{outcome.capitalize()}. {found}: {why}."


def attention_family(model: str) -> str:
    """The model families the segmentation verdicts are given for."""
    cfg = EXPERIMENTS[model].config
    if cfg["expand_h"] > 1:
        return "2D attention"
    return "1D, encoder LSTM" if cfg["encoder_hidden"] else "1D, no encoder"


def segmentation_frame(records: Sequence[RunRecord], n: int | None = None):
    """The attention-as-segmentation measure of every run that has it, per model.

    Args:
        records: seq2seq runs.
        n: test lines of the recorded measure (None: :data:`hwr.runs.analyses.SEGMENTATION_LINES`).

    Returns:
        ``(table, measured, unmeasured)``: one row per model/variant (family,
        seeds measured, test CER, peak in box, mass in box, distance, offset,
        spaces' peak in box, the best and the constant-speed maps' peak in
        box (all %, means over seeds), val CER (fraction)); ``measured``
        run id -> (record, analysis); the run ids that could not be measured
        (no record of the measure and no checkpoint).
    """
    n = SEGMENTATION_LINES if n is None else n
    measured, unmeasured = {}, []
    for rec in records:
        try:
            measured[rec.spec.run_id] = (rec, analysis(rec, "segmentation", n=n))
        except FileNotFoundError:
            unmeasured.append(rec.spec.run_id)
    lines = test_lines(next(iter(measured.values()))[0], n) if measured else []
    geometry: dict = {}
    rows = []
    for label, recs in by_label(records).items():
        mine = [measured[r.spec.run_id] for r in recs if r.spec.run_id in measured]
        if not mine:
            continue
        net = build(recs[0].spec.experiment, **recs[0].spec.overrides)
        key = (net.input_height, tuple(net.column_centres(4).tolist()))
        if key not in geometry:  # the model-free maps depend on the columns only
            geometry[key] = reference_summary(lines, net)
        ref = geometry[key]
        s = [out["summary"] for _, out in mine]

        def mean(part: str, k: str) -> float:
            return sum(x[part][k] for x in s) / len(s)

        rows.append({"model": label, "family": attention_family(recs[0].spec.experiment), "seeds": len(mine),
                     "test CER (%)": 100 * sum(r.test["cer"] for r, _ in mine) / len(mine),
                     "peak in box (%)": 100 * mean("chars", "hit"), "mass in box (%)": 100 * mean("chars", "mass"),
                     "distance (px)": mean("chars", "distance_median"), "offset (px)": mean("chars", "offset_median"),
                     "spaces: peak in box (%)": 100 * mean("spaces", "hit"),
                     "best (%)": 100 * ref["chars"]["best"], "constant speed (%)": 100 * ref["chars"]["uniform"],
                     "val CER": mean_val_cer([r for r, _ in mine])})
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame(), measured, unmeasured


def segmentation_verdicts(table: pd.DataFrame) -> list[dict]:
    """:func:`segmentation_verdict` per family of a :func:`segmentation_frame` table.

    Returns:
        one dict per family: family, models (labels), verdict, why.
    """
    out = []
    if not len(table):
        return out
    for fam, part in table.groupby("family", sort=False):
        outcome, text = segmentation_verdict(fam, part["peak in box (%)"].mean() / 100,
                                             part["spaces: peak in box (%)"].mean() / 100,
                                             part["constant speed (%)"].mean() / 100, part["val CER"].mean())
        out.append({"family": fam, "models": list(part.index), "verdict": outcome, "why": text})
    return out


def vertical_frame(records: Sequence[RunRecord], n: int | None = None):
    """Where the 2D-attention runs look vertically (the ``vertical`` analysis, recorded when a run ends),
    one row per model.

    Columns: seeds measured, characters scored, the attention's mass in each character's ink rows (%),
    the share of rows the ink covers (%, what an attention blind to height would put there), their
    ratio, and the share of characters whose heaviest row holds ink (%); means over seeds.

    Returns:
        ``(table, unmeasured)``: the table (empty where no run has the measure) and the run ids of
        2D-attention runs without it (trained before the measure existed; their checkpoints are gone).
    """
    n = SEGMENTATION_LINES if n is None else n
    rows, unmeasured = [], []
    for label, recs in by_label(records).items():
        if EXPERIMENTS[recs[0].spec.experiment].config.get("expand_h", 1) <= 1:  # 1D attention: no height
            continue
        outs = []
        for rec in recs:
            try:
                outs.append(analysis(rec, "vertical", n=n))
            except FileNotFoundError:
                unmeasured.append(rec.spec.run_id)
        outs = [o for o in outs if o["scored"]]
        if not outs:
            continue
        mass = sum(o["summary"]["mass"] for o in outs) / len(outs)
        cover = sum(o["summary"]["cover"] for o in outs) / len(outs)
        rows.append({"model": label, "seeds": len(outs), "characters": sum(o["scored"] for o in outs),
                     "mass in ink rows (%)": percent(mass), "rows with ink (%)": percent(cover),
                     "ratio": f"{mass / cover:.2f}" if cover else "-",
                     "heaviest row holds ink (%)": percent(sum(o["summary"]["hit"] for o in outs) / len(outs))})
    return pd.DataFrame(rows).set_index("model") if rows else pd.DataFrame(), unmeasured
