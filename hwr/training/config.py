"""The training configuration and the execution set-up it implies.

:class:`TrainConfig` carries the thesis defaults (spec §9): Adam with lr 5e-4,
default betas, no weight decay, no scheduler, no clipping; batch 32; teacher
forcing 0.8; validation every epoch; early stopping after 50 epochs without a
strict improvement of the validation CER. A learning-rate schedule
(:mod:`hwr.training.schedule`) is a book-task candidate, off by default. The CPU-minded additions (a
wall-clock budget, a validation subset, threads, compile) are
execution details that do not change what is being trained.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from hwr.device import resolve
from hwr.training.schedule import SCHEDULES

#: fields that change how fast a run goes but not what it computes; a finished
#: run is reused ("load if present") and resumed whatever their values
EXECUTION_FIELDS = frozenset({"threads", "device", "workers", "log_every", "progress", "compile",
                              # a tolerance checked against each run, not a setting of what it computes
                              "max_skipped"})

#: the learning-rate schedule's fields at their defaults (the thesis's constant rate)
SCHEDULE_DEFAULTS = {"schedule": "constant", "warmup": 0.0, "schedule_steps": None, "lr_floor": 0.01}

#: fields a resumed run may change: the execution fields and the budgets (not ``lines``: the
#: schedule ends at it)
RESUMABLE_FIELDS = EXECUTION_FIELDS | {"epochs", "minutes", "patience"}

#: fields added after the first book runs, left out of :meth:`TrainConfig.to_dict` at these values
#: (which reproduce what the engine did before they existed), so that stored runs keep their identity
LATER_DEFAULTS = {"lines": None, "val_every": None, "aux_ctc": 0.0, "tf_start": None, "augment": 0.0}


@dataclass
class TrainConfig:
    """How to train one model.

    Attributes:
        epochs: most epochs to train (the thesis trains until early stopping).
        minutes: wall-clock budget in minutes for the whole run, resumes
            included; checked between batches, the run then validates, saves
            and stops cleanly. ``None``: no limit. Beside a ``lines`` budget
            it is a safety cap: a run it stops is recorded as cut short
            (``metrics.json`` ``"capped": true``), never as complete.
        lines: the training budget in lines: the run takes
            ``ceil(lines / batch_size)`` optimiser steps and stops (stop
            reason ``"lines"``), and a schedule without ``schedule_steps``
            ends its decay exactly there. The same spec and seed then see the
            same batches on every machine, however fast. ``None``: epochs
            and minutes decide.
        val_every: validate, record a history row and checkpoint every this
            many training lines (rounded up to whole batches), whatever the
            pass over the data; ``None``: once per epoch. With a training set
            larger than the budget, epochs would never end.
        aux_ctc: weight of a training-only CTC loss on a seq2seq model's
            memory (:class:`hwr.training.losses.AuxCTC`); 0: none (thesis).
        augment: strength of the training lines' augmentation (:mod:`hwr.augment`:
            slant, height, elastic warp, stroke width, noise); 0: none (thesis).
        batch_size: lines per training batch.
        lr: Adam learning rate (default betas); the peak rate of a schedule.
        weight_decay: Adam weight decay (thesis: none).
        schedule: learning-rate schedule, ``"constant"`` (thesis),
            ``"warmup_cosine"`` or ``"onecycle"`` (:mod:`hwr.training.schedule`).
        warmup: warm-up of a schedule: a fraction of ``schedule_steps`` when
            below 1, else a number of optimiser steps.
        schedule_steps: optimiser steps at which a schedule's decay ends
            (the rate stays at the floor after); required by every schedule
            but ``"constant"``. See :func:`hwr.training.schedule.estimate_steps`.
        lr_floor: a schedule's final rate as a fraction of ``lr``.
        teacher_forcing: probability of feeding the ground-truth symbol to the
            next decoder step (seq2seq only).
        tf_start: a teacher-forcing schedule: the probability starts at
            this value and falls linearly to ``teacher_forcing`` over the
            first half of the schedule (``schedule_total`` steps), then stays
            there; ``None``: ``teacher_forcing`` throughout (thesis).
        patience: stop after this many epochs without a strict improvement of
            the validation CER.
        val_subset: validate on this many lines (a fixed, evenly spaced subset
            of the validation split); ``None``: the whole split.
        val_width: pad validation images to this width (thesis: 1408);
            ``None`` pads each validation batch to its widest line only, with
            batches formed from lines of similar width (much faster on CPU).
        seed: seeds torch, numpy, Python and the batch order.
        threads: torch intra-op threads; 0 = one per available core, minus
            the data-loader workers.
        device: "auto" (CUDA when available), "cpu", "cuda", "cuda:1", ...
        workers: data-loader worker processes (0 = load in the main process).
        log_every: refresh the progress display every this many batches.
        progress: show a progress bar (else one log line per ``log_every``).
        compile: wrap the model in ``torch.compile(dynamic=True)`` (first call
            costs 1-2 minutes on CPU).
        max_skipped: largest share of lines that may be skipped (left out
            when a split was opened, or unreadable when loaded) in either
            split and in any epoch; above it the run stops with the list of
            files instead of training or validating on what is left.
        init_from: fine-tuning: the folder name of a finished run in the same
            store (a sibling of this run's folder) whose best weights this
            run starts from, instead of random ones. Its name holds its
            identity's digest, so the parent is part of this run's identity.
    """

    epochs: int = 1000
    minutes: float | None = None
    lines: int | None = None
    val_every: int | None = None
    aux_ctc: float = 0.0
    augment: float = 0.0
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup: float = 0.0
    schedule_steps: int | None = None
    lr_floor: float = 0.01
    teacher_forcing: float = 0.8
    tf_start: float | None = None
    patience: int = 50
    val_subset: int | None = None
    val_width: int | None = None
    seed: int = 0
    threads: int = 0
    device: str = "auto"
    workers: int = 0
    log_every: int = 10
    progress: bool = True
    compile: bool = False
    max_skipped: float = 0.01
    init_from: str | None = None

    def __post_init__(self):
        checks = {
            "epochs": self.epochs >= 1,
            "minutes": self.minutes is None or self.minutes > 0,
            "batch_size": self.batch_size >= 1,
            "lr": self.lr > 0,
            "teacher_forcing": 0.0 <= self.teacher_forcing <= 1.0,
            "tf_start": self.tf_start is None or (0.0 <= self.tf_start <= 1.0 and bool(self.schedule_total)),
            "patience": self.patience >= 1,
            "val_subset": self.val_subset is None or self.val_subset >= 1,
            "threads": self.threads >= 0,
            "workers": self.workers >= 0,
            "log_every": self.log_every >= 1,
            "max_skipped": 0.0 <= self.max_skipped <= 1.0,
            "schedule": self.schedule in SCHEDULES,
            "lines": self.lines is None or (isinstance(self.lines, int) and self.lines >= 1),
            "val_every": self.val_every is None or (isinstance(self.val_every, int) and self.val_every >= 1),
            "aux_ctc": self.aux_ctc >= 0,
            "augment": 0.0 <= self.augment <= 2.0 and (self.augment == 0.0 or self.workers == 0),
            "schedule_steps": (self.schedule_steps is None and (self.schedule == "constant" or bool(self.lines)))
            or (isinstance(self.schedule_steps, int) and self.schedule_steps >= 1),
            "warmup": self.warmup >= 0 and (self.warmup < 1 or float(self.warmup).is_integer())
            and (not self.schedule_total or self.warmup < 1 or self.warmup <= self.schedule_total),
            "lr_floor": 0.0 <= self.lr_floor <= 1.0,
        }
        bad = [f"{k}={getattr(self, k)!r}" for k, ok in checks.items() if not ok]
        if self.lines and self.val_every is None:
            bad.append("val_every=None (a lines budget validates every val_every lines)")
        if bad:
            raise ValueError(f"TrainConfig: invalid {', '.join(bad)}")

    def to_dict(self) -> dict:
        """Plain dict (JSON- and ``torch.load(weights_only=True)``-safe).

        The schedule fields are left out while all of them are at their
        defaults (constant rate), ``init_from`` while it is None and each of
        :data:`LATER_DEFAULTS` at its default: runs
        made before those fields existed keep their identity, and
        :meth:`from_dict` restores the defaults.
        """
        d = dataclasses.asdict(self)
        for k, v in LATER_DEFAULTS.items():
            if d[k] == v:
                del d[k]
        if all(d[k] == v for k, v in SCHEDULE_DEFAULTS.items()):
            for k in SCHEDULE_DEFAULTS:
                del d[k]
        if d["init_from"] is None:
            del d["init_from"]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise a clear error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"TrainConfig: unknown field(s) {unknown}")
        return cls(**d)

    @property
    def budget_steps(self) -> int | None:
        """Optimiser steps of a ``lines`` budget (None without one)."""
        return -(-self.lines // self.batch_size) if self.lines else None

    @property
    def val_steps(self) -> int | None:
        """Optimiser steps between validations with ``val_every`` (None: per epoch)."""
        return -(-self.val_every // self.batch_size) if self.val_every else None

    @property
    def schedule_total(self) -> int | None:
        """Steps at which a schedule's decay ends: ``schedule_steps``, else the ``lines`` budget."""
        return self.schedule_steps or self.budget_steps

    def teacher_forcing_at(self, step: int) -> float:
        """The teacher-forcing probability of optimiser step ``step`` (0-based)."""
        if self.tf_start is None:
            return self.teacher_forcing
        half = max(1, self.schedule_total // 2)
        return self.tf_start + (self.teacher_forcing - self.tf_start) * min(1.0, step / half)

    def result_fields(self) -> dict:
        """The fields that decide the result (everything but execution details)."""
        return {k: v for k, v in self.to_dict().items() if k not in EXECUTION_FIELDS}


def available_cores() -> int:
    """CPU cores this process may run on (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_threads(config: TrainConfig) -> int:
    """Torch threads for ``config``: explicit, or one per core left by the workers.

    Oversubscription is what hurts on a small CPU (spec speed.md: 5-16x slower
    steps), so the automatic choice never counts a core twice.
    """
    if config.threads:
        return config.threads
    return max(1, available_cores() - config.workers)


def resolve_device(name: str) -> str:
    """The torch device for ``TrainConfig.device``: :func:`hwr.device.resolve`."""
    return resolve(name)


def setup_threads(n: int) -> None:
    """Use ``n`` torch threads; passive OpenMP waiting so idle threads yield.

    ``OMP_WAIT_POLICY`` only takes effect if set before torch is imported;
    :mod:`hwr.cli` sets it early, and here it is a default for children.
    """
    import torch

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
