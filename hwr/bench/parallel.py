"""``hwr bench parallel``: how to spend a machine's cores on several runs.

A sweep trains many independent runs. On a machine with ``C`` cores they can
run one at a time with ``C`` torch threads each, or ``C`` at a time with one
thread each, or anything between. This benchmark measures the total training
throughput (lines per second summed over the runs in flight) of each
arrangement ``workers x threads`` with ``workers * threads = C``, on the same
batches (:func:`hwr.bench.train.time_variant`, the trainer's optimised step),
in alternating rounds (A B B A ...) so that a change in the machine's load
falls on every arrangement alike.

Each worker is a fresh process (spawned, so its OpenMP pool has exactly
``threads`` threads) that builds the model and times the same batches; the
workers of one arrangement start together. The ratio of the arrangements is
what to read: absolute lines/s move with whatever else the machine does.
"""

from __future__ import annotations

import json
import os
import statistics

from hwr.bench.batches import bench_lines, collate_batches, sample_batches
from hwr.bench.train import time_variant, variants
from hwr.cli_types import positive_int
from hwr.preprocess import PreparedLines
from hwr.training.config import available_cores


def _worker(job: dict) -> float:
    os.environ["OMP_NUM_THREADS"] = str(job["threads"])
    import torch

    torch.set_num_threads(job["threads"])

    dataset, _ = bench_lines(job["data"], job["lines"], 0)
    index = sample_batches(dataset, job["batch_size"], job["batches"], 64, 0)
    batches = collate_batches(PreparedLines(dataset, 64), index, None)
    optimised = [v for v in variants() if v.name == "optimised"][0]
    return time_variant(job["model"], batches, optimised, warmup=1)["lines_per_s"]


def arrangements(cores: int) -> list[tuple[int, int]]:
    """Every (workers, threads) with workers * threads == cores, most workers first."""
    return [(w, cores // w) for w in range(cores, 0, -1) if cores % w == 0]


def bench_parallel(model: str = "ctc_baseline", cores: int | None = None, rounds: int = 2, batch_size: int = 16,
                   batches: int = 4, data: str = "auto", lines: int = 200, report=print) -> dict:
    """Total lines/s of each arrangement, per round and as the median of rounds."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    cores = cores or available_cores()
    options = arrangements(cores)
    order = []
    for r in range(rounds):  # A B, B A, A B ...: drifts in load hit every arrangement
        order += options if r % 2 == 0 else options[::-1]
    totals: dict[str, list[float]] = {f"{w}x{t}": [] for w, t in options}
    ctx = mp.get_context("spawn")
    for w, t in order:
        job = {"threads": t, "model": model, "data": data, "lines": lines, "batch_size": batch_size,
               "batches": batches}
        with ProcessPoolExecutor(w, mp_context=ctx) as pool:
            speeds = list(pool.map(_worker, [job] * w))
        totals[f"{w}x{t}"].append(sum(speeds))
        report(f"  {w} worker(s) x {t} thread(s): {sum(speeds):6.2f} lines/s in all "
               f"({', '.join(f'{s:.2f}' for s in speeds)})")
    median = {k: statistics.median(v) for k, v in totals.items()}
    best = max(median, key=median.get)
    base = f"1x{cores}"
    return {"model": model, "cores": cores, "rounds": totals, "median": median, "best": best,
            "ratio_to_one_run": {k: v / median[base] for k, v in median.items()}}


def configure(parser) -> None:

    parser.add_argument("--model", default="ctc_baseline", help="registry name (default ctc_baseline)")
    parser.add_argument("--cores", type=positive_int, default=None, help="cores to share out (default: all available)")
    parser.add_argument("--rounds", type=positive_int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--batches", type=positive_int, default=4, help="timed batches per worker (default 4)")
    parser.add_argument("--batch-size", type=positive_int, default=16)
    parser.add_argument("--data", default="auto", help="auto, random or a dataset source (as bench train)")
    parser.add_argument("--out", default=None, metavar="FILE", help="also write the results as JSON to FILE")


def main(args) -> int:
    result = bench_parallel(args.model, args.cores, args.rounds, args.batch_size, args.batches, args.data)
    print("median total lines/s: " + ", ".join(f"{k} {v:.2f}" for k, v in result["median"].items()))
    print("relative to one run on all cores: "
          + ", ".join(f"{k} {v:.2f}x" for k, v in result["ratio_to_one_run"].items()) + f"; best: {result['best']}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    return 0
