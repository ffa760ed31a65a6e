"""Fill a store: run the missing runs of a study, here or on a cluster.

Three executors, one interface (:func:`run_missing`):

* ``"local"`` (default): a pool of ``workers`` processes on this machine, each
  training one run at a time with ``threads`` torch threads. On a 2-core
  machine two single-thread runs side by side train more lines per minute in
  all than one run with two threads (see the README for the measurement).
* ``"slurm"``: one submitit job per run on a SLURM cluster (submitit is the
  scheduler's Python client; nothing is re-implemented here). Cluster
  options (partition, time, GPUs) go in ``slurm``.
* ``"submitit-local"``: the same submitit code path, run as local
  subprocesses; this is how the cluster path is tested without a cluster.

Every executor calls :func:`hwr.runs.execute.execute` with the run's spec as a
plain dict. Runs are resumable, so an interrupted sweep restarted later
continues where it stopped.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Callable, Sequence

from hwr import paths, provenance
from hwr.errors import HwrError
from hwr.runs.execute import execute
from hwr.runs.spec import RunSpec
from hwr.runs.store import RunStore


class DirtyCheckoutError(HwrError):
    """Training into the committed book store from a checkout with uncommitted changes."""

EXECUTORS = ("local", "slurm", "submitit-local")


class Progress:
    """Done / running / left across the runs of a sweep, with a time estimate.

    The estimate uses the mean duration of the runs finished in this sweep,
    or each run's minutes budget before any has finished.
    """

    def __init__(self, specs: Sequence[RunSpec], workers: int, report: Callable[[str], None] | None):
        self.total, self.workers, self.report = len(specs), max(workers, 1), report
        self.budget = [float(s.train.get("minutes") or 0) * 60 for s in specs]
        self.durations: list[float] = []
        self.done = self.failed = self.running = 0
        self.started = time.time()

    def eta(self) -> float | None:
        left = self.total - self.done - self.failed
        per_run = (sum(self.durations) / len(self.durations) if self.durations
                   else (max(self.budget) if self.budget and max(self.budget) else None))
        return None if per_run is None else per_run * left / self.workers

    def line(self) -> str:
        eta = self.eta()
        left = self.total - self.done - self.failed - self.running
        text = f"runs: {self.done} done, {self.running} running, {left} left"
        if self.failed:
            text += f", {self.failed} failed"
        if eta is not None and self.done + self.failed < self.total:
            text += f", about {eta / 60:.0f} min to go"
        return text

    def update(self, **counts) -> None:
        for k, v in counts.items():
            setattr(self, k, v)
        if self.report:
            self.report(self.line())


def _worker_init(threads: int) -> None:
    # Before torch is imported in the worker: one OpenMP pool of `threads`, idle threads yield.
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def parent_of(spec: RunSpec) -> str | None:
    """The run a fine-tuning run starts from (``init_from``), which must finish first; None for most runs."""
    return spec.train.get("init_from")


def _run_local(todo, root, workers, threads, device, progress, allow_dirty=False) -> list[str]:
    import multiprocessing as mp

    failures = []
    ctx = mp.get_context("spawn")  # a fresh interpreter per worker: no forked torch thread pools
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                             initargs=(threads,)) as pool:
        pending = {}
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < workers:
                waiting = {q.run_id for q in queue} | {p.run_id for p, _ in pending.values()}
                ready = next((q for q in queue if parent_of(q) not in waiting), None)
                if ready is None:  # every queued run waits for a parent still training
                    break
                queue.remove(ready)
                pending[pool.submit(execute, ready.to_dict(), str(root), threads, device, True, allow_dirty)] = (ready, time.time())
            if not pending:  # what is left waits for parents that failed
                for spec in queue:
                    progress.failed += 1
                    failures.append(f"{spec.run_id}: not trained: its parent run {parent_of(spec)} failed")
                break
            progress.update(running=len(pending))
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                spec, t0 = pending.pop(fut)
                try:
                    fut.result()
                    progress.durations.append(time.time() - t0)
                    progress.done += 1
                except Exception as e:  # one failed run must not stop the others
                    progress.failed += 1
                    failures.append(f"{spec.run_id}: {type(e).__name__}: {e}")
    progress.update(running=0)
    return failures


def _run_submitit(todo, root, threads, device, cluster, slurm, progress, allow_dirty=False) -> list[str]:
    import submitit

    folder = Path(root) / ".submitit"
    executor = submitit.AutoExecutor(folder=folder, cluster=None if cluster == "slurm" else "local")
    minutes = max(float(s.train.get("minutes") or 60) for s in todo)
    params = {"timeout_min": int(minutes * 2 + 30), "cpus_per_task": threads, "name": "hwr-run"}
    if cluster == "slurm":
        params.update({f"slurm_{k}" if not k.startswith("slurm_") else k: v for k, v in (slurm or {}).items()})
    executor.update_parameters(**params)
    jobs = [(spec, executor.submit(execute, spec.to_dict(), str(root), threads, device, True, allow_dirty)) for spec in todo]
    failures = []
    remaining = list(jobs)
    while remaining:
        progress.update(running=sum(1 for _, j in remaining if j.state in ("RUNNING", "COMPLETING")))
        still = []
        for spec, job in remaining:
            if job.done():
                try:
                    job.result()
                    progress.done += 1
                except Exception as e:
                    progress.failed += 1
                    failures.append(f"{spec.run_id}: {type(e).__name__}: {str(e).splitlines()[-1] if str(e) else ''}")
            else:
                still.append((spec, job))
        remaining = still
        if remaining:
            time.sleep(2)
    progress.update(running=0)
    return failures


def refuse_dirty_book_store(root: str | Path, allow_dirty: bool = False) -> None:
    """Refuse to train into the committed ``book`` store from a checkout with
    uncommitted changes: a book record must name the code that made it.

    Raises:
        DirtyCheckoutError: naming the store and the flag that allows it
            (which the run's ``test.json`` then records).
    """
    if allow_dirty or Path(root).resolve() != (paths.RESULTS / "book" / "runs").resolve():
        return
    if provenance.git_state()["dirty"]:
        raise DirtyCheckoutError(f"{root}: the book's runs are trained from a clean checkout, and this one has "
                                 "uncommitted changes (git status); commit them, train from a clean worktree "
                                 "(git worktree add), or pass --allow-dirty, which each run's test.json records")


def run_missing(specs: Sequence[RunSpec], root: str | Path, executor: str = "local", workers: int = 2,
                threads: int = 1, device: str = "auto", slurm: dict | None = None,
                report: Callable[[str], None] | None = None, allow_dirty: bool = False) -> list[str]:
    """Train every run of ``specs`` that is not done in the store at ``root``.

    Args:
        specs: the runs (duplicates are trained once).
        root: the store folder.
        executor: one of :data:`EXECUTORS`.
        workers: parallel runs (local executor).
        threads: torch threads per run.
        device: device for each run.
        slurm: extra submitit SLURM parameters (``partition``, ``gpus_per_node``...).
        report: called with a one-line progress text (done, running, left,
            estimated time) whenever it changes; None is silent.
        allow_dirty: train into the ``book`` store from a checkout with
            uncommitted changes (:func:`refuse_dirty_book_store`), recorded
            in each run's ``test.json``.

    Returns:
        one line per failed run (empty when all succeeded). Damaged runs
        (:mod:`hwr.runs.seal`) are left as they are and count as neither.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, not {executor!r}")
    store = RunStore(root)
    unique = list({s.run_id: s for s in specs}.values())
    state = {s.run_id: store.status(s) for s in unique}
    # a damaged run is neither done nor trained over: retraining would overwrite the evidence
    # (`hwr runs check` lists it; deleting its folder lets the next sweep replace it)
    todo = [s for s in unique if state[s.run_id] not in ("done", "damaged")]
    sound = [s for s in unique if state[s.run_id] != "damaged"]
    progress = Progress(sound, workers if executor == "local" else len(todo), report)
    progress.done = len(sound) - len(todo)
    progress.update()
    if not todo:
        return []
    refuse_dirty_book_store(root, allow_dirty)
    if executor == "local":
        return _run_local(todo, root, workers, threads, device, progress, allow_dirty)
    # a cluster runs everything at once, so runs that start from another run's weights go in a later wave
    failures, waves = [], [s for s in todo if parent_of(s) not in {t.run_id for t in todo}]
    later = [s for s in todo if s not in waves]
    failures += _run_submitit(waves, root, threads, device, executor, slurm, progress, allow_dirty)
    if later:
        failures += run_missing(later, root, executor, workers, threads, device, slurm, report, allow_dirty)
    return failures


def print_report(line: str) -> None:
    """A report callback for terminals: rewrite one status line."""
    end = "\n" if not sys.stderr.isatty() else "\r"
    print(line.ljust(70), end=end, file=sys.stderr, flush=True)
