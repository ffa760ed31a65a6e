"""Fixed sinusoidal positional encodings, added to the decoder's memory (spec §5).

Both are buffers (not parameters, not trained) and are left out of the
thesis's state counts; they are registered non-persistent so checkpoints do
not carry them and a different ``max_len`` still loads old weights.

- 1D: d x L table with ``div_i = exp(-2i ln(10000)/d)``; channel 2i holds
  ``cos(pos * div_i)`` and channel 2i+1 ``sin(pos * div_i)`` (even cos, odd
  sin: swapped relative to Vaswani et al. 2017, as in the thesis). Broadcast
  over the feature height.
- 2D: the first d/2 channels encode x, the last d/2 encode y, each with sin on
  even and cos on odd channels and ``div_j = exp(-2j ln(10000)/(d/2))``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoid_1d(d: int, length: int, even: str = "cos") -> torch.Tensor:
    """A d x length table; ``even`` names the function on even channels."""
    if d % 2:
        raise ValueError(f"hwr.models.posenc: channels d={d} must be even")
    pos = torch.arange(length, dtype=torch.float32)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    angle = div[:, None] * pos[None, :]  # d/2 x length
    first, second = (torch.cos, torch.sin) if even == "cos" else (torch.sin, torch.cos)
    table = torch.empty(d, length)
    table[0::2] = first(angle)
    table[1::2] = second(angle)
    return table


class PositionalEncoding1d(nn.Module):
    """Add the 1D table: B x d x H x W -> same (W <= max_len).

    Args:
        d: channels of the features.
        max_len: longest width (thesis 600).
    """

    def __init__(self, d: int, max_len: int = 600):
        super().__init__()
        self.register_buffer("pe", sinusoid_1d(d, max_len, even="cos"), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = x.size(-1)
        if w > self.pe.size(1):
            raise ValueError(
                f"hwr.models.posenc: feature width {w} exceeds max_len={self.pe.size(1)}; "
                "build the model with a larger posenc_max_len"
            )
        return x + self.pe[:, None, :w]


class PositionalEncoding2d(nn.Module):
    """Add the 2D table: B x d x H x W -> same (H <= max_height, W <= max_len).

    Args:
        d: channels of the features (divisible by 4).
        max_height: tallest feature map (thesis 8).
        max_len: widest feature map (thesis 600).
    """

    def __init__(self, d: int, max_height: int = 8, max_len: int = 600):
        super().__init__()
        if d % 4:
            raise ValueError(f"hwr.models.posenc: 2D encoding needs channels divisible by 4, got {d}")
        half = d // 2
        x_part = sinusoid_1d(half, max_len, even="sin")[:, None, :].expand(half, max_height, max_len)
        y_part = sinusoid_1d(half, max_height, even="sin")[:, :, None].expand(half, max_height, max_len)
        self.register_buffer("pe", torch.cat([x_part, y_part]).contiguous(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h > self.pe.size(1) or w > self.pe.size(2):
            raise ValueError(
                f"hwr.models.posenc: feature map {h} x {w} exceeds the 2D table "
                f"{self.pe.size(1)} x {self.pe.size(2)}"
            )
        return x + self.pe[:, :h, :w]
