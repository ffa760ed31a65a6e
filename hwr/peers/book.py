"""The book's own models, retrained under the peers' conditions and read like them.

The best CTC and the best seq2seq configuration of the book (:mod:`hwr.peers.choose`)
are trained again on the profile's task with the comparison's budget and threads,
alone on the machine, with ``hwr train`` (the same settings as the book's run of that
model: the task's recipe, seed 0), then read the test images with ``hwr recognize``
(greedy decoding, one image at a time), the same way the other systems read them:
from the exported files, in one process.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from hwr.files import read_json
from hwr.peers.choose import Choice
from hwr.peers.outputs import hwr_outputs
from hwr.peers.process import check, run_logged
from hwr.peers.setup import Setup
from hwr.profile import Profile
from hwr.runs.study import profile_task, task_spec


def spec_for(setup: Setup, choice: Choice):
    """The run: the chosen model on the profile's task, the comparison's budget, trained until the budget ends."""
    task = profile_task(setup.profile)
    # epochs: a task may stop by epochs (smoke); here only the minutes may stop a run, as for the other systems
    return task_spec(task, choice.experiment, setup.seed, model=dict(choice.overrides),
                     train={"minutes": setup.minutes, "epochs": 1000}, variant=choice.variant,
                     data=Profile.load(setup.profile).data)


def train_command(spec, out: Path, threads: int) -> list[str]:
    """``hwr train`` with every training setting of ``spec`` spelled out (nothing left to defaults)."""
    cmd = [sys.executable, "-m", "hwr.cli", "train", spec.experiment, "--data", spec.data, "--out", out,
           "--seed", spec.seed, "--threads", threads, "--device", "cpu", "--no-progress"]
    for key, value in spec.train.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            cmd.append(flag if value else "--no-" + key.replace("_", "-"))
        else:
            cmd += [flag, "none" if value is None else value]
    for key, value in spec.overrides.items():
        cmd += ["-o", f"{key}={value}"]
    return cmd


def train(setup: Setup, name: str, choice: Choice) -> dict:
    """Train the chosen model for the budget; its run folder, metrics and validation curve."""
    import pandas as pd

    spec = spec_for(setup, choice)
    out = setup.work / name / "run"
    if out.exists():
        shutil.rmtree(out)  # hwr train would resume an earlier run instead of training anew
    cmd = train_command(spec, out, setup.threads)
    setup.commands.append({"step": f"{name}: train", "cmd": cmd})
    done = check(run_logged(cmd, setup.work / name / "train.log", env=setup.thread_env()), f"hwr train ({name})")
    metrics = read_json(out / "metrics.json") or {}
    history = pd.read_csv(out / "history.csv")
    seen = history["lines"].fillna(0).cumsum()
    curve = [{"seconds": float(s), "lines": int(n), "cer": float(c), "curve": "validation"}
             for s, n, c in zip(history["elapsed"], seen, history["val_cer"])]
    return {"model": out, "metrics": metrics, "curve": curve, "wall_s": done.seconds, "spec": spec}


def recognize(setup: Setup, name: str, model: Path, images: list[Path], tag: str) -> tuple[list[str], float]:
    """``hwr recognize --json`` over ``images`` in one process; the texts and its wall-clock seconds."""
    cmd = [sys.executable, "-m", "hwr.cli", "recognize", "--model", model, "--device", "cpu", "--json",
           *[p.resolve() for p in images]]
    shown = cmd[:9] + ["TEST-IMAGES..."] if len(images) > 3 else cmd
    setup.commands.append({"step": f"{name}: recognise ({tag})", "cmd": shown})
    done = check(run_logged(cmd, setup.work / name / f"ocr-{tag}.log", env=setup.thread_env()),
                 f"hwr recognize ({name})")
    text = "\n".join(line.partition("\t")[2] for line in done.log.read_text(encoding="utf-8").splitlines())
    return hwr_outputs(images, text), done.seconds
