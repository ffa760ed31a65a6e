"""The result blocks every experiment chapter shows, each with its caption.

A chapter keeps what is its own (the question, the maths, the analysis and
the text) and shows the standard tables with one call each:

>>> blocks.setup_table(study, "tbl-cell-setup")
>>> blocks.thesis_table(records, "tbl-cell-thesis")
>>> blocks.speed_table(records, "light_in", "tbl-cell-speed")
>>> blocks.latency_table(latencies, "light_in", latency_batches, "tbl-cell-latency", profile)
>>> verdicts, table = blocks.thesis_verdicts(records, ["posenc", "gate"], "tbl-light-verdicts")

The captions say what the numbers are and are written once, here, so that a
change of method (an interval that counts writers, a budget in lines) reaches
every chapter. ``extra`` appends a chapter's own sentence.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from IPython.display import Markdown
from myst_nb import glue

from hwr import stats
from hwr.book import directions
from hwr.book.tables import Table
from hwr.profile import Profile
from hwr.runs import report
from hwr.runs.store import RunRecord
from hwr.seeds import SEED_CLAIMS
from hwr.thesis import CLAIMS

#: what a verdict table's "difference here" column holds, in every chapter
DIFFERENCE = "the difference here (test CER, points, with its 95 % interval over seeds, writers and test lines)"


def _one_seed_note(records: Sequence[RunRecord]) -> str:
    counts = [len(g) for g in report.by_label(records).values()]
    return " (one seed: no sd)" if counts and min(counts) == 1 and max(counts) > 1 else ""


def _join(caption: str, extra: str) -> str:
    return f"{caption} {extra.strip()}" if extra else caption


def setup_table(study, name: str, extra: str = "") -> Table:
    """The chapter's declared runs: model (and variant), family, saved-state count, seeds and budget."""
    return Table(report.study_setup(study), name=name, caption=_join(
        "The chapter's models, with the saved-state count (the thesis's way: parameters and batch-norm "
        "statistics, positional encodings left out), seeds and budget in minutes.", extra))


def thesis_table(records: Sequence[RunRecord], name: str, extra: str = "") -> Table:
    """Test results beside the thesis's (:func:`hwr.runs.report.thesis_frame`)."""
    return Table(report.thesis_frame(records), name=name, caption=_join(
        f"Test results (%, greedy decoding): the CER (mean ± seed sd{_one_seed_note(records)}), the thesis's "
        "legacy CER here and the thesis's own figure on IAM-B (where it reports one), the seeds, the 95 % "
        "bootstrap interval of the CER over test lines, the WER and the best validation CER.", extra))


def speed_table(records: Sequence[RunRecord], baseline: str, name: str, extra: str = "") -> Table:
    """Training speed per model (:func:`hwr.runs.report.speed_frame`), relative to ``baseline``."""
    return Table(report.speed_frame(records, baseline), name=name, caption=_join(
        "Training speed: parameters, training lines per second (mean ± seed sd, validation left out), lines "
        f"trained in the budget, and the speed relative to {baseline}'s.", extra))


def latency_table(latencies, baseline: str, batches: Sequence[int], name: str, profile: str,
                  extra: str = "") -> Table:
    """Recorded CPU latencies (:func:`hwr.runs.report.latency_table`) under the profile's settings."""
    settings = Profile.load(profile).latency
    width = (f"a {settings['width']}-pixel-wide input" if settings["width"] else
             "the thesis's evaluation input (64 × 1408 pixels; 128 × 3225 for a model that reads 128-pixel lines)")
    sizes = " and ".join(map(str, batches))
    return Table(report.latency_table(latencies, baseline, batches), name=name, caption=_join(
        f"CPU latency of one forward call (ms) on {width} with {settings['steps']} decoder steps, one "
        f"thread, at batch sizes {sizes}, here and in the thesis (where it timed the model), and its ratio (×) "
        f"to {baseline}'s on the same machine.", extra))


def judge(records: Sequence[RunRecord], better: str, other: str):
    """"``better`` reads better than ``other``" judged (:func:`hwr.runs.report.claim_verdict`), and recorded
    in the notebook (a ``judged_*`` glue, :mod:`hwr.book.directions`), so that a test can check that
    the chapter's prose states no direction this verdict does not support.

    Every verdict a chapter's prose relies on goes through here.
    """
    return _recorded(report.claim_verdict(records, better, other), better, other)


def judge_decoders(records: Sequence[RunRecord], other_rows: Sequence, better_rows: Sequence, better: str,
                   other: str):
    """"Decoding with ``better`` reads better than with ``other``" judged on the same runs
    (:func:`hwr.runs.report.decoder_verdict`: the same rules as :func:`judge`) and recorded like it."""
    return _recorded(report.decoder_verdict(records, other_rows, better_rows, better, other), better, other)


def _recorded(v, better: str, other: str):
    lower = {stats.REPRODUCED: better, stats.NOT_REPRODUCED: other}.get(v.outcome)
    record = directions.Judged(better, other, v.outcome, lower, v.explanation)
    glue(f"{directions.JUDGED_PREFIX}{better}|{other}", record.to_json(), display=False)
    return v


def _judged(records: Sequence[RunRecord], claims: Mapping) -> dict:
    """Each claim judged (:func:`judge`), its explanation glued as ``verdict_<key>``."""
    verdicts = {key: judge(records, c.better, c.other) for key, c in claims.items()}
    for key, v in verdicts.items():
        glue(f"verdict_{key}", Markdown(v.explanation), display=False)
    return verdicts


def thesis_verdicts(records: Sequence[RunRecord], keys: Sequence[str], name: str,
                    what: str = "The thesis's claims") -> tuple[dict, Table]:
    """The thesis's claims ``keys`` (:data:`hwr.thesis.CLAIMS`) judged on ``records``: the verdicts, each
    explanation glued as ``verdict_<key>``, and their table."""
    verdicts = _judged(records, {k: CLAIMS[k] for k in keys})
    return verdicts, Table(report.verdict_frame(verdicts), name=name, caption=(
        f"{what}: the thesis's CER difference (better minus other, points, IAM-B legacy CER), {DIFFERENCE} and "
        "the verdict."))


def seed_verdicts(records: Sequence[RunRecord], chapter: str, name: str, what: str) -> tuple[dict, Table]:
    """The seed projects' claims tested by ``chapter`` (:data:`hwr.seeds.SEED_CLAIMS`) whose two models
    have runs in ``records``, judged: the verdicts, each explanation glued, and their table."""
    labels = set(report.by_label(records))
    claims = {k: c for k, c in SEED_CLAIMS.items() if c.chapter == chapter and c.better in labels and c.other in labels}
    verdicts = _judged(records, claims)
    return verdicts, Table(report.seed_verdict_frame(verdicts), name=name, caption=(
        f"{what}: who makes each, the difference here (test CER of the first model minus the second's, points, "
        "with its 95 % interval over seeds, writers and test lines) and the verdict."))
