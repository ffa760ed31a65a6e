"""Records that check themselves (hwr.runs.seal): damaged runs are found, named and left alone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from hwr.errors import DamagedRunError, HwrError
from hwr.files import read_json
from hwr.paths import ROOT
from hwr.runs.seal import MANIFEST, is_sealed, seal, verify
from hwr.runs.spec import RunSpec
from hwr.runs.store import RunStore

STORE = ROOT / "results" / "book" / "runs"
RUN = "gate_1-s0-42d598a5bd"  # a committed xl-100k run with 800 test lines


def hwr(*args, **kw):
    return subprocess.run([sys.executable, "-m", "hwr.cli", *args], capture_output=True, text=True, cwd=ROOT, **kw)


@pytest.fixture
def store(tmp_path):
    """A store holding a copy of one committed run, and its spec."""
    root = tmp_path / "runs"
    shutil.copytree(STORE / RUN, root / RUN, ignore=shutil.ignore_patterns("analyses"))
    spec = RunSpec.from_dict(read_json(root / RUN / "spec.json")["spec"])
    return RunStore(root), spec


def test_every_committed_run_is_sealed_and_sound():
    finished = RunStore(STORE).finished()
    assert len(finished) >= 115
    assert [f.name for _, f in finished if not is_sealed(f)] == []
    assert {f.name: verify(f) for _, f in finished if verify(f)} == {}
    proc = hwr("runs", "check", str(STORE))
    assert proc.returncode == 0 and f"{len(finished)} sound" in proc.stdout, proc.stdout + proc.stderr


def test_a_sealed_copy_is_done(store):
    s, spec = store
    assert s.status(spec) == "done" and s.load(spec).test["lines"] == 800


def test_predictions_cut_to_fewer_rows_than_the_test_scored_make_the_run_damaged(store):
    s, spec = store
    path = s.folder(spec) / "predictions.csv"
    path.write_text("".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[:11]), encoding="utf-8")
    assert s.status(spec) == "damaged"
    problems = s.problems(spec)
    assert any("predictions.csv: 10 rows, but test.json scored 800 lines" in p for p in problems)
    assert any("predictions.csv: changed after the run was sealed" in p for p in problems)
    with pytest.raises(DamagedRunError, match="predictions.csv"):
        s.load(spec)
    with pytest.raises(DamagedRunError):
        s.records()


def test_a_byte_truncated_table_is_one_line_on_the_command_line(store):
    s, spec = store
    path = s.folder(spec) / "predictions.csv"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    proc = hwr("runs", "check", str(s.root))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "damaged:" in proc.stdout and "predictions.csv" in proc.stdout and "0 sound" in proc.stdout


def test_a_truncated_metrics_file_is_damaged_not_a_dash_in_a_table(store):
    s, spec = store
    path = s.folder(spec) / "metrics.json"
    path.write_text(path.read_text()[:40])
    assert s.status(spec) == "damaged"
    assert any("metrics.json: not valid JSON" in p for p in s.problems(spec))


def test_an_edited_number_with_the_same_shape_breaks_the_seal(store):
    s, spec = store
    path = s.folder(spec) / "test.json"
    text = path.read_text()
    at = text.index('"cer": 0.') + len('"cer": 0.')
    path.write_text(text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1:])  # 14.4 % becomes 4.4 %
    assert json.loads(path.read_text())["cer"] < 0.1
    assert s.status(spec) == "damaged"
    assert s.problems(spec) == [f"{path}: changed after the run was sealed (its content differs from the sealed "
                                f"digest)"]


def test_a_record_added_after_the_seal_is_reported(store):
    s, spec = store
    arrays = s.folder(spec) / "arrays.npz"
    manifest = json.loads((s.folder(spec) / MANIFEST).read_text())
    del manifest["files"]["arrays.npz"]
    (s.folder(spec) / MANIFEST).write_text(json.dumps(manifest))
    assert f"{arrays}: added after the run was sealed" in s.problems(spec)


def test_an_unsealed_consistent_run_is_done_and_check_seals_it_on_request(store):
    s, spec = store
    (s.folder(spec) / MANIFEST).unlink()
    assert s.status(spec) == "done" and not is_sealed(s.folder(spec))
    proc = hwr("runs", "check", str(s.root))
    assert proc.returncode == 1 and "1 consistent runs without a manifest" in proc.stdout
    proc = hwr("runs", "check", "--seal", str(s.root.parent))  # a profile folder holding runs/ works too
    assert proc.returncode == 0 and "1 sealed now" in proc.stdout, proc.stdout + proc.stderr
    assert is_sealed(s.folder(spec)) and verify(s.folder(spec)) == []


def test_an_inconsistent_run_is_never_sealed(store):
    s, spec = store
    (s.folder(spec) / MANIFEST).unlink()
    (s.folder(spec) / "history.csv").write_text("epoch,val_cer\n")
    with pytest.raises(DamagedRunError, match="history.csv: no validation rows"):
        seal(s.folder(spec))
    assert not is_sealed(s.folder(spec))


def test_a_sweep_lists_a_damaged_run_and_trains_nothing_over_it(store, monkeypatch):
    from hwr.runs import executors
    from hwr.runs.study import Study

    s, spec = store
    (s.folder(spec) / "metrics.json").write_text("{")
    trained = []
    monkeypatch.setattr(executors, "_run_local", lambda todo, *a, **k: trained.extend(todo) or [])
    assert executors.run_missing([spec], s.root, allow_dirty=True) == [] and trained == []
    study = Study("one", "book", [spec], store=s)
    assert study.status() == {"done": 0, "damaged": 1, "started": 0, "missing": 0}
    with pytest.raises(DamagedRunError, match="metrics.json"):
        study.ensure()


def test_missing_store_is_one_line():
    proc = hwr("runs", "check", "/nonexistent/store")
    assert proc.returncode == 2 and "no such run store" in proc.stderr and "Traceback" not in proc.stderr


def test_eval_refuses_to_write_into_a_training_run(store):
    from hwr.evaluation.cli import refuse_run_folder

    s, spec = store
    with pytest.raises(HwrError, match="a training run's folder"):
        refuse_run_folder(s.folder(spec))
    refuse_run_folder(s.root.parent)  # any other folder is fine
    proc = hwr("eval", "--model", str(s.folder(spec)), "--data", "synth:smoke", "--out", str(s.folder(spec)))
    assert proc.returncode == 2 and "a training run's folder" in proc.stderr and "Traceback" not in proc.stderr
    assert verify(s.folder(spec)) == []


def test_landing_copies_records_without_checkpoints_and_leaves_a_damaged_run_behind(store, tmp_path):
    """`hwr runs land SOURCE --into STORE`: what a sweep's worktree trained reaches the book's store as
    records only (git ignores the rest), verified; a damaged run stays where it is, named."""
    s, _spec = store
    (s.root / RUN / "checkpoints").mkdir()
    (s.root / RUN / "checkpoints" / "best.pt").write_bytes(b"weights")
    (s.root / RUN / "train.log").write_text("log")
    damaged = s.root / "ctc_baseline-s0-c2fc032b99"  # another committed run, its test CER edited after the seal
    shutil.copytree(STORE / damaged.name, damaged, ignore=shutil.ignore_patterns("analyses"))
    text = (damaged / "test.json").read_text()
    at = text.index('"cer": 0.') + len('"cer": 0.')
    (damaged / "test.json").write_text(text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1:])
    into = tmp_path / "book" / "runs"
    proc = hwr("runs", "land", str(s.root), "--into", str(into))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"landed {RUN}: test CER 14.4 %" in proc.stdout and "1 runs landed" in proc.stdout
    assert f"refused: {damaged.name}: " in proc.stdout and "changed after the run was sealed" in proc.stdout
    assert sorted(p.name for p in (into / RUN).iterdir()) == sorted(
        p.name for p in (s.root / RUN).iterdir() if p.name not in ("checkpoints", "train.log"))
    assert verify(into / RUN) == [] and not (into / damaged.name).exists()
    # a second landing finds nothing new, and the store refuses to land into itself
    again = hwr("runs", "land", str(s.root), "--into", str(into))
    assert "0 runs landed" in again.stdout
    assert hwr("runs", "land", str(into), "--into", str(into)).returncode != 0
