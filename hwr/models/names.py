"""A names recogniser on a fixed 64 x 256 canvas (seed 003, issue 12).

Seed 003 translated a Kaggle Keras notebook for handwritten names into
PyTorch: every image is cropped or padded to 256 x 64, three convolution
blocks with batch normalisation (32, 64 and 128 channels, 3 x 3) and max
pools of 2 x 2, 2 x 2 and 2 x 1 leave a 128 x 8 x 64 map, whose 1,024
values per column a linear layer brings down to 64, then one BiLSTM of 512
units per direction and a linear layer give one distribution per column over
an upper-case alphabet. (The seed's notes also say "stride 2"; with strided
convolutions on top of the pools the map would be 1 x 8, not the 1,024 x 64
the notes' linear layer takes, so the convolutions here have stride 1, as
in the Keras original.)

The alphabet is the Kaggle original's: A-Z, space, hyphen and apostrophe,
29 symbols and the CTC blank, 30 outputs. The book's codec has 81 classes
(:mod:`hwr.codec`); :class:`ClassSubset` places the 30 log-probabilities at
their codec indices and gives every other class a log-probability of
:data:`ABSENT` (exp of it is 0 in float32), so the loss, the decoders and the
metrics of the other models work unchanged while the output layer keeps the
seed's size.

Shapes: B x 1 x 64 x W -> crop or pad to B x 1 x 64 x 256 -> B x 128 x 8 x 64
-> B x 1024 x 64 -> B x 64 x 64 -> BiLSTM -> B x 30 x 64 -> B x 64 x 81 log-probs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchmore import flex

from hwr.codec import BLANK, NUM_CLASSES, Codec

from .line_ctc import LineCTC

#: the Kaggle notebook's alphabet (its order), the blank before it
NAMES_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-' "
#: the log-probability a class outside the model's alphabet gets in the codec's 81
ABSENT = -1.0e4
ACTIVATIONS = {"relu": nn.ReLU, "mish": nn.Mish}


@dataclass(frozen=True)
class NamesConfig:
    """Every knob of the names recogniser.

    Attributes:
        input_height: image height (the seed's 64).
        input_width: every image is cropped or padded to this width (256).
        widths: channels of the three convolution blocks.
        activation: ``"relu"`` or ``"mish"`` after each batch norm.
        dense: the per-column linear layer's size before the LSTM.
        hidden: per-direction BiLSTM size.
        alphabet: the symbols the model can write (the blank is added).
        family: always ``"ctc"``.
    """

    input_height: int = 64
    input_width: int = 256
    widths: tuple[int, ...] = (32, 64, 128)
    activation: str = "relu"
    dense: int = 64
    hidden: int = 512
    alphabet: str = NAMES_ALPHABET
    family: str = "ctc"

    def __post_init__(self):
        object.__setattr__(self, "widths", tuple(self.widths))
        if self.family != "ctc":
            raise ValueError(f"hwr.models.names: the names recogniser is a CTC model, got family {self.family!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"hwr.models.names: activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {self.activation!r}")
        if self.input_height % 8 or self.input_width % 4 or len(self.widths) != 3:
            raise ValueError("hwr.models.names: input_height must be a multiple of 8, input_width of 4, and "
                             "widths give the three blocks")
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError("hwr.models.names: the alphabet repeats a symbol")
        Codec("ctc").encode(self.alphabet)  # raises for a symbol outside the codec

    def min_input_width(self) -> int:
        """Any width works: the model crops or pads to ``input_width`` itself."""
        return 1


class ClassSubset(nn.Module):
    """Place a small alphabet's log-probabilities among the codec's classes.

    Shapes:
        B x L x (1 + len(alphabet)) log-probs -> B x L x 81 log-probs, the
        blank at :data:`hwr.codec.BLANK`, each symbol at its codec index, every
        other class at :data:`ABSENT`.
    """

    def __init__(self, alphabet: str):
        super().__init__()
        index = torch.tensor([BLANK] + Codec("ctc").encode(alphabet), dtype=torch.long)
        self.register_buffer("index", index, persistent=False)  # fixed by the config: not part of the state

    def forward(self, log_probs: torch.Tensor) -> torch.Tensor:
        out = log_probs.new_full((*log_probs.shape[:-1], NUM_CLASSES), ABSENT)
        return out.index_copy(-1, self.index, log_probs)


def fixed_width(images: torch.Tensor, width: int) -> torch.Tensor:
    """Crop (the right end) or pad (repeating the last column, as the batches are padded) to ``width``.

    Shapes: B x 1 x H x W -> B x 1 x H x width.
    """
    if images.size(-1) >= width:
        return images[..., :width]
    return F.pad(images, (0, width - images.size(-1), 0, 0), mode="replicate")


class NamesCRNN(LineCTC):
    """Fixed canvas -> three conv blocks -> per-column linear -> BiLSTM -> CTC over a small alphabet.

    Shapes:
        B x 1 x H x W -> B x L x 81 log-probs, L = input_width / 4 whatever W.
    """

    def __init__(self, cfg: NamesConfig, experiment: str = ""):
        super().__init__(cfg, experiment)
        act = ACTIVATIONS[cfg.activation]
        layers = []
        for width, pool in zip(cfg.widths, ((2, 2), (2, 2), (2, 1))):
            layers += [flex.Conv2d(width, 3, padding=1), flex.BatchNorm2d(), act(), nn.MaxPool2d(pool)]
        self.convs = nn.Sequential(*layers)
        self.sequence = nn.Sequential(
            flex.Conv1d(cfg.dense, 1),  # the seed's Linear(1024, 64) on every column
            flex.BDL_LSTM(cfg.hidden, bidirectional=True),
            flex.Conv1d(1 + len(cfg.alphabet), 1))  # the seed's Linear(1024, 30)
        self.classes = ClassSubset(cfg.alphabet)
        self.infer_sizes(cfg.input_width)

    def output_width(self, widths: torch.Tensor) -> torch.Tensor:
        """Frames per line (LongTensor B -> LongTensor B): every line has the canvas's frames."""
        widths = torch.as_tensor(widths, dtype=torch.long)
        return torch.full_like(widths, self.cfg.input_width // 4)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """B x 1 x H x W -> B x L x 81 log-probs."""
        self.check_input(images)
        maps = self.convs(fixed_width(images, self.cfg.input_width))  # B x 128 x H / 8 x 64
        b, c, h, w = maps.shape
        logits = self.sequence(maps.reshape(b, c * h, w)).transpose(1, 2)  # B x 64 x 30
        return self.classes(torch.log_softmax(logits, dim=-1))
