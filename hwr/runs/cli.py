"""``hwr sweep CHAPTER``: train a chapter's missing runs without rendering it."""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    from hwr.cli_types import positive_int
    from hwr.runs.executors import EXECUTORS

    parser.add_argument("chapters", nargs="+", metavar="CHAPTER", help="chapters whose studies to fill (ch03 or ch03_training)")
    parser.add_argument("--profile", default="smoke", help="profile whose task and store to use (default: smoke)")
    parser.add_argument("--executor", default="local", choices=EXECUTORS,
                        help="local process pool, a SLURM cluster through submitit, or submitit's local executor")
    parser.add_argument("--workers", type=positive_int, default=2, help="parallel runs for the local executor (default: 2)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads per run (default: 1)")
    parser.add_argument("--slurm", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                        help="a submitit SLURM parameter, e.g. --slurm partition gpu --slurm gpus_per_node 1")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and their state, train nothing")
    parser.add_argument("--device", default="auto",
                        help="device of every run: auto (CUDA when visible), cpu, cuda (runs share one GPU: use "
                             "--workers to run many small models on it at once); each record names it")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="train book runs from a checkout with uncommitted changes (recorded in each run)")


def check_request(chapters: list[str], profile: str) -> None:
    """Refuse, in one line, a sweep that cannot be declared: a chapter with no
    study, a profile without a task, a profile file that does not read.

    Checked here, before any study is declared, because the study code meets
    these as a KeyError (a traceback) or, for an unreadable profile file, not
    at all: its data source would silently fall back to the task's default.

    Raises:
        HwrError: naming the chapter, the profile or the file.
    """
    from hwr import paths
    from hwr.errors import HwrError, UnknownNameError
    from hwr.profile import read_config
    from hwr.runs.studies import STUDIES
    from hwr.training.task import profile_task

    for chapter in chapters:  # the rule of hwr.runs.studies.study: a full name or a unique prefix
        if len([n for n in STUDIES if n == chapter or n.startswith(chapter + "_")]) != 1:
            raise UnknownNameError(f"no single study for {chapter!r}; chapters with studies: {', '.join(STUDIES)}")
    if profile_task(profile) is None:
        raise HwrError(f"profile {profile!r} has no task yet (configs/tasks.yaml: profiles.{profile} is null)")
    if (paths.CONFIGS / f"{profile}.yaml").is_file():
        read_config(profile)


def main(args: argparse.Namespace) -> int:
    from hwr.runs.executors import print_report, run_missing
    from hwr.runs.studies import study

    check_request(args.chapters, args.profile)
    studies = [study(chapter, args.profile) for chapter in args.chapters]
    for s in studies:
        print(f"{s.name} ({args.profile}): {len(s.runs)} runs in {s.store.root}; {s.status()}")
        if args.dry_run:
            for spec in s.runs:
                print(f"  {s.store.status(spec):8s} {spec.run_id}  {spec.label}")
    if args.dry_run:
        return 0
    # one queue for all chapters, each run once (chapters share runs), seed 0 of everything
    # first: a sweep cut short still leaves one complete seed of every chapter
    unique = {}
    for s in studies:
        for spec in s.runs:
            unique.setdefault(spec.run_id, spec)
    queue = sorted(unique.values(), key=lambda spec: spec.seed)
    failures = run_missing(queue, studies[0].store.root, args.executor, args.workers, args.threads, args.device,
                           slurm=dict(args.slurm), report=print_report, allow_dirty=args.allow_dirty)
    for line in failures:
        print(f"failed: {line}")
    damaged = [line for spec in queue for line in studies[0].store.problems(spec)]
    for line in damaged:
        print(f"damaged (left as it is; `hwr runs check`): {line}")
    return 1 if failures or damaged else 0
