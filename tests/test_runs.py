"""The run store: identity, folders, records, studies and the executors.

Runs train tiny models (small decoders) for one epoch on a fabricated gt-txt
dataset, so each takes a second or two.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from data_fixtures import write_gt_txt
from hwr.files import read_json
from hwr.runs import RunSpec, RunStore, Study
from hwr.runs.execute import execute
from hwr.runs.executors import Progress, run_missing

TINY = {"ctc_baseline": dict(ctc_hidden=16, input_height=64), "gate_1": dict(hidden=32, attention=32, embedding=8)}
TRAIN = dict(epochs=1, batch_size=2, val_subset=None)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return str(write_gt_txt(tmp_path_factory.mktemp("runs-data")))


def spec(dataset, experiment="ctc_baseline", seed=0, **train) -> RunSpec:
    return RunSpec(experiment, dataset, seed, overrides=TINY[experiment], train={**TRAIN, **train})



def with_seeds(monkeypatch, name: str, seeds: list[int]) -> None:
    """Give profile ``name`` these seeds for one test (the profile read from its file otherwise)."""
    from dataclasses import replace

    from hwr.profile import Profile

    real = Profile.load
    monkeypatch.setattr(Profile, "load", staticmethod(
        lambda n: replace(real(n), seeds=tuple(seeds)) if n == name else real(n)))

def test_identity_holds_everything_that_decides_the_result(dataset):
    a = spec(dataset)
    ident = a.identity()
    assert set(ident) == {"engine", "experiment", "model", "data", "train"}
    assert ident["model"]["ctc_hidden"] == 16 and ident["model"]["family"] == "ctc"  # the full config
    assert ident["train"]["seed"] == 0 and "threads" not in ident["train"]
    assert ident["data"]["fingerprint"]
    # the same run however it is asked for; another seed, budget or model is another run
    assert RunSpec.from_dict(a.to_dict()).run_id == a.run_id
    assert RunSpec("ctc_baseline", dataset, 0, overrides=TINY["ctc_baseline"], train=TRAIN, variant="x").run_id == a.run_id
    others = {spec(dataset, seed=1).run_id, spec(dataset, epochs=2).run_id, spec(dataset, "gate_1").run_id}
    assert a.run_id not in others and len(others) == 3
    assert a.run_id.startswith("ctc_baseline-s0-")


def test_identity_changes_with_the_engine_version(dataset, monkeypatch):
    from hwr.runs import spec as spec_module

    before = spec(dataset).run_id
    monkeypatch.setattr(spec_module, "ENGINE_VERSION", spec_module.ENGINE_VERSION + 1)
    assert spec(dataset).run_id != before


def test_spec_refuses_unknown_settings(dataset):
    with pytest.raises(TypeError, match="unknown training setting"):
        RunSpec("gate_1", dataset, train={"learning_rate": 1})
    with pytest.raises(TypeError, match="RunSpec.seed"):
        RunSpec("gate_1", dataset, train={"seed": 3})


def test_synthetic_data_identity_needs_no_rendering():
    from hwr.runs import data_identity

    ident = data_identity("synth:smoke")
    assert ident["source"] == "synth:smoke" and ident["config"]["train"] > 0 and "generator" in ident


def test_execute_writes_the_records_and_is_idempotent(dataset, tmp_path):
    s = spec(dataset)
    store = RunStore(tmp_path)
    assert store.status(s) == "missing"
    assert execute(s, tmp_path, log=False) == s.run_id
    assert store.status(s) == "done"
    rec = store.load(s)
    for name in ("spec.json", "history.csv", "metrics.json", "run.json", "test.json", "predictions.csv", "arrays.npz",
                 "manifest.json"):
        assert (store.folder(s) / name).exists(), name
    manifest = read_json(store.folder(s) / "manifest.json")  # sealed last, over every record
    assert set(manifest["files"]) == {"spec.json", "history.csv", "metrics.json", "run.json", "test.json",
                                      "predictions.csv", "arrays.npz"} and manifest["counts"]["predictions"] == 2
    assert rec.test["lines"] == 2 and 0 <= rec.test["cer"]
    assert list(rec.predictions.columns) == ["id", "reference", "hypothesis", "distance"]
    assert sorted(rec.predictions["reference"]) == ["is 42", "life Peers."]  # in width order
    assert rec.arrays["image_0"].dtype.name == "uint8" and "posteriors_0" in rec.arrays
    stamp = (store.folder(s) / "test.json").stat().st_mtime_ns
    execute(s, tmp_path, log=False)  # done: nothing is redone
    assert (store.folder(s) / "test.json").stat().st_mtime_ns == stamp


def test_seq2seq_runs_keep_attention_maps_for_figures(dataset, tmp_path):
    s = spec(dataset, "gate_1")
    execute(s, tmp_path, log=False)
    att = RunStore(tmp_path).load(s).arrays["attention_0"]
    assert att.ndim == 2 and att.dtype.name == "float16"


def test_load_names_the_missing_run_and_the_command(dataset, tmp_path):
    with pytest.raises(FileNotFoundError, match="hwr sweep"):
        RunStore(tmp_path).load(spec(dataset, seed=7))


def test_a_changed_identity_is_not_taken_for_a_done_run(dataset, tmp_path):
    s = spec(dataset)
    execute(s, tmp_path, log=False)
    saved = json.loads((RunStore(tmp_path).folder(s) / "spec.json").read_text())
    saved["identity"]["engine"] = -1
    (RunStore(tmp_path).folder(s) / "spec.json").write_text(json.dumps(saved))
    assert RunStore(tmp_path).status(s) == "started"


def test_progress_reports_done_running_left_and_time():
    specs = [RunSpec("gate_1", "synth:smoke", i, train={"minutes": 10}) for i in range(4)]
    lines = []
    p = Progress(specs, workers=2, report=lines.append)
    p.update(done=1, running=2)
    assert lines[-1] == "runs: 1 done, 2 running, 1 left, about 15 min to go"


@pytest.mark.parametrize("executor", ["local", "submitit-local"])
def test_executors_fill_a_study(dataset, tmp_path, executor):
    pytest.importorskip("submitit") if executor != "local" else None
    specs = [spec(dataset, seed=0), spec(dataset, "gate_1", seed=0), spec(dataset, seed=0)]  # a duplicate
    reports = []
    failures = run_missing(specs, tmp_path, executor, workers=2, threads=1, report=reports.append)
    assert failures == []
    store = RunStore(tmp_path)
    assert all(store.is_done(s) for s in specs)
    assert reports[0].startswith("runs: 0 done") and reports[-1].startswith("runs: 2 done, 0 running, 0 left")
    assert run_missing(specs, tmp_path, executor, workers=2, report=reports.append) == []  # nothing left to do


def test_study_declares_models_variants_and_seeds(dataset, tmp_path, monkeypatch):
    from hwr.runs import study as study_module

    from hwr.training.task import Task

    monkeypatch.setattr(study_module, "profile_task", lambda profile: Task("tiny", data=dataset, train=TRAIN))
    s = Study.declare("chXX", "smoke", ["ctc_baseline"], seeds=[0, 1], variants={"a": {"model": TINY["ctc_baseline"]},
                                                                   "b": {"model": TINY["ctc_baseline"],
                                                                         "train": {"lr": 1e-3}}},
                      store=RunStore(tmp_path))
    assert [(r.variant, r.seed) for r in s.runs] == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    assert s.status() == {"done": 0, "damaged": 0, "started": 0, "missing": 4}
    s.ensure(workers=2)
    df = s.frame()
    assert len(df) == 4 and df["test_cer"].notna().all() and set(df["variant"]) == {"a", "b"}
    with pytest.raises(ValueError, match="unknown key"):
        Study.declare("chXX", "smoke", ["gate_1"], variants={"x": {"modle": {}}})


def test_sweep_dry_run_lists_the_runs(tmp_path):
    import subprocess

    env = dict(os.environ, HWR_RESULTS=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "hwr.cli", "sweep", "ch03", "--profile", "smoke", "--dry-run"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "ch03_training (smoke)" in proc.stdout and "missing" in proc.stdout and "ctc_baseline-s0-" in proc.stdout


def test_sweep_of_several_chapters_queues_each_shared_run_once_seed_major(monkeypatch):
    import argparse

    from hwr.runs import cli, executors, studies

    queued = []
    monkeypatch.setattr(executors, "run_missing", lambda runs, *a, **k: queued.extend(runs) or [])
    with_seeds(monkeypatch, "smoke", [0, 1])
    # the real parser, so an option added to `hwr sweep` reaches this test with its default
    parser = argparse.ArgumentParser()
    cli.configure(parser)
    args = parser.parse_args(["ch06", "ch07", "--profile", "smoke"])
    assert cli.main(args) == 0
    ids = [s.run_id for s in queued]
    assert len(ids) == len(set(ids))  # seq2seq_bn, light_bn and light_in are in both chapters, queued once
    assert {s.experiment for s in queued} == {"seq2seq_bn", "seq2seq_in", "light_no_pe", "light_bn", "light_in", "gate_1"}
    assert [s.seed for s in queued] == sorted(s.seed for s in queued)


def test_studies_join_and_a_scaled_budget_scales_minutes_and_schedule(monkeypatch):
    from hwr.runs import study as study_module
    from hwr.runs import studies
    from hwr.runs.study import first_seed, scaled_budget

    with_seeds(monkeypatch, "smoke", [0, 1, 2])
    assert first_seed("smoke") == [0]
    dsc = studies.study("ch10", "smoke")
    seeds = {}
    for s in dsc.runs:
        seeds.setdefault(s.experiment, []).append(s.seed)
    assert seeds == {"gate_1": [0, 1, 2], "dsc_k1": [0, 1, 2], "dsc_k2": [0], "dsc_k3": [0], "dsc_k4": [0]}
    base = study_module.profile_task("smoke").config("bb_384")
    double = scaled_budget("smoke", "bb_384", 2)
    assert double["minutes"] == 2 * base.minutes and double["schedule_steps"] == 2 * base.schedule_steps
    width = studies.study("ch11", "smoke")
    longer = [s for s in width.runs if s.variant == "2x budget"]
    assert len(longer) == 1 and longer[0].experiment == "bb_384" and longer[0].train["minutes"] == 2 * base.minutes
    assert len({s.run_id for s in width.runs}) == len(width.runs)
    with pytest.raises(ValueError, match="cannot join"):
        dsc + width


def test_segmentation_study_holds_each_attention_run_once():
    from hwr.models import EXPERIMENTS
    from hwr.runs import studies

    seg = studies.study("ch13", "smoke")
    ids = [s.run_id for s in seg.runs]
    assert len(ids) == len(set(ids)) and all(EXPERIMENTS[s.experiment].family == "seq2seq" for s in seg.runs)
    labels = {s.label for s in seg.runs}
    assert "seq2seq_bn" in labels and "seq2seq_bn (tf 0.8)" not in labels and "seq2seq_bn (tf 1.0)" in labels
    assert {"gate_1", "attn2d_h8", "dsc_k4"} <= {s.experiment for s in seg.runs}


def test_a_profile_gives_its_data_where_the_task_leaves_it_open():
    from hwr.profile import Profile

    assert Profile.load("full").data is not None and Profile.load("no-such-profile").data is None
    full = Study.declare("chXX", "full", ["gate_1"], seeds=[0])
    assert full.runs[0].data == Profile.load("full").data
    book = Study.declare("chXX", "book", ["gate_1"], seeds=[0])
    assert book.runs[0].data == "synth:phrases"  # the book task names its own data


def test_rerun_note_gives_the_commands_and_the_cost(tmp_path):
    from hwr.book.page import rerun_note

    class Rec:  # what rerun_note reads of a record
        test = {"seconds": 30.0}
        provenance = {"hardware": {"cpu": "AMD EPYC", "cores": 2, "torch_threads": 1}}
        metrics = {"minutes": 1.0}
        device = "CPU"

    text = rerun_note("ch08", "book", [Rec(), Rec()], ["light_in"], kept="the maps are kept").data
    assert "hwr sweep ch08 --profile book" in text and "hwr run ch08 --profile book" in text
    assert "3.0 minutes" in text and "AMD EPYC, 2 cores, 1 thread per run" in text
    assert text.endswith("; the maps are kept.")
