"""What a run is: everything that determines its result, and the name derived from it.

A :class:`RunSpec` names a registry experiment, its model overrides, a data
source, the training settings and a seed. Its :meth:`~RunSpec.identity` is the
full, explicit description of the run:

* the complete model configuration (every :class:`~hwr.models.registry.ModelConfig`
  field after overrides, so a later change of a registry default is a
  different run, not a silent match);
* the data identity (:func:`data_identity`): for a synthetic preset its
  generator version and configuration, for a dataset on disk a fingerprint of
  its ids and texts;
* the training configuration without the fields that only change how fast it
  runs (threads, device, workers, progress), the seed included;
* :data:`hwr.training.version.ENGINE_VERSION`.

The folder name (:attr:`RunSpec.run_id`) is the experiment, the seed and a
short hash of that identity, so chapters asking for the same run share it, and
an unrelated code change does not invalidate stored runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache

from hwr.datasets import open_dataset
from hwr.models.registry import MODELS, config_dict
from hwr.synth.config import GENERATOR_VERSION, PRESETS
from hwr.training.config import EXECUTION_FIELDS, TrainConfig
from hwr.training.data import describe_source, fingerprint
from hwr.training.version import ENGINE_VERSION


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


@lru_cache(maxsize=64)
def _data_identity(source: str) -> str:
    if source == "synth" or source.startswith("synth:"):

        preset = source.partition(":")[2] or "default"
        if preset not in PRESETS:
            raise KeyError(f"no synthetic preset {preset!r}; presets: {', '.join(PRESETS)}")
        ident = {"source": f"synth:{preset}", "generator": GENERATOR_VERSION,
                 "config": PRESETS[preset].to_dict()}
    else:

        splits = [open_dataset(source, s) for s in ("train", "valid", "test")]
        ident = {"source": describe_source(source), "fingerprint": fingerprint(*splits),
                 "sizes": [len(s) for s in splits]}
    return _canonical(ident)


def data_identity(source: str) -> dict:
    """The identity of a data source, without rendering or decoding any image.

    Synthetic presets (``"synth:<preset>"``) are identified by what generates
    them (generator version and preset configuration); a dataset path by a
    fingerprint of the ids and texts of its three splits.
    """
    return json.loads(_data_identity(str(source)))


@dataclass(frozen=True)
class RunSpec:
    """One training run, as a study declares it.

    Attributes:
        experiment: registry name (``"gate_1"``).
        data: data source (``"synth:phrases"``, a path).
        seed: training seed (weights, batch order, teacher forcing draws).
        overrides: :class:`~hwr.models.registry.ModelConfig` fields to change.
        train: :class:`~hwr.training.TrainConfig` fields (budget, batch, lr, ...);
            ``seed`` is taken from :attr:`seed`.
        variant: a short label for tables and legends ("tf 1.0"); not part of
            the identity (two labels for one run are the same run).
    """

    experiment: str
    data: str
    seed: int = 0
    overrides: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    variant: str = ""

    def __post_init__(self):
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(self.train) - known)
        if unknown:
            raise TypeError(f"RunSpec({self.experiment!r}): unknown training setting(s) {unknown}")
        if "seed" in self.train:
            raise TypeError(f"RunSpec({self.experiment!r}): give the seed as RunSpec.seed, not in train")

    def __hash__(self) -> int:
        return hash(self.run_id)

    @property
    def label(self) -> str:
        """``experiment`` or ``experiment (variant)``."""
        return f"{self.experiment} ({self.variant})" if self.variant else self.experiment

    def config(self, **execution) -> TrainConfig:
        """The :class:`TrainConfig` of this run; ``execution`` sets threads, device, progress..."""
        bad = sorted(set(execution) - EXECUTION_FIELDS)
        if bad:
            raise TypeError(f"only execution fields may be set here, not {bad}")
        return TrainConfig(**{**self.train, **execution, "seed": self.seed})

    def model_config(self) -> dict:
        """Every model configuration field after overrides."""
        if self.experiment not in MODELS:
            raise KeyError(f"unknown experiment {self.experiment!r}; known: {', '.join(MODELS)}")
        return config_dict(MODELS[self.experiment].model_config(**self.overrides))

    def identity(self) -> dict:
        """Everything that determines the result (see the module docstring)."""
        cfg = self.config().to_dict()
        return json.loads(_canonical({
            "engine": ENGINE_VERSION,
            "experiment": self.experiment,
            "model": self.model_config(),
            "data": data_identity(self.data),
            "train": {k: v for k, v in cfg.items() if k not in EXECUTION_FIELDS},
        }))

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical identity, first 10 hex digits."""
        return hashlib.sha256(_canonical(self.identity()).encode()).hexdigest()[:10]

    @property
    def run_id(self) -> str:
        """The run's folder name: ``<experiment>-s<seed>-<digest>``."""
        return f"{self.experiment}-s{self.seed}-{self.digest}"

    def to_dict(self) -> dict:
        return {"experiment": self.experiment, "data": self.data, "seed": self.seed,
                "overrides": dict(self.overrides), "train": dict(self.train), "variant": self.variant}

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        return cls(**{k: d[k] for k in ("experiment", "data", "seed", "overrides", "train", "variant") if k in d})
