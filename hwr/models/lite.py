"""A light CRNN with a spatial transformer in front (seed 004, issue 12).

Seed 004 ("CRNN_OCR_lite") recognises single words with a CRNN made light
by depthwise separable convolutions (MobileNet's factorisation of a 3 x 3
convolution into a per-channel 3 x 3 and a 1 x 1 across channels), and puts
a *spatial transformer* in front: a small network that looks at the image
and predicts an affine map, by which the image is resampled before
recognition, so that slanted or shifted writing can be straightened by a
layer trained only through the recognition loss.

Shapes: B x 1 x H x W -> (transformer) B x 1 x H x W -> stem conv and four
depthwise separable stages, H / 16 x W / 4 -> rows concatenated, a dense
layer per column ("time dense", 128) -> two BiLSTMs -> B x L x 81 log-probs.
Built from torchmore flex layers, as the other models.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchmore import flex

from hwr.codec import NUM_CLASSES

from .line_ctc import LineCTC


@dataclass(frozen=True)
class LiteConfig:
    """Every knob of the light CRNN.

    Attributes:
        input_height: line height in pixels (a multiple of 16).
        widths: channels of the stem and the four depthwise separable stages.
        stn: put the spatial transformer in front.
        time_dense: size of the per-column dense layer before the LSTMs.
        hidden: per-direction BiLSTM size.
        lstm_layers: stacked BiLSTMs.
        dropout: before the output layer.
        family: always ``"ctc"``.
    """

    input_height: int = 64
    widths: tuple[int, ...] = (32, 64, 128, 256, 256)
    stn: bool = True
    time_dense: int = 128
    hidden: int = 128
    lstm_layers: int = 2
    dropout: float = 0.2
    family: str = "ctc"

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(self.widths))
        if self.family != "ctc":
            raise ValueError(f"hwr.models.lite: the light CRNN is a CTC model, got family {self.family!r}")
        if self.input_height % 16 or len(self.widths) != 5:
            raise ValueError("hwr.models.lite: input_height must be a multiple of 16 and widths give the stem "
                             "and four stages")

    def min_input_width(self) -> int:
        """Two 2 x 2 pools floor the width: four columns make one frame."""
        return 4


def separable(out: int) -> list[nn.Module]:
    """A depthwise 3 x 3 convolution (one filter per channel) and a pointwise 1 x 1 one, each with BN and ReLU."""
    depthwise = flex.Flex(lambda x: nn.Conv2d(x.size(1), x.size(1), 3, padding=1, groups=x.size(1), bias=False))
    return [depthwise, flex.BatchNorm2d(), nn.ReLU(inplace=True),
            flex.Conv2d(out, 1, bias=False), flex.BatchNorm2d(), nn.ReLU(inplace=True)]


class SpatialTransformer(nn.Module):
    """Predicts an affine map from the image and resamples the image through it.

    The localisation network sees the image at a fixed 16 x 64 (so any line
    width gives six numbers); its last layer starts at zero weights and the
    identity's bias, so training starts from the untouched image.

    Shapes:
        B x 1 x H x W -> B x 1 x H x W (and ``theta``, B x 2 x 3, kept as ``self.last_theta``).
    """

    def __init__(self):
        super().__init__()
        self.local = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 4 * 16, 32), nn.ReLU(inplace=True))
        self.theta = nn.Linear(32, 6)
        nn.init.zeros_(self.theta.weight)
        with torch.no_grad():
            self.theta.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0]))
        self.last_theta: torch.Tensor | None = None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        small = F.interpolate(images, size=(16, 64), mode="bilinear", align_corners=False)
        theta = self.theta(self.local(small)).view(-1, 2, 3)
        self.last_theta = theta.detach()
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        # the line's edges (paper) fill what the map brings in from outside
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


#: pool after the stem and each stage: width halves twice, height four times
POOLS = ((2, 2), (2, 2), (2, 1), (2, 1), None)


class LiteCRNN(LineCTC):
    """(spatial transformer) -> depthwise separable CNN -> time dense -> BiLSTMs -> CTC.

    Shapes:
        B x 1 x H x W -> B x L x 81 log-probs, L = (W // 2) // 2.
    """

    def __init__(self, cfg: LiteConfig, experiment: str = ""):
        super().__init__(cfg, experiment)
        self.stn = SpatialTransformer() if cfg.stn else None
        layers = [flex.Conv2d(cfg.widths[0], 3, padding=1, bias=False), flex.BatchNorm2d(), nn.ReLU(inplace=True)]
        for k, (width, pool) in enumerate(zip(cfg.widths, POOLS)):
            if k:
                layers += separable(width)
            if pool:
                layers.append(nn.MaxPool2d(pool))
        self.convs = nn.Sequential(*layers)
        self.time_dense = nn.Sequential(flex.Conv1d(cfg.time_dense, 1), nn.ReLU(inplace=True))
        rnn = [flex.BDL_LSTM(cfg.hidden, bidirectional=True) for _ in range(cfg.lstm_layers)]
        self.sequence = nn.Sequential(*rnn, nn.Dropout(cfg.dropout), flex.Conv1d(NUM_CLASSES, 1))
        self.infer_sizes()

    def straighten(self, images: torch.Tensor) -> torch.Tensor:
        """What the recogniser sees: the images through the spatial transformer (unchanged without one)."""
        return images if self.stn is None else self.stn(images)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """B x 1 x H x W -> B x L x 81 log-probs."""
        self.check_input(images)
        maps = self.convs(self.straighten(images))  # B x C x H / 16 x W / 4
        b, c, h, w = maps.shape
        columns = self.time_dense(maps.reshape(b, c * h, w))  # the rows concatenated, then a dense layer per column
        return torch.log_softmax(self.sequence(columns).transpose(1, 2), dim=-1)
