"""Every chapter is a test: each runs through the book's runner with the smoke
profile, then the whole book is built with warnings as errors.

Results and the rendered book go to a temporary folder (the session's
``smoke_book`` fixture, which test_browser.py then opens), so a reader's
``results/`` and ``_build/`` stay as they were. The synthetic smoke dataset is
shared with the reader's ``data/`` folder (it is built once and reused).
"""

import sys
from pathlib import Path

import pytest

from hwr.book.chapters import chapters
from hwr.book.proofread import problems, visible_text
from hwr.paths import ROOT

sys.path.insert(0, str(Path(__file__).parent))
import bounded  # noqa: E402

pytestmark = pytest.mark.slow

#: seconds one `hwr run` of a chapter (or the build) may take under smoke before it counts as hung: the
#: slowest chapter takes about 2 minutes on a 2-core machine
LIMIT = 900


def hwr(env, *args):
    return bounded.run([sys.executable, "-m", "hwr.cli", *args], timeout=LIMIT, cwd=ROOT, env=env)


@pytest.mark.parametrize("chapter", [p.stem for p in chapters()])
def test_chapter_smoke_run(smoke_book, chapter):
    tmp, env = smoke_book
    proc = hwr(env, "run", chapter, "--profile", "smoke", "--no-build")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert (tmp / "results" / "smoke" / chapter / "run.json").exists()
    # on smoke runs the verdicts are mostly open: the prose must then state no direction either
    from hwr.book.directions import problems_in_notebook

    assert problems_in_notebook(tmp / "results" / "smoke" / chapter / f"{chapter}.ipynb") == []


@pytest.mark.parametrize("draft", [p.name for p in sorted((ROOT / "book" / "drafts").glob("ch*.py"))])
def test_draft_smoke_run(smoke_book, draft):
    """A chapter written ahead of its runs (book/drafts) runs under smoke as the chapters do."""
    tmp, env = smoke_book
    proc = hwr(env, "run", str(ROOT / "book" / "drafts" / draft), "--profile", "smoke", "--no-build")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert (tmp / "results" / "smoke" / draft.removesuffix(".py") / "run.json").exists()


def test_book_builds_strictly(smoke_book):
    tmp, env = smoke_book
    proc = hwr(env, "run", "--profile", "smoke", "--build-only")
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    index = tmp / "_build" / "html" / "index.html"
    assert index.exists()
    for chapter in chapters():
        page = tmp / "_build" / "html" / "book" / f"{chapter.stem}.html"
        assert page.exists(), f"{page} missing"
        html = page.read_text()
        assert "<img" in html, f"{chapter.stem} rendered without figures"
        assert "This page was executed with" in html and "Re-run this page" in html
        assert f"{chapter.stem}.py" in html  # the jupytext source can be downloaded
        # a table whose directive did not parse shows its fence as text (and loses its label, silently
        # when nothing refers to it)
        assert "{table}" not in html, f"{chapter.stem}: a table shows as text"
    # the notebook behind the download button shows its figures in Jupyter
    import nbformat

    for chapter in chapters():
        nb = nbformat.read(tmp / "_build" / "html" / "_sources" / "book" / f"{chapter.stem}.ipynb", as_version=4)
        mimes = {k for c in nb.cells for o in c.get("outputs", []) for k in o.get("data", {})}
        assert mimes & {"image/png", "image/svg+xml"}, f"{chapter.stem}: no figure Jupyter can show"
        assert str(ROOT) not in nbformat.writes(nb)
    # the rendered text, glued numbers and prose together, has no doubled units, no sign against its verb
    # and no notes on how the runs were produced (hwr.book.proofread)
    slips = {chapter.stem: problems(visible_text((tmp / "_build" / "html" / "book" / f"{chapter.stem}.html")
                                                   .read_text())) for chapter in chapters()}
    assert not any(slips.values()), {k: v for k, v in slips.items() if v}
    # the changelog page is generated: the smoke store lies outside the repository, so it has no history to show
    changes = (tmp / "_build" / "html" / "book" / "changelog.html").read_text()
    assert "% RUN CHANGELOG" not in changes and "no git history here" in changes
    appendix = (tmp / "_build" / "html" / "book" / "reproducibility.html").read_text()
    assert all(chapter.stem in appendix for chapter in chapters()) and "% RUN RECORDS" not in appendix
    assert not (tmp / "_build" / "html" / "genindex.html").exists()
