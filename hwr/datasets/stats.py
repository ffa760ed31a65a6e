"""Summary statistics of a line dataset, read from headers and texts only,
and the IAM reference figures its transcriptions are compared with."""

from __future__ import annotations

from collections import Counter

import numpy as np

from hwr.datasets.geometry import THESIS_EVAL_WIDTH, prepared_width


#: IAM line statistics, measured on the transcriptions of IAM's line list
#: (``ascii/lines.txt`` of the IAM Handwriting Database 3.0, all 13,353 lines;
#: the project's data specification). Rates are per 1000 characters (spaces included);
#: ``upper_percent`` is the share of upper-case letters among all characters.
IAM_STATS: dict = {
    "source": "IAM Handwriting Database 3.0, ascii/lines.txt (all lines)",
    "length_mean": 42.2, "length_sd": 10.3, "length_p5": 25, "length_p95": 58, "length_max": 87,
    "per_1000": {".": 11.0, ",": 10.0, "'": 3.5, '"': 2.9, "-": 2.75, ";": 0.36, ":": 0.29,
                 "?": 0.46, "!": 0.40, "(": 0.36, ")": 0.36, "&": 0.10, "#": 0.14},
    "digits_per_1000": 3.7,
    "upper_percent": 2.9,
}


def text_stats(texts: list[str]) -> dict:
    """Line-length and character statistics of transcriptions, in the shape
    of :data:`IAM_STATS`."""
    if not texts:
        raise ValueError("no texts to measure")
    lengths = np.array([len(t) for t in texts])
    counts = Counter("".join(texts))
    n = max(1, int(lengths.sum()))
    return {
        "lines": len(texts),
        "length_mean": round(float(lengths.mean()), 1), "length_sd": round(float(lengths.std()), 1),
        "length_p5": int(np.percentile(lengths, 5)), "length_p95": int(np.percentile(lengths, 95)),
        "length_max": int(lengths.max()),
        "per_1000": {ch: round(1000 * counts[ch] / n, 2) for ch in IAM_STATS["per_1000"]},
        "digits_per_1000": round(1000 * sum(counts[d] for d in "0123456789") / n, 2),
        "upper_percent": round(100 * sum(v for k, v in counts.items() if k.isupper()) / n, 2),
    }

def compare_with_iam(texts: list[str]) -> list[tuple[str, float, float]]:
    """Rows ``(statistic, this dataset, IAM)`` for a table in the book."""
    s = text_stats(texts)
    rows = [(k, s[k], IAM_STATS[k]) for k in ("length_mean", "length_sd", "length_p5", "length_p95",
                                               "length_max")]
    rows += [(f"'{ch}' per 1000", s["per_1000"][ch], v) for ch, v in IAM_STATS["per_1000"].items()]
    rows += [("digits per 1000", s["digits_per_1000"], IAM_STATS["digits_per_1000"]),
             ("upper case %", s["upper_percent"], IAM_STATS["upper_percent"])]
    return rows


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
