"""Provenance records: what produced a number, so every figure can be traced.

:func:`collect` returns a JSON-ready dict with the git commit (and whether the
tree had uncommitted changes), the parameters, package versions, hardware and
the duration of the run. The runner writes it as ``run.json`` beside each
executed chapter, and the trainer beside each training run.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata as _md
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from hwr.paths import ROOT

PACKAGES = ("hwr", "torch", "torchmore", "numpy", "Pillow", "editdistance", "matplotlib",
            "seaborn", "papermill", "jupytext", "jupyter-book", "fast-ctc-decode")


#: what a chapter writes when it is executed: its own outputs, and the analyses it records beside a run (each
#: with its own provenance), do not make the checkout dirty (the chapters after it in one ``hwr run`` would
#: otherwise all say so); the run records themselves under results/*/runs still do
OUTPUTS = (":(glob,exclude)results/*/ch*/**", ":(glob,exclude)results/*/runs/*/analyses/**")


def git_state(root: Path = ROOT) -> dict[str, Any]:
    """The checkout's commit and whether it had uncommitted changes to
    tracked files, executed chapters' outputs (:data:`OUTPUTS`) left out."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD") or None
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", *OUTPUTS))
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {"commit": commit, "dirty": dirty}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = _md.version(name)
        except _md.PackageNotFoundError:
            out[name] = None
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, Any]:
    """CPU model, cores visible to this process, memory, torch threads and GPU."""
    info: dict[str, Any] = {
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
    }
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages * size / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def collect(params: dict[str, Any], started: float, **extra: Any) -> dict[str, Any]:
    """A provenance record for a run that began at ``started`` (``time.time()``).

    Args:
        params: the parameters the run was given.
        started: its start time, seconds since the epoch.
        **extra: anything else worth recording (profile, chapter, input hash).
    """
    ended = time.time()
    return {
        **git_state(),
        "started": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(ended - started, 2),
        "params": params,
        "versions": versions(),
        "hardware": hardware(),
        # what else the machine was doing: timings and minute budgets depend on it
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        **extra,
    }
