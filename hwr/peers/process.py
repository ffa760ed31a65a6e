"""Running the peers' command-line tools: timed, logged, and stopped at a budget.

Every command runs as a child process with its own environment (thread limits)
and its output, stdout and stderr together, goes to a log file with the seconds
since the command started in front of each line (``<seconds>\\t<line>``): the
training curves of tools that print no clock (lstmtraining) get their time axis
from there (:mod:`hwr.peers.logs`).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from hwr.paths import ROOT


class ToolError(RuntimeError):
    """A tool is missing or failed; the message says which and where its log is."""


@dataclass
class Finished:
    """How a command ended: exit status, wall-clock seconds, and whether the budget stopped it."""

    returncode: int
    seconds: float
    stopped: bool
    log: Path


def shown(cmd: list[str]) -> str:
    """A command line as a reader can paste it, with the checkout's path left out (records are committed)."""
    # the project's interpreter as a reader's checkout has it (the command was run with sys.executable)
    text = shlex.join(".venv/bin/python" if str(c) == sys.executable else str(c) for c in cmd)
    return text.replace(str(ROOT) + "/", "").replace(str(ROOT), ".")


def run_logged(cmd: list[str], log: Path, env: dict | None = None, budget_s: float | None = None,
               grace_s: float = 30.0, cwd: Path | None = None) -> Finished:
    """Run ``cmd``, writing its timed output to ``log``; stop it once ``budget_s`` have passed.

    The stop is SIGTERM, then SIGKILL after ``grace_s`` seconds. Not SIGINT: a
    process started in the background by a non-interactive shell inherits SIGINT
    as ignored (seen here: lstmtraining ran on for the whole grace period).
    ``budget_s=None`` waits for the command to end by itself.

    Raises:
        ToolError: the program does not exist.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env={**os.environ, **(env or {})}, cwd=cwd, text=True, errors="replace", bufsize=1)
    except FileNotFoundError as e:
        raise ToolError(f"{cmd[0]}: not found ({e}); install it first (peers/compare.sh installs kraken and "
                        "Tesseract)") from None

    def pump(handle):
        for line in proc.stdout:
            handle.write(f"{time.perf_counter() - started:.3f}\t{line.rstrip()}\n")

    stopped = False
    with open(log, "w", encoding="utf-8", buffering=1) as handle:
        handle.write(f"{0:.3f}\t$ {shown(cmd)}\n")
        reader = threading.Thread(target=pump, args=(handle,), daemon=True)
        reader.start()
        try:
            proc.wait(timeout=budget_s)
        except subprocess.TimeoutExpired:
            stopped = True
            for sig in (signal.SIGTERM, signal.SIGKILL):
                proc.send_signal(sig)
                try:
                    proc.wait(timeout=grace_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        reader.join(timeout=10)
    return Finished(proc.returncode, time.perf_counter() - started, stopped, log)


def check(done: Finished, what: str, ok_when_stopped: bool = False) -> Finished:
    """Raise :class:`ToolError` for a failed command (a budget stop counts as success when allowed)."""
    if done.returncode != 0 and not (done.stopped and ok_when_stopped):
        tail = "\n".join(done.log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:])
        raise ToolError(f"{what} failed (exit {done.returncode}); log {shown([done.log])}:\n{tail}")
    return done


def output_of(cmd: list[str], env: dict | None = None) -> str:
    """A short command's stdout and stderr, stripped ('' when the program is missing): for versions."""
    try:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                              env={**os.environ, **(env or {})})
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return ""
    return (proc.stdout + proc.stderr).strip()
