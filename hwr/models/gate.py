"""The gate block of GFCN (Coquenet et al., arXiv 2012.04961), thesis spec §4.

Appended after the backbone's dropout, ``gates`` times:
DSC(C -> 2C, kernel 1x9, multiplier 1, no padding) -> split the channels into
halves x1, x2 -> ``IN(tanh(x1)) * IN(sigmoid(x2))`` -> Dropout(0.4). There is
no residual connection, and each block shrinks the width by ``width - 1`` = 8
columns. Parameters per block: ``(w + 1)*C*k + 2*C*C*k + 2*C`` (134,144 for
C = 256, w = 9, k = 1).
"""

from __future__ import annotations

import torch
from torch import nn

from .backbone import separable_conv2d
from .norm import InstanceNorm


class GateBlock(nn.Module):
    """One GFCN gate block on B x C x H x W features (channels inferred).

    Args:
        channels: C; the block maps C -> 2C -> C channels.
        width: horizontal kernel size w (thesis 9); the output is w - 1 columns narrower.
        multiplier: depthwise multiplier k (thesis 1).
        dropout: dropout after the gate (thesis 0.4).

    Shapes:
        B x C x H x W -> B x C x H x (W - w + 1).
    """

    def __init__(self, channels: int, width: int = 9, multiplier: int = 1, dropout: float = 0.4):
        super().__init__()
        self.width = width
        self.conv = separable_conv2d(2 * channels, (1, width), 0, multiplier)
        self.norm = InstanceNorm()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.conv(x).chunk(2, dim=1)
        return self.dropout(self.norm(torch.tanh(x1)) * self.norm(torch.sigmoid(x2)))

    def shrink(self) -> int:
        """Columns lost by this block."""
        return self.width - 1
