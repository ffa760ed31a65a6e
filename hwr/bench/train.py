"""``hwr bench train``: training lines/s of the optimised loop against a straightforward one.

Both implementations train the same model on the same lines, from the same
initial weights, with the trainer's own loss and step code; they differ in
what the optimised loop of :mod:`hwr.training` does for speed:

=================  ==============================  =================================
                   straightforward                 optimised (the trainer's defaults)
=================  ==============================  =================================
padding            every line to width 1408        to the widest line of the batch,
                                                   batches of similar widths
decoder steps      98 (seq2seq)                    the longest target of the batch
memory format      default (contiguous)            channels-last (what ``hwr.models.build`` gives)
=================  ==============================  =================================

``--breakdown`` adds the padding change alone and the optimised loop in the
default memory format (``hwr bench memory-format`` compares the two formats
on their own).

The lines: the synthetic set on disk (``data/synth/default`` or ``smoke``)
when present, else random images whose widths after preprocessing follow
IAM's spread (mean about 750 px at height 64, 250-1400) with texts of about
one character per 18 px. The batches: an epoch of the bucketed sampler over
``--lines`` lines, from which ``--batches`` batches are taken at evenly spaced
width quantiles (a few random batches would over- or under-state the padding);
the straightforward run gets the same batches padded to 1408. Timing covers
forward, loss, backward and the Adam step, after ``--warmup`` untimed steps;
loading and preprocessing are done beforehand and not timed.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from hwr.bench.batches import bench_lines, collate_batches, sample_batches
from hwr.bench.flops import bench_flops
from hwr.bench.memory_format import weights_format
from hwr.cli_types import non_negative_int, positive_int
from hwr.preprocess import PreparedLines
from hwr.training.checkpoint import seed_everything
from hwr.training.config import available_cores
from hwr.training.engine import build_model
from hwr.training.losses import batch_loss

NAIVE_WIDTH = 1408
NAIVE_STEPS = 98


@dataclass(frozen=True)
class Variant:
    """One implementation: which of the three optimisations it uses."""

    name: str
    widest: bool  # pad to the batch's widest line (else to 1408)
    short_decoder: bool  # decoder steps up to the longest target (else 98)
    channels_last: bool


def variants(breakdown: bool = False) -> list[Variant]:
    """Straightforward, [pad to widest alone], optimised, [optimised in the default format]."""
    out = [Variant("straightforward", False, False, False)]
    if breakdown:
        out.append(Variant("+pad to widest", True, False, False))
    out.append(Variant("optimised", True, True, True))
    if breakdown:
        out.append(Variant("optimised, contiguous", True, True, False))
    return out


def time_variant(experiment: str, batches, variant: Variant, warmup: int = 1, seed: int = 0,
                 overrides: dict | None = None) -> dict:
    """Train ``experiment`` (with model ``overrides``) on ``batches`` as
    ``variant`` does; lines/s of the timed steps."""
    import torch

    seed_everything(seed)
    model = build_model(experiment, dict(overrides or {}))  # channels-last weights
    if not variant.channels_last:
        model = model.to(memory_format=torch.contiguous_format)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    seq2seq = model.family == "seq2seq"
    steps = None if (variant.short_decoder or not seq2seq) else NAIVE_STEPS

    def step(batch):
        optimizer.zero_grad(set_to_none=True)
        target = None if steps is None else max(steps, max(len(t) for t in batch.texts) + 1)
        loss, _, _ = batch_loss(model, batch, "cpu", 0.8, target_steps=target)
        loss.backward()
        optimizer.step()

    for k in range(warmup):
        step(batches[k % len(batches)])
    start = time.perf_counter()
    for batch in batches:
        step(batch)
    seconds = time.perf_counter() - start
    lines = sum(len(b) for b in batches)
    return {"model": experiment, "variant": variant.name, "lines": lines, "seconds": seconds,
            "lines_per_s": lines / seconds, "mean_width": float(np.mean([b.images.shape[-1] for b in batches])),
            "decoder_steps": ("98" if steps else "longest target") if seq2seq else "-", "channels_last": variant.channels_last,
            "memory_format": weights_format(model)}


def bench_train(models=("ctc_baseline", "gate_1"), batch_size: int = 16, batches: int = 3, warmup: int = 1,
                source: str = "auto", lines: int = 400, seed: int = 0, threads: int = 0,
                breakdown: bool = False, report=print, overrides: dict[str, dict] | None = None) -> dict:
    """Measure every model in ``models`` as straightforward and optimised.

    Args:
        overrides: per model name, :class:`~hwr.models.registry.ModelConfig`
            fields to change (e.g. ``{"gate_1": {"hidden": 32}}``); default none.

    Returns:
        {"rows": [{model, variant, lines, seconds, lines_per_s, mean_width,
        decoder_steps, channels_last}], "ratios": {model: optimised /
        straightforward}, "data": description, "threads", "batch_size"}.
    """
    import torch

    threads = threads or available_cores()
    torch.set_num_threads(threads)
    dataset, described = bench_lines(source, lines, seed)
    index_batches = sample_batches(dataset, batch_size, batches, 64, seed)
    prepared = PreparedLines(dataset, 64)
    narrow = collate_batches(prepared, index_batches, None)
    wide = collate_batches(prepared, index_batches, NAIVE_WIDTH)
    report(f"hwr bench train: {described}; {len(index_batches)} batches of {batch_size} "
           f"(+{warmup} warm-up), {threads} thread(s)")
    rows, ratios = [], {}
    for name in models:
        timed = {}
        for v in variants(breakdown):
            row = timed[v.name] = time_variant(name, narrow if v.widest else wide, v, warmup, seed,
                                               (overrides or {}).get(name))
            rows.append(row)
            report(f"  {name:14s} {v.name:21s} width {row['mean_width']:6.0f}  steps {row['decoder_steps']:>14s}  "
                   f"{'channels-last' if v.channels_last else 'contiguous':13s} {row['lines_per_s']:7.2f} lines/s")
        ratios[name] = timed["optimised"]["lines_per_s"] / timed["straightforward"]["lines_per_s"]
        report(f"  {name:14s} optimised / straightforward = {ratios[name]:.2f}x")
    return {"rows": rows, "ratios": ratios, "data": described, "threads": threads, "batch_size": batch_size,
            "batches": len(index_batches), "warmup": warmup}


def configure(parser) -> None:

    parser.add_argument("--models", default="ctc_baseline,gate_1", help="comma-separated registry names")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="lines per batch (default 16)")
    parser.add_argument("--batches", type=positive_int, default=3, help="timed batches per model and implementation (default 3)")
    parser.add_argument("--warmup", type=non_negative_int, default=1, help="untimed steps first (default 1)")
    parser.add_argument("--data", default="auto", help="auto (synthetic set if on disk, else random), random, or a dataset source")
    parser.add_argument("--lines", type=positive_int, default=400, help="lines the batches are bucketed from (default 400)")
    parser.add_argument("--threads", type=non_negative_int, default=0, help="torch threads; 0 (the default): one per core")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--breakdown", action="store_true", help="also time each optimisation on its own")
    parser.add_argument("--flops", action="store_true",
                        help="instead: FLOPs per training line, efficiency against this machine's matmul rate, "
                             "and training time by part (hwr.bench.flops)")
    parser.add_argument("--out", default=None, metavar="FILE", help="also write the results as JSON to FILE")


def main(args) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if getattr(args, "flops", False):

        result = bench_flops(models, args.batch_size, args.batches, args.warmup, args.data, args.lines, args.seed,
                             args.threads)
    else:
        result = bench_train(models, args.batch_size, args.batches, args.warmup, args.data, args.lines, args.seed,
                             args.threads, args.breakdown)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return 0
