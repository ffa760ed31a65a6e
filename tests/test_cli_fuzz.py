"""The ``hwr`` command on bad input, case by case: one line, exit code 2, no traceback.

Each case of :data:`CASES` is a command line a person could type (a zero
batch size, a negative seed, a misspelt model override, a profile that is
not YAML, ...) and a fragment of the one error line it must give. Every case
was a traceback, or was accepted and computed something nobody asked for,
before the fix it tests. The commands run in this process (``hwr.cli.main``)
against a throw-away results folder and profile folder, and a chapter is
never executed: the run would be refused before any work starts.

Ctrl-C is tested apart: ``hwr CMD: interrupted``, exit code 130, and no
half-written chapter notebook left behind; once in-process and once with a
real SIGINT sent to a real ``hwr`` process.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from data_fixtures import write_gt_txt
from hwr import cli, paths

ROOT = Path(__file__).resolve().parents[1]

#: training options that keep a run that slipped through (before the fixes) short
QUICK_TRAIN = ["--data", "{gt}", "--out", "{tmp}/run", "--epochs", "1", "--device", "cpu", "--no-progress"]

#: (argv, fragment of the one error line); ids name the command and the bad input
CASES = [
    # -- numbers: one per command and sub-command with numeric options --
    pytest.param(["eval", "--model", "{model}", "--data", "{gt}", "--device", "cpu", "--batch-size", "0"],
                 "argument --batch-size: must be a positive integer, got 0", id="eval-batch-size-0"),
    pytest.param(["eval", "--model", "{model}", "--data", "{gt}", "--device", "cpu", "--threads", "-1"],
                 "argument --threads: must be a non-negative integer (0 or more), got -1", id="eval-threads-negative"),
    pytest.param(["eval", "--model", "{model}", "--data", "{gt}", "--device", "cpu", "--beam", "-1"],
                 "argument --beam: must be a positive integer, got -1", id="eval-beam-negative"),
    pytest.param(["eval", "--model", "{model}", "--data", "{gt}", "--device", "cpu", "--fixed-width", "-5"],
                 "argument --fixed-width: must be a positive integer or 'thesis', got -5", id="eval-fixed-width-negative"),
    pytest.param(["eval", "--model", "{model}", "--data", "{gt}", "--device", "cpu", "--max-skipped", "-1"],
                 "argument --max-skipped: must be a share from 0 to 1", id="eval-max-skipped-negative"),
    pytest.param(["recognize", "{gt}/test/l4.png", "--model", "{model}", "--device", "cpu", "--beam", "0"],
                 "argument --beam: must be a positive integer, got 0", id="recognize-beam-0"),
    pytest.param(["data", "synth", "--out", "{tmp}/synth", "--train", "-5"],
                 "argument --train: must be a non-negative integer (0 or more), got -5", id="data-synth-train-negative"),
    pytest.param(["data", "stats", "{gt}", "--split", "test", "--height", "0"],
                 "argument --height: must be a positive integer, got 0", id="data-stats-height-0"),
    pytest.param(["sweep", "ch03", "--dry-run", "--threads", "0"],
                 "argument --threads: must be a positive integer, got 0", id="sweep-threads-0"),
    pytest.param(["train", "ctc_baseline", *QUICK_TRAIN, "--seed", "-1"],
                 "argument --seed: must be a non-negative integer (0 or more), got -1", id="train-seed-negative"),
    pytest.param(["train", "ctc_baseline", *QUICK_TRAIN, "--val-width", "-5"],
                 "argument --val-width: must be a positive integer, got -5", id="train-val-width-negative"),
    pytest.param(["bench", "memory-format", "--models", "ctc_baseline", "--threads", "0"],
                 "argument --threads: must be a positive integer, got 0", id="bench-memory-format-threads-0"),
    pytest.param(["bench", "latency", "--models", "ctc_baseline", "--batch-sizes", "1", "0"],
                 "argument --batch-sizes: must be a positive integer, got 0", id="bench-latency-batch-size-0"),
    pytest.param(["bench", "train", "--models", "ctc_baseline", "--data", "random", "--batch-size", "0"],
                 "argument --batch-size: must be a positive integer, got 0", id="bench-train-batch-size-0"),
    pytest.param(["bench", "parallel", "--rounds", "0"],
                 "argument --rounds: must be a positive integer, got 0", id="bench-parallel-rounds-0"),
    pytest.param(["bench", "joint-ctc", "--minutes", "-1"],
                 "argument --minutes: must be a positive number, got -1", id="bench-joint-ctc-minutes-negative"),
    pytest.param(["bench", "task", "--task", "smoke", "--workers", "0"],
                 "argument --workers: must be a positive integer, got 0", id="bench-task-workers-0"),
    # -- chapter parameters: every number a chapter declares is a count, a size or a budget --
    pytest.param(["run", "ch01", "--no-build", "-p", "n_gallery", "-3"],
                 "parameter 'n_gallery' from -p must be positive", id="run-param-negative-count"),
    pytest.param(["run", "ch01", "--no-build", "-p", "n_gallery", "0"],
                 "parameter 'n_gallery' from -p must be positive", id="run-param-zero-count"),
    pytest.param(["run", "ch01", "--no-build", "-p", "n_gallery", "[1"],
                 "-p n_gallery [1: not a YAML value", id="run-param-not-yaml"),
    # -- model overrides: the key and the problem --
    pytest.param(["train", "ctc_baseline", *QUICK_TRAIN, "-o", "foo=bar"],
                 "-o foo=bar: ctc_baseline has no setting 'foo'", id="train-override-unknown-key"),
    pytest.param(["train", "gate_1", *QUICK_TRAIN, "-o", "gatse=2"],
                 "has no setting 'gatse' (did you mean 'gates'?)", id="train-override-misspelt-key"),
    pytest.param(["train", "ctc_baseline", *QUICK_TRAIN, "-o", "backbone_out=abc"],
                 "-o backbone_out='abc': must be an integer", id="train-override-wrong-type"),
    pytest.param(["train", "ctc_baseline", *QUICK_TRAIN, "-o", "backbone_out=-5"],
                 "-o backbone_out=-5: backbone_out must be an int >= 1, got -5", id="train-override-out-of-range"),
    # -- malformed files and names --
    pytest.param(["run", "ch01", "--no-build", "--profile", "not_yaml"],
                 "not_yaml.yaml: not valid YAML", id="run-profile-not-yaml"),
    pytest.param(["run", "ch01", "--no-build", "--profile", "defaults_int"],
                 "configs/defaults_int.yaml: 'defaults' must be a mapping", id="run-profile-defaults-5"),
    pytest.param(["run", "ch01", "--no-build", "--profile", "section_int"],
                 "configs/section_int.yaml: chapters.ch01_data must be a mapping", id="run-profile-section-5"),
    pytest.param(["sweep", "ch03", "--dry-run", "--profile", "not_yaml"],
                 "not_yaml.yaml: not valid YAML", id="sweep-profile-not-yaml"),
    pytest.param(["sweep", "ch03", "--dry-run", "--profile", "untasked"],
                 "profile 'untasked' has no entry under 'profiles'", id="sweep-profile-missing-from-tasks"),
    pytest.param(["sweep", "ch99", "--dry-run"], "no single study for 'ch99'", id="sweep-unknown-chapter"),
    pytest.param(["data", "stats", "synth:nopreset"], "unknown synthetic preset 'nopreset'", id="data-unknown-preset"),
    pytest.param(["eval", "--model", "{model}", "--data", "synth:nopreset", "--device", "cpu"],
                 "unknown synthetic preset 'nopreset'", id="eval-unknown-preset"),
    pytest.param(["data", "stats", "{tmp}/bad_manifest", "--split", "test"],
                 "bad_manifest/manifest.json: not a readable manifest (JSONDecodeError", id="data-manifest-not-json"),
    pytest.param(["data", "stats", "{tmp}/list_manifest", "--split", "test"],
                 "list_manifest/manifest.json: a manifest is a JSON object, not list", id="data-manifest-a-list"),
    pytest.param(["data", "stats", "{tmp}/train.parquet"],
                 "train.parquet: column 'text' holds int64 values, not text", id="data-parquet-int-text"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """The files the cases name: a checkpoint, a gt-txt dataset, broken datasets (built once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch

    from data_fixtures import line_image, png_bytes
    from hwr.models import build
    from hwr.models.io import save_model

    tmp = tmp_path_factory.mktemp("fuzz")
    torch.manual_seed(0)
    save_model(tmp / "light.pt", build("light_in"))
    gt = write_gt_txt(tmp / "gt")
    for name, manifest in (("bad_manifest", '{"name": "x",'), ("list_manifest", "[1, 2]")):
        shutil.copytree(gt, tmp / name)
        (tmp / name / "manifest.json").write_text(manifest)
    image = png_bytes(line_image("ab"))
    pq.write_table(pa.table({"image": [image, image], "text": [1, 2]}), tmp / "train.parquet")
    return {"model": str(tmp / "light.pt"), "gt": str(gt), "tmp": str(tmp)}


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Results in ``tmp_path``, the repository's profiles plus broken ones, and no chapter execution.

    Returns the results folder.
    """
    import papermill

    configs = tmp_path / "configs"
    shutil.copytree(paths.CONFIGS, configs)
    (configs / "not_yaml.yaml").write_text("defaults: [unclosed\n  data: x\n")
    (configs / "defaults_int.yaml").write_text("defaults: 5\n")
    (configs / "section_int.yaml").write_text("chapters:\n  ch01_data: 5\n")
    (configs / "untasked.yaml").write_text("defaults:\n  data: synth:smoke\n")
    tasks = configs / "tasks.yaml"  # not_yaml names a task, so that the sweep reaches its profile file
    tasks.write_text(tasks.read_text().replace("\nprofiles:\n", "\nprofiles:\n  not_yaml: smoke\n", 1))

    def no_execution(*args, **kwargs):
        raise AssertionError("a chapter was executed: the run should have been refused first")

    monkeypatch.setattr(papermill, "execute_notebook", no_execution)
    monkeypatch.setattr(paths, "CONFIGS", configs)
    monkeypatch.setattr(paths, "RESULTS", tmp_path / "results")
    return tmp_path / "results"


def run_hwr(argv: list[str], capsys) -> tuple[int, str]:
    """``hwr ARGV`` in this process: (exit code, stderr). An exception a bug
    would show as a traceback propagates and fails the test."""
    try:
        code = cli.main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("argv, fragment", CASES)
def test_bad_input_gives_one_line(argv, fragment, files, sandbox, capsys):
    argv = [a.format(**files) for a in argv]
    code, err = run_hwr(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert code == 2, err
    # argparse prints its usage first (a line "usage: ..." and indented ones), then the one error line
    usage = fragment.startswith("argument ")
    errors = [line for line in lines if not line.startswith(("usage:", " "))]
    assert len(errors) == 1 and fragment in errors[0], err
    assert errors[0].startswith(f"hwr {argv[0]}") and ": error: " in errors[0]
    assert (lines[0].startswith("usage:") if usage else len(lines) == 1), err
    assert not (sandbox / "smoke" / "ch01_data").exists()  # nothing ran


def test_every_numeric_option_takes_a_checked_type():
    """No ``type=int`` or ``type=float`` left in the command modules: each
    numeric option says what range it takes (:mod:`hwr.cli_types`)."""
    loose = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "hwr").rglob("*.py"))
             if path.name != "compare.py"  # python -m hwr.peers, not an hwr command
             and re.search(r"(?<![\w.])type=(int|float)\b", path.read_text())]
    assert not loose


# --- Ctrl-C ----------------------------------------------------------------------------

def test_interrupt_is_one_line_and_exit_code_130(capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    module = types.SimpleNamespace(main=interrupted)
    args = types.SimpleNamespace(debug=False)
    try:
        code = cli.run(module, args, "eval")
    except KeyboardInterrupt:
        code = "KeyboardInterrupt escaped"
    assert code == 130
    assert capsys.readouterr().err == "hwr eval: interrupted\n"
    args.debug = True  # --debug: the traceback of where it was stopped
    with pytest.raises(KeyboardInterrupt):
        cli.run(module, args, "eval")


def test_interrupted_chapter_leaves_no_running_notebook(sandbox, monkeypatch, capsys):
    """Ctrl-C during a chapter's execution: no ``.<chapter>.running.ipynb``, no record, exit code 130."""
    import papermill

    written = []

    def interrupted(nb, output_path, **kwargs):
        Path(output_path).write_text("{}")  # papermill writes the notebook as the cells run
        written.append(Path(output_path))
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    try:
        code, err = run_hwr(["run", "ch01", "--no-build", "--force"], capsys)
    except KeyboardInterrupt:
        code, err = "KeyboardInterrupt escaped", ""
    out_dir = sandbox / "smoke" / "ch01_data"
    assert written and written[0] == out_dir / ".ch01_data.running.ipynb"
    assert code == 130 and err.strip() == "hwr run: interrupted"
    assert not written[0].exists()
    assert not (out_dir / "run.failed.json").exists() and not (out_dir / "ch01_data.failed.ipynb").exists()


SLOW_COMMAND = '''
import time


def configure(parser):
    pass


def main(args):
    print("ready", flush=True)
    time.sleep(60)
'''


def test_sigint_to_a_real_process(tmp_path):
    """A real Ctrl-C (SIGINT) to a running ``hwr`` process: one line on stderr, exit code 130."""
    (tmp_path / "slow_command.py").write_text(SLOW_COMMAND)
    script = ("import sys; from hwr import cli; cli.COMMANDS['slow'] = ('slow_command', 'sleeps'); "
              "sys.exit(cli.main(['slow']))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    env.pop("HWR_DEBUG", None)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err == "hwr slow: interrupted\n"
