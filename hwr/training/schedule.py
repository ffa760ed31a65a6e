"""Learning-rate schedules, stepped once per optimiser step.

The thesis trains at a constant rate (``schedule="constant"``, the default):
then nothing here touches the optimiser, and training is bit-identical to a
run without this module. The other schedules are book-task candidates:

- ``"warmup_cosine"``: the rate rises linearly from ``lr / W`` to the peak
  ``lr`` over the first ``W`` steps, then falls along a half cosine to
  ``lr * lr_floor`` at step ``schedule_steps``.
- ``"onecycle"`` (Smith and Topin 2017, as ``torch.optim.lr_scheduler.OneCycleLR``
  with ``anneal_strategy="cos"``, two phases, no momentum cycling): the rate
  rises along a half cosine from ``lr / 25`` to ``lr`` over ``W`` steps, then
  falls along a half cosine to ``lr * lr_floor`` at ``schedule_steps``. Adam's
  betas stay at the thesis defaults.

Both stay at ``lr * lr_floor`` after ``schedule_steps``.

Why a fixed number of steps: a run has a minutes budget, so how many steps it
will take is not known in advance, and a schedule that stretched itself over
wall-clock time would make the result depend on the machine's speed (and
break exact resuming). ``schedule_steps`` is therefore part of the recipe,
chosen from a measured speed (:func:`estimate_steps`); a run that is faster
than the estimate finishes its decay early and trains on at the floor, a
slower one stops before the end of its decay. History records the rate
(``lr`` column) so either case is visible.

The step count is saved in the checkpoint (``"schedule"``) and restored on
resume, so a resumed run follows the same rates as an uninterrupted one.
"""

from __future__ import annotations

import math

SCHEDULES = ("constant", "warmup_cosine", "onecycle")
#: onecycle's first rate is ``lr / ONECYCLE_DIV`` (torch's ``div_factor``)
ONECYCLE_DIV = 25.0


def warmup_steps(warmup: float, total: int) -> int:
    """``warmup`` as a number of steps: a fraction of ``total`` when below 1,
    else a step count."""
    return int(round(warmup * total)) if warmup < 1 else int(warmup)


def lr_factor(schedule: str, step: int, total: int, warmup: int, floor: float) -> float:
    """The rate of optimiser step ``step`` (0-based) as a fraction of the peak.

    Args:
        schedule: one of :data:`SCHEDULES`.
        step: steps already taken.
        total: ``schedule_steps``, the step at which the decay reaches ``floor``.
        warmup: warm-up steps (0: start at the peak).
        floor: final rate as a fraction of the peak.
    """
    if schedule == "constant":
        return 1.0
    if schedule not in SCHEDULES:
        raise ValueError(f"hwr.training.schedule: unknown schedule {schedule!r}; choose one of {SCHEDULES}")
    if step < warmup:
        if schedule == "warmup_cosine":
            return (step + 1) / warmup
        start = 1.0 / ONECYCLE_DIV
        return start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * step / warmup))
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def estimate_steps(minutes: float, lines_per_s: float, batch_size: int) -> int:
    """Optimiser steps a run of ``minutes`` takes at a measured training speed
    (validation time not subtracted: a slight over-estimate)."""
    return max(1, int(minutes * 60 * lines_per_s / batch_size))


class LRSchedule:
    """Sets the rate of every param group of ``optimizer`` before each step.

    Registered as an optimiser step post-hook, so the training loop needs no
    change: after every ``optimizer.step()`` the rate of the next step is set.
    With ``config.schedule == "constant"`` it registers nothing and never
    writes the rate.

    Args:
        optimizer: a torch optimiser whose groups start at ``config.lr``.
        config: a :class:`hwr.training.config.TrainConfig`.
    """

    def __init__(self, optimizer, config):
        self.optimizer = optimizer
        self.schedule = config.schedule
        self.peak = config.lr
        self.total = config.schedule_total or 0  # schedule_steps, else the end of a lines budget
        self.warmup = warmup_steps(config.warmup, self.total)
        self.floor = config.lr_floor
        self.step = 0
        if self.schedule != "constant":
            self._apply()
            optimizer.register_step_post_hook(self._after_step)

    def lr(self, step: int | None = None) -> float:
        """The rate of step ``step`` (default: the next one)."""
        step = self.step if step is None else step
        return self.peak * lr_factor(self.schedule, step, self.total, self.warmup, self.floor)

    def _apply(self) -> None:
        lr = self.lr()
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _after_step(self, optimizer, args, kwargs) -> None:
        self.step += 1
        self._apply()

    def state_dict(self) -> dict:
        """Plain types, safe for ``torch.load(weights_only=True)``."""
        return {"schedule": self.schedule, "step": self.step}

    def load_state_dict(self, state: dict | None) -> None:
        """Continue from a checkpoint's ``"schedule"`` entry (None: a checkpoint
        written before schedules existed, only valid for a constant rate)."""
        if state is None:
            if self.schedule != "constant":
                raise ValueError(f"hwr.training.schedule: the checkpoint has no schedule state, "
                                 f"cannot resume a {self.schedule!r} schedule from it")
            return
        if state.get("schedule") != self.schedule:
            raise ValueError(f"hwr.training.schedule: the checkpoint was trained with schedule "
                             f"{state.get('schedule')!r}, not {self.schedule!r}")
        self.step = int(state["step"])
        if self.schedule != "constant":
            self._apply()
