"""What every seed project's CTC line model shares (crnn, proj, names_crnn, crnn_lite).

A subclass builds its layers from torchmore flex layers, then calls
:meth:`LineCTC.infer_sizes` once at the end of ``__init__``; its ``forward``
starts with :meth:`LineCTC.check_input`. The frames per line follow its
configuration's pooling: two floored 2 x 2 pools (a quarter of the width)
unless the model says otherwise.
"""

from __future__ import annotations

import torch
from torch import nn
from torchmore import flex


class LineCTC(nn.Module):
    """Base of the seed CTC models: B x 1 x H x W images -> B x L x 81 log-probs.

    Attributes:
        cfg: the model's configuration (a dataclass with ``input_height`` and
            ``min_input_width()``).
        experiment: the registry name it was built under.
        input_height: H, the only height it reads.
    """

    family = "ctc"

    def __init__(self, cfg, experiment: str = ""):
        super().__init__()
        self.cfg, self.experiment, self.input_height = cfg, experiment, cfg.input_height

    def infer_sizes(self, width: int = 64, fill: float = 1.0, **forward_options) -> None:
        """Fix every flex layer's input size with one dummy pass of images filled with ``fill``,
        then drop the Flex wrappers (torchmore's shape inference, with the ``forward_options`` a
        head needs to be built). Plain modules remain, in training mode.

        The pass draws each flex layer's weights in the order the layers run. A layer that a
        flex wrapper creates during the pass runs in training mode although the model is in eval
        mode, so the dummy images reach the batch-norm running statistics: ``fill`` is part of
        the initial state, and each model keeps the value its recorded runs were built with.
        """
        self.eval()
        with torch.no_grad():
            self(torch.full((2, 1, self.input_height, width), fill), **forward_options)
        flex.flex_freeze(self)
        self.train()

    def check_input(self, images: torch.Tensor) -> None:
        """Refuse anything but B x 1 x H x W images at the model's height (one line naming the model)."""
        if images.ndim != 4 or images.size(1) != 1 or images.size(2) != self.input_height:
            raise ValueError(f"{type(self).__module__} ({self.experiment}): expected images "
                             f"B x 1 x {self.input_height} x W, got {tuple(images.shape)}")

    def min_input_width(self) -> int:
        """The narrowest line the model reads (its configuration's)."""
        return self.cfg.min_input_width()

    def output_width(self, widths: torch.Tensor) -> torch.Tensor:
        """Frames L per line for input widths (LongTensor B -> LongTensor B): two floored halvings."""
        widths = torch.as_tensor(widths, dtype=torch.long)
        return torch.div(torch.div(widths, 2, rounding_mode="floor"), 2, rounding_mode="floor")
