"""Learning-rate schedules: the curves, the config, the engine, resuming."""

from __future__ import annotations

import csv
import math

import pytest

from hwr.errors import RunFolderError
import torch

from hwr.training import TrainConfig, load_checkpoint, train
from hwr.training import epoch as train_epoch
from hwr.training.schedule import LRSchedule, estimate_steps, lr_factor, warmup_steps

from test_train import TINY, lines


@pytest.fixture(scope="module")
def data():
    return {"train": lines(16, 0, "t"), "valid": lines(6, 1, "v")}


def config(**kw) -> TrainConfig:
    base = dict(epochs=3, batch_size=8, threads=1, progress=False, log_every=1)
    return TrainConfig(**{**base, **kw})


def rates(cfg: TrainConfig, steps: int) -> list[float]:
    """The rate each of ``steps`` optimiser steps uses."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=cfg.lr)
    LRSchedule(opt, cfg)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        p.grad = torch.ones(1)
        opt.step()
    return out


def test_warmup_cosine_curve():
    cfg = TrainConfig(lr=1e-3, schedule="warmup_cosine", warmup=4, schedule_steps=12, lr_floor=0.1)
    r = rates(cfg, 15)
    assert r[:4] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert r[4] == pytest.approx(1e-3)                      # start of the decay: the peak
    assert r[8] == pytest.approx(1e-4 + 0.9e-3 * 0.5)       # half way: the mean of peak and floor
    assert r[12:] == pytest.approx([1e-4] * 3)              # after schedule_steps: the floor
    assert all(a >= b for a, b in zip(r[4:], r[5:]))


def test_onecycle_curve():
    cfg = TrainConfig(lr=2e-3, schedule="onecycle", warmup=0.25, schedule_steps=20, lr_floor=0.0)
    r = rates(cfg, 22)
    assert r[0] == pytest.approx(2e-3 / 25)
    assert r[5] == pytest.approx(2e-3) and max(r) == pytest.approx(2e-3)
    assert r[20] == pytest.approx(0.0, abs=1e-12) and r[21] == pytest.approx(0.0, abs=1e-12)
    assert all(a < b for a, b in zip(r[:5], r[1:6]))


def test_factor_helpers():
    assert warmup_steps(0.1, 50) == 5 and warmup_steps(7, 50) == 7 and warmup_steps(0, 50) == 0
    assert lr_factor("warmup_cosine", 0, 10, 0, 0.0) == 1.0
    assert lr_factor("warmup_cosine", 5, 10, 0, 0.0) == pytest.approx(0.5)
    assert estimate_steps(10, 8.0, 16) == 300
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_factor("step", 0, 10, 0, 0.0)


def test_constant_is_the_default_and_leaves_the_optimiser_alone():
    cfg = TrainConfig()
    assert (cfg.schedule, cfg.schedule_steps) == ("constant", None)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=5e-4)
    LRSchedule(opt, cfg)
    assert not opt._optimizer_step_post_hooks  # no hook: today's training loop exactly
    assert rates(cfg, 3) == [5e-4] * 3
    # runs made before schedules existed keep their identity
    assert not {"schedule", "warmup", "schedule_steps", "lr_floor"} & set(cfg.to_dict())
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    sched = TrainConfig(schedule="onecycle", warmup=0.3, schedule_steps=100)
    assert sched.to_dict()["schedule"] == "onecycle" and TrainConfig.from_dict(sched.to_dict()) == sched


@pytest.mark.parametrize("kw,field", [
    (dict(schedule="cosine"), "schedule"),
    (dict(schedule="warmup_cosine"), "schedule_steps"),
    (dict(schedule="onecycle", schedule_steps=0), "schedule_steps"),
    (dict(schedule="onecycle", schedule_steps=10, warmup=11), "warmup"),
    (dict(schedule="onecycle", schedule_steps=10, warmup=2.5), "warmup"),
    (dict(schedule="onecycle", schedule_steps=10, lr_floor=2), "lr_floor"),
])
def test_config_refuses_bad_schedules(kw, field):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**kw)


def test_engine_follows_the_schedule_and_resumes_it_exactly(data, tmp_path, monkeypatch):
    cfg = config(lr=1e-3, schedule="warmup_cosine", warmup=2, schedule_steps=6, lr_floor=0.5)
    ref = tmp_path / "ref"
    train("ctc_baseline", data, ref, cfg, **TINY["ctc_baseline"])
    with open(ref / "history.csv") as f:
        rows = list(csv.DictReader(f))
    # 2 steps per epoch: after epoch e the next step is 2e
    expected = [1e-3 * lr_factor("warmup_cosine", 2 * e, 6, 2, 0.5) for e in (1, 2, 3)]
    assert [float(r["lr"]) for r in rows] == pytest.approx(expected, rel=1e-5)
    assert load_checkpoint(ref / "checkpoints" / "last.pt")["schedule"] == {"schedule": "warmup_cosine", "step": 6}

    real_step, calls = train_epoch.train_step, []

    def crashing_step(*args, **kw):
        calls.append(1)
        if len(calls) == 4:  # the middle of epoch 2
            raise KeyboardInterrupt("simulated kill")
        return real_step(*args, **kw)

    run = tmp_path / "run"
    monkeypatch.setattr(train_epoch, "train_step", crashing_step)
    with pytest.raises(KeyboardInterrupt):
        train("ctc_baseline", data, run, cfg, **TINY["ctc_baseline"])
    monkeypatch.setattr(train_epoch, "train_step", real_step)
    train("ctc_baseline", data, run, cfg, **TINY["ctc_baseline"])
    with open(run / "history.csv") as f:
        again = list(csv.DictReader(f))
    assert [(r["lr"], r["train_loss"], r["val_cer"]) for r in again] == \
           [(r["lr"], r["train_loss"], r["val_cer"]) for r in rows]
    # another schedule cannot continue this checkpoint
    with pytest.raises(RunFolderError, match="schedule"):
        train("ctc_baseline", data, run, config(epochs=4, lr=1e-3), **TINY["ctc_baseline"])


def test_constant_run_matches_a_run_without_the_schedule_hook(data, tmp_path, monkeypatch):
    from hwr.training import engine

    a = train("ctc_baseline", data, tmp_path / "a", config(epochs=1), **TINY["ctc_baseline"])

    class NoSchedule:
        def __init__(self, *args):
            pass

        def state_dict(self):
            return None

        def load_state_dict(self, state):
            pass

    monkeypatch.setattr(engine, "LRSchedule", NoSchedule)
    b = train("ctc_baseline", data, tmp_path / "b", config(epochs=1), **TINY["ctc_baseline"])
    assert a["best"] == b["best"] and not math.isnan(a["best"]["train_loss"])
    wa = load_checkpoint(tmp_path / "a" / "checkpoints" / "last.pt")["model"]
    wb = load_checkpoint(tmp_path / "b" / "checkpoints" / "last.pt")["model"]
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
