"""``hwr runs check STORE``: verify every finished run of a store against itself and its manifest."""

from __future__ import annotations

import argparse
from pathlib import Path

from hwr import paths
from hwr.errors import HwrError
from hwr.runs.seal import is_sealed, seal, verify
from hwr.runs.store import RunStore


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="verify the records of every finished run of a store",
                               description="Verify every finished run of a store: its records against themselves "
                                           "(parsable, one prediction per scored line) and against its manifest "
                                           "(sizes and digests). Exit code 1 when a run is damaged or unsealed.")
    check.add_argument("stores", nargs="*", type=Path, metavar="STORE",
                       help="run stores (folders of run folders) or profile folders holding runs/ "
                            "(default: results/book/runs)")
    check.add_argument("--seal", action="store_true",
                       help="seal finished runs that have no manifest yet, when their records are consistent "
                            "(runs recorded before manifests existed)")


def _store_root(path: Path) -> Path:
    return path / "runs" if (path / "runs").is_dir() else path


def main(args: argparse.Namespace) -> int:

    roots = [_store_root(p) for p in args.stores] or [paths.RESULTS / "book" / "runs"]
    bad = 0
    for root in roots:
        if not root.is_dir():
            raise HwrError(f"{root}: no such run store")
        finished = RunStore(root).finished()
        damaged, unsealed, newly = {}, [], 0
        for _spec, folder in finished:
            problems = verify(folder)
            if problems:
                damaged[folder] = problems
            elif not is_sealed(folder):
                if args.seal:
                    seal(folder)
                    newly += 1
                else:
                    unsealed.append(folder)
        print(f"{root}: {len(finished)} finished runs, {len(finished) - len(damaged)} sound"
              + (f", {newly} sealed now" if newly else "")
              + (f", {len(unsealed)} not sealed" if unsealed else ""))
        for line in (line for problems in damaged.values() for line in problems):
            print(f"  damaged: {line}")
        for folder in unsealed[:5]:
            print(f"  not sealed: {folder.name}")
        if unsealed:
            print(f"  {'... ' if len(unsealed) > 5 else ''}{len(unsealed)} consistent runs without a manifest: "
                  f"`hwr runs check --seal {root}` seals them")
        bad += len(damaged) + len(unsealed)
    return 1 if bad else 0
