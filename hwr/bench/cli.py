"""``hwr bench train|latency``: dispatch to :mod:`hwr.bench.train` and :mod:`hwr.bench.latency`.

Each benchmark module defines ``configure(parser)`` and ``main(args)``; a
module is imported only when ``hwr bench`` runs, and a missing one disables
its sub-command with a clear message instead of breaking the other.
"""

from __future__ import annotations

import argparse
import importlib


BENCHES = {
    "train": ("hwr.bench.train", "training lines/s: optimised loop against a straightforward one"),
    "latency": ("hwr.bench.latency", "inference latency of the thesis models (batch 1 and 24)"),
    "task": ("hwr.bench.task", "book-task candidates: task x model x minutes -> val CER, lines/s"),
}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name, (module, help_text) in BENCHES.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            p.set_defaults(_bench_error=f"hwr bench {name}: {module} cannot be imported ({e})")
            continue
        mod.configure(p)
        p.set_defaults(_bench_main=mod.main)


def main(args: argparse.Namespace) -> int:
    if getattr(args, "_bench_error", None):
        raise SystemExit(args._bench_error)
    return int(args._bench_main(args) or 0)
