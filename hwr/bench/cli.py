"""``hwr bench train|latency|memory-format|compile|parallel|joint-ctc|augment|task``: dispatch to the benchmark modules
(:mod:`hwr.bench`, and :mod:`hwr.runs.candidates` for ``task``, which trains runs of the store).

Each benchmark module defines ``configure(parser)`` and ``main(args)``; it is
imported when ``hwr bench`` runs. An import error is a bug and surfaces with
its traceback.
"""

from __future__ import annotations

import argparse
import importlib

BENCHES = {
    "train": ("hwr.bench.train", "training lines/s: optimised loop against a straightforward one"),
    "latency": ("hwr.bench.latency", "inference latency of the thesis models (batch 1 and 24)"),
    "memory-format": ("hwr.bench.memory_format", "default against channels-last memory format, side by side"),
    "compile": ("hwr.bench.compile", "torch.compile and width bucketing, each against the plain way, in training lines/s"),
    "parallel": ("hwr.bench.parallel", "workers x threads: total training lines/s of parallel runs, side by side"),
    "joint-ctc": ("hwr.bench.joint_ctc", "attention model with an auxiliary CTC loss against without, side by side"),
    "augment": ("hwr.bench.augment", "cost of training-time augmentation: prepared lines/s with and without, side by side"),
    "task": ("hwr.runs.candidates", "book-task candidates: task x model x minutes -> val CER, lines/s"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name, (module, help_text) in BENCHES.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = importlib.import_module(module)
        mod.configure(p)
        p.set_defaults(_bench_main=mod.main)


def main(args: argparse.Namespace) -> int:
    return int(args._bench_main(args) or 0)
