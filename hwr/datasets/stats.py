"""Summary statistics of a line dataset, read from headers and texts only."""

from __future__ import annotations

from collections import Counter

import numpy as np

from hwr.preprocess import THESIS_EVAL_WIDTH, prepared_width


def _describe(values) -> dict:
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {"min": 0, "median": 0, "mean": 0.0, "max": 0}
    return {"min": int(v.min()), "median": float(np.median(v)), "mean": round(float(v.mean()), 1), "max": int(v.max())}


def dataset_stats(ds, height: int = 64, max_steps: int = 98) -> dict:
    """Counts and distributions of one dataset split.

    Args:
        ds: a :class:`hwr.datasets.LineDataset`.
        height: model input height, for the prepared widths.
        max_steps: decoder steps of the seq2seq models; a line needs
            len(text) + 1 of them (text plus EOS).

    Returns:
        dict with lines, image heights/widths (raw), prepared widths, text
        length in characters and words, character counts, the lines wider than
        the thesis's fixed evaluation width, the lines too long for
        ``max_steps``, unreadable headers and the normalisation report.
    """
    sizes = ds.sizes()
    ok = [(h, w) for h, w in sizes if h and w]
    prepared = [prepared_width(h, w, height) for h, w in ok]
    lengths = [len(t) for t in ds.texts]
    chars = Counter("".join(ds.texts))
    eval_width = THESIS_EVAL_WIDTH.get(height)
    return {
        "name": ds.name, "split": ds.split, "lines": len(ds),
        "unreadable_headers": len(sizes) - len(ok),
        "height": _describe([h for h, _ in ok]),
        "width": _describe([w for _, w in ok]),
        f"prepared_width_h{height}": _describe(prepared),
        "wider_than_eval_width": {"width": eval_width, "lines": sum(w > eval_width for w in prepared) if eval_width else None},
        "chars_per_line": _describe(lengths),
        "words_per_line": _describe([len(t.split()) for t in ds.texts]),
        "too_long_for_decoder": {"max_steps": max_steps, "lines": sum(n + 1 > max_steps for n in lengths)},
        "distinct_chars": len(chars),
        "top_chars": "".join(c for c, _ in chars.most_common(20)),
        "report": ds.report.summary(),
    }


def format_stats(stats: dict) -> str:
    """Human-readable lines for :func:`dataset_stats`."""
    out = []
    for key, value in stats.items():
        if isinstance(value, dict):
            value = "  ".join(f"{k}={v}" for k, v in value.items())
        out.append(f"{key:>24}: {value}")
    return "\n".join(out)
