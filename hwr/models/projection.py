"""The projection menu of seed 002's OCR lecture, as one configurable CTC model.

A convolutional line recogniser must turn a B x C x H' x W' feature map into
a B x D x L sequence before CTC. The lecture lists the choices, each with a
rule of thumb about when it works:

- ``"sum"`` / ``"max"`` over the rows: independent of where the writing sits
  vertically and how tall it is;
- ``"reshape"``: the rows concatenated into one C x H' feature per column
  (torchmore's ``Reshape(0, [1, 2], 3)``), which keeps *where* in the
  column a feature fired, useful only if the input puts the writing at the
  same place (size and position normalised, :mod:`hwr.models.sizenorm`);
- ``"lstm"``: an LSTM reads each column from top to bottom and its final
  state is the column's feature, a trained reduction.

Then a sequence model: two BiLSTMs (``"lstm"``), or none at all
(``"conv"``: three 1-D convolutions, the fast corner of the menu).

Shapes: B x 1 x H x W -> (normalisation) -> VGG-like convolutions, H / 8 x
W / 4 -> projection, B x D x W / 4 -> sequence model -> B x L x 81 log-probs.
Built from torchmore flex layers, as the other models.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchmore import flex

from hwr.codec import NUM_CLASSES

from .line_ctc import LineCTC
from .sizenorm import MODES, SizeNormalize

PROJECTIONS = ("sum", "max", "reshape", "lstm")
SEQUENCES = ("lstm", "conv")


@dataclass(frozen=True)
class ProjectionConfig:
    """Every knob of the projection-menu model.

    Attributes:
        input_height: line height in pixels (a multiple of 8).
        widths: channels of the four convolution blocks (3 x 3 conv, BN, ReLU).
        projection: ``"sum"``, ``"max"``, ``"reshape"`` or ``"lstm"``.
        reduce_hidden: state size of the ``"lstm"`` projection.
        sequence: ``"lstm"`` (two BiLSTMs) or ``"conv"`` (three 1-D convolutions, no recurrence).
        hidden: per-direction BiLSTM size, or channels of the 1-D convolutions.
        normalize: input normalisation, ``"none"``, ``"line"`` or ``"window"``.
        norm_sigma: target spread of the ink rows (share of the height).
        norm_window: window width of ``"window"``, in multiples of the height.
        norm_floor: darkness below the paper's grey that still counts as paper.
        dropout: before the output layer.
        family: always ``"ctc"``.
    """

    input_height: int = 64
    widths: tuple[int, ...] = (32, 64, 128, 256)
    projection: str = "max"
    reduce_hidden: int = 256
    sequence: str = "lstm"
    hidden: int = 128
    normalize: str = "none"
    norm_sigma: float = 1 / 8
    norm_window: float = 2.0
    norm_floor: float = 0.1
    dropout: float = 0.2
    family: str = "ctc"

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(self.widths))
        for name, value, allowed in (("projection", self.projection, PROJECTIONS),
                                     ("sequence", self.sequence, SEQUENCES), ("normalize", self.normalize, MODES),
                                     ("family", self.family, ("ctc",))):
            if value not in allowed:
                raise ValueError(f"hwr.models.projection: {name} must be one of {allowed}, got {value!r}")
        if self.input_height % 8 or len(self.widths) != 4:
            raise ValueError("hwr.models.projection: input_height must be a multiple of 8 and widths give 4 blocks")

    def min_input_width(self) -> int:
        """Two 2 x 2 pools floor the width: four columns make one frame."""
        return 4


#: the pool after each convolution block: height halves three times, width twice
POOLS = ((2, 2), (2, 2), (2, 1), None)


class ColumnLSTM(nn.Module):
    """B x C x H x W -> B x D x W: an LSTM reads each column top to bottom; its last state is the column."""

    def __init__(self, hidden: int):
        super().__init__()
        # a flex layer whose input size is the channels of the first map it sees; nn.LSTM itself, so its
        # final state is kept (torchmore's LSTM layer returns the outputs only)
        self.lstm = flex.Flex(lambda seq: nn.LSTM(seq.size(2), hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        seq = x.permute(2, 0, 3, 1).reshape(h, b * w, c)  # H x (B W) x C
        _, (final, _) = self.lstm(seq)
        return final[-1].reshape(b, w, -1).permute(0, 2, 1)


class Project(nn.Module):
    """B x C x H x W -> B x D x W by ``"sum"``, ``"max"`` or ``"reshape"`` (D = C x H)."""

    def __init__(self, how: str):
        super().__init__()
        self.how = how

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.how == "sum":
            return x.sum(2)
        if self.how == "max":
            return x.amax(2)
        b, c, h, w = x.shape
        return x.reshape(b, c * h, w)


class ProjectionCTC(LineCTC):
    """(size normalisation) -> convolutions -> projection -> sequence model -> CTC.

    Shapes:
        B x 1 x H x W -> B x L x 81 log-probs, L = (W // 2) // 2.
    """

    def __init__(self, cfg: ProjectionConfig, experiment: str = ""):
        super().__init__(cfg, experiment)
        self.normalize = (SizeNormalize(cfg.normalize, cfg.norm_sigma, cfg.norm_window, cfg.norm_floor)
                          if cfg.normalize != "none" else nn.Identity())
        convs = []
        for width, pool in zip(cfg.widths, POOLS):
            convs += [flex.Conv2d(width, 3, padding=1, bias=False), flex.BatchNorm2d(), nn.ReLU(inplace=True)]
            if pool:
                convs.append(nn.MaxPool2d(pool))
        self.convs = nn.Sequential(*convs)
        self.project = ColumnLSTM(cfg.reduce_hidden) if cfg.projection == "lstm" else Project(cfg.projection)
        if cfg.sequence == "lstm":
            seq = [flex.BDL_LSTM(cfg.hidden, bidirectional=True), flex.BDL_LSTM(cfg.hidden, bidirectional=True)]
        else:
            seq = []
            for _ in range(3):
                seq += [flex.Conv1d(2 * cfg.hidden, 3, padding=1), flex.BatchNorm1d(), nn.ReLU(inplace=True)]
        self.sequence = nn.Sequential(*seq, nn.Dropout(cfg.dropout), flex.Conv1d(NUM_CLASSES, 1))
        self.infer_sizes()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """B x 1 x H x W -> B x L x 81 log-probs."""
        self.check_input(images)
        columns = self.project(self.convs(self.normalize(images)))  # B x D x L
        return torch.log_softmax(self.sequence(columns).transpose(1, 2), dim=-1)
