"""The CTC baseline (thesis spec §7).

ConvNet6 (IN) -> BiLSTM (256 per direction) -> Dropout(0.5) -> 1x1 conv to
81 classes -> log-softmax. Train with CTC loss (blank 0, ``zero_infinity``);
1,728,721 parameters. The thesis reports no CER for it.
"""

from __future__ import annotations

import torch
from torch import nn
from torchmore import flex, layers

from hwr.codec import NUM_CLASSES

from .backbone import convnet6, width_divisor
from .seq2seq import DropHeight


class CTCModel(nn.Module):
    """CRNN with CTC output.

    Args:
        cfg: a :class:`hwr.models.registry.ModelConfig` (``family == "ctc"``).
        experiment: registry name, kept as ``self.experiment``.

    Shapes:
        B x 1 x 64 x W -> B x L x 81 log-probs with L = ``output_width(W)``.
    """

    family = "ctc"

    def __init__(self, cfg, experiment: str = ""):
        super().__init__()
        self.experiment = experiment
        self.input_height = cfg.input_height
        self._divisors = width_divisor(cfg.input_height, 1)
        self.features = nn.Sequential(
            convnet6(cfg.backbone_out, cfg.norm, cfg.dsc, cfg.input_height, 1, cfg.dropout),
            DropHeight(),  # B x C x W'
            flex.BDL_LSTM(cfg.ctc_hidden, bidirectional=True),
            nn.Dropout(cfg.ctc_dropout),
            flex.Conv1d(NUM_CLASSES, 1),
            layers.Reorder("BDL", "BLD"),
        )

    def output_width(self, widths: torch.Tensor) -> torch.Tensor:
        """Frames L for input widths (LongTensor B -> LongTensor B)."""
        widths = torch.as_tensor(widths, dtype=torch.long)
        for d in self._divisors:
            widths = torch.div(widths, d, rounding_mode="floor")
        return widths

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """B x 1 x H x W -> B x L x 81 log-probs (blank 0)."""
        if images.ndim != 4 or images.size(1) != 1 or images.size(2) != self.input_height:
            raise ValueError(
                f"hwr.models ({self.experiment}): expected images B x 1 x {self.input_height} x W, "
                f"got {tuple(images.shape)}"
            )
        return torch.log_softmax(self.features(images), dim=-1)
