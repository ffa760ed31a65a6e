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
from typing import NamedTuple, Sequence

from hwr import paths
from hwr.plots import style
from hwr.profile import Profile
from hwr.runs import report
from hwr.runs.latency import latency_frame
from hwr.runs.report import by_label
from hwr.runs.store import RunRecord
from hwr.runs.studies import study as declared_study
from hwr.runs.study import Study


def log_path() -> Path:
    """The run's log file (created with its folder when missing)."""
    path = Path(os.environ.get("HWR_RUN_LOG") or paths.RESULTS / "interactive.log")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def start(svg: bool = True) -> None:
    """Set up a chapter's page: the book's figure style, SVG figures, and
    warnings to the run's log (never to the page)."""
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


class OpenStudy(NamedTuple):
    """What a chapter's opening cell gets from :func:`open_study`.

    Attributes:
        study: the chapter's declared study.
        models: its models, each once, in the order declared.
        records: every run's records, in the study's order.
        groups: records by model/variant label, each group in seed order.
        latencies: :func:`hwr.runs.latency.latency_frame` of the latency models (None when not asked).
    """

    study: Study
    models: list[str]
    records: list[RunRecord]
    groups: dict[str, list[RunRecord]]
    latencies: object


def open_study(chapter: str, profile: str, latency_batches: Sequence[int] | None = None,
               latency_models: Sequence[str] | None = None, what: str = "") -> OpenStudy:
    """A chapter's opening: the page set up (:func:`start`), its declared study
    (:mod:`hwr.runs.studies`) trained where runs are missing and read back, and,
    when ``latency_batches`` is given, the recorded latencies of
    ``latency_models`` (default: the study's models). The training and
    measuring output goes to the run's log, headed by ``what``.

    >>> study, models, records, groups, latencies = page.open_study("ch08_cell", profile, [1, 24])
    """
    start()
    study = declared_study(chapter, profile)
    what = what or f"{study.name}: {len(study.runs)} runs under {profile} (trained only when missing)"
    latencies = None
    with records(what):
        got = study.ensure()
        if latency_batches:
            latencies = latency_frame(list(latency_models or study.models), latency_batches, profile=profile)
    return OpenStudy(study, study.models, got, by_label(got), latencies)


def smoke_note(profile: str) -> None:
    """Under the ``smoke`` profile, say on the page that its numbers only prove the code runs."""
    if Profile.load(profile).smoke:
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

    minutes = report.seconds_total(records) / 60
    text = (report.rerun_commands(chapter, profile, candidates or {}, models)
            + "\n\nRuns already in the store are read back, not trained again. The chapter's runs took "
            + f"{minutes:.1f} minutes of training and testing in all, on {report.hardware(records)}"
            + (f"; {kept}" if kept else "") + ".")
    return Markdown(text)
