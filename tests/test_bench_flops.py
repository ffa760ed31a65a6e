"""hwr bench train --flops: FLOP counts (the CPU LSTM included), efficiency, time by part (tiny models)."""

import json

import pytest
import torch

from hwr.bench import flops
from hwr.training import engine

TINY = {"ctc_baseline": dict(ctc_hidden=16), "gate_1": dict(hidden=32, attention=32, embedding=8)}


def test_lstm_flops_are_counted_forward_and_backward():
    T, B, I, H = 7, 3, 10, 6
    lstm = torch.nn.LSTM(I, H, bidirectional=True, batch_first=True)
    with flops.flop_counter() as counter:
        lstm(torch.randn(B, T, I))[0].sum().backward()
    forward = 2 * T * B * 4 * H * (I + H) * 2  # two directions
    assert counter.get_total_flops() == 3 * forward  # backward: twice the forward


def test_cli_reports_flops_efficiency_and_parts(monkeypatch, tmp_path, capsys):
    from hwr.cli import main

    real = engine.build_model
    monkeypatch.setattr(engine, "build_model", lambda name, ov: real(name, {**TINY[name], **ov}))
    monkeypatch.setattr(flops, "MATMUL_N", 64)
    out = tmp_path / "flops.json"
    rc = main(["bench", "train", "--flops", "--models", "ctc_baseline,gate_1", "--batch-size", "2", "--batches", "1",
               "--warmup", "0", "--data", "random", "--lines", "12", "--threads", "1", "--out", str(out)])
    assert rc == 0
    result = json.loads(out.read_text())
    assert result["matmul"]["best"] >= result["matmul"]["median"] > 0 and result["matmul"]["n"] == 64
    ctc, gate = result["models"]
    for row in (ctc, gate):
        assert row["flops_per_line"] > 0 and row["lines_per_s"] > 0
        assert row["efficiency"] == pytest.approx(row["flops_per_line"] * row["lines_per_s"] / result["matmul"]["best"])
        assert set(row["fractions"]) == set(flops.PARTS)
        assert sum(row["fractions"].values()) == pytest.approx(1.0)
        assert min(row["parts_seconds"].values()) >= 0
        for part in ("backbone convolutions", "normalisation", "loss", "optimiser"):
            assert row["fractions"][part] > 0, (row["model"], part)
    assert ctc["fractions"]["LSTM/GRU"] > 0 and ctc["fractions"]["gates"] == 0 and ctc["fractions"]["decoder loop"] == 0
    assert gate["fractions"]["gates"] > 0 and gate["fractions"]["decoder loop"] > 0
    assert gate["fractions"]["decoder cell"] > 0 and gate["fractions"]["LSTM/GRU"] == 0
    assert "% of matmul" in capsys.readouterr().out


def test_bench_parallel_arrangements_and_a_tiny_run():
    from hwr.bench.parallel import arrangements, bench_parallel

    assert arrangements(2) == [(2, 1), (1, 2)] and arrangements(4) == [(4, 1), (2, 2), (1, 4)]
    lines = []
    result = bench_parallel("ctc_baseline", cores=2, rounds=1, batch_size=2, batches=1, data="random", lines=8,
                            report=lines.append)
    assert set(result["median"]) == {"2x1", "1x2"} and all(v > 0 for v in result["median"].values())
    assert result["ratio_to_one_run"]["1x2"] == 1.0 and len(lines) == 2


def test_forward_flops_of_one_line_by_part():
    from hwr.bench.flops import forward_flops

    gate = forward_flops("gate_1", width=256, steps=5)
    parts = gate["backbone"] + gate["after_backbone"] + gate["decoder"] + gate["other"]
    assert parts == gate["total"] and gate["other"] == 0 and gate["steps"] == 5
    # one gate block: depthwise 1 x 9 (C) and pointwise C -> 2C over the W' - 8 columns it outputs
    columns = 256 // 4 - 8
    assert gate["after_backbone"] == 2 * columns * (256 * 9 + 256 * 512)
    dsc = [forward_flops(f"dsc_k{k}", width=256, steps=5)["backbone"] for k in (1, 2, 4)]
    assert dsc[0] < dsc[1] < dsc[2] < gate["backbone"]
    assert forward_flops("gate_1", width=256, steps=10)["decoder"] > gate["decoder"]
