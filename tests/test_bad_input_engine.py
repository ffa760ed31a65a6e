"""Bad input, faults and misuse of the training engine and of scoring (issue 7).

Each case asserts the exact outcome: the error type, that its one-line message
names the file or split, that no file was deleted or overwritten, and that no
score is produced over zero lines. Everything runs on tiny CTC models
(``ctc_hidden=16``) over 24-px-high random lines, one epoch, one thread.
"""

from __future__ import annotations

import ast
import dataclasses
import errno
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import hwr.files
from hwr.datasets import DatasetError, LineItem, MemoryDataset
from hwr.errors import CheckpointError, EmptyScoreError, RunFolderError
from hwr.evaluation import evaluate
from hwr.models import EXPERIMENTS, build
from hwr.models.registry import config_dict
from hwr.models.io import load_checkpoint, load_model, save_model
from hwr.preprocess import BadItem, Batch
from hwr.training import TrainConfig, engine, train
from hwr.training.records import read_history

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(ctc_hidden=16)
TEXTS = ["ab", "a b", "cab", "b", "abc a", "ca"]


class Unreadable(MemoryDataset):
    """Lines whose image files cannot be read (as a truncated PNG would fail)."""

    def __init__(self, items, bad_ids, name):
        super().__init__(items, name=name)
        self.bad = set(bad_ids)

    def __getitem__(self, i):
        item = super().__getitem__(i)
        if item.id in self.bad:
            raise DatasetError(f"{item.source}: cannot read image (truncated file)")
        return item


def lines(n: int, seed: int, prefix: str, bad=()) -> MemoryDataset:
    rng = np.random.default_rng(seed)
    items = [LineItem(f"{prefix}{i}", rng.integers(100, 256, (24, 30 + 5 * (i % 6)), dtype=np.uint8),
                      TEXTS[i % len(TEXTS)], source=f"/data/{prefix}{i}.png") for i in range(n)]
    return Unreadable(items, [f"{prefix}{i}" for i in bad], prefix)


def config(**kw) -> TrainConfig:
    return TrainConfig(**{**dict(epochs=1, batch_size=8, threads=1, progress=False, log_every=100), **kw})


@pytest.fixture
def data():
    return {"train": lines(16, 0, "t"), "valid": lines(6, 1, "v")}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-epoch run (last.pt, last.prev.pt, best.pt) written under umask 022."""
    out = tmp_path_factory.mktemp("finished")
    old = os.umask(0o022)
    try:
        metrics = train("ctc_baseline", {"train": lines(16, 0, "t"), "valid": lines(6, 1, "v")}, out,
                        config(epochs=2), **TINY)
    finally:
        os.umask(old)
    return out, metrics


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` -> its bytes (to prove nothing changed)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "train.lock"}


def copy_run(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def tiny_model():
    torch.manual_seed(0)
    return build("ctc_baseline", **TINY)


# -- no score over zero lines ------------------------------------------------------------

def test_eval_of_an_all_unreadable_split_is_refused(tmp_path):
    data = lines(3, 2, "x", bad=[0, 1, 2])
    with pytest.raises(EmptyScoreError) as e:
        evaluate(tiny_model(), data, progress=False, out=tmp_path / "p.csv")
    msg = str(e.value)
    assert msg.startswith("x: no line to score, a CER over 0 lines is undefined (3 skipped: /data/x0.png")
    assert "\n" not in msg and "/data/x2.png" in msg
    assert not (tmp_path / "p.csv").exists()  # no predictions, no score


@pytest.mark.parametrize("max_lines", [0, None])
def test_eval_of_an_empty_split_is_refused(max_lines):
    data = lines(3, 2, "x") if max_lines == 0 else MemoryDataset([], name="empty")
    with pytest.raises(EmptyScoreError, match=r"^(x|empty): no line to score, a CER over 0 lines is undefined \(0 skipped\)$"):
        evaluate(tiny_model(), data, progress=False, max_lines=max_lines)


def test_eval_counts_and_limits_skipped_lines():
    data = lines(3, 2, "x", bad=[1])
    with pytest.raises(EmptyScoreError, match=r"^x: 1 of 3 lines skipped \(33.3%, more than the allowed 1.0%\): "
                                              r"/data/x1.png \(DatasetError: /data/x1.png: cannot read image"):
        evaluate(tiny_model(), data, progress=False)
    m, preds = evaluate(tiny_model(), data, progress=False, max_skipped=0.5)
    assert m["lines"] == 2 and m["skipped"] == 1 and [p["id"] for p in preds] == ["x0", "x2"]
    assert m["skipped_lines"][0]["source"] == "/data/x1.png"
    assert m["cer"] == pytest.approx(sum(p["distance"] for p in preds) / len("ab" + "cab"))


def test_eval_counts_lines_the_dataset_left_out():
    data = lines(3, 2, "x")
    data.skipped = [("/data/x9.png", "missing transcription")]  # what bad='skip' records
    m, _ = evaluate(tiny_model(), data, progress=False, max_skipped=0.5)
    assert m["lines"] == 3 and m["skipped"] == 1
    assert m["skipped_lines"] == [{"source": "/data/x9.png", "reason": "missing transcription"}]
    with pytest.raises(EmptyScoreError, match=r"1 of 4 lines skipped .*/data/x9.png \(missing transcription\)"):
        evaluate(tiny_model(), data, progress=False)


def test_eval_counts_failed_reads_handed_over_in_batches():
    # a loader that is not a LineLoader passes failed lines in batch.skipped
    model = tiny_model()
    good = Batch(torch.ones(1, 1, 64, 80), torch.tensor([80]), ["ab"], ["g"])
    bad = Batch(torch.zeros(0, 1, 1, 1), torch.zeros(0, dtype=torch.long), [], [],
                [BadItem(0, "/data/b.png", "DatasetError: truncated")])
    loader = torch.utils.data.DataLoader([good, bad], batch_size=None, collate_fn=lambda b: b)
    m, _ = evaluate(model, loader, progress=False, max_skipped=0.5, name="test split")
    assert (m["lines"], m["skipped"]) == (1, 1) and m["skipped_lines"][0]["source"] == "/data/b.png"


def test_train_refuses_an_epoch_over_unreadable_training_images(tmp_path):
    data = {"train": lines(16, 0, "t", bad=range(16)), "valid": lines(6, 1, "v")}
    with pytest.raises(EmptyScoreError, match=r"^train split of t, epoch 1: no line to train on \(16 skipped: "
                                              r"/data/t\d+.png"):
        train("ctc_baseline", data, tmp_path, config(), **TINY)
    assert not (tmp_path / "metrics.json").exists() and not list((tmp_path / "checkpoints").iterdir())


def test_train_refuses_unreadable_validation_images(tmp_path):
    data = {"train": lines(16, 0, "t"), "valid": lines(6, 1, "v", bad=range(6))}
    with pytest.raises(EmptyScoreError, match=r"^valid split of v: no line to score, a CER over 0 lines is "
                                              r"undefined \(6 skipped: /data/v"):
        train("ctc_baseline", data, tmp_path, config(), **TINY)
    assert not (tmp_path / "checkpoints" / "best.pt").exists() and not (tmp_path / "metrics.json").exists()


def test_train_refuses_empty_splits(tmp_path):
    data = {"train": MemoryDataset([], name="none"), "valid": lines(6, 1, "v")}
    with pytest.raises(EmptyScoreError, match=r"^train split of none: no line to train on \(0 skipped\)$"):
        train("ctc_baseline", data, tmp_path, config(), **TINY)


def test_train_reports_and_limits_skipped_lines(tmp_path):
    data = {"train": lines(16, 0, "t", bad=[3]), "valid": lines(6, 1, "v")}
    with pytest.raises(EmptyScoreError, match=r"^train split of t, epoch 1: 1 of 16 lines skipped \(6.2%, more "
                                              r"than the allowed 1.0%\): /data/t3.png"):
        train("ctc_baseline", data, tmp_path / "strict", config(), **TINY)
    metrics = train("ctc_baseline", data, tmp_path / "lenient", config(max_skipped=0.1), **TINY)
    row = read_history(tmp_path / "lenient" / "history.csv")[0]
    assert (row["lines"], row["skipped"], row["val_lines"], row["val_skipped"]) == (15, 1, 6, 0)
    assert metrics["trained_lines"] == 15 and metrics["last"]["skipped"] == 1
    assert metrics["skipped"]["train"] == 1 and metrics["skipped"]["valid"] == 0
    assert metrics["skipped"]["files"][0][0] == "/data/t3.png"


# -- nothing deleted before the run is known to be resumable or new -----------------------------

def test_refused_train_keeps_a_finished_run(finished, tmp_path, data):
    out = copy_run(finished[0], tmp_path / "run")
    before = snapshot(out)
    with pytest.raises(RunFolderError, match=r"^cannot resume from .*last.pt: it belongs to another run "
                                             r"\(config.lr 0.0005 != 0.001\)"):
        train("ctc_baseline", data, out, config(epochs=3, lr=1e-3), **TINY)
    assert snapshot(out) == before


def test_finished_run_without_checkpoints_is_not_replaced(finished, tmp_path, data):
    out = copy_run(finished[0], tmp_path / "run")
    for p in (out / "checkpoints").iterdir():
        p.unlink()
    before = snapshot(out)
    with pytest.raises(RunFolderError, match=r"run: holds another finished run \(different config\) and no "
                                             r"checkpoint to continue; use another output folder or delete it$"):
        train("ctc_baseline", data, out, config(epochs=2, lr=1e-3), **TINY)
    assert snapshot(out) == before


# -- one writer per run folder ---------------------------------------------------------------

HOLD = """
import sys, time
sys.path.insert(0, sys.argv[2])
from hwr.files import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_second_writer_is_refused_and_a_killed_holder_frees_the_folder(tmp_path, data):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out), str(ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderError, match=rf"^{out}: run folder in use by another process "
                                                 rf"\(pid {holder.pid}\); wait for it to finish"):
            train("ctc_baseline", data, out, config(), **TINY)
        assert not (out / "checkpoints").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the kernel dropped the killed holder's lock
    assert train("ctc_baseline", data, out, config(), **TINY)["epochs"] == 1


def test_lock_is_held_during_training_and_released_after(tmp_path, data, monkeypatch):
    seen = []
    real = engine.validate

    def probe(model, loader, **kw):  # try to take the lock from another process mid-run
        r = subprocess.run([sys.executable, "-c", HOLD.replace("time.sleep(60)", ""), str(tmp_path), str(ROOT)],
                           capture_output=True, text=True)
        seen.append(r.stderr.strip().splitlines()[-1])
        return real(model, loader, **kw)

    monkeypatch.setattr(engine, "validate", probe)
    train("ctc_baseline", data, tmp_path, config(), **TINY)
    assert seen[0].startswith("hwr.errors.RunFolderError") and f"(pid {os.getpid()})" in seen[0]
    r = subprocess.run([sys.executable, "-c", HOLD.replace("time.sleep(60)", ""), str(tmp_path), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "locked"


# -- checkpoints describe what they hold ------------------------------------------------------------

def test_checkpoints_and_identity_hold_the_full_configuration(finished):
    out, metrics = finished
    ckpt = load_checkpoint(out / "checkpoints" / "last.pt")
    cfg = EXPERIMENTS["ctc_baseline"].model_config(**TINY)
    assert ckpt["model_config"] == dataclasses.asdict(cfg) and ckpt["experiment"] == "ctc_baseline"
    assert ckpt["codec"]["family"] == "ctc" and len(ckpt["codec"]["symbols"]) == 81
    # the identity leaves out fields added later at their default (registry.LATER_DEFAULTS)
    assert metrics["model"]["config"] == config_dict(cfg) and metrics["model"]["codec"] == ckpt["codec"]


def test_changed_registry_default_is_another_run(finished, tmp_path, data, monkeypatch):
    out = copy_run(finished[0], tmp_path / "run")
    before = snapshot(out)
    monkeypatch.setitem(EXPERIMENTS["ctc_baseline"].config, "ctc_dropout", 0.3)
    with pytest.raises(CheckpointError, match=r"^cannot resume from .*last.pt: built for another ctc_baseline "
                                              r"configuration \(ctc_dropout 0.5 != 0.3; stored != asked\)"):
        train("ctc_baseline", data, out, config(epochs=2), **TINY)
    assert snapshot(out) == before
    # loading builds what the checkpoint stored, not today's registry default
    assert load_model(out).config.ctc_dropout == 0.5


def test_checkpoint_of_another_configuration_than_asked(finished):
    path = finished[0] / "checkpoints" / "best.pt"
    with pytest.raises(CheckpointError) as e:
        load_model(path, experiment="ctc_baseline", ctc_hidden=8)
    assert str(e.value) == (f"{path}: built for another configuration than ctc_baseline {{'ctc_hidden': 8}}: "
                            "ctc_hidden 16 != 8 (stored != asked)")


def test_model_file_round_trip_and_older_checkpoints(tmp_path, caplog):
    model = tiny_model()
    save_model(tmp_path / "m.pt", model)
    again = load_model(tmp_path / "m.pt")
    assert again.config == model.config and not again.training
    # a checkpoint from before the configuration was stored: the registry, with a warning
    torch.save({"model": model.state_dict(), "experiment": "ctc_baseline", "overrides": TINY}, tmp_path / "old.pt")
    with caplog.at_level(logging.WARNING):
        assert load_model(tmp_path / "old.pt").config == model.config
    assert "without a stored model configuration" in caplog.text
    torch.save({"model": model.state_dict(), "experiment": "ctc_baseline", "overrides": {}}, tmp_path / "wrong.pt")
    with pytest.raises(CheckpointError, match=r"wrong.pt: weights do not fit its ctc_baseline configuration"):
        load_model(tmp_path / "wrong.pt")


@pytest.mark.parametrize("field, value", [("overrides", {"ctc_hidden": "abc"}), ("overrides", "x"),
                                          ("experiment", 5)])
def test_a_checkpoint_field_of_the_wrong_type_is_one_line(tmp_path, field, value):
    model = tiny_model()
    ckpt = {"model": model.state_dict(), "experiment": "ctc_baseline", "overrides": TINY, field: value}
    torch.save(ckpt, tmp_path / "typed.pt")
    with pytest.raises(CheckpointError, match=r"typed.pt: (cannot rebuild|invalid stored model configuration)"):
        load_model(tmp_path / "typed.pt")


class Payload:
    """Any pickled class: torch.load(weights_only=True) must refuse it."""


@pytest.mark.parametrize("kind, expected", [
    ("empty", "empty checkpoint file"),
    ("text", "truncated or not a torch checkpoint"),
    ("truncated", "truncated or not a torch checkpoint"),
    ("pickle", "refused: it holds pickled Python objects that could run code"),
    ("tensor", "not an hwr checkpoint (holds Tensor)"),
    ("dict", "not an hwr checkpoint (holds a dict without 'model' (weights))"),
    ("missing", "no such checkpoint file"),
])
def test_unusable_model_files_are_one_line_errors(tmp_path, kind, expected):
    path = tmp_path / f"{kind}.pt"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("hello\n")
    elif kind == "truncated":
        save_model(path, tiny_model())
        path.write_bytes(path.read_bytes()[:2000])
    elif kind == "pickle":
        torch.save({"model": Payload()}, path)
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "dict":
        torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError) as e:
        load_model(path)
    assert str(e.value).startswith(f"{path}: {expected}") and "\n" not in str(e.value)


# -- truncated last.pt ---------------------------------------------------------------------------

def test_truncated_last_falls_back_to_the_previous_one(finished, tmp_path, data, caplog):
    out = copy_run(finished[0], tmp_path / "run")
    last = out / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])
    with caplog.at_level(logging.WARNING, logger="hwr.training.checkpoint"):
        metrics = train("ctc_baseline", data, out, config(epochs=3), **TINY)
    warning = [r.getMessage() for r in caplog.records if r.name == "hwr.training.checkpoint"]
    assert len(warning) == 1 and warning[0].startswith(f"{last}: truncated or not a torch checkpoint")
    assert warning[0].endswith("resuming from last.prev.pt (epoch 1) instead")
    assert metrics["epochs"] == 3 and [r["epoch"] for r in read_history(out / "history.csv")] == [1, 2, 3]


def test_empty_last_without_previous_falls_back_to_best(finished, tmp_path, data, caplog):
    out = copy_run(finished[0], tmp_path / "run")
    (out / "checkpoints" / "last.pt").write_bytes(b"")
    (out / "checkpoints" / "last.prev.pt").unlink()
    best_epoch = load_checkpoint(out / "checkpoints" / "best.pt")["epoch"]
    with caplog.at_level(logging.WARNING, logger="hwr.training.checkpoint"):
        assert train("ctc_baseline", data, out, config(epochs=3), **TINY)["epochs"] == 3
    assert f"resuming from best.pt (epoch {best_epoch}) instead" in caplog.text


def test_no_usable_checkpoint_is_refused_in_one_line(finished, tmp_path, data):
    out = copy_run(finished[0], tmp_path / "run")
    for p in (out / "checkpoints").iterdir():
        p.write_bytes(b"")
    with pytest.raises(CheckpointError) as e:
        train("ctc_baseline", data, out, config(epochs=3), **TINY)
    assert str(e.value) == (f"{out / 'checkpoints' / 'last.pt'}: empty checkpoint file (a run killed while saving?), "
                            f"and no earlier checkpoint in {out / 'checkpoints'} is usable; move or delete {out} "
                            "to train from the start")
    assert (out / "metrics.json").exists()  # refused before anything was removed


# -- files: permissions, the folder, a full disk ----------------------------------------------------

def test_run_files_respect_the_umask(finished, tmp_path):
    out, _ = finished
    for name in ("metrics.json", "history.csv", "run.json", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name
    old = os.umask(0o077)
    try:
        hwr.files.write_text(tmp_path / "private.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "private.txt").stat().st_mode & 0o777 == 0o600


def test_out_under_a_file_is_refused_before_training(tmp_path, data, monkeypatch):
    (tmp_path / "file.txt").write_text("not a folder")
    monkeypatch.setattr(engine, "build_model", lambda *a: pytest.fail("must refuse before building"))
    with pytest.raises(RunFolderError) as e:
        train("ctc_baseline", data, tmp_path / "file.txt" / "run", config(), **TINY)
    assert str(e.value) == f"{tmp_path / 'file.txt' / 'run'}: cannot be a run folder, {tmp_path / 'file.txt'} is a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_out_is_refused_before_training(tmp_path, data):
    out = tmp_path / "ro"
    out.mkdir(mode=0o555)
    with pytest.raises(RunFolderError, match=rf"^{out}: run folder not writable"):
        train("ctc_baseline", data, out, config(), **TINY)


def test_unwritable_out_is_refused_before_training(tmp_path, data, monkeypatch):
    # what a read-only folder does to a non-root user (tests may run as root)
    import types

    def refuse(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(hwr.files, "tempfile", types.SimpleNamespace(mkstemp=refuse))
    monkeypatch.setattr(engine, "build_model", lambda *a: pytest.fail("must refuse before building"))
    with pytest.raises(RunFolderError) as e:
        train("ctc_baseline", data, tmp_path / "run", config(), **TINY)
    assert str(e.value) == f"{tmp_path / 'run'}: run folder not writable (Permission denied)"


def test_disk_full_names_the_file_and_keeps_the_last_checkpoint(finished, tmp_path, data, monkeypatch):
    out = copy_run(finished[0], tmp_path / "run")
    last = out / "checkpoints" / "last.pt"
    before = last.read_bytes()

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hwr.files, "_write_all", full)
    with pytest.raises(RunFolderError) as e:
        train("ctc_baseline", data, out, config(epochs=3), **TINY)
    msg = str(e.value)
    assert msg.startswith(f"{out / 'checkpoints'}/") and ".pt: disk full while writing it" in msg
    assert last.read_bytes() == before and not list((out / "checkpoints").glob(".*.tmp"))


# -- imports run one way: train -> evaluate -> models ----------------------------------------------

def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
    return names


def test_dependency_direction():
    hwr = ROOT / "hwr"
    for path in [*(hwr / "evaluation").glob("*.py"), hwr / "metrics.py", hwr / "files.py", *(hwr / "models").glob("*.py")]:
        assert not {m for m in imports_of(path) if m.startswith("hwr.training")}, path
    assert "hwr.training.checkpoint" not in imports_of(hwr / "training" / "records.py")
    assert "hwr.training.records" not in imports_of(hwr / "training" / "checkpoint.py")
    # and at run time: scoring a model loads no training code
    code = "import sys, hwr.evaluation, hwr.evaluation.cli, hwr.models.io; print(sorted(m for m in sys.modules if m.startswith('hwr.training')))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.stdout.strip() == "[]", r.stderr
