"""Figures and frames of training runs, on made-up records (no training)."""

import json

import editdistance
import numpy as np
import pandas as pd
import pytest

from hwr.confusions import confusion_counts, edit_operations, label, top_confusions
from hwr.plots import runs as plots
from hwr.plots import style
from hwr.runs import report
from hwr.runs.spec import RunSpec
from hwr.runs.store import RunRecord


# ---------------------------------------------------------------- confusions
@pytest.mark.parametrize("ref, hyp, ops", [
    ("abc", "abc", []),
    ("abc", "abd", [("c", "d")]),
    ("abc", "ac", [("b", "")]),
    ("ac", "abc", [("", "b")]),
    ("", "xy", [("", "x"), ("", "y")]),
    ("rn", "m", [("r", ""), ("n", "m")]),  # a tie: read from the end, the diagonal step wins
    ("a b", "ab", [(" ", "")]),
])
def test_edit_operations_of_known_pairs(ref, hyp, ops):
    assert edit_operations(ref, hyp) == ops


@pytest.mark.parametrize("ref, hyp", [("the cat sat", "tne cot sat!"), ("kitten", "sitting"), ("", ""),
                                      ("handwriting", "hnadwritng")])
def test_edit_operations_are_a_minimal_alignment(ref, hyp):
    assert len(edit_operations(ref, hyp)) == editdistance.eval(ref, hyp)


def test_top_confusions_counts_shares_and_orders():
    rows = [{"reference": "abc", "hypothesis": "abd"}, {"reference": "cc", "hypothesis": "dd"},
            {"reference": "a b", "hypothesis": "ab"}]
    counts = confusion_counts(rows)
    assert counts == {("c", "d"): 3, (" ", ""): 1}
    top = top_confusions(counts, k=5)
    assert list(top["operation"]) == ["c \u2192 d", "\u2423 \u2192 \u2205"]
    assert list(top["kind"]) == ["substitution", "deletion"]
    assert list(top["count"]) == [3, 1] and top["share"].tolist() == [0.75, 0.25]
    assert label(("", "e")) == "\u2205 \u2192 e"
    assert len(top_confusions(counts, k=1)) == 1


# ---------------------------------------------------------------- learning curves
def _curves():
    rows = []
    for lab, base in (("ctc_baseline", 0.5), ("gate_1", 0.8)):
        for seed in (0, 1):
            for epoch in (1, 2, 3):
                rows.append({"label": lab, "seed": seed, "epoch": epoch, "lines_seen": 100 * epoch,
                             "minutes": epoch + 0.1 * seed, "val_cer": base / epoch + 0.02 * seed})
    return pd.DataFrame(rows)


def test_mean_curve_interpolates_on_the_common_range():
    x, y = plots.mean_curve([(np.array([0, 2]), np.array([0, 2])), (np.array([1, 3]), np.array([3, 5]))], points=3)
    assert x.tolist() == [1.0, 1.5, 2.0]
    assert y.tolist() == [2.0, 2.5, 3.0]
    assert plots.mean_curve([(np.array([0, 1]), np.array([1, 1])), (np.array([2, 3]), np.array([1, 1]))])[0].size == 0


def test_learning_curves_draw_seeds_thin_and_the_mean_thick():
    style.apply()
    fig = plots.learning_curves(_curves())
    assert len(fig.axes) == 2 and fig.get_size_inches()[0] == style.WIDTH
    top, bottom = fig.axes
    assert top.get_xlabel() == "training lines seen" and bottom.get_xlabel() == "minutes of training"
    lines = top.get_lines()
    assert len(lines) == 2 * (2 + 1)  # two models x (two seeds + their mean)
    widths = sorted({ln.get_linewidth() for ln in lines})
    assert widths[0] < 1 < 2 < widths[-1]
    legend = [t.get_text() for t in top.get_legend().get_texts()]
    assert legend == ["ctc_baseline (2 seeds)", "gate_1 (2 seeds)"]
    mean = [ln for ln in lines if ln.get_linewidth() > 2][0]
    assert mean.get_ydata()[0] == pytest.approx(100 * (0.5 + 0.01))  # mean of the seeds at 100 lines
    assert top.get_ylim()[1] == pytest.approx(1.05 * 100 * 0.82)


def test_learning_curves_cap_runaway_cer():
    df = _curves()
    df.loc[0, "val_cer"] = 6.5  # an untrained decoder that never stops
    fig = plots.learning_curves(df, axes=("lines",))
    assert len(fig.axes) == 1 and fig.axes[0].get_ylim()[1] == pytest.approx(105)
    assert "capped at 100" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError, match="axes must be"):
        plots.learning_curves(df, axes=("epochs",))


# ---------------------------------------------------------------- cost scatter
def test_pareto_front():
    assert plots.pareto_front([1, 2, 3, 4], [0.5, 0.2, 0.3, 0.2]).tolist() == [True, True, False, False]


def test_cost_scatter_marks_the_front():
    df = pd.DataFrame({"label": ["a", "b", "c"], "params": [1e5, 1e6, 2e6], "cer": [0.2, 0.1, 0.15],
                       "cer_sd": [0.01, 0.02, np.nan]})
    fig = plots.cost_scatter(df, "params")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "test CER (%)"
    assert [t.get_text() for t in ax.texts] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Pareto front"]
    hollow = [ln.get_markerfacecolor() for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert hollow.count("white") == 1  # c is both dearer and worse than b
    crowded = plots.cost_scatter(df, "params", max_labels=2)  # more points than names: the front's only
    assert [t.get_text() for t in crowded.axes[0].texts] == ["a", "b"]


def test_confusion_bars_put_the_most_frequent_on_top():
    top = top_confusions({("c", "d"): 3, ("", "e"): 2, ("a", ""): 1})
    fig = plots.confusion_bars(top)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["c \u2192 d", "\u2205 \u2192 e", "a \u2192 \u2205"]
    assert ax.yaxis_inverted()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["substitution", "deletion", "insertion"]


# ---------------------------------------------------------------- frames from records
def _record(tmp_path, experiment, seed, hyps, elapsed=(30.0, 60.0)):
    folder = tmp_path / f"{experiment}-{seed}"
    folder.mkdir()
    pd.DataFrame({"epoch": [1, 2], "lines": [200, 150], "elapsed": list(elapsed),
                  "val_cer": [0.5, 0.25]}).to_csv(folder / "history.csv", index=False)
    refs = ["abcd", "ef gh", "ij"]
    pd.DataFrame({"id": ["l0", "l1", "l2"], "reference": refs, "hypothesis": hyps,
                  "distance": [editdistance.eval(r, h) for r, h in zip(refs, hyps)]}).to_csv(
        folder / "predictions.csv", index=False)
    (folder / "test.json").write_text(json.dumps({"seconds": 1.0, "seconds_total": 5.0}))
    (folder / "metrics.json").write_text(json.dumps({"minutes": 1.0}))  # training time, resumes included
    (folder / "run.json").write_text(json.dumps({"hardware": {"cpu": "Test CPU", "cores": 2, "torch_threads": 1}}))
    return RunRecord(RunSpec(experiment, "synth:smoke", seed), folder)


def test_curves_frame_counts_lines_seen(tmp_path):
    rec = _record(tmp_path, "gate_1", 0, ["abcd", "ef gh", "ij"])
    df = report.curves_frame([rec])
    assert df["lines_seen"].tolist() == [200, 350] and df["minutes"].tolist() == [0.5, 1.0]
    assert set(df["label"]) == {"gate_1"}
    assert report.hardware([rec]) == "Test CPU, 2 cores, 1 thread per run"
    # a GPU in the machine is named only where the run trained on it
    (rec.folder / "run.json").write_text(json.dumps({"hardware": {"cpu": "Test CPU", "cores": 2, "torch_threads": 1,
                                                                 "gpu": "Test GPU"}}))
    assert report.hardware([RunRecord(rec.spec, rec.folder)]) == "Test CPU, 2 cores, 1 thread per run"
    (rec.folder / "metrics.json").write_text(json.dumps({"minutes": 1.0, "device": "cuda"}))
    assert report.hardware([RunRecord(rec.spec, rec.folder)]).endswith("1 thread per run, trained on Test GPU")
    assert report.seconds_total([rec, rec]) == 122.0  # (60 s of training + 1 s of test) x 2


def test_summary_frame_per_model(tmp_path):
    recs = [_record(tmp_path, "gate_1", 0, ["abcd", "ef gh", "ij"]),
            _record(tmp_path, "gate_1", 1, ["abcx", "ef gh", "ij"]),  # 1 error in 11 characters
            _record(tmp_path, "ctc_baseline", 0, ["", "", ""])]
    df = report.summary_frame(recs, n_resamples=200)
    assert df.index.tolist() == ["gate_1", "ctc_baseline"]
    assert df.loc["gate_1", "seeds"] == 2 and df.loc["gate_1", "test lines"] == 3
    assert df.loc["gate_1", "cer"] == pytest.approx(1 / 22)
    assert df.loc["gate_1", "CER (%)"] == f"{100 / 22:.1f}±{100 * np.std([0, 1 / 11], ddof=1):.1f}"
    assert df.loc["ctc_baseline", "CER (%)"] == "100.0"  # one seed: no sd
    assert df.loc["ctc_baseline", "WER (%)"] == "100.0"


def test_tasks_frame_states_departures():
    df = report.tasks_frame(["smoke"])
    text = df.loc["smoke", "departures from the thesis"]
    assert "height 32" in text and "batch 8" in text and "data synth:phrases-smoke" in text
    with pytest.raises(KeyError, match="no task"):
        report.tasks_frame(["nope"])


def test_learning_curves_by_task_share_colours_and_scale():
    a, b = _curves(), _curves()
    a["task"], b["task"] = "phrases-32", "lines-64"
    b["val_cer"] *= 0.5
    fig = plots.learning_curves_by(pd.concat([a, b]), "task")
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["phrases-32", "lines-64"]
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()
    colours = [{ln.get_color() for ln in ax.get_lines() if ln.get_linewidth() > 2} for ax in fig.axes]
    assert colours[0] == colours[1] and len(colours[0]) == 2
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["ctc_baseline", "gate_1"]
    assert fig.axes[1].get_xlabel() == "minutes of training"
    assert fig.axes[0].get_ylabel() == "" and fig._supylabel.get_text() == "val CER (%)"


def _finish(store, spec, val_cers, lines_per_s=20.0):
    """Records of a finished run in ``store`` (no training): spec, history, metrics, provenance,
    one test prediction and the test summary, consistent enough to count as done (hwr.runs.seal)."""
    store.write_spec(spec)
    folder = store.folder(spec)
    pd.DataFrame({"epoch": range(1, len(val_cers) + 1), "lines": 100, "val_cer": val_cers,
                  "elapsed": [60.0 * (k + 1) for k in range(len(val_cers))]}).to_csv(folder / "history.csv", index=False)
    (folder / "metrics.json").write_text(json.dumps({"lines_per_s": lines_per_s}))
    (folder / "run.json").write_text("{}")
    (folder / "predictions.csv").write_text("id,reference,hypothesis,distance\nl0,ab,ab,0\n")
    (folder / "test.json").write_text(json.dumps({"cer": 0.1, "lines": 1}))


def test_candidate_frame_and_reference_run(tmp_path):
    from hwr.runs.store import RunStore

    store = RunStore(tmp_path / "runs")
    specs = report.candidate_specs({"smoke": [0, 1], "phrases-32": [0]}, ["ctc_baseline"])
    assert [(t, s.seed) for t, s in specs] == [("smoke", 0), ("smoke", 1), ("phrases-32", 0)]
    _finish(store, specs[0][1], [0.4, 0.12])
    _finish(store, specs[1][1], [0.3, 0.14], lines_per_s=30.0)
    _finish(store, specs[2][1], [0.5])
    df = report.candidate_frame(specs, store, [1, 2]).set_index("task")
    assert df.loc["smoke", "seeds"] == "2" and df.loc["smoke", "1 min"] == "35.0±7.1"
    assert df.loc["smoke", "2 min"] == "13.0±1.4" and df.loc["smoke", "criterion"] == "met"
    assert df.loc["smoke", "lines/s"] == 25.0
    assert df.loc["phrases-32", "1 min"] == "50.0" and df.loc["phrases-32", "2 min"] == "50.0"
    assert df.loc["phrases-32", "criterion"] == "+35.0 pt"
    assert report.reference_run(specs, store, "smoke", "ctc_baseline") == {"val_cer": 0.12, "minutes": 2.0}
    assert np.isnan(report.reference_run(specs, store, "lines-64", "ctc_baseline")["val_cer"])
    partial = report.candidate_frame(specs[:2] + report.candidate_specs({"smoke": [2]}, ["ctc_baseline"]),
                                     store, [2])
    assert partial.loc[0, "seeds"] == "2 of 3" and partial.loc[0, "criterion"] == "incomplete"


def test_criterion_text():
    assert report.criterion_text(0.15, 0.02, 3, 3) == "met"
    assert report.criterion_text(0.20, 0.03, 3, 3) == "+5.0 pt, sd 3.0"
    assert report.criterion_text(0.10, 0.025, 3, 3) == "sd 2.5"


def test_rerun_commands_group_candidates_by_seeds():
    text = report.rerun_commands("ch03", "book", {"a": [0, 1, 2], "b": [0], "c": [0]}, ["ctc_baseline", "gate_1"])
    commands = [" ".join(ln.split()) for ln in text.replace("\\\n", "").splitlines()
                if not ln.startswith(("#", "```"))]
    assert commands == ["hwr sweep ch03 --profile book",
                        "hwr bench task --task a --models ctc_baseline,gate_1 --seeds 0,1,2",
                        "hwr bench task --task b,c --models ctc_baseline,gate_1 --seeds 0",
                        "hwr run ch03 --profile book"]
    assert text.startswith("```bash\n# ") and text.endswith("\n```")
    assert max(len(ln) for ln in text.splitlines()) <= 60  # readable on a phone without scrolling
    assert "--out results/smoke" in report.rerun_commands("ch03", "smoke", {"smoke": [0]}, ["gate_1"])


def test_verdict_values_answer_the_question():
    from hwr import stats

    a = [[{"id": str(i), "reference": "abcd", "hypothesis": "abcd" if i % 2 else "abxd"} for i in range(40)]] * 2
    b = [[{"id": str(i), "reference": "abcd", "hypothesis": "abcd"} for i in range(40)]] * 2
    v = stats.verdict(stats.compare(a, b, names=("ctc_baseline", "gate_1"), n_resamples=200), better="gate_1")
    values = report.verdict_values(v, "gate_1", "ctc_baseline")
    assert values["answer"] == "gate_1 is lower" and values["diff"] == "\u221212.50"
    assert values["diff_seeds"] == "\u221212.50, \u221212.50" and values["n_seeds"] == 2 and values["n_lines"] == "40"
    same = stats.verdict(stats.compare(b, b, names=("ctc_baseline", "gate_1"), n_resamples=200), better="gate_1")
    assert report.verdict_values(same, "gate_1", "ctc_baseline")["answer"] == stats.INCONCLUSIVE
    assert report.points(float("nan")) == "-" and report.percent(0.1234) == "12.3"


def test_candidates_may_name_their_own_models():
    specs = report.candidate_specs({"smoke": [0], "phrases-32": {"seeds": [0, 1], "models": ["gate_1"]}},
                                   ["ctc_baseline", "gate_1"])
    assert [(t, s.experiment, s.seed) for t, s in specs] == [
        ("smoke", "ctc_baseline", 0), ("smoke", "gate_1", 0), ("phrases-32", "gate_1", 0), ("phrases-32", "gate_1", 1)]
    text = report.rerun_commands("ch03", "book", {"a": [0], "b": {"seeds": [0], "models": ["gate_1"]}},
                                 ["ctc_baseline", "gate_1"])
    assert "--task a \\\n    --models ctc_baseline,gate_1 --seeds 0" in text
    assert "--task b \\\n    --models gate_1 --seeds 0" in text
    # groups: every model on seed 0, two of them on seeds 1 and 2 as well; a run named twice is listed once
    groups = {"smoke": [{"seeds": [0]}, {"seeds": [0, 1, 2], "models": ["gate_1"]}]}
    specs = report.candidate_specs(groups, ["ctc_baseline", "gate_1"])
    assert [(t, s.experiment, s.seed) for t, s in specs] == [
        ("smoke", "ctc_baseline", 0), ("smoke", "gate_1", 0), ("smoke", "gate_1", 1), ("smoke", "gate_1", 2)]
    text = report.rerun_commands("ch03", "book", groups, ["ctc_baseline", "gate_1"])
    assert "--models gate_1 --seeds 0,1,2" in text and "--models ctc_baseline,gate_1 --seeds 0" in text


def _on_cpu(rec, cpu: str, lines_per_s: float):
    (rec.folder / "run.json").write_text(json.dumps({"hardware": {"cpu": cpu, "cores": 2, "torch_threads": 1}}))
    (rec.folder / "metrics.json").write_text(json.dumps({"minutes": 1.0, "lines_per_s": lines_per_s,
                                                         "trained_lines": 60 * lines_per_s, "parameters": 1000}))
    return RunRecord(rec.spec, rec.folder)


def test_speeds_name_the_machines_the_runs_trained_on(tmp_path):
    hyps = ["abcd", "ef gh", "ij"]
    xeon, epyc = "Intel(R) Xeon(R) Processor @ 2.1GHz", "AMD EPYC 7B13"
    recs = [_on_cpu(_record(tmp_path, "gate_1", 0, hyps), xeon, 60.0),
            _on_cpu(_record(tmp_path, "gate_1", 1, hyps), epyc, 50.0),
            _on_cpu(_record(tmp_path, "gate_1", 2, hyps), epyc, 40.0),
            _on_cpu(_record(tmp_path, "gate_2", 0, hyps), epyc, 30.0)]
    assert report.cpu_name(recs[0]) == "Intel Xeon" and report.cpu_name(recs[1]) == "AMD EPYC 7B13"
    speed = report.speed_frame(recs, "gate_1")
    assert speed.loc["gate_1", "CPU"] == "Intel Xeon ×1, AMD EPYC 7B13 ×2" and speed.loc["gate_2", "CPU"] == "AMD EPYC 7B13"
    assert speed.loc["gate_2", "× gate_1"] == "0.60"
    both = report.machine_speeds(recs)  # only gate_1 trained on two machines
    assert both["model"].tolist() == ["gate_1"] and both.loc[0, "ratio"] == pytest.approx(60 / 45)


def test_no_two_labels_share_a_colour_and_a_crowded_scatter_colours_by_kind():
    from hwr.plots.runs import cost_scatter, palette

    labels = [f"m{i}" for i in range(25)]
    assert len(set(palette(labels).values())) == 25  # beyond the theme's 10 colours, evenly spaced hues
    frame = pd.DataFrame({"label": labels, "cer": np.linspace(0.2, 0.8, 25), "cer_sd": 0.01,
                          "params": np.linspace(1e6, 2e6, 25), "kind": ["a", "b"] * 12 + ["c"]})
    fig = cost_scatter(frame, "params", group="kind")
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"a", "b", "c"} <= set(texts)
    named = [t.get_text() for t in fig.axes[0].texts]
    assert named == ["m0"]  # crowded: only the front (the cheapest and best point) is named


def test_a_cer_axis_never_magnifies_seed_noise_and_a_narrow_cost_axis_is_linear():
    from hwr.plots.runs import MIN_CER_SPAN, cer_against, cost_scatter

    runs = pd.DataFrame({"k": [1, 2, 3, 4], "cer": [0.703, 0.702, 0.701, 0.698], "label": ["a", "b", "c", "d"]})
    low, high = cer_against(runs, "k", "k").axes[0].get_ylim()
    assert high - low >= MIN_CER_SPAN - 1e-9  # 0.5 points of spread are not drawn over the whole panel
    frame = pd.DataFrame({"label": list("abc"), "cer": [0.7, 0.69, 0.68], "params": [1.0e6, 1.2e6, 1.5e6]})
    assert cost_scatter(frame, "params").axes[0].get_xscale() == "linear"  # less than a decade apart
    frame["params"] = [1e5, 1e6, 1e7]
    assert cost_scatter(frame, "params").axes[0].get_xscale() == "log"
