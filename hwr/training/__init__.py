"""Training: one entry point for both model families (thesis spec §9).

>>> from hwr.training import TrainConfig, train, load_model
>>> metrics = train("gate_1", "synth:smoke", "results/smoke/gate_1", TrainConfig(minutes=5, val_subset=200))
>>> model = load_model("results/smoke/gate_1/checkpoints/best.pt")

Modules: :mod:`.config` (:class:`TrainConfig`, threads, device),
:mod:`.losses` (seq2seq and CTC losses), :mod:`.data` (splits, validation
subset, loaders), :mod:`.checkpoint` (random states, resuming with fallback,
what may be resumed), :mod:`.records` (history.csv, metrics.json, run.json),
:mod:`.engine` (the loop), :mod:`.distributed` (one run on several
processes under ``torchrun -m hwr.training``), :mod:`.cli` (``hwr train``). Model files
(:func:`load_model`, :func:`load_checkpoint`, :func:`save_checkpoint`) live in
:mod:`hwr.models.io` and are re-exported here.
"""

from hwr.models.io import load_checkpoint, load_model, save_checkpoint
from hwr.training.config import TrainConfig
from hwr.training.engine import train, validate

__all__ = ["TrainConfig", "train", "validate", "load_model", "load_checkpoint", "save_checkpoint"]
