"""The training engine's version: part of every run's identity.

Bump :data:`ENGINE_VERSION` when a change to the training code changes what a
run computes (the loss, the batching, the order of random draws, the stopping
rule), so that stored runs made by the old engine are no longer taken for
runs of the new one. Refactors, logging and speed-ups that leave the numbers
unchanged do not bump it: the run store keys runs by what determines their
result, not by a hash of the source code.

History:
    1: the engine of the first book runs (thesis loss and optimiser, width
       buckets, validation on a fixed subset).
"""

ENGINE_VERSION = 1
