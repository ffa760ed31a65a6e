"""hwr bench compile: the bucketing part for real on a tiny model, the compile part's failure paths and arithmetic.

No real model is compiled here: a first compile costs a minute of CPU or more.
"""

import json

import pytest
import torch

from hwr.bench import compile as bench
from hwr.bench.batches import random_lines

TINY = {"ctc_baseline": dict(ctc_hidden=16)}


@pytest.fixture(scope="module")
def lines():
    # random noise lines whose widths spread as IAM's (a factor of five between narrow and wide)
    return random_lines(48, seed=3)


def test_alternate_runs_a_b_b_a_then_b_a_a_b():
    calls = []
    timers = {k: (lambda k=k: calls.append(k) or (1.0, 1.0)) for k in ("A", "B")}
    out = bench.alternate(timers, 2)
    assert "".join(calls) == "ABBABAAB"
    assert len(out["A"]) == len(out["B"]) == 4


def test_compare_ratio_and_spread_of_neighbouring_pairs():
    # 32 lines per timing; B takes 2 s where A takes 4 s, then 1 s against 4 s
    c = bench.compare(32, [4.0, 4.0], [2.0, 1.0])
    assert c["a"] == pytest.approx(8.0)  # lines/s of A
    assert c["b"] == pytest.approx(statistics_median([16.0, 32.0]))
    assert c["ratio"] == pytest.approx(24.0 / 8.0)
    assert c["spread"] == pytest.approx((2.0, 4.0))
    with pytest.raises(ValueError, match="paired"):
        bench.compare(32, [1.0], [1.0, 2.0])


def statistics_median(values):
    import statistics

    return statistics.median(values)


def test_padding_share_counts_padded_pixels():
    from hwr.preprocess import collate

    a, b = torch.zeros(4, 10).numpy(), torch.zeros(4, 30).numpy()
    batch = collate([(a, "x", "a"), (b, "y", "b")])  # 40 real columns of 60
    assert bench.padding_share([batch]) == pytest.approx(1 / 3)
    wide = collate([(a, "x", "a")], min_width=40)  # a model's minimum width is padding too
    assert bench.padding_share([wide]) == pytest.approx(0.75)


def test_failure_line_names_the_model_code():
    error = AssertionError('lift_tracked_freevar_to_input should not be called\n\nfrom user code:\n'
                           '   File "/x/hwr/models/gate.py", line 42, in forward\n'
                           '   File "/x/hwr/models/norm.py", line 58, in forward\n')
    assert bench.failure_line(error) == ("AssertionError: lift_tracked_freevar_to_input should not be called "
                                         "(at hwr/models/norm.py:58)")


def test_bucketing_part_for_real_on_a_tiny_model(lines):
    s = bench.Setting("ctc_baseline", "xl-100k", TINY["ctc_baseline"])
    assert s.height == 32 and not s.uses_aux
    prepared = [bench.PreparedLines(lines, s.height)[i] for i in range(len(lines))]
    row = bench.bucketing_part(s, prepared, batch_size=8, rounds=1)
    assert row["lines"] == 48 and row["batches"] == {"random": 6, "bucketed": 6}
    assert 0 <= row["padding"]["bucketed"] < row["padding"]["random"] < 1
    assert row["mean_batch_width"]["bucketed"] < row["mean_batch_width"]["random"]
    assert row["random_lines_per_s"] > 0 and row["bucketed_lines_per_s"] > 0
    assert row["ratio"] == pytest.approx(row["bucketed_lines_per_s"] / row["random_lines_per_s"])
    lo, hi = row["spread"]
    assert lo <= hi and len(row["timings"]["random"]) == len(row["timings"]["bucketed"]) == 2


def test_a_failing_compile_is_reported_not_raised(monkeypatch, lines, capsys):
    def broken(model, **kw):
        raise RuntimeError("inductor is not available here\nsecond line")

    monkeypatch.setattr(torch, "compile", broken)
    out = bench.run(["ctc_baseline"], data=lines, lines=48, batch_size=8, steps=1, rounds=1, compile_limit=None,
                    isolate=False, skip_bucketing=True, overrides=TINY, progress=lambda s: None)
    row = out["compile"][0]
    assert row["failed"] == "RuntimeError: inductor is not available here" and row["failed_at"] == "wrapping"
    assert "ctc_baseline   compile failed: RuntimeError: inductor is not available here" in capsys.readouterr().out
    assert out["bucketing"] == [] and out["hardware"]["cpu"]


def test_a_compile_failing_at_the_first_step_is_reported(monkeypatch, lines):
    class Raises(torch.nn.Module):  # wraps like torch.compile, fails when called as dynamo can
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, *a, **kw):
            raise AssertionError("graph capture failed")

        def __getattr__(self, name):
            try:
                return super().__getattr__(name)
            except AttributeError:
                return getattr(self.model, name)

    monkeypatch.setattr(torch, "compile", lambda model, **kw: Raises(model))
    s = bench.Setting("ctc_baseline", "xl-100k", TINY["ctc_baseline"])
    prep = [bench.PreparedLines(lines, s.height)[i] for i in range(16)]
    batches = [bench.collate(prep[:8]), bench.collate(prep[8:])]
    row = bench.measure_compile(s, batches, 1, limit=None, isolate=False, report=lambda s: None)
    assert row["failed_at"] == "first step" and row["failed"].startswith("AssertionError: graph capture failed")
    assert row["eager_first_loss"] > 0


def test_a_child_over_its_cpu_limit_is_stopped_and_reported(lines):
    # the real path: a child process compiles the tiny model and is stopped after 1 CPU second of it
    s = bench.Setting("ctc_baseline", "xl-100k", TINY["ctc_baseline"])
    prep = [bench.PreparedLines(lines, s.height)[i] for i in range(8)]
    stages = []
    row = bench.measure_compile(s, [bench.collate(prep)], 1, limit=1, report=stages.append)
    assert row["failed"] == "stopped after its CPU limit of 1 s, during: compiling (first step)", row
    assert stages[-1].endswith("compiling (first step)")


def test_cli_bucketing_only_writes_json(monkeypatch, tmp_path):
    from hwr.cli import main
    from hwr.training import engine

    real = bench.build_model
    monkeypatch.setattr(bench, "build_model", lambda name, ov: real(name, {**TINY[name], **ov}))
    monkeypatch.setattr(bench, "model_config", lambda name, **ov: engine.model_config(name, **{**TINY[name], **ov}))
    monkeypatch.setattr(bench, "load_lines", lambda source, n, seed: (random_lines(n, seed), f"{n} random lines"))
    out = tmp_path / "compile.json"
    rc = main(["bench", "compile", "--models", "ctc_baseline", "--lines", "32", "--batch-size", "8", "--rounds", "1",
               "--skip-compile", "--json", str(out)])
    assert rc == 0
    result = json.loads(out.read_text())
    assert result["compile"] == [] and result["bucketing"][0]["model"] == "ctc_baseline"
    assert result["task"] == "xl-100k" and result["batch_size"] == 8 and result["threads"] == 1


def test_unknown_model_is_refused_with_the_known_names():
    with pytest.raises(KeyError, match="no model 'nope'.*ctc_baseline"):
        bench.Setting("nope", "xl-100k")


def test_the_success_path_with_compile_as_the_identity(monkeypatch, lines, capsys):
    # torch.compile replaced by "no compiling": the whole report is filled in, and the two copies agree exactly
    monkeypatch.setattr(torch, "compile", lambda model, **kw: model)
    out = bench.run(["ctc_baseline"], data=lines, lines=32, batch_size=8, steps=2, rounds=1, compile_limit=None,
                    isolate=False, skip_bucketing=True, overrides=TINY, progress=lambda s: None)
    row = out["compile"][0]
    assert "failed" not in row and row["engine_compiles_it"]
    assert row["loss_agree"] and row["loss_rel_diff"] == 0.0
    assert row["first_loss"]["eager"] == row["first_loss"]["compiled"] > 0
    assert row["graph_breaks"] == 0 and row["compile_s"] >= 0 and row["lines_per_timing"] == 16
    assert row["ratio"] == pytest.approx(row["compiled_lines_per_s"] / row["eager_lines_per_s"])
    assert len(row["timings"]["eager"]) == 2
    assert "agree (0.0e+00)" in capsys.readouterr().out


def test_a_row_stopped_after_its_first_step_keeps_the_compile_seconds():
    row = {"model": "seq2seq_bn", "engine_compiles_it": False, "compile_s": 80.5, "compile_wall_s": 190.0,
           "graph_breaks": 2, "graphs": 5, "graphs_after_warmup": 7, "loss_agree": True, "loss_rel_diff": 2e-7,
           "failed": "stopped after its CPU limit of 60 s, during: warm-up batch 2/4"}
    first, second = bench.format_compile_row(row).splitlines()
    assert first.startswith("seq2seq_bn *") and "80.5" in first and "agree (2.0e-07)" in first and " 7 " in first
    assert second.strip() == "then failed: stopped after its CPU limit of 60 s, during: warm-up batch 2/4"
    assert bench.format_compile_row({"model": "gate_1", "failed": "AssertionError: x"}) == \
        "gate_1         compile failed: AssertionError: x"


def test_a_loss_difference_under_random_draws_is_labelled_so():
    row = {"model": "light_in", "compile_s": 100.0, "compile_wall_s": 120.0, "graph_breaks": 2, "graphs": 3,
           "loss_agree": False, "loss_rel_diff": 1.2e-3, "random_draws": True, "failed": "stopped"}
    assert "differ, random draws + (1.2e-03)" in bench.format_compile_row(row)
    assert "DIFFER (1.2e-03)" in bench.format_compile_row({**row, "random_draws": False})
