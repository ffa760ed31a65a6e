"""Tests of hwr.models: thesis counts, shapes, decoding control, layer numerics."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout

import pytest
import torch

from hwr.codec import EOS, NUM_CLASSES
from hwr.models import EXPERIMENTS, build, state_count, trainable_count
from hwr.models.gate import GateBlock
from hwr.models.norm import InstanceNorm
from hwr.models.posenc import PositionalEncoding1d, PositionalEncoding2d
from hwr.models.registry import ModelConfig

NAMES = list(EXPERIMENTS)
WIDTHS = (160, 123)  # two lines of different widths, right-padded into one batch


def batch(model, widths=WIDTHS):
    torch.manual_seed(0)
    x = torch.rand(len(widths), 1, model.input_height, max(widths))
    for i, w in enumerate(widths):
        x[i, :, :, w:] = x[i, :, :, w - 1 : w]  # edge replication, as the loader pads
    return x


def test_registry_has_every_thesis_experiment():
    assert len(EXPERIMENTS) == 21
    assert EXPERIMENTS["gate_1"].thesis_id == "2022-06-14_seq2seqL_gate_1"
    assert EXPERIMENTS["ctc_baseline"].thesis_cer is None
    assert EXPERIMENTS["light_no_pe"].thesis_cer == 75.32
    assert all(e.family in ("seq2seq", "ctc") for e in EXPERIMENTS.values())


@pytest.mark.parametrize("name", NAMES)
def test_state_count_matches_thesis(name):
    model = build(name)
    assert state_count(model) == EXPERIMENTS[name].thesis_state_count
    assert model.experiment == name and model.family == EXPERIMENTS[name].family
    assert model.input_height == (128 if name == "attn2d_h8_in128" else 64)
    # BN rows carry running stats + num_batches_tracked; IN rows have no buffers.
    extra = 1734 if model.config.norm == "bn" else 0
    assert trainable_count(model) == state_count(model) - extra


def test_no_flex_wrappers_left_after_build():
    from torchmore import flex

    for name in ("seq2seq_bn", "dsc_k2", "ctc_baseline"):
        assert not any(isinstance(m, flex.Flex) for m in build(name).modules())


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes_train_and_eval(name):
    model = build(name)
    x = batch(model)
    w = int(model.output_width(torch.tensor([max(WIDTHS)]))[0])
    if model.family == "ctc":
        for mode in (model.train, model.eval):
            mode()
            out = model(x)
            assert out.shape == (2, w, NUM_CLASSES)
            assert torch.allclose(out.exp().sum(-1), torch.ones(2, w), atol=1e-5)
        return
    targets = torch.randint(1, NUM_CLASSES, (2, 6))
    model.train()
    assert model(x, targets=targets).shape == (2, 6, NUM_CLASSES)
    model.eval()
    with torch.no_grad():
        out = model(x, max_steps=5)
    assert out.shape[0] == 2 and 1 <= out.shape[1] <= 5 and out.shape[2] == NUM_CLASSES
    assert torch.allclose(out.exp().sum(-1), torch.ones(out.shape[:2]), atol=1e-5)


@pytest.mark.parametrize("name,hw", [("gate_1", None), ("attn2d_h4", 4), ("attn2d_h8", 8), ("attn2d_h8_in128", 8)])
def test_attention_shapes(name, hw):
    model = build(name).eval()
    x = batch(model)
    w = int(model.output_width(torch.tensor([max(WIDTHS)]))[0])
    with torch.no_grad():
        log_probs, attn = model(x, max_steps=4, stop_at_eos=False, return_attention=True)
    assert log_probs.shape == (2, 4, NUM_CLASSES)
    assert attn.shape == ((2, 4, w) if hw is None else (2, 4, hw, w))
    assert torch.allclose(attn.flatten(2).sum(-1), torch.ones(2, 4), atol=1e-5)


def force_eos(model):
    """Make every step's argmax EOS (zero output weights, huge EOS bias)."""
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.zero_()
        model.decoder.out.bias[EOS] = 100.0


def test_early_stop_versus_fixed_98_steps():
    model = build("gate_1").eval()
    force_eos(model)
    x = batch(model)
    with torch.no_grad():
        assert model(x).shape[1] == 1  # every line emitted EOS at step 1
        assert model(x, stop_at_eos=False).shape[1] == 98  # thesis timing
        assert model(x, stop_at_eos=False, max_steps=20).shape[1] == 20


def test_no_early_stop_while_some_line_continues():
    model = build("light_in").eval()
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.zero_()
        model.decoder.out.bias[5] = 100.0  # never EOS
        assert model(batch(model), max_steps=12).shape[1] == 12


def test_teacher_forcing_step_count_equals_target_length():
    model = build("light_gru")
    x = batch(model)
    for length in (1, 9):
        targets = torch.full((2, length), EOS)
        assert model.train()(x, targets=targets).shape[1] == length
        with torch.no_grad():  # eval with targets: greedy feedback, still T steps
            assert model.eval()(x, targets=targets).shape[1] == length


def test_teacher_forcing_feeds_ground_truth():
    model = build("gate_1")
    model.decoder.dropout.p = 0.0
    for m in model.modules():  # deterministic features: no dropout anywhere
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    x = batch(model)
    targets = torch.randint(19, 81, (2, 5))
    torch.manual_seed(1)
    a = model(x, targets=targets, teacher_forcing=1.0)
    torch.manual_seed(1)
    b = model(x, targets=targets, teacher_forcing=1.0)
    c = model(x, targets=targets, teacher_forcing=0.0)
    assert torch.allclose(a, b)
    assert torch.allclose(a[:, 0], c[:, 0])  # step 1 always sees SOS
    assert not torch.allclose(a[:, 1:], c[:, 1:])  # later steps see targets vs argmax


def test_backward_reaches_every_parameter():
    model = build("seq2seq_bn")
    x = batch(model)
    targets = torch.randint(1, NUM_CLASSES, (2, 4))
    model(x, targets=targets, teacher_forcing=1.0).mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []


def test_instance_norm_matches_hand_computation():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5) * 3 + 1
    y = InstanceNorm()(x)
    for b in range(2):
        for c in range(3):
            v = x[b, c].flatten().tolist()
            mean = sum(v) / len(v)
            std = math.sqrt(sum((t - mean) ** 2 for t in v) / (len(v) - 1))  # unbiased
            expected = (x[b, c] - mean) / (std + 1e-5)
            assert torch.allclose(y[b, c], expected, atol=1e-5)
    # not torch's InstanceNorm2d (biased variance inside the square root)
    assert not torch.allclose(y, torch.nn.functional.instance_norm(x), atol=1e-3)


def test_instance_norm_backward_matches_autograd():
    from hwr.models.norm import instance_norm_reference

    torch.manual_seed(0)
    x = (torch.randn(2, 3, 2, 5, dtype=torch.double) * 2 + 1).requires_grad_()
    assert torch.autograd.gradcheck(InstanceNorm(), (x,))
    g = torch.randn_like(x)
    ours = torch.autograd.grad((InstanceNorm()(x) * g).sum(), x)[0]
    ref = torch.autograd.grad((instance_norm_reference(x) * g).sum(), x)[0]
    assert torch.allclose(ours, ref, atol=1e-10)
    flat = torch.zeros(1, 2, 3, 3, requires_grad=True)  # constant channel: output 0, finite gradient
    InstanceNorm()(flat).sum().backward()
    assert torch.isfinite(flat.grad).all()


def test_positional_encoding_1d_layout():
    d, n = 8, 50
    pe = PositionalEncoding1d(d, max_len=n)
    table = pe.pe
    pos = torch.arange(n, dtype=torch.float32)
    for i in range(d // 2):
        div = math.exp(-2 * i * math.log(10000.0) / d)
        assert torch.allclose(table[2 * i], torch.cos(pos * div), atol=1e-5)  # even: cos
        assert torch.allclose(table[2 * i + 1], torch.sin(pos * div), atol=1e-5)  # odd: sin
    x = torch.zeros(2, d, 1, 7)
    assert torch.allclose(pe(x)[1, :, 0], table[:, :7])
    assert "pe" not in pe.state_dict()  # buffers stay out of checkpoints and counts
    with pytest.raises(ValueError, match="max_len"):
        pe(torch.zeros(1, d, 1, n + 1))


def test_positional_encoding_2d_layout():
    d = 16
    pe = PositionalEncoding2d(d, max_height=8, max_len=30).pe  # d x 8 x 30
    half = d // 2
    for j in range(half // 2):
        div = math.exp(-2 * j * math.log(10000.0) / half)
        x = torch.arange(30, dtype=torch.float32)
        y = torch.arange(8, dtype=torch.float32)
        assert torch.allclose(pe[2 * j, 3], torch.sin(x * div), atol=1e-5)
        assert torch.allclose(pe[2 * j + 1, 5], torch.cos(x * div), atol=1e-5)
        assert torch.allclose(pe[half + 2 * j, :, 11], torch.sin(y * div), atol=1e-5)
        assert torch.allclose(pe[half + 2 * j + 1, :, 0], torch.cos(y * div), atol=1e-5)


def test_gate_shrinks_width_by_8():
    from torchmore import flex

    gate = GateBlock(16)
    flex.shape_inference(gate, (1, 16, 1, 40))
    gate.eval()
    assert gate(torch.randn(2, 16, 3, 30)).shape == (2, 16, 3, 22)
    assert sum(p.numel() for p in gate.parameters()) == 10 * 16 + 2 * 16 * 16 + 2 * 16


@pytest.mark.parametrize("name", ["light_in", "gate_3", "attn2d_h8", "attn2d_h8_in128", "ctc_baseline"])
def test_output_width_matches_output(name):
    model = build(name).eval()
    for w in (217, 250, 331):
        x = torch.rand(1, 1, model.input_height, w)
        with torch.no_grad():
            memory = model.features(x)
        frames = memory.shape[1] if model.family == "ctc" else memory.shape[-1]
        assert frames == int(model.output_width(torch.tensor([w]))[0])


def test_state_dict_round_trip_and_overrides():
    model = build("dsc_k2", dropout=0.0).eval()
    again = build("dsc_k2", dropout=0.0)
    again.load_state_dict(model.state_dict())
    again.eval()
    x = batch(model)
    with torch.no_grad():
        assert torch.allclose(model(x, max_steps=3), again(x, max_steps=3))
    assert again.overrides == {"dropout": 0.0}
    assert state_count(build("gate_1", gates=2)) == EXPERIMENTS["gate_2"].thesis_state_count


def test_channels_last_gives_the_same_output():
    model = build("seq2seq_bn").eval()  # built channels_last
    assert model.features[0][0][0].weight.is_contiguous(memory_format=torch.channels_last)
    x = batch(model)
    with torch.no_grad():
        fast = model(x, max_steps=3, stop_at_eos=False)
        ref = model.to(memory_format=torch.contiguous_format)(x, max_steps=3, stop_at_eos=False)
    assert torch.allclose(ref, fast, atol=1e-4)


def test_diagram_and_component_tables_agree_with_counts():
    from hwr.models import diagram, report

    for name in ("seq2seq_bn", "attn2d_h8", "ctc_baseline"):
        total = sum(report.components(name).values())
        assert total == EXPERIMENTS[name].thesis_state_count
    stages = diagram.stages("gate_1")
    assert [s.title for s in stages][:3] == ["line image", "ConvNet6", "gate block x 1"]
    assert sum(s.params or 0 for s in stages) == EXPERIMENTS["gate_1"].thesis_state_count
    fig = diagram.draw_families({"gate_1": "light", "ctc_baseline": "ctc"})
    assert len(fig.axes) == 2


def test_clear_errors():
    with pytest.raises(KeyError, match="unknown experiment"):
        build("nope")
    with pytest.raises(TypeError, match="unknown override"):
        build("gate_1", gatez=2)
    with pytest.raises(ValueError, match="norm"):
        ModelConfig(norm="ln")
    with pytest.raises(ValueError, match="expected images"):
        build("light_in")(torch.rand(1, 1, 32, 100))


def test_cli_json():
    from hwr.cli import main

    out = io.StringIO()
    with redirect_stdout(out):
        rc = main(["models", "--json", "gate_1", "ctc_baseline"])
    rows = json.loads(out.getvalue())
    assert rc == 0
    assert [r["name"] for r in rows] == ["gate_1", "ctc_baseline"]
    assert rows[0]["state_count"] == 1_518_354 and rows[0]["thesis_id"] == "2022-06-14_seq2seqL_gate_1"
    assert {"name", "thesis_id", "state_count", "trainable"} <= set(rows[1])
    again = io.StringIO()
    with redirect_stdout(again):
        assert main(["experiments", "--json", "gate_1", "ctc_baseline"]) == 0  # the earlier name stays
    assert json.loads(again.getvalue()) == rows
