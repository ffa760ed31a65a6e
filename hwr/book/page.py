"""What a chapter calls so that its page shows results, not machinery.

A chapter's first code cell calls :func:`start`: figures get the book's one
style and are drawn as SVG, and Python warnings go to the run's log instead of
the page. Long work (building a dataset, training) runs inside
:func:`records`, which sends whatever it prints, progress bars included, to
the same log. The runner names the log through ``HWR_RUN_LOG``
(``results/<profile>/<chapter>/log.txt``); a chapter opened in Jupyter by hand
logs to ``results/interactive.log``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from pathlib import Path

from hwr import paths


def log_path() -> Path:
    """The run's log file (created with its folder when missing)."""
    path = Path(os.environ.get("HWR_RUN_LOG") or paths.RESULTS / "interactive.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def start(svg: bool = True) -> None:
    """Set up a chapter's page: the book's figure style, SVG figures, and
    warnings to the run's log (never to the page)."""
    from hwr.plots import style

    style.apply()
    if svg:
        with contextlib.suppress(ImportError):  # outside a kernel there is no inline backend
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("svg")
    logging.captureWarnings(True)
    logger = logging.getLogger("py.warnings")
    logger.propagate = False  # the root logger would print them on the page
    if not any(getattr(h, "_hwr_log", False) for h in logger.handlers):
        handler = logging.FileHandler(log_path(), encoding="utf-8")
        handler._hwr_log = True
        handler.setFormatter(logging.Formatter("%(asctime)s warning: %(message)s"))
        logger.addHandler(handler)


@contextlib.contextmanager
def records(what: str):
    """Run a block with its printed output (stdout, stderr, progress bars)
    appended to the run's log, headed by ``what`` and followed by its duration."""
    path = log_path()
    with open(path, "a", encoding="utf-8", buffering=1) as f:
        f.write(f"== {what}\n")
        started = time.perf_counter()
        with contextlib.redirect_stdout(f), contextlib.redirect_stderr(f):
            yield path
            sys.stdout.flush()
        f.write(f"== {what}: done in {time.perf_counter() - started:.1f} s\n")


def smoke_note(profile: str) -> None:
    """Under the ``smoke`` profile, say on the page that its numbers only prove the code runs."""
    if profile == "smoke":
        from IPython.display import Markdown, display

        display(Markdown(
            "```{note}\nThis page was run under the `smoke` profile: tiny data and a few training steps. "
            "Its numbers show that the code runs end to end, not how well the models read.\n```"))


def rerun_note(chapter: str, profile: str, records, models, candidates: dict | None = None, kept: str = ""):
    """A chapter's last section: the commands that recompute it, and what its runs cost.

    Args:
        chapter: the chapter's short name (``ch08``).
        records: the chapter's runs (their training and testing time is summed).
        models: the registry names the chapter trains.
        candidates: ``hwr bench task`` candidates (:func:`hwr.runs.report.rerun_commands`).
        kept: what else the chapter records and where, one clause (e.g. "the decoding
            analyses are recorded beside each run (`analyses/ctc_decoding.json`)").

    Returns:
        Markdown for the page.
    """
    from IPython.display import Markdown

    from hwr.runs import report

    minutes = report.seconds_total(records) / 60
    text = (report.rerun_commands(chapter, profile, candidates or {}, models)
            + "\n\nRuns already in the store are read back, not trained again. The chapter's runs took "
            + f"{minutes:.1f} minutes of training and testing in all, on {report.hardware(records)}"
            + (f"; {kept}" if kept else "") + ".")
    return Markdown(text)
