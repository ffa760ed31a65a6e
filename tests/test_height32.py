"""Input height 32 (a book-task candidate): same models, same state counts.

ConvNet6 at height 32 drops one height pool (hwr.models.backbone.POOLS);
convolution, norm, gate, encoder and decoder sizes depend on channels only,
so every registry experiment must keep the thesis's state count exactly, and
the widths must still be divided by 4.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwr.codec import NUM_CLASSES
from hwr.models import EXPERIMENTS, build, state_count
from hwr.models.backbone import POOLS, pool_schedule, width_divisor
from hwr.preprocess import THESIS_EVAL_WIDTH, prepare, prepared_width

NAMES = list(EXPERIMENTS)


def _images(height: int, widths=(160, 123)) -> torch.Tensor:
    torch.manual_seed(0)
    x = torch.rand(len(widths), 1, height, max(widths))
    for i, w in enumerate(widths):
        x[i, :, :, w:] = x[i, :, :, w - 1 : w]
    return x


def test_height_32_halves_the_height_five_times_and_keeps_w_over_4():
    for hp in (1, 4, 8):
        pools = pool_schedule(32, hp)
        heights = [p[0] for p in pools if p is not None]
        assert 32 // int(np.prod(heights)) == hp
        assert width_divisor(32, hp) == width_divisor(64, hp) == [2, 2]
    assert pool_schedule(32, 1)[:5] == POOLS[(64, 1)][:5] and pool_schedule(32, 1)[5] is None


@pytest.mark.parametrize("name", NAMES)
def test_state_count_at_height_32_is_the_thesis_count(name):
    model = build(name, input_height=32)
    assert model.input_height == 32
    assert state_count(model) == EXPERIMENTS[name].thesis_state_count
    # the same tensors, not just the same total
    reference = build(name, input_height=EXPERIMENTS[name].config["input_height"])
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        k: v.shape for k, v in reference.state_dict().items()}


@pytest.mark.parametrize("name", ["ctc_baseline", "gate_1", "seq2seq_bn", "attn2d_h4", "attn2d_h8_in128"])
def test_forward_at_height_32(name):
    model = build(name, input_height=32).eval()
    x = _images(32)
    w = int(model.output_width(torch.tensor([x.size(-1)]))[0])
    with torch.no_grad():
        if model.family == "ctc":
            out = model(x)
            assert out.shape == (2, w, NUM_CLASSES)
        else:
            memory = model.encode(x)
            assert memory.shape[2:] == (model.config.expand_h, w)
            out = model(x, max_steps=4)
            assert out.shape[0] == 2 and out.shape[2] == NUM_CLASSES
    with pytest.raises(ValueError, match="expected images B x 1 x 32"):
        model(_images(64))


def test_preprocess_scales_to_height_32_with_proportional_padding():
    # padding is added in source pixels before the resize, so at 32 it is the
    # same share of the line as at 64: the 32-px image is the 64-px one halved
    line = np.full((60, 300), 255, np.uint8)
    line[20:40, 50:250] = 0
    a, b = prepare(line, 32), prepare(line, 64)
    assert a.shape == (32, prepared_width(60, 300, 32)) and b.shape == (64, prepared_width(60, 300, 64))
    assert abs(a.shape[1] * 2 - b.shape[1]) <= 1
    assert THESIS_EVAL_WIDTH[32] * 2 == THESIS_EVAL_WIDTH[64]
