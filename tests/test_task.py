"""Book tasks (configs/tasks.yaml, hwr.training.task) and `hwr bench task`."""

from __future__ import annotations

import csv
import json
import math

import pytest

from hwr.training import TrainConfig
from hwr.training.task import Task, get_task, load_tasks, profile_task

from data_fixtures import write_gt_txt
from test_train import lines


def test_every_task_of_the_file_parses():
    tasks, profiles = load_tasks()
    assert {"thesis", "lines-64", "phrases-64", "phrases-32", "phrases-32-cosine", "phrases-32-onecycle",
            "smoke"} <= set(tasks)
    assert profiles == {"full": "thesis", "book": "phrases-32-cosine", "smoke": "smoke"}  # book: chapter 3
    for name, task in tasks.items():
        assert task.description, name
        cfg = task.config("gate_1")
        assert isinstance(cfg, TrainConfig)
        if cfg.schedule != "constant":
            assert cfg.schedule_total >= 1  # schedule_steps, or the end of a lines budget


def test_full_profile_keeps_the_thesis_conditions_exactly():
    task = profile_task("full")
    assert task.name == "thesis" and task.overrides() == {} and task.data is None
    assert task.config("gate_1", seed=3) == TrainConfig(seed=3)
    assert task.source("/data/iam") == "/data/iam"
    assert profile_task("book").name == "phrases-32-cosine"


def test_candidates_state_their_departures():
    t = get_task("phrases-32-cosine")
    assert t.overrides() == {"input_height": 32} and t.data == "synth:phrases"
    cfg = t.config("ctc_baseline", seed=1, threads=1)
    assert (cfg.batch_size, cfg.lr, cfg.schedule, cfg.minutes, cfg.seed) == (16, 1e-3, "warmup_cosine", 10, 1)
    assert cfg.schedule_steps == math.ceil(t.schedule_lines["ctc_baseline"] / 16)
    assert t.config("gate_1").schedule_steps == math.ceil(t.schedule_lines["default"] / 16)
    assert t.settings()["input_height"] == 32 and t.settings()["schedule"] == "warmup_cosine"


def test_schedule_lines_per_model():
    t = Task("x", train={"batch_size": 10, "schedule": "onecycle"}, schedule_lines={"default": 95, "gate_1": 40})
    assert t.config("ctc_baseline").schedule_steps == 10 and t.config("gate_1").schedule_steps == 4
    assert t.config("gate_1", schedule_steps=7).schedule_steps == 7


@pytest.mark.parametrize("body,match", [
    ("tasks:\n  a: {description: x, learning_rate: 1}\n", "unknown setting.*learning_rate"),
    ("tasks:\n  a: {description: x, schedule: cosine}\n", "task 'a'.*schedule"),
    ("tasks:\n  a: {description: x, threads: 2}\n", "unknown setting.*threads"),
    ("tasks:\n  a: {description: x}\nprofiles: {book: b}\n", "unknown task 'b'"),
    ("task: {}\n", "unknown top-level keys"),
    # a task whose name line is lost merges into the one above: plain YAML would keep the last value silently
    ("tasks:\n  a:\n    description: x\n    data: synth:words\n\n    description: y\n    data: synth:names\n",
     "key 'description' given twice.*line 6"),
])
def test_bad_task_files_name_file_and_cause(tmp_path, body, match):
    path = tmp_path / "tasks.yaml"
    path.write_text(body)
    with pytest.raises(ValueError, match=match) as e:
        load_tasks(path)
    assert str(path) in str(e.value)
    with pytest.raises(FileNotFoundError, match="no task file"):
        load_tasks(tmp_path / "missing.yaml")


def test_profiles_still_load_in_the_runner():
    from hwr.book.chapters import load_profile

    for profile in ("book", "full", "smoke"):
        assert "chapters" in load_profile(profile)


# -- hwr bench task -------------------------------------------------------------------

def test_value_at_and_mean_sd():
    from hwr.runs.candidates import mean_sd, value_at

    hist = [{"elapsed": 50.0, "val_cer": 0.9}, {"elapsed": 110.0, "val_cer": 0.5}, {"elapsed": 190.0, "val_cer": 0.3}]
    assert value_at(hist, 40) is None and value_at(hist, 60) == 0.9 and value_at(hist, 120) == 0.5
    assert value_at(hist, 182) == 0.3  # 5 % slack: the closing validation ends after the budget
    assert mean_sd([0.1, 0.2, None]) == pytest.approx((0.15, math.sqrt(0.005), 2))
    assert mean_sd([None])[2] == 0


def test_table_verdicts():
    from hwr.runs.candidates import format_table, table

    rows = [{"task": "t", "model": m, "seed": s, "minutes": 10.0, "val_cer": c, "lines_per_s": 20.0}
            for m, cers in (("good", (0.12, 0.14, 0.13)), ("bad", (0.20, 0.30, 0.25)), ("part", (0.1, None, 0.1)))
            for s, c in enumerate(cers)]
    header, lines_ = table(rows, [10.0])
    verdict = {r[1]: r[-1] for r in lines_}
    assert verdict == {"good": "met", "bad": "missed by 10.0 pt, sd 5.0", "part": "incomplete"}
    assert lines_[0][3] == "13.0% ± 1.0"
    assert "criterion" in format_table(header, lines_)


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])  # 2: the process pool
def test_bench_task_trains_each_run_and_prints_the_table(tmp_path, capsys, workers):
    from hwr.cli import main

    data = {"train": lines(16, 0, "t"), "valid": lines(6, 1, "v"), "test": lines(4, 2, "x")}
    write_gt_txt(tmp_path / "lines", {s: [(it.id, it.text, it.image) for it in data[s]] for s in data})
    (tmp_path / "tasks.yaml").write_text(
        "tasks:\n"
        "  tiny:\n"
        "    description: a dry run\n"
        f"    data: {tmp_path / 'lines'}\n"
        "    input_height: 32\n"
        "    batch_size: 8\n"
        "    schedule: warmup_cosine\n"
        "    schedule_lines: 16\n"
        "    minutes: 5\n")
    rc = main(["bench", "task", "--task", "tiny", "--models", "ctc_baseline", "--seeds", "0,1",
               "--workers", str(workers), "--tasks-file", str(tmp_path / "tasks.yaml"), "--out", str(tmp_path / "out"),
               "-o", "ctc_hidden=16", "--set", "epochs=1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "ctc_baseline" in out and "1 min" in out and "5 min" in out
    from hwr.runs import RunStore

    folders = sorted(RunStore(tmp_path / "out" / "runs").root.glob("ctc_baseline-s*"))
    assert [f.name[:15] for f in folders] == ["ctc_baseline-s0", "ctc_baseline-s1"]  # runs of the store
    for seed, folder in zip((0, 1), folders):
        assert (folder / "test.json").exists() and (folder / "predictions.csv").exists()
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["epochs"] == 1 and metrics["config"]["seed"] == seed
        assert metrics["overrides"] == {"input_height": 32, "ctc_hidden": 16}
        assert metrics["config"]["schedule_steps"] == 2 and metrics["config"]["minutes"] == 5
    with open(tmp_path / "out" / "measure.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 5 and {r["seed"] for r in rows} == {"0", "1"}
    assert all(r["val_cer"] != "" for r in rows)  # a 1-epoch run validates within seconds
