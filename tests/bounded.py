"""Run a command from a test with a time limit that holds for its whole process tree.

``subprocess.run(..., capture_output=True, timeout=...)`` does not bound a command that starts children:
on the timeout it kills the command, then waits for its pipes to close, and a Jupyter kernel or a
training worker the command started (in a session of its own, or orphaned) keeps them open for ever.
A hung chapter then stops the whole test session until CI's own limit kills it, with nothing said.

:func:`run` writes the output to files instead of pipes and, past ``timeout``, reports the process
tree (each process's command and CPU seconds, so that the report shows what hung) before killing all of
it, then fails the test with the report and the output's tail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile

import pytest

try:  # a dependency of ipykernel, so present wherever the book runs; the tree is then found exactly
    import psutil
except ImportError:  # pragma: no cover
    psutil = None


def _tree(pid: int) -> list:
    if psutil is None:
        return []
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _describe(procs: list) -> str:
    lines = []
    for p in procs:
        try:
            cpu = sum(p.cpu_times()[:2])
            lines.append(f"  pid {p.pid} ({p.status()}, {cpu:.0f} s CPU): {' '.join(p.cmdline())[:200]}")
        except psutil.Error:
            continue
    return "\n".join(lines) or "  (no process information)"


def _kill(pid: int, procs: list) -> None:
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, capture_output=True, text=True, **kwargs)`` that fails the test, saying
    which processes were still running, when ``cmd`` has not finished within ``timeout`` seconds."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, start_new_session=True, **kwargs)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            procs = _tree(proc.pid)
            report = _describe(procs)
            _kill(proc.pid, procs)
            proc.wait()
            out.seek(0)
            err.seek(0)
            pytest.fail(f"`{' '.join(cmd[2:])}` had not finished after {timeout:.0f} s and was killed. Still "
                        f"running then:\n{report}\n--- stdout (tail) ---\n{out.read()[-3000:]}\n"
                        f"--- stderr (tail) ---\n{err.read()[-5000:]}", pytrace=False)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, code, out.read(), err.read())
