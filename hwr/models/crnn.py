"""A ResNet CRNN with an auxiliary CTC shortcut (seed project 001, issue 12).

The seed's line recogniser: a ResNet encoder that keeps the line's aspect
ratio (lines are padded, never squashed), a column reduction from the
feature map to a sequence, stacked BiLSTMs and a CTC output. Training adds
the *CTC shortcut* of Retsinas et al. (arXiv 2404.11339): a 1x3 convolution
on the reduced CNN features with its own CTC loss (weight 0.1 in the
paper), which gives the encoder a direct training signal and is dropped at
inference.

Two column reductions, the comparison the seed's notes invite:

- ``"max"``: the maximum over the feature map's rows; one frame per feature
  column, so a line's frames follow its width (W / 4).
- ``"stretch"``: the seed's ``AdaptiveAvgPool2d`` to one row and a fixed
  number of steps (96): every batch, whatever its width, becomes 96 frames
  (a 32-column map is stretched 3x, a wide one squeezed), padding included.

Built from torchmore flex layers (input channels inferred on the first
call, as the thesis models are). Registered as ``crnn`` (the book's size)
and ``crnn_r34`` (the seed's) in :data:`hwr.models.registry.SEED_MODELS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchmore import flex

from hwr.codec import NUM_CLASSES

from .line_ctc import LineCTC


@dataclass(frozen=True)
class CRNNConfig:
    """Every knob of the ResNet CRNN.

    Attributes:
        input_height: line height in pixels (a multiple of 16).
        widths: channels of the four residual stages (the seed's ResNet-34:
            64, 128, 256, 512).
        blocks: residual blocks per stage (ResNet-34: 3, 4, 6, 3).
        pool: column reduction, ``"max"`` or ``"stretch"``.
        steps: frames of the ``"stretch"`` reduction (the seed's 96).
        hidden: per-direction BiLSTM size.
        lstm_layers: stacked BiLSTMs.
        dropout: before the output layer.
        shortcut: weight of the auxiliary CTC loss; 0 builds no shortcut head.
        family: always ``"ctc"`` (what the training and decoding code dispatch on).
    """

    input_height: int = 32
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: tuple[int, ...] = (1, 1, 1, 1)
    pool: str = "max"
    steps: int = 96
    hidden: int = 128
    lstm_layers: int = 2
    dropout: float = 0.2
    shortcut: float = 0.1
    family: str = "ctc"

    def __post_init__(self):
        # stored configurations come back from JSON with lists; keep one type so equal configs compare equal
        object.__setattr__(self, "widths", tuple(self.widths))
        object.__setattr__(self, "blocks", tuple(self.blocks))
        if self.family != "ctc":
            raise ValueError(f"hwr.models.crnn: the CRNN is a CTC model (family 'ctc'), got {self.family!r}")
        if self.pool not in ("max", "stretch"):
            raise ValueError(f"hwr.models.crnn: pool must be 'max' or 'stretch', got {self.pool!r}")
        if self.input_height % 16:
            raise ValueError(f"hwr.models.crnn: input_height must be a multiple of 16, got {self.input_height}")
        if len(self.widths) != 4 or len(self.blocks) != 4:
            raise ValueError("hwr.models.crnn: widths and blocks give the four residual stages")

    def min_input_width(self) -> int:
        """The narrowest line it reads: the stem's 2 x 2 pool needs two columns (one frame)."""
        return 2


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1) shortcut.

    Shapes: B x C x H x W -> B x ``out`` x H / sh x W / sw for ``stride`` (sh, sw).
    """

    def __init__(self, out: int, stride: tuple[int, int] = (1, 1)):
        super().__init__()
        self.body = nn.Sequential(
            flex.Conv2d(out, 3, stride=stride, padding=1, bias=False), flex.BatchNorm2d(), nn.ReLU(inplace=True),
            flex.Conv2d(out, 3, padding=1, bias=False), flex.BatchNorm2d())
        self.out, self.stride = out, stride
        self.project: nn.Module | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.project is None and (x.shape[1] != self.out or self.stride != (1, 1)):
            # the shape of the first input decides, as flex layers do
            self.project = nn.Sequential(nn.Conv2d(x.shape[1], self.out, 1, stride=self.stride, bias=False),
                                         nn.BatchNorm2d(self.out)).to(x.device)
        skip = x if self.project is None else self.project(x)
        return torch.relu(self.body(x) + skip)


class ColumnMax(nn.Module):
    """B x C x H x W -> B x C x W: the strongest response of each column."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.amax(dim=2)


class StretchColumns(nn.Module):
    """B x C x H x W -> B x C x ``steps``: the seed's adaptive average pool to
    one row and a fixed number of steps, whatever W is (padding included)."""

    def __init__(self, steps: int):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d((1, steps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)[:, :, 0]


def resnet_encoder(cfg: CRNNConfig) -> nn.Sequential:
    """Stem and four residual stages: B x 1 x H x W -> B x C x H / 16 x W / 4.

    Width is halved twice (stem pool, stage 2), height four times, so a
    line keeps four pixels of width per frame whatever its height.
    """
    stages = [flex.Conv2d(cfg.widths[0], 3, padding=1, bias=False), flex.BatchNorm2d(), nn.ReLU(inplace=True),
              nn.MaxPool2d(2)]
    for k, (width, n) in enumerate(zip(cfg.widths, cfg.blocks)):
        first = (1, 1) if k == 0 else (2, 2) if k == 1 else (2, 1)
        stages += [BasicBlock(width, first if i == 0 else (1, 1)) for i in range(n)]
    return nn.Sequential(*stages)


class ResNetCRNN(LineCTC):
    """ResNet encoder -> column reduction -> stacked BiLSTMs -> CTC.

    Args:
        cfg: a :class:`CRNNConfig`.
        experiment: a name, kept as ``self.experiment``.

    Shapes:
        B x 1 x H x W -> B x L x 81 log-probs, with L = ceil((W // 2) / 2) (``"max"``) or
        ``cfg.steps`` (``"stretch"``); with ``shortcut=True`` also the
        shortcut head's B x L x 81 log-probs.
    """

    def __init__(self, cfg: CRNNConfig, experiment: str = ""):
        super().__init__(cfg, experiment)
        self.shortcut_weight = cfg.shortcut
        self.encoder = resnet_encoder(cfg)
        self.reduce = ColumnMax() if cfg.pool == "max" else StretchColumns(cfg.steps)
        rnn = [flex.BDL_LSTM(cfg.hidden, bidirectional=True) for _ in range(cfg.lstm_layers)]
        self.sequence = nn.Sequential(*rnn, nn.Dropout(cfg.dropout), flex.Conv1d(NUM_CLASSES, 1))
        self.shortcut_head = flex.Conv1d(NUM_CLASSES, 3, padding=1) if cfg.shortcut > 0 else None
        self.infer_sizes(fill=0.0, shortcut=self.shortcut_head is not None)  # the shortcut head's sizes too

    def output_width(self, widths: torch.Tensor) -> torch.Tensor:
        """Frames L per line for input widths (LongTensor B -> LongTensor B).

        ``"stretch"`` gives every line all ``steps`` frames, padding included
        (the seed scored them all)."""
        widths = torch.as_tensor(widths, dtype=torch.long)
        if self.cfg.pool == "stretch":
            return torch.full_like(widths, self.cfg.steps)
        half = torch.div(widths, 2, rounding_mode="floor")  # the stem's 2x2 max pool floors
        return torch.div(half + 1, 2, rounding_mode="floor")  # stage 2's padded stride-2 conv rounds up

    def forward(self, images: torch.Tensor, shortcut: bool = False):
        """B x 1 x H x W -> B x L x 81 log-probs; with ``shortcut``, also the shortcut head's."""
        self.check_input(images)
        columns = self.reduce(self.encoder(images))  # B x C x L
        out = torch.log_softmax(self.sequence(columns).transpose(1, 2), dim=-1)
        if not shortcut:
            return out
        if self.shortcut_head is None:
            raise ValueError(f"hwr.models.crnn ({self.experiment}): built without a shortcut head (shortcut=0)")
        return out, torch.log_softmax(self.shortcut_head(columns).transpose(1, 2), dim=-1)


def stage_shapes(model: ResNetCRNN, width: int) -> list[dict]:
    """What each part of the network makes of one B = 1 line of ``width`` pixels.

    Returns:
        rows ``{"part", "output", "parameters"}``: the stem, each residual
        stage, the column reduction, the sequence model and the shortcut head,
        with the output shape (C x H x W or C x L) and the part's parameters.
    """
    enc = list(model.encoder)
    parts = [("stem: 3x3 conv, BN, ReLU, 2x2 max pool", nn.Sequential(*enc[:4]))]
    blocks = enc[4:]
    start = 0
    for k, n in enumerate(model.cfg.blocks):
        parts.append((f"stage {k + 1}: {n} residual block(s), {model.cfg.widths[k]} channels",
                      nn.Sequential(*blocks[start:start + n])))
        start += n
    reduce = "max over rows" if model.cfg.pool == "max" else f"average pool to 1 x {model.cfg.steps}"
    parts += [(f"column reduction: {reduce}", model.reduce),
              (f"{model.cfg.lstm_layers} BiLSTM(s) of {model.cfg.hidden}, dropout, 1x1 conv to classes",
               model.sequence)]
    rows = []
    x = torch.zeros(1, 1, model.input_height, width)
    was = model.training
    model.eval()
    with torch.no_grad():
        for name, part in parts:
            x = part(x)
            rows.append({"part": name, "output": " x ".join(map(str, x.shape[1:])),
                         "parameters": sum(p.numel() for p in part.parameters())})
        if model.shortcut_head is not None:
            columns = model.reduce(model.encoder(torch.zeros(1, 1, model.input_height, width)))
            rows.append({"part": "shortcut head (training only): 1x3 conv to classes",
                         "output": " x ".join(map(str, model.shortcut_head(columns).shape[1:])),
                         "parameters": sum(p.numel() for p in model.shortcut_head.parameters())})
    model.train(was)
    return rows
