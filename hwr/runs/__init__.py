"""The run store: training runs shared between chapters, and the studies that fill it.

A chapter declares its :class:`Study` (models x variants x seeds on its
profile's task); :meth:`Study.ensure` trains only what the store lacks, with a
local process pool or on a SLURM cluster through submitit, and returns the
records. Runs are identified by everything that determines their result
(:mod:`hwr.runs.spec`), so chapters that need the same run share it, and
their small records (not their checkpoints) are committed for the ``book``
profile, so the book renders on a fresh clone without training.

Modules: :mod:`.spec` (identity), :mod:`.store` (folders and records),
:mod:`.execute` (one run: train, test, figure arrays), :mod:`.executors`
(local pool, submitit), :mod:`.study` (a chapter's runs), :mod:`.report`
(tables, curves and verdicts from records), :mod:`.studies` (each chapter's
study), :mod:`.analyses` (what a chapter computes from a trained model,
recorded beside the run), :mod:`.latency` (recorded CPU latencies),
:mod:`.cli` (``hwr sweep``).
"""

from hwr.runs.spec import RunSpec, data_identity
from hwr.runs.store import RunRecord, RunStore
from hwr.runs.study import Study, profile_task

__all__ = ["RunSpec", "RunRecord", "RunStore", "Study", "data_identity", "profile_task"]
