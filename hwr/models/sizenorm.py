"""Size and position normalisation of line images (seed 002, issue 12).

The OCR lecture of seed 002 normalises a word or line before recognition:
find the centroid and the vertical spread of its ink, then move the centroid
to the middle row and scale the spread to a fixed share of the height, so
that every line's writing sits at the same place and size. For long lines
whose baseline drifts, the same moments are taken in overlapping windows
along the line, so each column gets its own shift and scale.

Here it is a layer, the first of a model: B x 1 x H x W -> B x 1 x H x W,
no parameters, on batches as the loaders give them (ink dark on white in
[0, 1], right-padded by repeating the last column). Being part of the model
makes it part of the run's identity and of the latency, and keeps the data
pipeline shared by every chapter unchanged.

The ink weights are how much darker than the line's paper a pixel is
(the paper is the line's median grey, since most of a line is paper),
less a small noise floor: a soft threshold. Raw darkness ``1 - x`` would
let the grey, noisy paper of the book's lines outweigh the ink; a hard
threshold would throw away the anti-aliased edges.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: the normalisations a model can start with
MODES = ("none", "line", "window")


class SizeNormalize(nn.Module):
    """Move each line's (or window's) ink centroid to the middle row and scale its
    vertical standard deviation to ``sigma`` x the height.

    Args:
        mode: ``"line"`` (one centroid and spread per line) or ``"window"``
            (per column, from the ink within ``window`` x H columns around it).
        sigma: the target standard deviation of the ink rows, as a share of
            the height (1/8: four standard deviations either side fill it, which
            leaves room for most ascenders and descenders).
        window: width of the windows, in multiples of the height.

        floor: darkness below the paper that still counts as paper (noise).

    Shapes:
        B x 1 x H x W -> B x 1 x H x W; rows sampled from outside the image get the paper's grey.
    """

    def __init__(self, mode: str = "line", sigma: float = 1 / 8, window: float = 2.0, floor: float = 0.1):
        super().__init__()
        if mode not in ("line", "window"):
            raise ValueError(f"hwr.models.sizenorm: mode must be 'line' or 'window', got {mode!r}")
        if not 0 < sigma <= 0.5:
            raise ValueError(f"hwr.models.sizenorm: sigma must be in (0, 0.5], got {sigma}")
        self.mode, self.sigma, self.window, self.floor = mode, sigma, window, floor

    @staticmethod
    def paper(images: torch.Tensor) -> torch.Tensor:
        """The grey of each line's paper, its median pixel: B x 1 x 1 x 1."""
        return images.flatten(1).median(dim=1).values[:, None, None, None]

    def moments(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Ink centroid row and row standard deviation, in pixels.

        Returns:
            ``(mu, sd)``: B x 1 (``"line"``) or B x W (``"window"``); a blank
            line or window gets the middle row and the target spread.
        """
        b, _, h, w = images.shape
        ink = (self.paper(images) - images - self.floor).clamp(min=0)[:, 0]  # B x H x W
        rows = torch.arange(h, dtype=ink.dtype, device=ink.device)[None, :, None]
        m0, m1, m2 = ink.sum(1), (ink * rows).sum(1), (ink * rows ** 2).sum(1)  # B x W each
        if self.mode == "line":
            m0, m1, m2 = m0.sum(1, keepdim=True), m1.sum(1, keepdim=True), m2.sum(1, keepdim=True)
        else:  # box-filter the column moments over the window (same size out, edges averaged over less)
            k = max(1, int(round(self.window * h))) | 1  # odd, so the window is centred on its column
            stack = torch.stack([m0, m1, m2], 1)  # B x 3 x W
            stack = F.avg_pool1d(stack, k, stride=1, padding=k // 2, count_include_pad=False)
            m0, m1, m2 = stack.unbind(1)
        blank = m0 < 1e-3
        safe = m0.clamp(min=1e-3)
        mu = m1 / safe
        sd = (m2 / safe - mu ** 2).clamp(min=0).sqrt().clamp(min=1.0)
        mu = torch.where(blank, torch.full_like(mu, (h - 1) / 2), mu)
        sd = torch.where(blank, torch.full_like(sd, self.sigma * h), sd)
        return mu, sd

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        b, _, h, w = images.shape
        mu, sd = self.moments(images)  # B x 1 or B x W
        mu, sd = mu.expand(b, w), sd.expand(b, w)
        # output row r of column x reads input row mu(x) + (r - centre) * sd(x) / (sigma * h)
        r = torch.arange(h, dtype=images.dtype, device=images.device)[None, :, None]
        src = mu[:, None, :] + (r - (h - 1) / 2) * (sd[:, None, :] / (self.sigma * h))  # B x H x W
        gy = 2 * src / max(1, h - 1) - 1
        gx = torch.linspace(-1, 1, w, dtype=images.dtype, device=images.device)[None, None, :].expand(b, h, w)
        grid = torch.stack([gx, gy], -1)
        paper = self.paper(images)
        # resample the difference from the paper, so that rows from outside the image are paper
        darker = F.grid_sample(paper - images, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        return paper - darker
