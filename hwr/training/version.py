"""The training engine's version: part of every run's identity.

Bump :data:`ENGINE_VERSION` when a change to the training code changes what a
run computes (the loss, the batching, the order of random draws, the stopping
rule), so that stored runs made by the old engine are no longer taken for
runs of the new one. Refactors, logging and speed-ups that leave the numbers
unchanged do not bump it: the run store keys runs by what determines their
result, not by a hash of the source code.

New settings that default to what the engine did before (a budget in lines,
validation periods, an auxiliary CTC loss, a model's input margin) are not a
bump either: they enter the identity of the runs that set them, and stay out
of the others' (``LATER_DEFAULTS`` in :mod:`hwr.training.config` and
:mod:`hwr.models.registry`). The version is written into every checkpoint and
``metrics.json``; a checkpoint or finished run of another version is refused.

History:
    1: the engine of the first book runs (thesis loss and optimiser, width
       buckets, validation on a fixed subset); from issue 22 on it also
       knows lines budgets, validation periods and the auxiliary CTC loss.
"""

ENGINE_VERSION = 1
