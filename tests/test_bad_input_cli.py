"""The ``hwr`` command on bad input: one line naming the file, the right exit
code, no traceback unless --debug; and the CLI's shape (one error path, one
device option, training options derived from TrainConfig)."""

import dataclasses
import errno
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hwr import cli

ROOT = Path(__file__).resolve().parents[1]


def hwr(*args, debug_env: bool = False) -> subprocess.CompletedProcess:
    """Run ``python -m hwr.cli ARGS`` as a user would (separate process, real exit code)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.pop("HWR_DEBUG", None)
    if debug_env:
        env["HWR_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-m", "hwr.cli", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from hwr.models import build
    from hwr.models.io import save_model

    torch.manual_seed(0)
    model = build("light_in")
    path = tmp_path_factory.mktemp("ckpt") / "light.pt"
    save_model(path, model)
    return path


def save_line(path, shape=(22, 90)):
    arr = np.full(shape, 255, np.uint8)
    arr[shape[0] // 4: 3 * shape[0] // 4, : max(1, shape[1] - 5)] = 40
    Image.fromarray(arr).save(path)
    return path


# --- recognize: one image's problem is that image's line --------------------------------

def test_recognize_skips_each_bad_image_in_one_line(tmp_path, checkpoint):
    good = save_line(tmp_path / "good.png")
    tall = save_line(tmp_path / "tall.png", (20000, 10))  # prepared width 1 px: would crash max_pool2d
    wide = save_line(tmp_path / "wide.png", (10, 2000))  # 3145 px at height 64: past the positional encoding
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    missing = tmp_path / "missing.png"
    r = hwr("recognize", tall, good, broken, wide, missing, "--model", checkpoint, "--device", "cpu")
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines()[0].startswith(f"{good}\t") and len(r.stdout.splitlines()) == 1
    lines = error_lines(r)
    assert "Traceback" not in r.stderr
    assert len(lines) == 5  # one per failed image, then the count
    assert lines[0].startswith(f"hwr recognize: {tall}: 10 x 20000 px is too small or too narrow")
    assert "the model needs at least 4" in lines[0]
    assert lines[1].startswith(f"hwr recognize: {broken}: cannot read image")
    assert lines[2].startswith(f"hwr recognize: {wide}: 2000 x 10 px is too wide") and "at most 2403" in lines[2]
    assert lines[3] == f"hwr recognize: {missing}: no such file"
    assert lines[4] == "hwr recognize: 4 of 5 image(s) could not be recognised"


def test_missing_model_is_a_usage_error_traceback_only_with_debug(tmp_path):
    image = save_line(tmp_path / "a.png")
    absent = tmp_path / "no-run"
    r = hwr("recognize", image, "--model", absent)
    assert r.returncode == 2 and r.stdout == ""
    [line] = error_lines(r)
    assert line.startswith(f"hwr recognize: error: --model {absent}: no such checkpoint file, run folder or "
                           "shipped model (shipped: ")
    # (--debug after the command: test_debug_flag_is_global_before_or_after_the_command)
    for result in (hwr("--debug", "recognize", image, "--model", absent),
                   hwr("recognize", image, "--model", absent, debug_env=True)):
        assert result.returncode == 1 and "Traceback" in result.stderr and "HwrError" in result.stderr


# --- eval: a bad line names its file; --bad skip makes the hint actionable ---------------

def test_eval_bad_line_names_the_file_and_bad_skip_leaves_it_out(tmp_path, checkpoint):
    split = tmp_path / "lines" / "test"
    split.mkdir(parents=True)
    for i in range(2):
        save_line(split / f"l{i}.png")
        (split / f"l{i}.gt.txt").write_text("hello\n")
    orphan = save_line(split / "orphan.png")  # no transcription beside it
    r = hwr("eval", "--model", checkpoint, "--data", tmp_path / "lines", "--split", "test", "--device", "cpu",
            "--quiet", "--no-legacy")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = error_lines(r)
    assert line.startswith(f"hwr eval: error: {orphan}: no transcription file orphan.gt.txt") and "--bad skip" in line
    r = hwr("eval", "--model", checkpoint, "--data", tmp_path / "lines", "--split", "test", "--device", "cpu",
            "--quiet", "--no-legacy", "--bad", "skip")
    assert r.returncode == 2 and "1 of 3 lines skipped (33.3%, more than the allowed 1.0%)" in r.stderr
    r = hwr("eval", "--model", checkpoint, "--data", tmp_path / "lines", "--split", "test", "--device", "cpu",
            "--quiet", "--no-legacy", "--bad", "skip", "--max-skipped", "0.5")
    assert r.returncode == 0, r.stderr
    assert "CER " in r.stdout and "2 lines in" in r.stdout and "1 skipped" in r.stdout


def test_eval_and_train_reject_a_bad_option_value_in_one_line(tmp_path, checkpoint):
    r = hwr("train", "ctc_baseline", "--data", tmp_path, "--out", tmp_path / "run", "--epochs", "0")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert error_lines(r) == ["hwr train: error: TrainConfig: invalid epochs=0"]
    assert not (tmp_path / "run").exists()
    r = hwr("train", "gate_9", "--data", tmp_path / "absent", "--out", tmp_path / "run")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = error_lines(r)
    assert line.startswith("hwr train: error: unknown experiment 'gate_9'; known: seq2seq_bn, ")
    r = hwr("train", "ctc_baseline", "--out", tmp_path / "run", "--bad", "maybe")
    assert r.returncode == 2 and "invalid choice: 'maybe'" in r.stderr


# --- the one error path, in process -----------------------------------------------------

def test_user_message_for_files_and_full_disk():
    full = OSError(errno.ENOSPC, "No space left on device", "/runs/a/last.pt")
    assert cli.user_message(full) == "/runs/a/last.pt: disk full (no space left on device)"
    denied = PermissionError(errno.EACCES, "Permission denied", "/runs/ro")
    assert cli.user_message(denied) == "/runs/ro: Permission denied"
    assert cli.user_message(IsADirectoryError(errno.EISDIR, "Is a directory", "/x")) == "/x: Is a directory"
    assert cli.user_message(OSError(errno.EROFS, "Read-only file system", "/mnt/r")) == "/mnt/r: read-only file system"
    assert cli.user_message(FileExistsError(errno.EEXIST, "File exists", "/o")) == "/o: File exists"
    from hwr.datasets.base import DatasetError

    assert cli.user_message(DatasetError("a.png: empty image\n(0 x 3)")) == "a.png: empty image; (0 x 3)"
    assert cli.user_message(OSError(errno.EIO, "I/O error")) is None  # not the user's doing: a traceback
    assert cli.user_message(RuntimeError("boom")) is None


def test_run_prints_one_line_for_user_errors_and_keeps_bugs_loud(capsys, monkeypatch):
    from hwr.errors import HwrError

    monkeypatch.delenv("HWR_DEBUG", raising=False)

    def failing(error):
        def main(args):
            raise error

        return types.SimpleNamespace(main=main)

    args = types.SimpleNamespace(debug=False)
    assert cli.run(failing(HwrError("hwr eval: x.pt: not a checkpoint")), args, "eval") == 2
    assert capsys.readouterr().err == "hwr eval: error: x.pt: not a checkpoint\n"
    assert cli.run(failing(OSError(errno.ENOSPC, "No space", "/o/m.json")), args, "train") == 2
    assert capsys.readouterr().err == "hwr train: error: /o/m.json: disk full (no space left on device)\n"
    with pytest.raises(ZeroDivisionError):
        cli.run(failing(ZeroDivisionError("a bug")), args, "eval")
    with pytest.raises(HwrError):
        cli.run(failing(HwrError("shown with --debug")), types.SimpleNamespace(debug=True), "eval")


def test_debug_flag_is_global_before_or_after_the_command():
    assert cli.split_debug(["--debug", "eval", "--model", "m"]) == (["eval", "--model", "m"], True)
    assert cli.split_debug(["eval", "--model", "m", "--debug"]) == (["eval", "--model", "m"], True)
    assert cli.split_debug(["recognize", "--", "--debug"]) == (["recognize", "--", "--debug"], False)


def test_commands_live_in_their_packages_cli():
    # a package's command lives in its cli module; a second command of the same package
    # (hwr.runs has sweep and runs) in <package>.<what>_cli beside it
    for name, (module, _) in cli.COMMANDS.items():
        package, leaf = module.rsplit(".", 1)
        assert package.startswith("hwr.") and (leaf == "cli" or leaf.endswith("_cli")), name


# --- one device option -----------------------------------------------------------------

def test_device_resolve_is_one_function(monkeypatch):
    from hwr import device
    from hwr.training.config import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.resolve("auto") == device.resolve(None) == resolve_device("auto") == "cpu"
    assert device.resolve("cpu") == "cpu"
    with pytest.raises(device.DeviceError, match="no CUDA device"):
        device.resolve("cuda:1")
    with pytest.raises(device.DeviceError, match="not a device name"):
        device.resolve("gpu")
    parsers = {}
    for name in ("train", "eval", "recognize"):
        import argparse
        import importlib

        p = argparse.ArgumentParser()
        importlib.import_module(cli.COMMANDS[name][0]).configure(p)
        parsers[name] = next(a for a in p._actions if "--device" in a.option_strings)
    assert {a.default for a in parsers.values()} == {"auto"}
    assert len({a.help for a in parsers.values()}) == 1


# --- hwr train's options come from TrainConfig -------------------------------------------

def test_every_train_config_field_is_an_option():
    import argparse

    from hwr.training.cli import config_from_args, configure
    from hwr.training.config import TrainConfig

    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["gate_1", "--out", "o"])
    assert config_from_args(args) == TrainConfig()  # every field present, with the dataclass's default
    options = {s for a in parser._actions for s in a.option_strings}
    for f in dataclasses.fields(TrainConfig):
        assert "--" + f.name.replace("_", "-") in options, f.name
    args = parser.parse_args(["gate_1", "--out", "o", "--epochs", "3", "--minutes", "1.5", "--val-width", "none",
                              "--no-progress", "--compile", "--device", "cpu", "--batch-size", "4"])
    assert config_from_args(args) == TrainConfig(epochs=3, minutes=1.5, val_width=None, progress=False,
                                                 compile=True, device="cpu", batch_size=4)


def test_train_bad_skip_opens_the_splits_under_that_rule(tmp_path):
    import argparse

    from hwr.training.cli import configure, training_data

    for split in ("train", "valid"):
        (tmp_path / split).mkdir()
        save_line(tmp_path / split / "a.png")
        (tmp_path / split / "a.gt.txt").write_text("hello\n")
        save_line(tmp_path / split / "orphan.png")
    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["ctc_baseline", "--data", str(tmp_path), "--out", "o"])
    assert training_data(args) == str(tmp_path)  # the loaders' defaults: the source as given
    data = training_data(parser.parse_args(["ctc_baseline", "--data", str(tmp_path), "--out", "o", "--bad", "skip"]))
    assert {k: v.ids for k, v in data.items()} == {"train": ["a"], "valid": ["a"]}
    assert data["train"].report.dropped == {"missing transcription": 1}


# --- the model's readable widths, one public function ------------------------------------

@pytest.mark.parametrize("name", ["ctc_baseline", "gate_1", "attn2d_h4"])
def test_min_input_width_is_exact(name):
    from hwr.decode import transcribe
    from hwr.models import build
    from hwr.models.backbone import min_input_width

    torch.manual_seed(0)
    model = build(name).eval()
    low = min_input_width(model)
    assert low == min_input_width(model.config)
    # warnings as errors: at the minimum no norm may be undefined (NaN) either
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("error")
        out = transcribe(model, torch.rand(1, 1, model.input_height, low), torch.tensor([low]))
        assert len(out.texts) == 1
        with pytest.raises((RuntimeError, UserWarning)):  # a pool over too few columns, or an undefined norm
            transcribe(model, torch.rand(1, 1, model.input_height, low - 1), torch.tensor([low - 1]))
