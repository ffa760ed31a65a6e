"""hwr bench latency: both measurements run and are reported (tiny sizes)."""

import json

import pytest
import torch

from hwr.bench import latency


def test_measure_both_ways_small():
    r = latency.measure("light_in", batch_size=1, width=96, line_width=64, steps=3, repeats=2, warmup=1)
    assert len(r["thesis_calls_ms"]) == 2 and len(r["proper_calls_ms"]) == 2 and len(r["proper_line_calls_ms"]) == 2
    assert r["thesis_steps"] == 98 and r["proper_steps"] == 3
    assert r["ratio"] == r["proper_ms"] / r["thesis_ms"]
    assert r["thesis_reported_ms"] == 248  # thesis CPU BS1 for light IN
    # The report states the layouts actually measured: the thesis's default one, and the build's.
    assert (r["thesis_memory_format"], r["memory_format"]) == ("contiguous", "channels_last")
    r = latency.measure("light_in", batch_size=1, width=96, line_width=None, steps=3, repeats=1, warmup=0,
                        channels_last=False)
    assert (r["thesis_memory_format"], r["memory_format"]) == ("contiguous", "contiguous")


def test_memory_format_bench_times_both_formats_of_the_same_model():
    from hwr.bench import memory_format as mf
    from hwr.models import build

    torch.manual_seed(0)
    model = build("ctc_baseline")
    assert mf.weights_format(model) == "channels_last"  # the one place that decides: hwr.models.build
    assert mf.weights_format(model.to(memory_format=torch.contiguous_format)) == "contiguous"
    lines = []
    r = mf.measure_model("light_in", batch_size=2, width=64, steps=2, rounds=1, report=lines.append,
                         overrides={"hidden": 16, "attention": 16, "embedding": 8})
    assert r["formats"] == {"default": "contiguous", "channels_last": "channels_last"}
    assert {k: len(v) for k, v in r["train_ms"].items()} == {"default": 2, "channels_last": 2}
    assert {k: len(v) for k, v in r["infer_ms"].items()} == {"default": 2, "channels_last": 2}
    assert r["infer_ratio"] == r["infer_median_ms"]["channels_last"] / r["infer_median_ms"]["default"]
    assert len(lines) == 1 and lines[0].startswith("light_in")


def test_thesis_call_records_gradients_and_proper_does_not():
    from hwr.models import build

    torch.manual_seed(0)
    model = build("ctc_baseline").eval()
    x = torch.rand(1, 1, 64, 32)
    seen = []
    model.register_forward_hook(lambda m, i, o: seen.append(o.requires_grad))
    latency.thesis_call(model, x)
    latency.proper_call(model, x)
    assert seen == [True, False]


def test_command_prints_both_figures(capsys):
    from hwr.cli import main

    args = ["bench", "latency", "--models", "ctc_baseline", "--batch-sizes", "1", "--width", "64",
            "--line-width", "48", "--repeats", "1", "--warmup", "0", "--threads", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "thesis ms" in out and "proper ms" in out and "torch" in out and "thread" in out
    assert main(args + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["random_weights"] and report["environment"]["threads"] == 1
    (row,) = report["results"]
    assert row["thesis_ms"] > 0 and row["proper_ms"] > 0 and row["proper_line_ms"] > 0


def _timed(root, model, batch, calls, profile="smoke"):
    """A latency record with the given timed calls, where :func:`hwr.runs.latency.latency` reads it."""
    import json

    from hwr.runs.latency import _path, settings

    path = _path(root, model, batch, settings(profile), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"proper_calls_ms": calls, "proper_ms": sum(calls) / len(calls)}))


def test_a_latency_ratio_has_an_interval_over_the_timed_calls(tmp_path):
    from hwr.runs.latency import latency_ratio, latency_verdict

    _timed(tmp_path, "gate_1", 1, [100.0, 101.0, 99.0])
    _timed(tmp_path, "attn2d_h8", 1, [200.0, 204.0, 198.0])
    _timed(tmp_path, "seq2seq_in", 1, [99.0, 103.0, 98.0])
    r = latency_ratio("attn2d_h8", "gate_1", 1, "smoke", root=tmp_path)
    assert r["low"] < r["ratio"] < r["high"] and 1.9 < r["low"] and r["high"] < 2.1 and r["calls"] == (3, 3)
    assert latency_verdict("gate_1", "attn2d_h8", [1], "smoke", root=tmp_path)[0] == "reproduced"
    assert latency_verdict("attn2d_h8", "gate_1", [1], "smoke", root=tmp_path)[0] == "not reproduced"
    # overlapping timings are not told apart
    outcome, text = latency_verdict("gate_1", "seq2seq_in", [1], "smoke", root=tmp_path)
    assert outcome == "inconclusive at this budget" and "not decided" in text


def test_one_timed_call_gives_no_interval(tmp_path):
    from hwr.runs.latency import latency_ratio

    _timed(tmp_path, "gate_1", 1, [100.0])
    _timed(tmp_path, "attn2d_h8", 1, [200.0])
    r = latency_ratio("attn2d_h8", "gate_1", 1, "smoke", root=tmp_path)
    assert r["ratio"] == pytest.approx(2.0) and r["low"] == 0.0 and r["high"] == float("inf")
