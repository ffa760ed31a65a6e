"""A chapter's study: models x variants x seeds on its profile's task.

>>> study = Study.declare("ch03_training", "book", models=["ctc_baseline", "gate_1"])
>>> study.ensure()                    # trains what is missing, else returns at once
>>> df = study.frame()                # one row per run: test CER/WER, speed, provenance

The task (data, model input height, training recipe and budget) is the
profile's entry in ``configs/tasks.yaml`` (:mod:`hwr.training.task`), so the same chapter
declares its study once and runs it under ``smoke`` in CI, ``book`` for the
website and ``full`` at the thesis's conditions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from hwr.profile import Profile
from hwr.runs.executors import run_missing
from hwr.runs.spec import RunSpec
from hwr.runs.store import RunRecord, RunStore
from hwr.training import task as tasks
from hwr.training.config import EXECUTION_FIELDS
from hwr.training.task import get_task


def first_seed(profile: str) -> list[int]:
    """The profile's first seed alone: for runs that only describe (no verdict rests on them)."""
    return list(Profile.load(profile).first_seed)


def scaled_budget(profile: str, model: str, factor: float) -> dict:
    """TrainConfig fields that give ``model`` ``factor`` times the task's budget.

    Both the wall-clock minutes and the learning-rate schedule's length scale,
    so the longer run decays over its whole budget as the others do.
    """
    config = profile_task(profile).config(model)
    change = {"minutes": config.minutes * factor} if config.minutes else {}
    if config.lines:  # a budget in lines: the schedule follows it
        change["lines"] = math.ceil(config.lines * factor)
    if config.schedule_steps:
        change["schedule_steps"] = math.ceil(config.schedule_steps * factor)
    return change


def profile_task(profile: str):
    """The :class:`~hwr.training.task.Task` of ``profile`` (``configs/tasks.yaml``).

    Raises:
        ValueError: the profile's task is not chosen yet.
    """
    task = tasks.profile_task(profile)
    if task is None:
        raise ValueError(f"{tasks.tasks_path()}: profile {profile!r} has no task yet (profiles.{profile} is null)")
    return task


def task_spec(task, experiment: str, seed: int, model: dict | None = None, train: dict | None = None,
              variant: str = "", data: str | None = None) -> RunSpec:
    """The run of ``experiment`` under a :class:`~hwr.training.task.Task`, with changes on top.

    Args:
        task: the task (data, input height, training recipe, budget).
        model: model overrides on top of the task's.
        train: TrainConfig fields on top of the task's (e.g. another budget).
        data: the data source when the task leaves it open.
    """
    fields = {k: v for k, v in task.config(experiment).to_dict().items() if k not in EXECUTION_FIELDS}
    fields.pop("seed")
    return RunSpec(experiment, task.source(data), seed, overrides={**task.overrides(experiment), **(model or {})},
                   train={**fields, **(train or {})}, variant=variant)


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
            self.store = RunStore.of(self.profile)

    @classmethod
    def declare(cls, name: str, profile: str, models: Sequence[str], variants: dict[str, dict] | None = None,
                seeds: Sequence[int] | None = None, store: RunStore | None = None, task: str | None = None) -> "Study":
        """Every model under every variant and seed, on the profile's task.

        Args:
            models: registry names.
            variants: label -> {"model": overrides, "train": TrainConfig fields},
                applied on top of the task (None: the task as it is).
            seeds: training seeds (None: the task's).
            task: a task of ``configs/tasks.yaml`` by name, for a chapter whose
                data differ from the profile's (None: the profile's task).
        """
        task = profile_task(profile) if task is None else get_task(task)
        variants = variants or {"": {}}
        seeds = list(Profile.load(profile).seeds if seeds is None else seeds)
        data = Profile.load(profile).data
        runs = []
        for experiment in models:
            for label, change in variants.items():
                unknown = sorted(set(change) - {"model", "train"})
                if unknown:
                    raise ValueError(f"{name}: variant {label!r} has unknown key(s) {unknown}; use 'model' and 'train'")
                runs += [task_spec(task, experiment, seed, change.get("model"), change.get("train"), label, data)
                         for seed in seeds]
        return cls(name, profile, runs, store)

    @property
    def models(self) -> list[str]:
        """The study's models, each once, in the order they were declared."""
        return list(dict.fromkeys(s.experiment for s in self.runs))

    def __add__(self, other: "Study") -> "Study":
        """Both studies' runs in one (a chapter whose models need different seeds or variants).

        Raises:
            ValueError: the two are of different chapters or profiles.
        """
        if (self.name, self.profile) != (other.name, other.profile):
            raise ValueError(f"cannot join study {self.name}/{self.profile} with {other.name}/{other.profile}")
        runs = self.runs + [spec for spec in other.runs if spec not in self.runs]
        return Study(self.name, self.profile, runs, self.store)

    def status(self) -> dict[str, int]:
        """How many runs are done, damaged, started and missing in the store."""
        counts = {"done": 0, "damaged": 0, "started": 0, "missing": 0}
        for spec in self.runs:
            counts[self.store.status(spec)] += 1
        return counts

    def ensure(self, executor: str = "local", workers: int = 2, threads: int = 1, report=None) -> list[RunRecord]:
        """Train the missing runs (see :func:`hwr.runs.executors.run_missing`), then load every record.

        Raises:
            RuntimeError: some runs failed (one line each, with their logs' paths).
        """
        failures = run_missing(self.runs, self.store.root, executor, workers, threads, report=report)
        if failures:
            raise RuntimeError(f"{self.name}: {len(failures)} run(s) failed (logs in each run's train.log):\n"
                               + "\n".join(failures))
        return self.records()

    def records(self) -> list[RunRecord]:
        return [self.store.load(spec) for spec in self.runs]

    def frame(self):
        """One row per run: model, variant, seed, test CER/WER (and legacy CER),
        best validation CER, lines trained, lines/s, minutes, run id, the share
        of degenerate test outputs, whether a minutes cap cut the run short, and
        whether it is flagged (no verdict may rest on it, :attr:`RunRecord.flagged`)."""
        import pandas as pd

        rows = []
        for rec in self.records():
            m, t = rec.metrics, rec.test
            rows.append({
                "experiment": rec.spec.experiment, "variant": rec.spec.variant, "seed": rec.spec.seed,
                "test_cer": t.get("cer"), "test_wer": t.get("wer"), "legacy_cer": t.get("legacy_cer"),
                "val_cer": (m.get("best") or {}).get("val_cer"), "trained_lines": m.get("trained_lines"),
                "lines_per_s": m.get("lines_per_s"), "minutes": m.get("minutes"), "epochs": m.get("epochs"),
                "run_id": rec.spec.run_id, "degenerate": rec.degenerate, "capped": bool(m.get("capped")),
                "flagged": rec.flagged,
            })
        return pd.DataFrame(rows)

    def folders(self) -> list[Path]:
        return [self.store.folder(s) for s in self.runs]
