"""Seed 004's light CRNN (hwr.models.lite), its spatial transformer, and the printed and word datasets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwr.models import build
from hwr.models.lite import LiteConfig
from hwr.runs.analyses import _lean
from hwr.synth.config import PRESETS, SynthConfig
from hwr.synth.fonts import FAMILIES, PRINTED_FAMILIES


def test_the_transformer_starts_at_the_identity_and_learns_through_the_loss():
    model = build("crnn_lite", input_height=32)
    x = torch.rand(2, 1, 32, 120)
    assert torch.allclose(model.straighten(x), x, atol=1e-4)
    out = model(x)
    assert out.shape == (2, 30, 81) and int(model.output_width(torch.tensor([120]))[0]) == 30
    out.sum().backward()
    assert model.stn.theta.weight.grad.abs().sum() > 0  # the map's layer gets a gradient from the recogniser
    plain = build("crnn_lite", input_height=32, stn=False)
    assert plain.stn is None and torch.equal(plain.straighten(x), x)
    with pytest.raises(ValueError, match="multiple of 16"):
        LiteConfig(input_height=40)


def test_the_lean_of_a_slanted_stroke_is_its_shift_per_row():
    image = np.full((32, 64), 0.9, dtype=np.float32)
    for y in range(4, 28):
        image[y, 40 - y // 2: 40 - y // 2 + 3] = 0.1  # one column left per two rows down: leans right
    assert _lean(image) == pytest.approx(0.5, abs=0.1)
    assert _lean(np.full((32, 64), 0.9, dtype=np.float32)) == 0.0


def test_word_presets_and_printed_fonts_are_kept_apart_from_the_handwriting():
    assert PRESETS["words"].phrase_words == (1, 1)
    assert set(PRESETS["printed-words"].families) == set(PRINTED_FAMILIES)
    assert not set(PRINTED_FAMILIES) & set(FAMILIES)  # the default sets stay handwriting only
    with pytest.raises(ValueError, match="unknown font families"):
        SynthConfig(families=("roboto", "lato", "no-such-font"))
