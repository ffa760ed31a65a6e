"""``hwr bench memory-format``: default (contiguous) against channels-last, side by side.

The question it answers: should the models run their convolutions in
channels-last memory format? The answer depends on the CPU, the thread count
and the model, so the measurement is kept here for a reader to re-run rather
than quoted as a constant.

Per model it builds one network, copies it, converts one copy's 4-D weights
to channels-last and the other to the default format (same weights), and
times, in one process:

* a training step (forward, loss, backward, Adam) on one batch of ``--batch``
  random lines ``--width`` wide (750: the mean IAM line width at height 64)
  with texts of one character per 18 px, as IAM's,
* a batch-1 inference call (``no_grad``) on one such line (seq2seq:
  ``--steps`` decoder steps, not stopping at EOS).

Timings alternate between the two formats, in the order A B B A, ``--rounds``
times, so a change of load from other processes affects both alike. Each
timing is the CPU time of the process (``time.process_time``), which on one
thread is the work done and hardly depends on what other processes run;
wall-clock times are recorded too. The report gives the median of each and
the ratio channels-last / default (below 1: channels-last is faster) with
the spread of the ratios of neighbouring A-B pairs.
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from typing import Sequence

import torch

from hwr.cli_types import non_negative_int, positive_int
from hwr.codec import SYMBOLS
from hwr.models import build
from hwr.preprocess import Batch
from hwr.provenance import hardware
from hwr.training.losses import batch_loss

FORMATS = ("default", "channels_last")


def _as_format(model, fmt: str):
    return model.to(memory_format=torch.channels_last if fmt == "channels_last" else torch.contiguous_format)


def _train_batch(batch_size: int, height: int, width: int, seed: int):
    """A batch of random B x 1 x height x width images with random texts of
    one character per 18 px (at height 64)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    alphabet = np.array([s for s in SYMBOLS if s.strip()])
    chars = max(1, width * 64 // height // 18)
    texts = ["".join(rng.choice(alphabet, chars)) for _ in range(batch_size)]
    images = torch.from_numpy(rng.random((batch_size, 1, height, width), dtype=np.float32))
    return Batch(images, torch.full((batch_size,), width, dtype=torch.long), texts,
                 [f"random-{i}" for i in range(batch_size)])


def measure_model(name: str, batch_size: int = 8, width: int = 750, steps: int = 45, rounds: int = 3,
                  seed: int = 0, report=print, overrides: dict | None = None) -> dict:
    """Time ``name``'s training step and batch-1 inference in both formats.

    Args:
        overrides: :class:`~hwr.models.registry.ModelConfig` fields to change.

    Returns:
        {"model", "batch", "width" (of the lines),
        "formats" (the layout each copy's weights were measured in),
        "train_ms": {fmt: [2 * rounds CPU times]}, "infer_ms": {fmt: [...]},
        "train_wall_ms", "infer_wall_ms" (the same calls, wall clock),
        "train_median_ms", "infer_median_ms": {fmt: ms},
        "train_ratio", "infer_ratio" (channels-last / default medians),
        "train_ratio_range", "infer_ratio_range" (min, max of the paired ratios)}.
    """
    torch.manual_seed(seed)
    base = build(name, **(overrides or {}))
    models = {f: _as_format(copy.deepcopy(base), f) for f in FORMATS}
    optimisers = {f: torch.optim.Adam(m.parameters(), lr=5e-4) for f, m in models.items()}
    height = base.input_height
    batch = _train_batch(batch_size, height, width * height // 64, seed)
    line = batch.images[:1]

    def train_step(fmt):
        model = models[fmt].train()
        optimisers[fmt].zero_grad(set_to_none=True)
        t0, c0 = time.perf_counter(), time.process_time()
        loss, _, _ = batch_loss(model, batch, "cpu", 0.8)
        loss.backward()
        optimisers[fmt].step()
        return time.process_time() - c0, time.perf_counter() - t0

    @torch.no_grad()
    def infer(fmt):
        model = models[fmt].eval()
        t0, c0 = time.perf_counter(), time.process_time()
        if model.family == "seq2seq":
            model(line, max_steps=steps, stop_at_eos=False)
        else:
            model(line)
        return time.process_time() - c0, time.perf_counter() - t0

    for f in FORMATS:  # warm-up: first calls allocate and pick kernels
        train_step(f)
        infer(f)
    timings = {k: {f: [] for f in FORMATS} for k in ("train", "infer", "train_wall", "infer_wall")}
    for r in range(rounds):
        order = FORMATS if r % 2 == 0 else FORMATS[::-1]
        for f in order + order[::-1]:  # A B B A
            for key, call in (("train", train_step), ("infer", infer)):
                cpu, wall = call(f)
                timings[key][f].append(1000 * cpu)
                timings[f"{key}_wall"][f].append(1000 * wall)
    out = {"model": name, "batch": batch_size, "width": int(batch.images.shape[-1]),
           "formats": {f: weights_format(m) for f, m in models.items()},
           **{f"{k}_ms": v for k, v in timings.items()}}
    for key in ("train", "infer"):
        ms = timings[key]
        med = {f: statistics.median(v) for f, v in ms.items()}
        per_round = [c / d for c, d in zip(ms["channels_last"], ms["default"])]
        out[f"{key}_median_ms"] = med
        out[f"{key}_ratio"] = med["channels_last"] / med["default"]
        out[f"{key}_ratio_range"] = (min(per_round), max(per_round))
    report(format_row(out))
    return out


def format_row(r: dict) -> str:
    def part(key):
        m, (lo, hi) = r[f"{key}_median_ms"], r[f"{key}_ratio_range"]
        return (f"{m['default']:8.1f} {m['channels_last']:8.1f} ms  ratio {r[f'{key}_ratio']:.3f} "
                f"[{lo:.2f}-{hi:.2f}]")
    return f"{r['model']:14s} train {part('train')}   infer b1 {part('infer')}"


def run(models: Sequence[str] = ("ctc_baseline", "gate_1"), threads: int = 1, report=print, **kw) -> dict:
    """:func:`measure_model` for each model at ``threads`` torch threads."""
    torch.set_num_threads(threads)
    report(f"hwr bench memory-format: {threads} thread(s), torch {torch.__version__}; "
           "CPU ms per call: default, channels-last, ratio channels-last/default [pairs min-max]")
    results = [measure_model(m, report=report, **kw) for m in models]
    return {"threads": threads, "torch": torch.__version__, "cpu": hardware()["cpu"], "results": results}


def configure(parser) -> None:
    """Arguments of ``hwr bench memory-format``."""
    parser.add_argument("--models", default="ctc_baseline,gate_1", help="comma-separated registry names")
    parser.add_argument("--batch", type=positive_int, default=8, help="lines per training batch (default 8)")
    parser.add_argument("--width", type=positive_int, default=750, help="line width at height 64 (default 750)")
    parser.add_argument("--steps", type=positive_int, default=45, help="seq2seq decoder steps at inference (default 45)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="A B B A rounds (default 3: 6 timings per format)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--out", default=None, metavar="FILE", help="also write the results as JSON to FILE")


def main(args) -> int:
    result = run([m.strip() for m in args.models.split(",") if m.strip()], args.threads, batch_size=args.batch,
                 width=args.width, steps=args.steps, rounds=args.rounds, seed=args.seed)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return 0


def weights_format(model) -> str:
    """``"channels_last"`` or ``"contiguous"``: the layout the 4-D weights of
    ``model`` are actually in (``"none"`` without 4-D weights), so a report
    states what was measured rather than what was asked for."""
    four_d = [p for p in model.parameters() if p.dim() == 4 and p.size(1) > 1 and p.size(2) * p.size(3) > 1]
    if not four_d:
        return "none"
    if all(p.is_contiguous(memory_format=torch.channels_last) for p in four_d):
        return "channels_last"
    return "contiguous" if all(p.is_contiguous() for p in four_d) else "mixed"
