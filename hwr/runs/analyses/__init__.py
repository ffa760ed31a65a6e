"""Analyses of a finished run that need its trained model, kept as records.

Test CER and per-line predictions are written when a run finishes
(:mod:`hwr.runs.execute`). Some chapters need more of a trained model: beam
search at several widths, decoding without a step limit, the model under
other batch sizes or with batch statistics. Those are *analyses*:

>>> result = analysis(record, "ctc_decoding", widths=[1, 5, 10])

The first call loads ``<run>/checkpoints/best.pt``, computes, and saves the
result in ``<run>/analyses/<name>.json`` (arrays beside it in
``<name>.npz``) with its parameters and provenance; every later call, on a
fresh clone without checkpoints too, reads it back. A call with other
parameters recomputes (and needs the checkpoint again). The files are small
and committed with the run's records, so the book renders without training.

Every analysis evaluates on the run's own test split. Those that time
something (seconds per line) record the thread count and the machine: on a
shared machine a timing is only comparable with timings of the same call.

The registry and the record keeping are in :mod:`~hwr.runs.analyses.core`; the
analyses by topic in :mod:`~hwr.runs.analyses.decoding`,
:mod:`~hwr.runs.analyses.norm`, :mod:`~hwr.runs.analyses.attention`,
:mod:`~hwr.runs.analyses.gates` and :mod:`~hwr.runs.analyses.seeds`
(importing this package registers them all).
"""

from __future__ import annotations

from hwr.runs.analyses.attention import _SCORED, SEGMENTATION_LINES, vertical  # noqa: F401
from hwr.runs.analyses.core import (ANALYSES, VERSIONS, _loader, _scores, analyses, analysis,  # noqa: F401
                                    first_analysis, test_lines)
from hwr.runs.analyses.decoding import ctc_decoding, seq2seq_decoding  # noqa: F401
from hwr.runs.analyses.gates import gate_activations  # noqa: F401
from hwr.runs.analyses.norm import NORM_CONDITIONS, norm_batch  # noqa: F401
from hwr.runs.analyses.seeds import _lean, ctc_nan, names_reading, stn_warps  # noqa: F401
from hwr.runs.store import RunRecord

#: analyses every finished run of a family records at once, with their parameters: its checkpoint
#: stays on the machine that trained it, so what a later chapter needs of the model is kept now
RUN_END = {"seq2seq": {"segmentation": {"n": SEGMENTATION_LINES}, "attention_maps": {"n": 3},
                       "segmentation_examples": {"n": SEGMENTATION_LINES}, "vertical": {"n": SEGMENTATION_LINES}}}


def run_end_analyses(rec: RunRecord, family: str, threads: int = 1,
                     extra: dict[str, dict] | None = None) -> dict[str, dict]:
    """Record the :data:`RUN_END` analyses of a finished run of ``family``, and ``extra``
    (analysis -> parameters: what the run's profile asks of its model, :attr:`hwr.profile.Profile.run_end`)."""
    todo = {**RUN_END.get(family, {}), **(extra or {})}
    try:
        return {name: analysis(rec, name, threads, **params) for name, params in todo.items()}
    finally:
        _SCORED.clear()
