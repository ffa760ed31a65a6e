"""Seed 003's names recogniser (hwr.models.names) and its names dataset (hwr.synth.names)."""

import random

import pytest
import torch

from hwr.codec import NUM_CLASSES, Codec
from hwr.models import build, state_count
from hwr.models.names import ABSENT, NAMES_ALPHABET, NamesConfig
from hwr.synth.config import PRESETS, SynthConfig
from hwr.synth.names import make_names, split_names


def test_the_canvas_is_fixed_and_only_the_names_alphabet_gets_probability():
    model = build("names_crnn", hidden=32)
    for width in (90, 256, 600):  # padded, exact, cropped: always 64 frames
        out = model(torch.rand(2, 1, 64, width))
        assert out.shape == (2, 64, NUM_CLASSES)
    assert torch.equal(model.output_width(torch.tensor([90, 600])), torch.tensor([64, 64]))
    allowed = set([0] + Codec("ctc").encode(NAMES_ALPHABET))
    absent = [c for c in range(NUM_CLASSES) if c not in allowed]
    assert (out[..., absent] == ABSENT).all()
    assert torch.allclose(out.exp().sum(-1), torch.ones(2, 64), atol=1e-5)
    with pytest.raises(ValueError, match="activation"):
        NamesConfig(activation="tanh")


def test_the_seeds_size_has_its_parameter_count():
    # 3 conv blocks (320 + 18,496 + 73,856 with BN), Linear(1024, 64), BiLSTM(64, 512), Linear(1024, 30)
    model = build("names_crnn")
    assert sum(p.numel() for p in model.parameters()) == 2_556_958
    assert state_count(model) > 2_556_958  # plus the batch-norm running statistics


def test_names_are_split_apart_and_the_preset_records_its_text_source():
    names = [f"N{i}" for i in range(100)]
    split = split_names(names, seed=0)
    assert sum(len(v) for v in split.values()) == 100
    assert not set(split["train"]) & set(split["test"])
    lines = make_names(split["train"], 50, random.Random(0))
    assert len(lines) == 50 and all(t for t, _ in lines)
    assert PRESETS["names"].to_dict()["text"] == "names" and "text" not in PRESETS["default"].to_dict()
    with pytest.raises(ValueError, match="phrase_words"):
        SynthConfig(text="names", phrase_words=(1, 2))
    with pytest.raises(ValueError, match="text"):
        SynthConfig(text="novels")
