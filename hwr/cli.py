"""The ``hwr`` command: one entry point for everything a reader does from a shell.

Each sub-command lives in the module that owns its job; that module defines
``configure(parser)`` (add arguments) and ``main(args) -> int | None``. They
are imported only when their command runs, so ``hwr --help`` stays fast and a
command's heavy imports (torch, papermill) cost nothing to the others.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Idle OpenMP threads must yield their core rather than spin (two cores,
# often shared with data workers). Only effective before torch is imported,
# which every command does lazily, so it is set once here for all of them.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("hwr.datasets.cli", "build the synthetic dataset, export or inspect datasets"),
    "experiments": ("hwr.models.cli", "list the thesis experiments with parameter counts"),
    "run": ("hwr.book.cli", "execute chapters with a parameter profile and render the book"),
    "train": ("hwr.train.cli", "train one model (resumable; returns a finished run as is)"),
    "bench": ("hwr.bench.cli", "measure training speed (bench train) or inference latency (bench latency)"),
    "eval": ("hwr.evaluate", "score a trained model on a dataset split: CER, WER, legacy CER, per-line predictions"),
    "recognize": ("hwr.recognize", "transcribe your own line images with a trained model"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hwr", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).configure(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Build only the parser of the requested command when one is named, so
    # `hwr data ...` does not import torch through `hwr experiments`.
    if argv and argv[0] in COMMANDS:
        module = importlib.import_module(COMMANDS[argv[0]][0])
        parser = argparse.ArgumentParser(prog=f"hwr {argv[0]}", description=COMMANDS[argv[0]][1])
        module.configure(parser)
        args = parser.parse_args(argv[1:])
        return int(module.main(args) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(importlib.import_module(args._module).main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
