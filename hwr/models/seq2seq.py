"""The seq2seq models (thesis spec §7): baseline, light, gated, DSC, 2D.

    images B x 1 x H x W
      -> ConvNet6 (+ gate blocks)            B x C x H' x W'
      -> [BiLSTM encoder (baseline, H' = 1)]  B x 2h x 1 x W'
      -> [+ positional encoding 1D / 2D]
      -> flatten                              B x C x N   (N = H' x W')
      -> attention decoder                    B x S x 81 log-probs

The convolutional and recurrent feature part is built from torchmore flex
layers and closed by :func:`torchmore.flex.shape_inference` in
:func:`hwr.models.registry.build`, so a built model is plain PyTorch.
"""

from __future__ import annotations

import torch
from torch import nn
from torchmore import flex

from .backbone import convnet6, width_divisor
from .decoder import AttentionDecoder
from .gate import GateBlock
from .posenc import PositionalEncoding1d, PositionalEncoding2d


class DropHeight(nn.Module):
    """B x C x 1 x W -> B x C x W (refuses H != 1 with a clear error)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(2) != 1:
            raise ValueError(f"hwr.models: expected feature height 1 before the sequence layer, got {x.size(2)}")
        return x[:, :, 0, :]


class AddHeight(nn.Module):
    """B x C x W -> B x C x 1 x W."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(2)


def features(cfg) -> nn.Sequential:
    """Backbone + gates (+ BiLSTM encoder): B x 1 x H x W -> B x C' x H' x W'."""
    layers: list[nn.Module] = [
        convnet6(cfg.backbone_out, cfg.norm, cfg.dsc, cfg.input_height, cfg.expand_h, cfg.dropout)
    ]
    layers += [GateBlock(cfg.backbone_out, cfg.gate_width, 1, cfg.gate_dropout) for _ in range(cfg.gates)]
    if cfg.encoder_hidden:
        layers += [DropHeight(), flex.BDL_LSTM(cfg.encoder_hidden, bidirectional=True), AddHeight()]
    return nn.Sequential(*layers)


class Seq2Seq(nn.Module):
    """Convolutional features + attention decoder (see the module docstring).

    Args:
        cfg: a :class:`hwr.models.registry.ModelConfig`.
        experiment: registry name, kept as ``self.experiment``.
    """

    family = "seq2seq"

    def __init__(self, cfg, experiment: str = ""):
        super().__init__()
        self.experiment = experiment
        self.input_height = cfg.input_height
        self.output_height = cfg.expand_h
        self._divisors = width_divisor(cfg.input_height, cfg.expand_h)
        self._shrink = cfg.gates * (cfg.gate_width - 1)
        self.margin = cfg.margin  # input pixels added on each side (ModelConfig.margin)
        self.features = features(cfg)
        d = 2 * cfg.encoder_hidden if cfg.encoder_hidden else cfg.backbone_out
        if cfg.posenc == "1d":
            self.posenc = PositionalEncoding1d(d, cfg.posenc_max_len)
        elif cfg.posenc == "2d":
            self.posenc = PositionalEncoding2d(d, cfg.expand_h, cfg.posenc_max_len)
        else:
            self.posenc = None
        self.decoder = AttentionDecoder(
            d, cfg.hidden, cfg.attention, cfg.embedding, cfg.cell, cfg.dropout,
            cfg.query_dropout, cfg.input_dropout,
        )

    def output_width(self, widths: torch.Tensor) -> torch.Tensor:
        """Feature columns W' for input widths (LongTensor B -> LongTensor B)."""
        widths = torch.as_tensor(widths, dtype=torch.long) + 2 * self.margin
        for d in self._divisors:
            widths = torch.div(widths, d, rounding_mode="floor")
        return widths - self._shrink

    def column_centres(self, columns: int) -> torch.Tensor:
        """Where each of ``columns`` memory columns sits on the input: the
        centre, in input pixels, of the image columns it was pooled from.

        Column ``k`` of the backbone pools input columns ``[k s, (k + 1) s)``
        (``s`` the product of the horizontal pool factors); a gate block's
        unpadded 1 x ``gate_width`` convolution makes its column ``k`` from
        backbone columns ``k .. k + gate_width - 1``, whose centre is
        ``(gate_width - 1) / 2`` columns to the right. A ``margin`` shifts
        every centre left by its width.
        """
        stride = 1
        for d in self._divisors:
            stride *= d
        return (torch.arange(columns, dtype=torch.float32) + self._shrink / 2 + 0.5) * stride - self.margin

    def pad(self, images: torch.Tensor) -> torch.Tensor:
        """B x 1 x H x W -> B x 1 x H x (W + 2 margin): the margin on each side,
        repeating the edge columns (the white of the line's own padding)."""
        if not self.margin:
            return images
        return torch.nn.functional.pad(images, (self.margin, self.margin, 0, 0), mode="replicate")

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Memory before flattening: B x 1 x H x W -> B x C x H' x W'."""
        if images.ndim != 4 or images.size(1) != 1 or images.size(2) != self.input_height:
            raise ValueError(
                f"hwr.models ({self.experiment}): expected images B x 1 x {self.input_height} x W, "
                f"got {tuple(images.shape)}"
            )
        memory = self.features(self.pad(images))
        if self.posenc is not None:
            memory = self.posenc(memory)
        return memory

    def forward(
        self,
        images: torch.Tensor,
        targets: torch.Tensor | None = None,
        teacher_forcing: float = 0.8,
        max_steps: int = 98,
        stop_at_eos: bool = True,
        return_attention: bool = False,
    ):
        """Recognise lines.

        Args:
            images: B x 1 x H x W in [0, 1].
            targets: B x T labels (text + EOS, EOS-padded) or None; see
                :meth:`hwr.models.decoder.AttentionDecoder.forward`.
            teacher_forcing: ground-truth feeding probability in training mode.
            max_steps: step limit without targets (thesis 98).
            stop_at_eos: stop once every line emitted EOS (False: all max_steps).
            return_attention: also return attention weights.

        Returns:
            log_probs B x S x 81, or (log_probs, attention) with attention
            B x S x W' (1D) or B x S x H' x W' (2D) when ``return_attention``.
        """
        memory = self.encode(images)
        b, c, h, w = memory.shape
        log_probs, attention = self.decoder(
            memory.reshape(b, c, h * w), targets, teacher_forcing, max_steps, stop_at_eos, return_attention
        )
        if not return_attention:
            return log_probs
        if self.output_height > 1:
            attention = attention.view(b, attention.size(1), h, w)
        return log_probs, attention
