"""``python -m hwr.training EXPERIMENT --data SOURCE --out DIR [options]``: the
``hwr train`` command as a module, which is what ``torchrun`` starts::

    torchrun --nproc_per_node 2 -m hwr.training ctc_baseline --data synth --out results/ddp/ctc

With torchrun's variables set, the run is shared over its processes
(:mod:`hwr.training.distributed`); without them it is ``hwr train`` exactly.
"""

from __future__ import annotations

import sys

from hwr import cli


def main(argv: list[str] | None = None) -> int:
    """Run ``hwr train`` with ``argv`` (default: the command line)."""
    return cli.main(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
