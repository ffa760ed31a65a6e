"""The lines and batches every training benchmark measures on (``hwr bench train``, ``flops``, ``parallel``).

Real synthetic lines where a set is on disk, else random lines with IAM-like
widths; batches drawn from one width-bucketed epoch at evenly spaced width
quantiles, so a short benchmark sees narrow and wide batches alike.
"""

from __future__ import annotations

import numpy as np

from hwr import paths
from hwr.codec import SYMBOLS
from hwr.datasets import LineItem, MemoryDataset, open_dataset
from hwr.datasets.sampler import BucketBatchSampler
from hwr.preprocess import PreparedLines, collate


def random_lines(n: int, seed: int = 0):
    """``n`` random lines (noise images, random texts) with IAM-like widths.

    Raw height 120; the raw width is chosen so the width after the thesis
    preprocessing (pad 16/32, scale to height 64) is drawn from N(750, 250)
    clipped to [250, 1400].
    """
    rng = np.random.default_rng(seed)
    alphabet = np.array([s for s in SYMBOLS if s])
    items = []
    for i in range(n):
        prepared = int(np.clip(rng.normal(750, 250), 250, 1400))
        width = int(prepared * (120 + 32) / 64) - 64
        image = rng.integers(0, 256, (120, width), dtype=np.uint8)
        text = "".join(rng.choice(alphabet, max(1, prepared // 18))).strip() or "a"
        items.append(LineItem(f"random-{i:05d}", image, text))
    return MemoryDataset(items, name="random")


def bench_lines(source: str = "auto", lines: int = 400, seed: int = 0):
    """The lines to measure on, and a description of where they come from.

    Args:
        source: "auto" (the synthetic set on disk if present, else random
            lines), "random", or any source for :func:`hwr.datasets.open_dataset`.
        lines: how many lines to draw from (the sampler buckets among them).
    """
    if source == "auto":
        found = [p for p in (paths.SYNTH / "default", paths.SYNTH / "smoke") if (p / "manifest.json").is_file()]
        source = str(found[0]) if found else "random"
    if source == "random":
        return random_lines(lines, seed), f"{lines} random lines with IAM-like widths (no synthetic set on disk)"
    ds = open_dataset(source, "train")
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(ds), min(lines, len(ds)), replace=False).tolist())
    sub = ds.subset(picked)
    return sub, f"{len(picked)} lines of {source} (train split)"


def sample_batches(dataset, batch_size: int, batches: int, height: int = 64, seed: int = 0) -> list[list[int]]:
    """``batches`` index batches of one bucketed epoch at evenly spaced width quantiles."""
    widths = PreparedLines(dataset, height).widths()
    epoch = BucketBatchSampler(widths, batch_size, seed=seed, drop_last=True).batches(0)
    if not epoch:
        raise ValueError(f"hwr bench train: {len(dataset)} lines make no full batch of {batch_size}")
    epoch.sort(key=lambda b: max(widths[i] for i in b))
    n = min(batches, len(epoch))
    picks = ((np.arange(n) + 0.5) * len(epoch) / n).astype(int)  # quantile midpoints
    return [epoch[k] for k in picks]


def collate_batches(prepared, index_batches, fixed_width: int | None) -> list:
    """The index batches of ``prepared`` lines as model input batches (:func:`hwr.preprocess.collate`):
    padded to each batch's widest line, or to ``fixed_width``."""
    return [collate([prepared[i] for i in b], fixed_width) for b in index_batches]
