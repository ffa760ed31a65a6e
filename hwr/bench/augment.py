"""``hwr bench augment``: what augmentation (:mod:`hwr.augment`) costs per training line.

Reads ``--lines`` training lines of a dataset, then times, in alternating
rounds (A B A B ...: the two measurements share the machine's state), the
loader's work per line without augmentation (decode + :func:`hwr.preprocess.prepare`)
and with it, and prints lines per second of each and their ratio. A training
step of a thesis model costs far more than either (tens of ms per line on one
thread), so the line that matters is the added milliseconds per line.
"""

from __future__ import annotations

import argparse
import time

from hwr.cli_types import number_type, positive_int

#: the range hwr.augment.Augmenter accepts
augment_strength = number_type(float, "a strength from 0 to 2", lambda v: 0 <= v <= 2, "augment_strength")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="synth:phrases-xl", help="data source (default synth:phrases-xl)")
    parser.add_argument("--lines", type=positive_int, default=200, help="training lines timed per round (200)")
    parser.add_argument("--rounds", type=positive_int, default=3, help="rounds of A B (3)")
    parser.add_argument("--height", type=positive_int, default=32, help="input height (32, the book task's)")
    parser.add_argument("--strength", type=augment_strength, default=1.0, help="augmentation strength, 0 to 2 (1.0)")


def _per_line(prepared, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        prepared[i]
    return (time.perf_counter() - started) / n


def main(args: argparse.Namespace) -> int:
    import torch

    from hwr.augment import Augmenter
    from hwr.datasets import open_dataset
    from hwr.preprocess import PreparedLines

    torch.set_num_threads(1)
    data = open_dataset(args.data, "train")
    n = min(args.lines, len(data))
    plain = PreparedLines(data, args.height)
    augmented = PreparedLines(data, args.height, augment=Augmenter(args.strength, seed=0))
    _per_line(plain, min(n, 20)), _per_line(augmented, min(n, 20))  # warm the file cache and imports
    times = {"plain": [], "augmented": []}
    for r in range(args.rounds):
        augmented.set_epoch(r)
        times["plain"].append(_per_line(plain, n))
        times["augmented"].append(_per_line(augmented, n))
    best = {k: min(v) for k, v in times.items()}
    print(f"hwr bench augment: {n} lines of {args.data} at height {args.height}, strength {args.strength}, "
          f"{args.rounds} rounds A B, one thread (best round)")
    for k in ("plain", "augmented"):
        print(f"  {k:<10} {1 / best[k]:8.1f} lines/s  {1000 * best[k]:6.2f} ms per line")
    print(f"  augmentation adds {1000 * (best['augmented'] - best['plain']):.2f} ms per line "
          f"({best['augmented'] / best['plain']:.2f}x the loader's time)")
    return 0
