"""tests/bounded.py: a command that starts children in a session of their own is still bounded."""

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import bounded  # noqa: E402

HANGS = ("import subprocess, sys, time; "
         "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True); "
         "print('started', flush=True); time.sleep(60)")


def test_a_hung_tree_is_killed_and_reported_with_its_processes():
    t0 = time.time()
    with pytest.raises(pytest.fail.Exception) as failure:
        bounded.run([sys.executable, "-c", HANGS], timeout=2)
    assert time.time() - t0 < 15  # not the 60 s the grandchild, which holds no pipe, would sleep
    report = str(failure.value)
    assert "had not finished after 2 s" in report and "started" in report
    assert report.count("time.sleep(60)") >= 2  # the command and the child it started, each named


def test_a_command_that_finishes_gives_its_output_and_code():
    proc = bounded.run([sys.executable, "-c", "import sys; print('out'); sys.exit(3)"], timeout=30)
    assert (proc.returncode, proc.stdout) == (3, "out\n")
