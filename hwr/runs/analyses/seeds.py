"""Analyses of the seed projects' models: the names reader, CTC's NaN cases, the spatial transformer's warps."""

from __future__ import annotations

import numpy as np
import torch

from hwr.decode.ctc import ctc_greedy
from hwr.decode.family import FAMILIES
from hwr.metrics import cer, line_accuracy, positional_accuracy
from hwr.preprocess import prepare
from hwr.runs.analyses.core import _loader, analyses, test_lines
from hwr.runs.store import RunRecord
from hwr.training.ctc_checks import nan_cases


@analyses("names_reading")
def names_reading(model, rec: RunRecord, batch_size: int = 32) -> dict:
    """Seed 003's accuracies beside correct ones, on the run's test names.

    The network runs once per batch; from its output come the per-frame
    argmax (raw: blanks and repeats kept, what seed 003 compared) and the
    greedy reading (collapsed). Each is scored both ways: by edit distance
    (CER, and a line right only when read exactly) and by seed 003's
    position-by-position comparison (:func:`hwr.metrics.positional_accuracy`).

    Returns:
        ``{lines, frames, canvas, cropped, cer, char_accuracy, line_accuracy,
        raw: {char, word}, collapsed: {char, word}, cer_cropped,
        cer_whole}``: fractions; ``cropped`` is the share of test names wider
        than the model's canvas (their ends are cut off before the network
        sees them), ``cer_cropped``/``cer_whole`` the CER of those names and of
        the rest (None where there are none).
    """
    codec = FAMILIES["ctc"].codec
    canvas = getattr(getattr(model, "cfg", None), "input_width", None)
    if canvas is None:
        raise ValueError(f"{rec.folder}: names_reading needs a fixed-canvas model (names_crnn)")
    refs, raw, collapsed, widths = [], [], [], []
    with torch.no_grad():
        for batch in _loader(model, test_lines(rec), batch_size):
            lp = model(batch.images)
            raw += lp.argmax(-1).tolist()
            collapsed += ctc_greedy(lp)
            refs += list(batch.texts)
            widths += batch.widths.tolist()
    hyps = [codec.decode(lab) for lab in collapsed]
    labels = [codec.encode(r) for r in refs]
    cut = [w > canvas for w in widths]
    part = {flag: ([r for r, c in zip(refs, cut) if c == flag], [h for h, c in zip(hyps, cut) if c == flag])
            for flag in (True, False)}
    raw_char, raw_word = positional_accuracy(labels, raw)
    col_char, col_word = positional_accuracy(labels, collapsed)
    error = cer(refs, hyps)
    return {"lines": len(refs), "frames": len(raw[0]) if raw else 0, "canvas": canvas,
            "cropped": sum(cut) / max(1, len(cut)), "cer": error, "char_accuracy": 1 - error,
            "line_accuracy": line_accuracy(refs, hyps),
            "raw": {"char": raw_char, "word": raw_word}, "collapsed": {"char": col_char, "word": col_word},
            "cer_cropped": cer(*part[True]) if part[True][0] else None,
            "cer_whole": cer(*part[False]) if part[False][0] else None}


@analyses("ctc_nan")
def ctc_nan(model, rec: RunRecord, lines: int = 8) -> dict:
    """Seed 003's NaN losses reproduced on the trained model (:func:`hwr.training.ctc_checks.nan_cases`).

    One batch of ``lines`` evenly spaced test names; the impossible label
    is the batch's names joined by spaces, cut to one symbol more than the
    frames a line has.

    Returns:
        ``{frames, too_long, cases: [{case, guard, lines, infinite lines, loss,
        gradient finite, weights finite, outputs finite after the step}]}``.
    """
    codec = FAMILIES["ctc"].codec
    batch = next(iter(_loader(model, test_lines(rec, lines), lines)))
    labels = [codec.encode(t) for t in batch.texts]
    frames = model.output_width(batch.widths)
    text = " ".join(batch.texts * (1 + int(frames[0]) // max(1, len(" ".join(batch.texts)))))
    too_long = text[:int(frames[0]) + 1]
    rows = nan_cases(model, batch.images, labels, frames, codec.encode(too_long))
    return {"frames": int(frames[0]), "too_long": too_long, "cases": rows}


def nan_mechanism(result: dict) -> tuple[str, str]:
    """The verdict on ch17's mechanism, read from :func:`ctc_nan`'s result: "on the CPU, one label with no
    alignment makes a training step write NaN into the weights, and either guard keeps the step finite".

    A deterministic experiment on one batch (each case on its own copy of the model), so no interval: the
    mechanism is *reproduced* when the step on labels that all fit stays finite, the step with the
    impossible label and no guard leaves NaN weights, and both guards (``zero_infinity=True``, the
    impossible line left out) leave them finite; *not reproduced* when the impossible label leaves the
    weights finite; otherwise (a guard fails, or the step on fitting labels breaks) *inconclusive*.

    Returns:
        (outcome, explanation): the outcome is one of :mod:`hwr.stats`'s verdict words.
    """
    from hwr import stats

    rows = {(r["case"], r["guard"]): r for r in result["cases"]}
    impossible = "one label longer than its frames"
    try:
        clean = rows[("every label fits", "none")]
        poisoned = rows[(impossible, "none")]
        guards = [rows[(impossible, g)] for g in ("zero_infinity=True", "lengths checked, line left out")]
    except KeyError as e:
        raise ValueError(f"nan_mechanism: ctc_nan's result lacks the case {e.args[0]!r}") from None
    frames = result["frames"]
    if not poisoned["weights finite"]:
        if clean["weights finite"] and all(g["weights finite"] for g in guards):
            return stats.REPRODUCED, (
                f"On the CPU, with one label that needs more than the line's {frames} frames, "
                f"{poisoned['infinite lines']} of the {poisoned['lines']} lines has an infinite loss and one Adam "
                f"step leaves the weights NaN, while the same step on labels that fit, with `zero_infinity=True`, "
                f"or with the impossible line left out keeps every weight finite. An impossible label is enough to "
                f"give the seed's NaN losses on the CPU: they need no numerics off it.")
        return stats.INCONCLUSIVE, (
            "The impossible label leaves NaN weights, but so does a step that should be safe "
            f"({'the clean batch' if not clean['weights finite'] else 'a guarded step'}), so the cause is not "
            "isolated.")
    return stats.NOT_REPRODUCED, (
        f"With one label that needs more than the line's {frames} frames, the step still leaves "
        "every weight finite, so an impossible label does not explain the seed's NaN losses here.")


@analyses("stn_warps")
def stn_warps(model, rec: RunRecord, n: int = 6, pick: str = "slanted") -> dict:
    """What a light CRNN's spatial transformer does to test words (seed 004's figure).

    Args:
        n: words kept.
        pick: ``"slanted"``: the ``n`` test words whose ink leans most (the
            largest horizontal shift of the ink's centroid from its lower to
            its upper half, per row of height); ``"spaced"``: evenly spaced.

    Returns:
        ``{ids, texts, lean, theta}`` (theta: n x 2 x 3 affine maps, lean: per
        word), ``inputs`` and ``warped`` (n x H x Wmax arrays, padded with
        the paper's grey at the right), and ``shear``: the mean shear term of
        theta over all test words (``theta[0, 1]``) with its sd.
    """
    if getattr(model, "stn", None) is None:
        raise ValueError(f"{rec.folder}: stn_warps needs a model with a spatial transformer")
    lines = test_lines(rec)
    height = model.input_height
    images = [prepare(item.image, height) for item in lines]
    leans = np.array([_lean(im) for im in images])
    order = np.argsort(-leans)[:n] if pick == "slanted" else np.linspace(0, len(images) - 1, n).astype(int)
    thetas, warped = [], []
    with torch.no_grad():
        for im in images:
            x = torch.from_numpy(im)[None, None]
            out = model.stn(x)
            thetas.append(model.stn.last_theta[0].numpy())
            warped.append(out[0, 0].numpy())
    thetas = np.stack(thetas)
    width = max(images[i].shape[1] for i in order)

    def pad(a):
        return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=float(np.median(a)))

    return {"ids": [lines[int(i)].id for i in order], "texts": [lines[int(i)].text for i in order],
            "lean": [float(leans[i]) for i in order], "theta": thetas[order],
            "inputs": np.stack([pad(images[i]) for i in order]), "warped": np.stack([pad(warped[i]) for i in order]),
            "shear": float(thetas[:, 0, 1].mean()), "shear_sd": float(thetas[:, 0, 1].std())}


def _lean(image: np.ndarray) -> float:
    """How far a word's ink leans right: the horizontal shift of the ink's centroid from the lower to the upper
    half of its rows, divided by the rows between the halves' centroids (0 for upright writing)."""
    ink = np.clip(np.median(image) - image - 0.1, 0, None)
    rows = np.arange(image.shape[0])[:, None]
    cols = np.arange(image.shape[1])[None, :]
    total = ink.sum()
    if total <= 0:
        return 0.0
    mid = (ink * rows).sum() / total
    upper, lower = ink * (rows < mid), ink * (rows >= mid)
    if upper.sum() <= 0 or lower.sum() <= 0:
        return 0.0
    dx = (upper * cols).sum() / upper.sum() - (lower * cols).sum() / lower.sum()
    dy = (lower * rows).sum() / lower.sum() - (upper * rows).sum() / upper.sum()
    return float(dx / max(dy, 1e-6))
