"""kraken: ``ketos train`` from scratch on the exported lines, ``kraken ocr`` on the test lines.

Both run in kraken's own venv (``.venv-kraken``, ``peers/install_kraken.sh``): kraken
pins its own numpy, scipy and Lightning, which must not meet hwr's. Training goes
through ``peers/ketos_timed.py``, which adds the wall-clock budget (Lightning's
``max_time``) and a readable log to ketos' own command line.

Training settings: the VGSL spec is the system's (kraken's default, or one of about
the thesis models' size); batch 16 as the book task (ketos' default is 1); everything
else is ketos' default (AdamW at 1e-3, constant rate, no augmentation, validation
once per epoch on the whole validation split). The model kept is ketos' best on
validation.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hwr.paths import ROOT
from hwr.peers import logs
from hwr.peers.outputs import kraken_outputs
from hwr.peers.process import ToolError, check, output_of, run_logged
from hwr.peers.setup import Setup

#: ketos' batch size here: the book task's (ketos' own default is 1 line)
BATCH = 16


def tools(setup: Setup) -> dict[str, Path]:
    """The venv's python, ketos and kraken; a clear error when the venv is missing."""
    venv = setup.kraken_venv
    found = {name: venv / "bin" / name for name in ("python", "ketos", "kraken")}
    missing = [str(p) for p in found.values() if not p.exists()]
    if missing:
        raise ToolError(f"kraken is not installed ({', '.join(missing)} missing): run `bash peers/install_kraken.sh`")
    return found


def versions(setup: Setup) -> dict[str, str]:
    py = tools(setup)["python"]
    code = ("from importlib.metadata import version as v; import torchvision, torchvision_cpu_shim as s; "
            "print(v('kraken'), v('torch'), v('torchvision'), v('lightning'), s.ACTIVE)")
    parts = output_of([py, "-c", code]).split()
    names = ["kraken", "torch (kraken venv)", "torchvision (kraken venv)", "lightning (kraken venv)",
             "torchvision_cpu_shim active"]
    return dict(zip(names, parts)) if len(parts) == len(names) else {"kraken": "unknown"}


def train(setup: Setup, name: str, spec: str | None) -> dict:
    """Train for the budget; returns the model path, the log summary and the curve."""
    t = tools(setup)
    work = setup.work / name
    model_dir = work / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)  # ketos would mix a previous run's checkpoints into "best"
    work.mkdir(parents=True, exist_ok=True)
    for split, images in (("train", setup.images("train")), ("valid", setup.images("valid"))):
        (work / f"{split}.lst").write_text("".join(f"{p}\n" for p in images))
    cmd = [t["python"], ROOT / "peers" / "ketos_timed.py", "-d", "cpu", "--threads", setup.threads, "--workers", 0,
           "-s", setup.seed, "train", "-f", "path", "-t", work / "train.lst", "-e", work / "valid.lst",
           "-q", "fixed", "-N", 100000, "-B", BATCH, *(["-s", spec] if spec else []), "-o", model_dir]
    env = {**setup.thread_env(), "PEERS_MAX_SECONDS": str(setup.budget_s)}
    setup.commands.append({"step": f"{name}: train", "env": {"PEERS_MAX_SECONDS": env["PEERS_MAX_SECONDS"]},
                           "cmd": cmd})
    # Lightning stops by itself at the budget; the outer limit only catches a hang (start-up, the last
    # validation and the conversion of the best checkpoint come on top of the budget).
    done = check(run_logged(cmd, work / "train.log", env=env, budget_s=setup.budget_s * 1.5 + 300),
                 f"ketos train ({name})")
    text = done.log.read_text(encoding="utf-8")
    best = sorted(model_dir.glob("best_*.safetensors"))
    if not best:
        raise ToolError(f"ketos train ({name}) wrote no best_*.safetensors; see {done.log}")
    return {"model": best[-1], "summary": logs.ketos_summary(text), "curve": logs.ketos_curve(text),
            "wall_s": done.seconds}


def recognize(setup: Setup, name: str, model: Path, images: list[Path], tag: str) -> tuple[list[str], float]:
    """``kraken ocr`` on ``images`` in one process; the texts and the process's wall-clock seconds.

    The images are linked into a folder of their own, where kraken writes ``NAME.kraken.txt``.
    """
    t = tools(setup)
    folder = setup.work / name / f"ocr-{tag}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for p in images:
        (folder / p.name).symlink_to(p.resolve())
    cmd = [t["kraken"], "-d", "cpu", "--threads", setup.threads, "-I", f"{folder}/*.png", "-o", ".kraken.txt",
           "ocr", "-m", model, "--no-segmentation", "--num-line-workers", 0]
    setup.commands.append({"step": f"{name}: recognise ({tag})", "cmd": cmd})
    done = check(run_logged(cmd, setup.work / name / f"ocr-{tag}.log", env=setup.thread_env()),
                 f"kraken ocr ({name})")
    return kraken_outputs(images, folder), done.seconds
