"""Attention analyses: maps of a few lines, and where the attention falls against the character boxes."""

from __future__ import annotations

import numpy as np
import torch

from hwr.decode import transcribe
from hwr.runs.analyses.core import _loader, analyses, test_lines
from hwr.runs.store import RunRecord
from hwr.segmentation import boxes_at_input, score_line, score_rows, summarize


#: test lines the attention of every seq2seq run is measured on when the run ends (the chapters read it back)
SEGMENTATION_LINES = 400


@analyses("attention_maps")
def attention_maps(model, rec: RunRecord, n: int = 4, max_steps: int = 98) -> dict:
    """Attention maps of ``n`` evenly spaced test lines, each decoded alone (no padding).

    Arrays: ``image_<i>`` (H x W uint8, the prepared line), ``attention_<i>``
    (steps x W', or steps x H' x W', float16; one row per emitted character
    and one for EOS).

    Returns:
        ``{lines: [{id, reference, decoded}], ...arrays}``
    """
    out: dict = {"lines": []}
    with torch.no_grad():
        for i, batch in enumerate(_loader(model, test_lines(rec, n), 1)):
            t = transcribe(model, batch.images, batch.widths, max_steps=max_steps, attention=True)
            steps = min(len(t.texts[0]) + 1, t.attention.shape[1])
            out[f"attention_{i}"] = t.attention[0, :steps].numpy().astype(np.float16)
            out[f"image_{i}"] = (batch.images[0, 0].numpy() * 255).round().astype(np.uint8)
            out["lines"].append({"id": str(batch.ids[0]), "reference": batch.texts[0], "decoded": t.texts[0]})
    return out


#: the scored test lines of the last run asked for, so that its segmentation and its examples decode them once
_SCORED: dict = {}


def _scored_lines(model, rec: RunRecord, n: int | None, max_steps: int) -> tuple[int, list[tuple]]:
    """How many of ``rec``'s test lines were asked for (the first ``n``), and
    their :func:`_score_lines`, computed once per run and checkpoint (the
    last run's are kept)."""
    checkpoint = rec.folder / "checkpoints" / "best.pt"
    key = (str(rec.folder), checkpoint.stat().st_mtime_ns if checkpoint.exists() else None, n, max_steps)
    if key not in _SCORED:
        _SCORED.clear()
        lines = test_lines(rec, n)
        _SCORED[key] = len(lines), list(_score_lines(model, lines, max_steps))
    return _SCORED[key]


def _score_lines(model, lines, max_steps: int):
    """Decode each of ``lines`` alone and score its attention against its
    character boxes (:func:`hwr.segmentation.score_line`).

    Yields:
        ``(item, image, attention, centres, boxes, decoded, rows)`` per line
        that has boxes: the prepared image (H x W float), the attention (S x W'
        or S x H' x W'), the memory column centres, the boxes at the input,
        the decoded text and the rows.
    """
    with torch.no_grad():
        for k, batch in enumerate(_loader(model, lines, 1)):
            item = lines[k]
            if item.boxes is None:
                continue
            t = transcribe(model, batch.images, batch.widths, max_steps=max_steps, attention=True)
            att = t.attention[0].numpy()
            centres = model.column_centres(att.shape[-1]).numpy()
            h, w = item.image.shape[:2]
            boxes = boxes_at_input(item.boxes, h, w, model.input_height)
            rows = score_line(att, centres, boxes, item.text, t.texts[0])
            yield item, batch.images[0, 0].numpy(), att, centres, boxes, t.texts[0], rows


def _line_hit(rows: list[dict]) -> float | None:
    hits = [r["hit"] for r in rows if r["char"] != " "]
    return float(np.mean(hits)) if hits else None


@analyses("segmentation", version=3)  # 2: signed offsets; 3: rows as an array
def segmentation(model, rec: RunRecord, n: int | None = None, max_steps: int = 98) -> dict:
    """Attention maps as character segmentation (:mod:`hwr.segmentation`) on
    the test lines, each decoded alone (no padding in its attention).

    Returns:
        ``{lines, scored_lines, summary: {chars, spaces}, char_width_px (mean
        width of a character box at the input, spaces left out), rows (an
        array, one row per scored character: hit, mass, offset, is_space),
        per_line}`` (rows: every scored
        character, for distributions; lines without boxes are left out and
        counted).
    """
    n_lines, scored = _scored_lines(model, rec, n, max_steps)
    rows, per_line, widths = [], [], []
    for item, _, _, _, boxes, decoded, line_rows in scored:
        widths += [b - a for (a, b), ch in zip(boxes, item.text) if ch != " "]
        rows += line_rows
        per_line.append({"id": str(item.id), "reference": item.text, "decoded": decoded, "hit": _line_hit(line_rows)})
    return {"lines": n_lines, "scored_lines": len(per_line), "summary": summarize(rows),
            "char_width_px": float(np.mean(widths)) if widths else float("nan"),
            "rows": np.array([[r["hit"], r["mass"], r["offset"], r["char"] == " "] for r in rows],
                             dtype=np.float32).reshape(-1, 4),
            "per_line": per_line}


@analyses("segmentation_examples")
def segmentation_examples(model, rec: RunRecord, n: int | None = None, k: int = 2, min_chars: int = 8,
                          max_steps: int = 98) -> dict:
    """The ``k`` test lines (of at least ``min_chars`` characters) whose
    attention peaks fall in their characters' boxes most often, and the ``k``
    where least often, with everything needed to draw them.

    Arrays per example ``i`` (best first, then worst): ``image_<i>`` (H x W
    uint8), ``attention_<i>`` (S x W' or S x H' x W' float16), ``boxes_<i>``
    (characters x 2, input pixels), ``centres_<i>`` (W' column centres).

    Returns:
        ``{examples: [{id, reference, decoded, hit, kind ("best"/"worst")}], ...arrays}``
    """
    scored = []
    for item, image, att, centres, boxes, decoded, rows in _scored_lines(model, rec, n, max_steps)[1]:
        hit = _line_hit(rows)
        if hit is not None and len(item.text.replace(" ", "")) >= min_chars:
            scored.append((hit, -len(item.text), item, image, att, centres, boxes, decoded))
    scored.sort(key=lambda x: (x[0], x[1]))
    worst, best = scored[:k], scored[::-1][:k]
    out: dict = {"examples": []}
    for i, (kind, (hit, _, item, image, att, centres, boxes, decoded)) in enumerate(
            [("best", x) for x in best] + [("worst", x) for x in worst if all(x is not b for b in best)]):
        out["examples"].append({"id": str(item.id), "reference": item.text, "decoded": decoded, "hit": hit,
                                "kind": kind})
        out[f"image_{i}"] = (image * 255).round().astype(np.uint8)
        out[f"attention_{i}"] = att.astype(np.float16)
        out[f"boxes_{i}"] = np.asarray(boxes, dtype=np.float32)
        out[f"centres_{i}"] = centres.astype(np.float32)
    return out


@analyses("vertical")
def vertical(model, rec: RunRecord, n: int | None = None, max_steps: int = 98) -> dict:
    """Where a 2D attention looks vertically (:func:`hwr.segmentation.score_rows`), on the first ``n``
    test lines with boxes, decoded once with :func:`segmentation` (the 1D models' maps have no height:
    ``two_d`` False and nothing scored).

    Returns:
        ``{two_d, scored, chars, rows, summary}``: ``rows`` a (scored x 4) array of mass in the
        character's ink rows, the share of rows its ink covers, whether the heaviest row is one of them,
        and the attention's mean row (0 top, 1 bottom); ``chars`` the scored characters in order; and
        ``summary`` their means (``mass``, ``cover``, ``hit``).
    """
    _, scored = _scored_lines(model, rec, n, max_steps)
    rows, two_d = [], False
    for item, image, att, _, boxes, decoded, _ in scored:
        if att.ndim != 3:
            break
        two_d = True
        rows += score_rows(att, image, boxes, item.text, decoded)
    table = np.array([[r["mass"], r["cover"], r["hit"], r["centre"]] for r in rows], dtype=np.float64).reshape(-1, 4)
    summary = {k: float(table[:, c].mean()) if len(table) else float("nan")
               for c, k in enumerate(("mass", "cover", "hit"))}
    return {"two_d": two_d, "scored": len(rows), "chars": "".join(r["char"] for r in rows), "rows": table,
            "summary": summary}
