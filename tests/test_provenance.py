"""Provenance records carry what is needed to trace a number back to its run."""

import json
import time

from hwr import provenance


def test_collect_records_commit_versions_hardware_and_duration():
    started = time.time() - 2.0
    rec = provenance.collect({"epochs": 3}, started, chapter="ch01")
    assert rec["params"] == {"epochs": 3} and rec["chapter"] == "ch01"
    assert rec["duration_s"] >= 2.0
    assert rec["versions"]["python"] and rec["versions"]["torch"].startswith("2.13")
    assert rec["hardware"]["cores"] >= 1 and rec["hardware"]["cpu"]
    assert "commit" in rec and "dirty" in rec
    json.dumps(rec)  # JSON-ready


def test_a_chapters_own_outputs_do_not_make_the_checkout_dirty(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    files = {"hwr/a.py": "x = 1\n", "results/book/ch04_ctc/run.json": "{}\n",
             "results/book/runs/gate_1-s0/test.json": "{}\n",
             "results/book/runs/gate_1-s0/analyses/ctc_decoding.json": "{}\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "start")
    assert provenance.git_state(tmp_path)["dirty"] is False
    (tmp_path / "results/book/ch04_ctc/run.json").write_text('{"executed": true}\n')
    assert provenance.git_state(tmp_path)["dirty"] is False  # an executed chapter's record
    (tmp_path / "results/book/runs/gate_1-s0/analyses/ctc_decoding.json").write_text('{"widths": [2]}\n')
    assert provenance.git_state(tmp_path)["dirty"] is False  # an analysis a chapter recorded beside a run
    (tmp_path / "results/book/runs/gate_1-s0/test.json").write_text('{"cer": 0.5}\n')
    assert provenance.git_state(tmp_path)["dirty"] is True  # a run record is an input of the chapters
    git("checkout", "--", "results")
    (tmp_path / "hwr/a.py").write_text("x = 2\n")
    assert provenance.git_state(tmp_path)["dirty"] is True
