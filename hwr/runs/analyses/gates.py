"""The gate analysis: what the GFCN gates pass, per block, over test lines."""

from __future__ import annotations

import numpy as np
import torch

from hwr.models.gate import GateBlock
from hwr.runs.analyses.core import _loader, analyses, test_lines
from hwr.runs.store import RunRecord


@analyses("gate_activations")
def gate_activations(model, rec: RunRecord, n: int = 64, n_maps: int = 2, bins: int = 50) -> dict:
    """What the gate blocks let through: the sigmoid half of each block
    (``sigmoid(x2)`` in :class:`hwr.models.gate.GateBlock`, before its IN), on
    ``n`` evenly spaced test lines, each run alone (no padding).

    Arrays: ``image_<i>`` (H x W uint8) and ``gate_<i>_<b>`` (C x W'_b
    float16, averaged over the feature rows) for the first ``n_maps`` lines
    and each block ``b``; ``centres_<b>`` (W'_b of the widest line: where
    each column of block ``b`` sits on the input, in pixels); ``hist``
    (blocks x ``bins``: the share of gate values in each of ``bins`` equal
    bins over [0, 1], over all lines, channels and columns).

    Returns:
        ``{blocks, lines: [{id, reference}], summary: [{block, mean, sd,
        closed (share < 0.1), open (share > 0.9), channel_sd (sd over
        channels of each channel's mean)}]}``
    """
    blocks = [m for m in model.modules() if isinstance(m, GateBlock)]
    if not blocks:
        raise ValueError(f"{rec.spec.experiment} has no gate blocks")
    seen: dict[int, torch.Tensor] = {}
    hooks = [b.conv.register_forward_hook(lambda mod, inp, out, i=i: seen.__setitem__(i, out.chunk(2, dim=1)[1]))
             for i, b in enumerate(blocks)]
    out: dict = {"blocks": len(blocks), "lines": []}
    hist = np.zeros((len(blocks), bins))
    totals = np.zeros((len(blocks), 3))  # sum, sum of squares, count
    channel_means: list[list[np.ndarray]] = [[] for _ in blocks]
    closed, opened = np.zeros(len(blocks)), np.zeros(len(blocks))
    widest = 0
    try:
        with torch.no_grad():
            for k, batch in enumerate(_loader(model, test_lines(rec, n), 1)):
                model.encode(batch.images)
                if k < n_maps:
                    out[f"image_{k}"] = (batch.images[0, 0].numpy() * 255).round().astype(np.uint8)
                    out["lines"].append({"id": str(batch.ids[0]), "reference": batch.texts[0]})
                for b in range(len(blocks)):
                    g = torch.sigmoid(seen[b][0]).mean(dim=1).numpy()  # C x W'
                    if k < n_maps:
                        out[f"gate_{k}_{b}"] = g.astype(np.float16)
                    hist[b] += np.histogram(g, bins=bins, range=(0.0, 1.0))[0]
                    totals[b] += (g.sum(), (g ** 2).sum(), g.size)
                    closed[b] += (g < 0.1).sum()
                    opened[b] += (g > 0.9).sum()
                    channel_means[b].append(g.mean(axis=1))
                widest = max(widest, seen[len(blocks) - 1].shape[-1])
    finally:
        for h in hooks:
            h.remove()
    # column k of block b is made from backbone columns k .. k + (shrink of blocks 0..b): its
    # centre lies half the later blocks' shrink left of the last block's column k (Seq2Seq.column_centres)
    for b in range(len(blocks)):
        later = sum(x.shrink() for x in blocks[b + 1:])
        centres = model.column_centres(widest + later).numpy()
        stride = float(centres[1] - centres[0])
        out[f"centres_{b}"] = (centres - later / 2 * stride).astype(np.float32)
    out["hist"] = (hist / hist.sum(axis=1, keepdims=True)).astype(np.float32)
    summary = []
    for b in range(len(blocks)):
        s, s2, c = totals[b]
        means = np.mean(channel_means[b], axis=0)
        summary.append({"block": b + 1, "mean": s / c, "sd": float(np.sqrt(max(0.0, s2 / c - (s / c) ** 2))),
                        "closed": closed[b] / c, "open": opened[b] / c, "channel_sd": float(means.std())})
    out["summary"] = summary
    return out
