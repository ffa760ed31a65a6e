"""Every chapter is a test: each runs through the book's runner with the smoke
profile, then the whole book is built with warnings as errors.

Results and the rendered book go to a temporary folder, so a reader's
``results/`` and ``_build/`` stay as they were. The synthetic smoke dataset is
shared with the reader's ``data/`` folder (it is built once and reused).
"""

import os
import subprocess
import sys

import pytest

from hwr import runner
from hwr.paths import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def book_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("book")
    env = dict(os.environ, HWR_RESULTS=str(tmp / "results"), HWR_BUILD_ROOT=str(tmp),
               OMP_WAIT_POLICY="PASSIVE", MPLBACKEND="Agg")
    return tmp, env


def hwr(env, *args):
    return subprocess.run([sys.executable, "-m", "hwr.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


@pytest.mark.parametrize("chapter", [p.stem for p in runner.chapters()])
def test_chapter_smoke_run(book_env, chapter):
    tmp, env = book_env
    proc = hwr(env, "run", chapter, "--profile", "smoke", "--no-build")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert (tmp / "results" / "smoke" / chapter / "run.json").exists()


def test_book_builds_strictly(book_env):
    tmp, env = book_env
    proc = hwr(env, "run", "--profile", "smoke", "--build-only")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    index = tmp / "_build" / "html" / "index.html"
    assert index.exists()
    for chapter in runner.chapters():
        page = tmp / "_build" / "html" / "book" / f"{chapter.stem}.html"
        assert page.exists(), f"{page} missing"
        assert "<img" in page.read_text(), f"{chapter.stem} rendered without figures"
