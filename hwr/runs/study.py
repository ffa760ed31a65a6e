"""A chapter's study: models x variants x seeds on its profile's task.

>>> study = Study.declare("ch03_training", "book", models=["ctc_baseline", "gate_1"])
>>> study.ensure()                    # trains what is missing, else returns at once
>>> df = study.frame()                # one row per run: test CER/WER, speed, provenance

The task (data, model input settings, training budget, seeds) comes from the
profile's ``task`` section (``configs/<profile>.yaml``), so the same chapter
declares its study once and runs it under ``smoke`` in CI, ``book`` for the
website and ``full`` at the thesis's conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from hwr.runs.spec import RunSpec
from hwr.runs.store import RunRecord, RunStore

#: the task when a profile declares none: the thesis's conditions on the default synthetic set
DEFAULT_TASK = {"data": "synth:default", "model": {}, "train": {}, "seeds": [0]}


def task_settings(profile: str) -> dict:
    """The profile's task: ``data``, ``model`` (overrides), ``train`` (TrainConfig fields), ``seeds``."""
    import yaml

    from hwr.paths import CONFIGS

    path = CONFIGS / f"{profile}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.yaml")))
        raise FileNotFoundError(f"{path}: no profile {profile!r}; profiles: {known}")
    task = (yaml.safe_load(path.read_text()) or {}).get("task") or {}
    unknown = sorted(set(task) - set(DEFAULT_TASK))
    if unknown:
        raise ValueError(f"{path}: unknown task key(s) {unknown}; known: {sorted(DEFAULT_TASK)}")
    return {**DEFAULT_TASK, **task}


@dataclass
class Study:
    """The runs a chapter needs, in a store.

    Attributes:
        name: the chapter's name (``ch03_training``).
        profile: the profile whose task and store it uses.
        runs: every run, in table order.
        store: where the runs live (``results/<profile>/runs``).
    """

    name: str
    profile: str
    runs: list[RunSpec]
    store: RunStore = field(default=None)

    def __post_init__(self):
        if self.store is None:
            self.store = RunStore(profile=self.profile)

    @classmethod
    def declare(cls, name: str, profile: str, models: Sequence[str], variants: dict[str, dict] | None = None,
                seeds: Sequence[int] | None = None, store: RunStore | None = None) -> "Study":
        """Every model under every variant and seed, on the profile's task.

        Args:
            models: registry names.
            variants: label -> {"model": overrides, "train": TrainConfig fields},
                applied on top of the task (None: the task as it is).
            seeds: training seeds (None: the task's).
        """
        task = task_settings(profile)
        variants = variants or {"": {}}
        seeds = list(task["seeds"] if seeds is None else seeds)
        runs = []
        for experiment in models:
            for label, change in variants.items():
                unknown = sorted(set(change) - {"model", "train"})
                if unknown:
                    raise ValueError(f"{name}: variant {label!r} has unknown key(s) {unknown}; use 'model' and 'train'")
                for seed in seeds:
                    runs.append(RunSpec(experiment, task["data"], seed,
                                        overrides={**task["model"], **change.get("model", {})},
                                        train={**task["train"], **change.get("train", {})}, variant=label))
        return cls(name, profile, runs, store)

    def status(self) -> dict[str, int]:
        """How many runs are done, started and missing in the store."""
        counts = {"done": 0, "started": 0, "missing": 0}
        for spec in self.runs:
            counts[self.store.status(spec)] += 1
        return counts

    def ensure(self, executor: str = "local", workers: int = 2, threads: int = 1, report=None) -> list[RunRecord]:
        """Train the missing runs (see :func:`hwr.runs.executors.run_missing`), then load every record.

        Raises:
            RuntimeError: some runs failed (one line each, with their logs' paths).
        """
        from hwr.runs.executors import run_missing

        failures = run_missing(self.runs, self.store.root, executor, workers, threads, report=report)
        if failures:
            raise RuntimeError(f"{self.name}: {len(failures)} run(s) failed (logs in each run's train.log):\n"
                               + "\n".join(failures))
        return self.records()

    def records(self) -> list[RunRecord]:
        return [self.store.load(spec) for spec in self.runs]

    def frame(self):
        """One row per run: model, variant, seed, test CER/WER (and legacy CER),
        best validation CER, lines trained, lines/s, minutes, run id."""
        import pandas as pd

        rows = []
        for rec in self.records():
            m, t = rec.metrics, rec.test
            rows.append({
                "experiment": rec.spec.experiment, "variant": rec.spec.variant, "seed": rec.spec.seed,
                "test_cer": t.get("cer"), "test_wer": t.get("wer"), "legacy_cer": t.get("legacy_cer"),
                "val_cer": (m.get("best") or {}).get("val_cer"), "trained_lines": m.get("trained_lines"),
                "lines_per_s": m.get("lines_per_s"), "minutes": m.get("minutes"), "epochs": m.get("epochs"),
                "run_id": rec.spec.run_id,
            })
        return pd.DataFrame(rows)

    def folders(self) -> list[Path]:
        return [self.store.folder(s) for s in self.runs]
