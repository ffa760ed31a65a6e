"""Analyses of trained runs (beam search, decoding, normalisation), recorded
latencies, and the budget rule of the thesis chapters' verdicts."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from data_fixtures import write_gt_txt
from hwr.runs import RunSpec, RunStore
from hwr.runs.analyses import analysis
from hwr.runs.execute import execute

TINY = {"ctc_baseline": dict(ctc_hidden=16, input_height=64),
        "gate_1": dict(hidden=32, attention=32, embedding=8),
        "light_bn": dict(hidden=32, attention=32, embedding=8),
        "attn2d_h4": dict(hidden=32, attention=32, embedding=8),
        "names_crnn": dict(hidden=16, widths=(4, 8, 8), dense=8)}
TRAIN = dict(epochs=1, batch_size=2, val_subset=None)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = write_gt_txt(tmp_path_factory.mktemp("analyses-data"))
    for gt in (root / "test").glob("*.gt.txt"):  # character boxes, as the synthetic lines have
        n = len(gt.read_text(encoding="utf-8").rstrip("\n"))
        gt.with_name(gt.name.replace(".gt.txt", ".boxes.json")).write_text(
            json.dumps({"chars": [[2 + 6 * k, 8 + 6 * k] for k in range(n)]}))
    data = str(root)
    root = tmp_path_factory.mktemp("analyses-store")
    specs = {name: RunSpec(name, data, 0, overrides=o, train=TRAIN) for name, o in TINY.items()}
    for s in specs.values():
        execute(s, root, log=False)
    st = RunStore(root)
    return {name: st.load(s) for name, s in specs.items()}


def test_ctc_decoding_is_recorded_and_read_back_without_the_checkpoint(store):
    rec = store["ctc_baseline"]
    first = analysis(rec, "ctc_decoding", widths=[1, 3])
    greedy = first["decoders"][0]
    assert greedy["decoder"] == "greedy" and greedy["cer"] == pytest.approx(rec.test["cer"])
    assert [d["width"] for d in first["decoders"]] == [1, 1, 3] and first["lines"] == rec.test["lines"]
    assert len(first["lines_table"]) == first["lines"]
    assert (rec.folder / "analyses" / "ctc_decoding.json").exists()
    moved = rec.folder.parent / "moved-checkpoints"
    shutil.move(rec.folder / "checkpoints", moved)
    try:
        assert analysis(rec, "ctc_decoding", widths=[1, 3])["decoders"] == first["decoders"]
        with pytest.raises(FileNotFoundError, match="other parameters or by another version.*hwr sweep"):
            analysis(rec, "ctc_decoding", widths=[2])
    finally:
        shutil.move(moved, rec.folder / "checkpoints")


def test_a_seq2seq_run_records_its_segmentation_when_it_ends(store):
    from hwr.runs.analyses import SEGMENTATION_LINES
    from hwr.files import read_json

    saved = read_json(store["gate_1"].folder / "analyses" / "segmentation.json")
    assert saved is not None and saved["params"] == {"n": SEGMENTATION_LINES}
    assert saved["result"]["scored_lines"] > 0
    for name in ("attention_maps", "segmentation_examples"):
        assert (store["gate_1"].folder / "analyses" / f"{name}.json").exists()
    assert not (store["ctc_baseline"].folder / "analyses" / "segmentation.json").exists()


def test_the_run_end_decodes_the_test_lines_once_for_its_segmentation_and_examples(store, monkeypatch):
    from hwr.runs import analyses as module
    from hwr.runs.analyses import attention

    rec, passes = store["gate_1"], []
    score = attention._score_lines
    monkeypatch.setattr(attention, "_score_lines", lambda *a: passes.append(1) or score(*a))
    shutil.rmtree(rec.folder / "analyses")
    done = module.run_end_analyses(rec, "seq2seq")
    assert set(done) == set(module.RUN_END["seq2seq"]) and len(passes) == 1
    assert attention._SCORED == {}  # not kept past the run's end
    assert done["segmentation"]["scored_lines"] > 0 and done["segmentation_examples"]["examples"]


def test_unknown_analysis_is_named():
    with pytest.raises(KeyError, match="no analysis 'nope'"):
        analysis(None, "nope")


def test_seq2seq_greedy_decoding_matches_the_runs_test_score(store):
    rec = store["gate_1"]
    out = analysis(rec, "seq2seq_decoding", widths=[2])
    assert out["decoders"][0]["cer"] == pytest.approx(rec.test["cer"])
    assert 0.0 <= out["no_eos"] <= 1.0 and len(out["no_eos_ids"]) == round(out["no_eos"] * out["lines"])


def test_norm_batch_uses_batch_statistics_only_for_batchnorm(store):
    bn = analysis(store["light_bn"], "norm_batch", n=2, channels=4)
    modes = {(c["mode"], c["batch"], c["order"]) for c in bn["conditions"]}
    assert ("batch", 32, "mixed") in modes and bn["norm"] == "bn"
    assert bn["line_mean"].shape == (2, 4) and bn["running_var"].shape == (4,)
    inorm = analysis(store["gate_1"], "norm_batch", n=2, channels=4)
    assert inorm["norm"] == "in" and all(c["mode"] == "eval" for c in inorm["conditions"])
    assert "running_mean" not in inorm
    # IN: each line is normalised by itself, so its statistics are its own (no running ones to compare)
    assert np.all(inorm["line_var"] >= 0)


def test_latency_is_measured_once_then_read_back(tmp_path, monkeypatch):
    from hwr.bench import latency as bench
    from hwr.runs.latency import latency, latency_frame

    first = latency("ctc_baseline", 1, profile="smoke", root=tmp_path)
    assert first["proper_ms"] > 0 and first["settings"]["repeats"] == 1 and first["environment"]["threads"] == 1
    monkeypatch.setattr(bench, "measure", lambda *a, **k: pytest.fail("measured again"))
    assert latency("ctc_baseline", 1, profile="smoke", root=tmp_path) == first
    frame = latency_frame(["ctc_baseline"], [1], profile="smoke", root=tmp_path)
    assert frame.loc[0, "ms_1"] == first["proper_ms"]


def _fake_run(tmp_path, experiment, seed, val_cer, distances):
    spec = RunSpec(experiment, "synth:smoke", seed)
    folder = tmp_path / spec.run_id
    folder.mkdir()
    (folder / "metrics.json").write_text(f'{{"best": {{"val_cer": {val_cer}}}}}')
    refs = [f"line {i}" for i in range(len(distances))]
    pd.DataFrame({"id": [str(i) for i in range(len(distances))], "reference": refs,
                  "hypothesis": refs, "distance": distances}).to_csv(folder / "predictions.csv", index=False)
    from hwr.runs.store import RunRecord

    return RunRecord(spec, folder)


@pytest.mark.parametrize("val_cer,outcome", [(0.05, "reproduced"), (0.5, "inconclusive at this budget")])
def test_a_called_difference_between_untrained_models_is_inconclusive(tmp_path, val_cer, outcome):
    from hwr.runs.report import claim_verdict

    rng = np.random.default_rng(0)
    records = []
    for seed in (0, 1, 2):
        good = rng.integers(0, 2, 200)
        records.append(_fake_run(tmp_path, "gate_1", seed, val_cer, good))
        records.append(_fake_run(tmp_path, "light_in", seed, 0.05, good + 2))
    v = claim_verdict(records, better="gate_1", other="light_in")
    assert v.outcome == outcome and v.mean_diff < 0
    if outcome != "reproduced":
        assert "`gate_1` is lower" in v.explanation and "learns faster" in v.explanation


def test_no_verdict_mixes_devices(tmp_path):
    import json

    from hwr.runs.report import claim_verdict

    rng = np.random.default_rng(0)
    records = []
    for seed in (0, 1, 2):
        good = rng.integers(0, 2, 200)
        records += [_fake_run(tmp_path, "gate_1", seed, 0.05, good),
                    _fake_run(tmp_path, "light_in", seed, 0.05, good + 2)]
    assert claim_verdict(records, better="gate_1", other="light_in").outcome == "reproduced"
    assert {r.device for r in records} == {"CPU"}
    gpu = records[0]  # gate_1 seed 0 trained on a GPU
    (gpu.folder / "metrics.json").write_text(json.dumps({"best": {"val_cer": 0.05}, "device": "cuda"}))
    (gpu.folder / "run.json").write_text(json.dumps({"hardware": {"gpu": "NVIDIA H100 80GB HBM3"}}))
    records[0] = type(gpu)(gpu.spec, gpu.folder)  # reload its records
    assert records[0].device == "NVIDIA H100 80GB HBM3"
    v = claim_verdict(records, better="gate_1", other="light_in")
    assert v.outcome == "inconclusive at this budget"
    assert "different devices" in v.explanation and "`gate_1` on CPU and NVIDIA H100 80GB HBM3" in v.explanation


def test_the_answers_table_has_one_row_per_claim_whose_models_ran(tmp_path):
    import json

    from hwr.models import EXPERIMENTS
    from hwr.runs.report import answers_frame, points

    rng = np.random.default_rng(0)
    records = []
    for seed in (0, 1, 2):
        good = rng.integers(0, 2, 200)
        for name, distances in (("gate_1", good), ("light_in", good + 2)):
            run = _fake_run(tmp_path, name, seed, 0.05, distances)
            (run.folder / "test.json").write_text(json.dumps({"cer": float(distances.sum()) / (6 * 200)}))
            records.append(run)
    frame = answers_frame(records)
    # only the claim whose two models both ran: one gate block against none ("gate")
    assert list(frame.index) == ["one gate block in front of the decoder lowers the light model's CER"]
    row = frame.iloc[0]
    thesis = EXPERIMENTS["gate_1"].thesis_cer - EXPERIMENTS["light_in"].thesis_cer
    assert row["thesis (pt)"] == points(thesis / 100) and row["verdict"] == "reproduced" and row["by"] == "thesis"
    assert row["here (pt)"].startswith("\u2212") and row["blind (%)"] == "0.0"  # gate_1 lower, as claimed
    assert row["CER (%)"] == f"{100 * np.mean([r.test['cer'] for r in records[::2]]):.1f} / " \
                             f"{100 * np.mean([r.test['cer'] for r in records[1::2]]):.1f}"


def test_no_verdict_rests_on_a_run_whose_output_ignores_the_image(tmp_path):
    from hwr.runs.report import claim_verdict

    rng = np.random.default_rng(0)
    records = []
    for seed in (0, 1, 2):
        good = rng.integers(0, 2, 200)
        records.append(_fake_run(tmp_path, "gate_1", seed, 0.05, good))
        blind = _fake_run(tmp_path, "light_in", seed, 0.05, good + 2)
        rows = pd.read_csv(blind.folder / "predictions.csv", dtype=str)
        rows["hypothesis"] = "the the the"  # one string under every line, whatever the image
        rows.to_csv(blind.folder / "predictions.csv", index=False)
        records.append(blind)
    v = claim_verdict(records, better="gate_1", other="light_in")
    assert v.outcome == "inconclusive at this budget" and v.mean_diff < 0  # the called difference is kept
    assert v.explanation.startswith("No verdict:") and "`light_in` (up to 100.0 % of the test lines)" in v.explanation


@pytest.mark.parametrize("val_cer,outcome", [(0.05, "reproduced"), (0.5, "inconclusive at this budget")])
def test_a_decoder_comparison_follows_the_same_rules_as_a_claim(tmp_path, val_cer, outcome):
    """Two decoders of one model: a called difference on a model that does not read yet is no finding."""
    from hwr.runs.report import decoder_verdict, prediction_rows

    rng = np.random.default_rng(0)
    records, greedy, beam = [], [], []
    for seed in (0, 1, 2):
        good = rng.integers(0, 2, 200)
        rec = _fake_run(tmp_path, "gate_1", seed, val_cer, good + 2)
        records.append(rec)
        greedy.append(prediction_rows(rec))
        beam.append([dict(row, distance=0) for row in greedy[-1]])  # the beam reads every line
    v = decoder_verdict(records, greedy, beam, better="beam 10", other="greedy")
    assert v.outcome == outcome and v.mean_diff < 0
    if outcome != "reproduced":
        assert "beam 10 is lower" in v.explanation and "gate_1 at 50.0 %" in v.explanation


def test_repeat_errors_count_what_touches_a_run_of_equal_characters():
    from hwr.confusions import in_repeats, repeat_errors

    assert in_repeats("hello") == [False, False, True, True, False]
    assert repeat_errors("hello", "helo") == (1, 1)  # the collapse CTC makes without a blank
    assert repeat_errors("hello", "helllo") == (1, 1)  # an extra l beside the run
    assert repeat_errors("hello", "hallo") == (0, 1)
    assert repeat_errors("book", "bok") == (1, 1) and repeat_errors("abc", "abc") == (0, 0)


@pytest.mark.parametrize("hypothesis, outcome", [("helo world", "reproduced"), ("hallo worl", "not reproduced")])
def test_the_repeated_characters_claim_is_judged_on_the_share_of_errors(tmp_path, hypothesis, outcome):
    from hwr.runs.report import repeated_characters

    records = []
    for seed in (0, 1, 2):
        run = _fake_run(tmp_path, "crnn_lite", seed, 0.05, np.full(200, 2))
        rows = pd.read_csv(run.folder / "predictions.csv", dtype=str)
        # every line's own text, so that no output repeats across lines (the degenerate guard stays quiet)
        rows["reference"] = [f"hello world {i}" for i in range(200)]
        rows["hypothesis"] = [f"{hypothesis} {i}" for i in range(200)]
        rows.to_csv(run.folder / "predictions.csv", index=False)
        records.append(run)
    v = repeated_characters(records, n_resamples=200)
    assert v.outcome == outcome, v.explanation
    assert v.share == (1.0 if outcome == "reproduced" else 0.0)
    assert 0 < v.base < 0.5  # "ll" of hello among the reference's characters


def test_segmentation_scores_the_lines_that_have_boxes(store):
    out = analysis(store["gate_1"], "segmentation")
    assert out["lines"] == store["gate_1"].test["lines"] == out["scored_lines"]
    assert set(out["summary"]) == {"chars", "spaces"}
    assert len(out["per_line"]) == out["scored_lines"]
    n = out["summary"]["chars"]["n"] + out["summary"]["spaces"]["n"]
    assert out["rows"].shape == (n, 4) and set(out["rows"][:, 0]) <= {0, 1}
    assert ((0 <= out["rows"][:, 1]) & (out["rows"][:, 1] <= 1)).all()
    assert analysis(store["gate_1"], "segmentation")["rows"].shape == (n, 4)  # read back from the npz


def test_vertical_localisation_is_scored_for_2d_attention_only(store):
    flat = analysis(store["gate_1"], "vertical")
    assert flat["two_d"] is False and flat["scored"] == 0 and flat["rows"].shape == (0, 4)
    out = analysis(store["attn2d_h4"], "vertical")
    assert out["two_d"] is True and out["rows"].shape == (out["scored"], 4) and len(out["chars"]) == out["scored"]
    if out["scored"]:  # an untrained model may decode nothing that aligns with the reference
        rows = out["rows"]
        assert ((0 <= rows[:, :2]) & (rows[:, :2] <= 1 + 1e-9)).all() and set(rows[:, 2]) <= {0, 1}
        assert out["summary"]["cover"] == pytest.approx(rows[:, 1].mean())


def test_segmentation_examples_keep_the_best_and_worst_lines_drawable(store):
    seg = analysis(store["gate_1"], "segmentation")
    out = analysis(store["gate_1"], "segmentation_examples", k=1, min_chars=1)
    kinds = [e["kind"] for e in out["examples"]]
    assert kinds[0] == "best" and set(kinds) <= {"best", "worst"} and 1 <= len(kinds) <= 2
    hits = [h["hit"] for h in seg["per_line"] if h["hit"] is not None]
    assert out["examples"][0]["hit"] == pytest.approx(max(hits))
    if len(kinds) == 2:
        assert out["examples"][1]["hit"] == pytest.approx(min(hits))
    for i, e in enumerate(out["examples"]):
        assert out[f"boxes_{i}"].shape == (len(e["reference"]), 2)
        assert out[f"attention_{i}"].shape[-1] == len(out[f"centres_{i}"])
        assert out[f"image_{i}"].dtype == np.uint8


def test_thesis_frame_shows_the_legacy_cer_in_percent_as_recorded(tmp_path):
    from hwr.runs.report import thesis_frame

    records = []
    for seed in (0, 1):
        rec = _fake_run(tmp_path, "gate_1", seed, 0.5, np.ones(20, int))
        (rec.folder / "test.json").write_text('{"legacy_cer": %s}' % (72.0 + seed))  # percent, as hwr.metrics gives it
        records.append(rec)
    row = thesis_frame(records, n_resamples=200).loc["gate_1"]
    assert row["legacy CER (%)"] == "72.5" and row["thesis CER (%)"] == "15.8" and row["val CER (%)"] == "50.0"


def test_a_record_of_another_analysis_version_is_computed_again(store, monkeypatch):
    from hwr.runs import analyses as module

    rec = store["ctc_baseline"]
    analysis(rec, "ctc_decoding", widths=[2])
    calls = []
    monkeypatch.setitem(module.VERSIONS, "ctc_decoding", module.VERSIONS["ctc_decoding"] + 1)
    monkeypatch.setitem(module.ANALYSES, "ctc_decoding", lambda model, rec, **p: calls.append(p) or {"x": 1})
    assert analysis(rec, "ctc_decoding", widths=[2]) == {"x": 1} and calls == [{"widths": [2]}]


def test_gate_activations_record_the_sigmoid_half_of_every_block(store):
    import torch

    from hwr.models.io import load_model
    from hwr.runs.analyses import _loader, first_analysis, test_lines

    rec = store["gate_1"]
    out = analysis(rec, "gate_activations", n=4, n_maps=1, bins=10)
    assert out["blocks"] == 1 and out["hist"].shape == (1, 10) and out["hist"].sum() == pytest.approx(1.0)
    s = out["summary"][0]
    assert 0 < s["mean"] < 1 and 0 <= s["closed"] <= 1 and 0 <= s["open"] <= 1
    model = load_model(rec.folder, device="cpu")
    batch = next(iter(_loader(model, test_lines(rec, 4), 1)))
    with torch.no_grad():
        x = model.features[0](batch.images)  # the backbone, then the first gate's convolution
        expected = torch.sigmoid(model.features[1].conv(x).chunk(2, dim=1)[1])[0].mean(dim=1).numpy()
    assert np.allclose(out["gate_0_0"].astype(np.float32), expected, atol=2e-3)
    assert len(out["centres_0"]) >= expected.shape[1]
    assert np.all(np.diff(out["centres_0"]) > 0)
    with pytest.raises(ValueError, match="no gate blocks"):
        analysis(store["light_bn"], "gate_activations", n=2)
    # the first run that can give it: light_bn cannot, gate_1 can
    picked, result = first_analysis([store["gate_1"]], "gate_activations", n=4, n_maps=1, bins=10)
    assert picked is rec and result["summary"] == out["summary"]


@pytest.mark.parametrize("chars, spaces, val, outcome", [(0.8, 0.3, 0.05, "reproduced"),
                                                        (0.5, 0.3, 0.05, "not reproduced"),
                                                        (0.8, 0.9, 0.05, "not reproduced"),
                                                        (0.8, 0.3, 0.60, "inconclusive at this budget")])
def test_segmentation_verdict_against_a_constant_speed_reader(chars, spaces, val, outcome):
    from hwr.runs.report import segmentation_verdict

    got, text = segmentation_verdict("1D", chars, spaces, uniform=0.69, val_cer=val)
    assert got == outcome and "69.0 %" in text


def test_names_reading_scores_the_collapsed_reading_as_the_test_and_the_raw_frames_by_position(store):
    from hwr.codec import Codec
    from hwr.decode.ctc import ctc_greedy
    from hwr.metrics import positional_accuracy
    from hwr.models.io import load_model
    from hwr.preprocess import prepare
    from hwr.runs.analyses import test_lines

    rec = store["names_crnn"]
    d = analysis(rec, "names_reading")
    assert d["frames"] == 64 and d["canvas"] == 256 and d["lines"] == rec.test["lines"]
    assert d["cer"] == pytest.approx(rec.test["cer"]) and d["char_accuracy"] == pytest.approx(1 - rec.test["cer"])
    widths = [prepare(item.image, 64).shape[1] for item in test_lines(rec)]
    assert d["cropped"] == pytest.approx(sum(w > 256 for w in widths) / len(widths))
    # the raw frames, scored line by line as the seed did, give the recorded positional accuracies
    import torch

    model, codec = load_model(rec.folder, device="cpu"), Codec("ctc")
    lines = test_lines(rec)
    with torch.no_grad():
        lp = [model(torch.from_numpy(prepare(item.image, 64))[None, None])[0] for item in lines]
    labels = [codec.encode(item.text) for item in lines]
    assert (d["raw"]["char"], d["raw"]["word"]) == pytest.approx(
        positional_accuracy(labels, [p.argmax(-1).tolist() for p in lp]), abs=0.02)
    assert (d["collapsed"]["char"], d["collapsed"]["word"]) == pytest.approx(
        positional_accuracy(labels, [ctc_greedy(p[None])[0] for p in lp]), abs=0.02)


def test_ctc_nan_poisons_the_trained_model_only_without_a_guard(store):
    d = analysis(store["names_crnn"], "ctc_nan", lines=4)
    assert d["frames"] == 64 and len(d["too_long"]) == 65
    rows = {(r["case"], r["guard"]): r for r in d["cases"]}
    poisoned = rows[("one label longer than its frames", "none")]
    assert poisoned["infinite lines"] == 1 and not poisoned["weights finite"]
    assert rows[("one label longer than its frames", "zero_infinity=True")]["weights finite"]
    assert rows[("one label longer than its frames", "lengths checked, line left out")]["lines"] == \
        poisoned["lines"] - 1


def _nan_result(poisoned_finite=False, guard_finite=True, clean_finite=True):
    def row(case, guard, finite, lines=8, infinite=0):
        return {"case": case, "guard": guard, "lines": lines, "infinite lines": infinite, "loss": None,
                "gradient finite": finite, "weights finite": finite, "outputs finite after the step": finite}
    bad = "one label longer than its frames"
    return {"frames": 64, "too_long": "X" * 65, "cases": [
        row("every label fits", "none", clean_finite), row(bad, "none", poisoned_finite, infinite=1),
        row(bad, "zero_infinity=True", guard_finite, infinite=1),
        row(bad, "lengths checked, line left out", True, lines=7)]}


@pytest.mark.parametrize("kw, outcome", [
    ({}, "reproduced"),
    ({"poisoned_finite": True}, "not reproduced"),  # the impossible label did no harm
    ({"guard_finite": False}, "inconclusive at this budget"),  # a guard failed: the cause is not isolated
    ({"clean_finite": False}, "inconclusive at this budget"),
])
def test_the_nan_mechanism_is_judged_from_its_cases(kw, outcome):
    from hwr.runs.analyses.seeds import nan_mechanism

    got, text = nan_mechanism(_nan_result(**kw))
    assert got == outcome, text
    assert ("64 frames" in text) == (outcome != "inconclusive at this budget")


def test_the_nan_mechanism_of_the_trained_model(store):
    from hwr.runs.analyses.seeds import nan_mechanism

    got, text = nan_mechanism(analysis(store["names_crnn"], "ctc_nan", lines=4))
    assert got == "reproduced", text


@pytest.mark.parametrize("second, val_cer, outcome", [
    ([0.30, 0.31, 0.32], 0.05, "reproduced"),  # every seed higher, by about ten points
    ([0.19, 0.21, 0.35], 0.05, "inconclusive at this budget"),  # the seeds disagree
    ([0.10, 0.11, 0.12], 0.05, "not reproduced"),
    ([0.30, 0.31, 0.32], 0.5, "inconclusive at this budget"),  # the models do not read yet
])
def test_a_mechanism_is_judged_over_the_seeds(tmp_path, second, val_cer, outcome):
    from hwr.runs.report import seed_paired_verdict

    runs = [_fake_run(tmp_path, "seq2seq_in", seed, val_cer, np.full(20, 1)) for seed in (0, 1, 2)]
    got, text = seed_paired_verdict(runs, [0.2, 0.2, 0.2], second, "mixing widths raises seq2seq_in's CER")
    assert got == outcome
    assert "`seq2seq_in`" in text and "3 seed(s)" in text
