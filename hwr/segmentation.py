r"""Attention maps measured as a character segmentation.

The thesis looked at its attention maps and judged that each decoder step
attends to the character it writes, spaces excepted. The synthetic renderer
records every character's horizontal extent after all geometric transforms
(``<id>.boxes.json``, :mod:`hwr.synth.dataset`; a dataset line's ``boxes``), so the book can measure it.
For a decoded character aligned with reference character :math:`i` (a match
or a substitution of one minimal alignment, :func:`hwr.confusions.alignment`),
with box :math:`[a_i, b_i)` in input pixels, and the step's attention
:math:`\alpha_j` over memory columns :math:`j` centred at :math:`x_j`
(:meth:`hwr.models.seq2seq.Seq2Seq.column_centres`; a 2D map is summed over
its rows first):

- *hit*: the peak column :math:`j^* = \arg\max_j \alpha_j` lies in the box,
  :math:`a_i \le x_{j^*} < b_i`;
- *mass*: the attention inside the box, :math:`\sum_{j:\, a_i \le x_j < b_i} \alpha_j`;
- *distance*: :math:`|x_{j^*} - (a_i + b_i)/2|`, in input pixels, and the
  signed *offset* :math:`x_{j^*} - (a_i + b_i)/2` (positive: the peak lies
  to the right of the character's centre, towards the characters still to
  write).

Inserted and deleted characters have no pair and are not scored; the
counts say how many were.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwr.confusions import alignment
from hwr.models.backbone import min_input_width
from hwr.preprocess import PAD_LEFT_RIGHT, prepared_width


def boxes_at_input(boxes: np.ndarray, raw_height: int, raw_width: int, height: int) -> np.ndarray:
    """Character boxes of a raw line (N x 2, raw pixels) in the pixels of the
    prepared model input (:func:`hwr.preprocess.prepare`: white margins, then
    scaling to ``height``)."""
    scale = prepared_width(raw_height, raw_width, height) / (raw_width + 2 * PAD_LEFT_RIGHT)
    return (np.asarray(boxes, dtype=np.float64) + PAD_LEFT_RIGHT) * scale


def score_line(attention: np.ndarray, centres: np.ndarray, boxes: np.ndarray, reference: str,
               decoded: str) -> list[dict]:
    """Score each aligned decoded character of one line.

    Args:
        attention: S x W' (or S x H' x W') weights, step ``j`` emitted ``decoded[j]``.
        centres: W' column centres in input pixels.
        boxes: len(reference) x 2 boxes ``[a, b)`` in input pixels.
        reference, decoded: the true and the decoded text.

    Returns:
        one row per aligned pair: ``char`` (the reference character),
        ``match`` (decoded the same), ``hit``, ``mass``, ``distance`` and
        ``offset`` (pixels).
    """
    att = np.asarray(attention, dtype=np.float64)
    if att.ndim == 3:
        att = att.sum(axis=1)
    boxes = np.asarray(boxes, dtype=np.float64)
    if len(boxes) != len(reference):
        raise ValueError(f"{len(boxes)} boxes for a reference of {len(reference)} characters")
    centres = np.asarray(centres, dtype=np.float64)[: att.shape[1]]
    rows = []
    for i, j in alignment(reference, decoded):
        if i is None or j is None or j >= len(att):
            continue
        a, b = boxes[i]
        row = att[j]
        peak = centres[int(np.argmax(row))]
        inside = (centres >= a) & (centres < b)
        rows.append({"char": reference[i], "match": reference[i] == decoded[j], "hit": bool(a <= peak < b),
                     "mass": float(row[inside].sum()), "distance": float(abs(peak - (a + b) / 2)),
                     "offset": float(peak - (a + b) / 2)})
    return rows


def summarize(rows: Sequence[dict]) -> dict:
    """Shares and means over scored characters, spaces apart.

    Returns:
        ``{"chars": {...}, "spaces": {...}}``, each ``{n, hit, mass,
        distance_median, offset_median}`` (NaN where none were scored).
    """
    return _by_kind(rows, {"hit": (np.mean, "hit"), "mass": (np.mean, "mass"),
                           "distance_median": (np.median, "distance"), "offset_median": (np.median, "offset")})


def _by_kind(rows: Sequence[dict], stats: dict) -> dict:
    """``{"chars": ..., "spaces": ...}``: per kind of character, ``n`` and each
    ``name: (reduce, field)`` of ``stats`` over its rows (NaN where there are none)."""
    out = {}
    for name, keep in (("chars", lambda r: r["char"] != " "), ("spaces", lambda r: r["char"] == " ")):
        sel = [r for r in rows if keep(r)]
        out[name] = {"n": len(sel), **{k: float(f([r[field] for r in sel])) if sel else float("nan")
                                       for k, (f, field) in stats.items()}}
    return out


def reference_maps(boxes: np.ndarray, text: str, centres: np.ndarray) -> list[dict]:
    """Two maps that need no model, scored as :func:`score_line` scores a model's, per character.

    - *best*: each character's peak at the column centre nearest its box
      centre: the most a map over these columns can score (a character
      narrower than the column spacing may hold no column centre);
    - *uniform*: the peaks of a reader that moves at constant speed, the
      ``i``-th of ``n`` characters at ``(i + 1/2) / n`` of the way from the
      first box's left edge to the last box's right edge: what alignment
      alone, with no reading, would score.

    Args:
        boxes: len(text) x 2 boxes at the input (px).
        text: the line's text.
        centres: the model's memory column centres on this line (px).

    Returns:
        one row per character: ``char``, ``best_hit``, ``uniform_hit``, ``uniform_offset``.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    if len(boxes) != len(text):
        raise ValueError(f"{len(boxes)} boxes for a text of {len(text)} characters")
    if not len(text) or not len(centres):
        return []
    left, right = boxes[0, 0], boxes[-1, 1]
    rows = []
    for i, ((a, b), ch) in enumerate(zip(boxes, text)):
        best = centres[np.argmin(np.abs(centres - (a + b) / 2))]
        uniform = centres[np.argmin(np.abs(centres - (left + (i + 0.5) / len(text) * (right - left))))]
        rows.append({"char": ch, "best_hit": bool(a <= best < b), "uniform_hit": bool(a <= uniform < b),
                     "uniform_offset": float(uniform - (a + b) / 2)})
    return rows


def reference_summary(lines, model) -> dict:
    """:func:`reference_maps` over dataset ``lines`` (those with boxes), on the columns of ``model``.

    Only the model's geometry is used (input height, pools, gate shrink), not
    its weights. Lines narrower than the model's minimum width are padded on
    the right as the loaders pad them, which leaves their boxes in place.

    Returns:
        ``{"chars": {n, best, uniform, uniform_offset_median}, "spaces": {...}}`` (shares in [0, 1]).
    """
    import torch

    rows = []
    for item in lines:
        if item.boxes is None:
            continue
        h, w = item.image.shape[:2]
        width = max(prepared_width(h, w, model.input_height), min_input_width(model))
        columns = int(model.output_width(torch.tensor([width]))[0])
        boxes = boxes_at_input(item.boxes, h, w, model.input_height)
        rows += reference_maps(boxes, item.text, model.column_centres(columns).numpy())
    return _by_kind(rows, {"best": (np.mean, "best_hit"), "uniform": (np.mean, "uniform_hit"),
                           "uniform_offset_median": (np.median, "uniform_offset")})


def ink_rows(image: np.ndarray, box: Sequence[float], threshold: float = 0.5) -> tuple[int, int] | None:
    """The vertical extent of a character's ink: the first and one-past-last row, within the columns
    ``[a, b)`` of its box, holding a pixel darker than ``threshold`` (images: 0 ink, 1 paper).

    The synthetic boxes are horizontal only; the rendered ink gives the vertical one (a neighbour's
    stroke reaching into the box, a ligature say, widens it, never narrows it). None: no ink there.
    """
    a, b = int(np.floor(box[0])), int(np.ceil(box[1]))
    cols = np.asarray(image)[:, max(a, 0):max(min(b, image.shape[1]), 0)]
    dark = np.flatnonzero((cols < threshold).any(axis=1)) if cols.size else np.array([], int)
    return (int(dark[0]), int(dark[-1]) + 1) if len(dark) else None


def score_rows(attention: np.ndarray, image: np.ndarray, boxes: np.ndarray, reference: str,
               decoded: str) -> list[dict]:
    """Where a 2D attention looks vertically, per aligned decoded character (spaces left out).

    The attention's rows (H' of them) tile the input's height evenly (the
    backbone pools height uniformly). A character's ink rows
    (:func:`ink_rows`) cover some of them; the score is the attention mass
    (summed over columns) in the rows its ink touches, beside ``cover``: the
    share of rows it touches, what an attention that ignores height would
    put there.

    Args:
        attention: S x H' x W' weights, step ``j`` emitted ``decoded[j]``.
        image: H x W prepared line (0 ink, 1 paper).
        boxes: len(reference) x 2 boxes ``[a, b)`` in input pixels.

    Returns:
        one row per scored character: ``char``, ``mass`` (in its ink rows), ``cover``, ``hit`` (the
        attention's heaviest row is one of them), ``centre`` (the attention's mean row, 0 top to 1 bottom).
    """
    att = np.asarray(attention, dtype=np.float64)
    if att.ndim != 3:
        raise ValueError(f"score_rows needs 2D attention (S x H' x W'), got shape {att.shape}")
    rows_h = att.shape[1]
    height = np.asarray(image).shape[0]
    edges = np.linspace(0, height, rows_h + 1)  # input rows of each attention row: [edges[r], edges[r + 1])
    out = []
    for i, j in alignment(reference, decoded):
        if i is None or j is None or j >= len(att) or reference[i] == " ":
            continue
        extent = ink_rows(image, boxes[i])
        if extent is None:
            continue
        top, bottom = extent
        touched = (edges[1:] > top) & (edges[:-1] < bottom)
        per_row = att[j].sum(axis=1)
        total = per_row.sum()
        if total <= 0:
            continue
        per_row = per_row / total
        out.append({"char": reference[i], "mass": float(per_row[touched].sum()), "cover": float(touched.mean()),
                    "hit": bool(touched[int(np.argmax(per_row))]),
                    "centre": float((per_row * (np.arange(rows_h) + 0.5)).sum() / rows_h)})
    return out
