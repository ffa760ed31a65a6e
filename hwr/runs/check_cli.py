"""``hwr runs check STORE``: verify every finished run of a store against itself and its manifest.
``hwr runs land SOURCE``: copy the records of the finished runs of another store (a sweep's worktree) into
the book's, without their checkpoints and logs, each verified before and after."""

from __future__ import annotations

import argparse
import json
import shutil
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


    land = actions.add_parser("land", help="copy finished runs' records from another store into this one",
                              description="Copy the records of every finished run of SOURCE (say a sweep's clean "
                                          "worktree, ../sweep/results/book/runs) that INTO does not hold yet: "
                                          "everything but checkpoints/, train.log and train.lock (what git "
                                          "ignores). Each run is verified (and sealed when it has no manifest) "
                                          "before it is copied and verified again after. Exit code 1 when a run "
                                          "was damaged and so left behind.")
    land.add_argument("source", type=Path, metavar="SOURCE", help="a run store or a profile folder holding runs/")
    land.add_argument("--into", type=Path, default=None, metavar="STORE",
                      help="the store to land them in (default: results/book/runs)")


#: what a run folder holds that is not a record: git ignores them, and landing leaves them behind
LEFT_BEHIND = ("checkpoints", "train.log", "train.lock")


def land(source: Path, into: Path) -> tuple[list[str], list[str]]:
    """Copy the records of ``source``'s finished runs that ``into`` lacks; (landed, refused) run ids, with a
    line each for the refused saying why."""
    landed, refused = [], []
    into.mkdir(parents=True, exist_ok=True)
    for _spec, folder in RunStore(source).finished():
        target = into / folder.name
        if target.exists():
            continue
        problems = verify(folder)
        if problems:
            refused.append(f"{folder.name}: " + "; ".join(problems))
            continue
        if not is_sealed(folder):
            seal(folder)
        shutil.copytree(folder, target, ignore=lambda _dir, names: [n for n in names if n in LEFT_BEHIND])
        after = verify(target)
        if after:
            shutil.rmtree(target)
            refused.append(f"{folder.name}: damaged in the copy: " + "; ".join(after))
            continue
        landed.append(folder.name)
    return landed, refused


def _land(args: argparse.Namespace) -> int:
    source = _store_root(args.source)
    into = _store_root(args.into) if args.into else paths.RESULTS / "book" / "runs"
    if not source.is_dir():
        raise HwrError(f"{source}: no such run store")
    if source.resolve() == into.resolve():
        raise HwrError(f"{source}: the source and the destination are the same store")
    landed, refused = land(source, into)
    for run in landed:
        test = json.loads((into / run / "test.json").read_text())
        print(f"landed {run}: test CER {100 * test['cer']:.1f} %")
    for line in refused:
        print(f"  refused: {line}")
    print(f"{into}: {len(landed)} runs landed from {source}" + (f", {len(refused)} refused" if refused else ""))
    return 1 if refused else 0


def _store_root(path: Path) -> Path:
    return path / "runs" if (path / "runs").is_dir() else path


def main(args: argparse.Namespace) -> int:
    if args.action == "land":
        return _land(args)

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
