"""The ``hwr`` command: one entry point for everything a reader does from a shell.

Each sub-command lives in the module that owns its job; that module defines
``configure(parser)`` (add arguments) and ``main(args) -> int | None``. They
are imported only when their command runs, so ``hwr --help`` stays fast and a
command's heavy imports (torch, papermill) cost nothing to the others. For the
same reason the ``cli`` modules import what a command needs inside its
``main``: everywhere else in the package imports sit at module top, except a
few marked lazy on purpose.

Errors take one path: a problem a person can act on (a bad dataset, a missing
or unreadable file, a full disk: :class:`hwr.errors.HwrError` and the errors
in :data:`USER_ERRORS`) is printed as one line ``hwr COMMAND: error: ...``
with exit code 2, like argparse's usage errors; ``--debug`` (before or after
the command) or ``HWR_DEBUG=1`` shows its traceback. Ctrl-C prints
``hwr COMMAND: interrupted`` and exits with code 130. Anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations

import argparse
import errno
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
    "models": ("hwr.models.cli", "list the registry's models with parameter counts (and the thesis's counts)"),
    "experiments": ("hwr.models.cli", "the same as `hwr models` (its earlier name)"),
    "run": ("hwr.book.cli", "execute chapters with a parameter profile and render the book"),
    "train": ("hwr.training.cli", "train one model (resumable; returns a finished run as is)"),
    "bench": ("hwr.bench.cli", "measure training speed (bench train) or inference latency (bench latency)"),
    "eval": ("hwr.evaluation.cli", "score a trained model on a dataset split: CER, WER, legacy CER, per-line predictions"),
    "recognize": ("hwr.recognize.cli", "transcribe your own line images with a trained model"),
    "ship": ("hwr.ship.cli", "ship trained models with the book (models/), export them to ONNX for its page"),
    "runs": ("hwr.runs.check_cli", "verify a run store: every finished run's records against themselves and their "
                                   "manifest (hwr runs check results/book)"),
    "sweep": ("hwr.runs.cli", "train the missing runs of chapters' studies (local pool or SLURM via submitit)"),
}


#: user-facing errors defined where they live (not HwrError subclasses there),
#: matched by class name so that a module's move does not lose them
USER_ERRORS = frozenset({"DatasetError", "UnknownCharacterError", "RunnerError", "AssetsError"})

#: OSError subclasses caused by the files a person named, not by a bug
FILE_ERRORS = (FileNotFoundError, FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)

#: errno of an OSError about the machine's disks, not a bug -> the cause to print
DISK_ERRNOS = {errno.ENOSPC: "disk full (no space left on device)", errno.EROFS: "read-only file system",
               errno.EDQUOT: "disk quota exceeded"}


def add_debug(parser: argparse.ArgumentParser) -> None:
    """``--debug``: show the traceback of a user-facing error (also ``HWR_DEBUG=1``)."""
    parser.add_argument("--debug", action="store_true",
                        help="print the Python traceback of an error (also HWR_DEBUG=1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hwr", description=__doc__.splitlines()[0].replace("``", ""))
    add_debug(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).configure(p)
    return parser


def split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """Remove the global ``--debug`` flag wherever it stands (before or after
    the command, not after a ``--``); return the rest and whether it was given."""
    end = argv.index("--") if "--" in argv else len(argv)
    head = [a for a in argv[:end] if a != "--debug"]
    return head + argv[end:], len(head) < end


def user_message(error: BaseException) -> str | None:
    """The one line to print for a user-facing error, or None for a bug.

    :class:`~hwr.errors.HwrError` and the errors named in :data:`USER_ERRORS`
    give their message; a missing, unreadable or misplaced file gives its path
    and the cause; a full disk says so.
    """
    from hwr.errors import HwrError

    if isinstance(error, HwrError) or any(c.__name__ in USER_ERRORS for c in type(error).__mro__):
        message = str(error.args[0]) if len(error.args) == 1 else str(error)
    elif isinstance(error, OSError) and (isinstance(error, FILE_ERRORS) or error.errno in DISK_ERRNOS):
        cause = DISK_ERRNOS.get(error.errno) or error.strerror or str(error)
        message = f"{error.filename}: {cause}" if error.filename is not None else cause
    else:
        return None
    return "; ".join(line.strip() for line in message.splitlines() if line.strip()) or type(error).__name__


#: exit code of a command stopped by Ctrl-C: 128 + SIGINT, what a shell reports for a program SIGINT killed
INTERRUPTED = 130


def run(module, args: argparse.Namespace, command: str) -> int:
    """Run a command's ``main``; a user-facing error becomes one line on
    stderr and exit code 2 (its traceback only with ``--debug`` or
    ``HWR_DEBUG=1``); Ctrl-C becomes ``hwr COMMAND: interrupted`` and exit
    code 130; anything else is a bug and keeps its traceback."""
    try:
        return int(module.main(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        # The person stopped it: no bug to report, and a traceback of wherever the signal landed is noise
        print(f"hwr {command}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:  # noqa: BLE001 - sorted into user errors and bugs below
        message = user_message(error)
        if message is None or args.debug:
            raise
        prefix = f"hwr {command}: "
        message = message[len(prefix):] if message.startswith(prefix) else message
        print(f"{prefix}error: {message}", file=sys.stderr)
        return int(getattr(error, "exit_code", 2))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    argv, debug = split_debug(list(argv))
    debug = debug or os.environ.get("HWR_DEBUG", "") not in ("", "0")
    # Build only the parser of the requested command when one is named, so
    # `hwr data ...` does not import torch through `hwr experiments`.
    if argv and argv[0] in COMMANDS:
        command = argv[0]
        module = importlib.import_module(COMMANDS[command][0])
        parser = argparse.ArgumentParser(prog=f"hwr {command}", description=COMMANDS[command][1])
        add_debug(parser)
        module.configure(parser)
        args = parser.parse_args(argv[1:])
    else:
        args = build_parser().parse_args(argv)
        command, module = args.command, importlib.import_module(args._module)
    args.debug = debug
    return run(module, args, command)


if __name__ == "__main__":
    sys.exit(main())
