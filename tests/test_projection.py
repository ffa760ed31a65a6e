"""Seed 002's projection menu (hwr.models.projection) and size normalisation (hwr.models.sizenorm)."""

from __future__ import annotations

import pytest
import torch

from hwr.models import build
from hwr.models.projection import ProjectionConfig
from hwr.models.sizenorm import SizeNormalize


def ink_moments(images: torch.Tensor) -> tuple[float, float]:
    ink = (1 - images[0, 0]).clamp(min=0)
    rows = torch.arange(ink.shape[0], dtype=ink.dtype)[:, None]
    mu = float((ink * rows).sum() / ink.sum())
    return mu, float(((ink * (rows - mu) ** 2).sum() / ink.sum()).sqrt())


def line(h=32, w=128, top=2, bottom=8, slope=0.0) -> torch.Tensor:
    """White image with a dark band from row ``top`` to ``bottom`` (drifting by ``slope`` rows per column)."""
    img = torch.ones(1, 1, h, w)
    for x in range(w):
        shift = int(round(slope * x))
        img[0, 0, top + shift:bottom + shift, x] = 0.0
    return img


def test_line_normalisation_centres_the_ink_and_sets_its_spread():
    h = 32
    out = SizeNormalize("line", sigma=1 / 6)(line(h, top=2, bottom=8))
    mu, sd = ink_moments(out)
    assert mu == pytest.approx((h - 1) / 2, abs=0.6)
    assert sd == pytest.approx(h / 6, rel=0.15)
    assert out.min() >= 0 and out.max() <= 1


def test_window_normalisation_follows_a_drifting_baseline_and_a_blank_line_stays_white():
    h, w = 32, 256
    drifting = line(h, w, top=2, bottom=7, slope=18 / w)
    whole, windows = SizeNormalize("line")(drifting), SizeNormalize("window", window=1.0)(drifting)

    def spread_of_centres(img):
        ink = (1 - img[0, 0]).clamp(min=0)
        rows = torch.arange(h, dtype=ink.dtype)[:, None]
        centres = (ink * rows).sum(0) / ink.sum(0).clamp(min=1e-6)
        return float(centres[ink.sum(0) > 0.5].std())

    assert spread_of_centres(windows) < 0.5 * spread_of_centres(whole)
    blank = torch.ones(2, 1, h, 64)
    assert torch.allclose(SizeNormalize("window")(blank), blank)


@pytest.mark.parametrize("projection", ["sum", "max", "reshape", "lstm"])
def test_every_projection_gives_one_frame_per_four_pixels(projection):
    model = build("proj", projection=projection, input_height=32).eval()
    for width in (64, 130, 301):
        out = model(torch.rand(2, 1, 32, width))
        assert out.shape == (2, int(model.output_width(torch.tensor([width]))[0]), 81)
        assert torch.allclose(out.exp().sum(-1), torch.ones(2, out.shape[1]), atol=1e-4)


def test_reshape_keeps_the_rows_and_the_conv_model_has_no_recurrence():
    flat = build("proj", projection="reshape", input_height=32)
    assert flat.sequence[0].lstm.input_size == 256 * 4  # C x H' = 256 x 32 / 8
    conv = build("proj_conv", input_height=32)
    assert not any(isinstance(m, torch.nn.LSTM) for m in conv.modules())
    with pytest.raises(ValueError, match="projection must be"):
        ProjectionConfig(projection="mean")
    with pytest.raises(ValueError, match="normalize must be"):
        ProjectionConfig(normalize="global")
