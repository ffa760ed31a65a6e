"""Training-time augmentation of prepared lines: slant, height, stroke width, elastic warp, noise.

Seed 001 trains with a set of image augmentations; Retsinas et al. (2024)
count them among the practices that matter most for a line recogniser. This module is the book's set, applied to a *prepared* line
(:func:`hwr.preprocess.prepare`: H x W float in [0, 1], dark ink on light
paper) so that the line keeps its width and the width-bucketed batches stay
as they are:

- **slant**: a horizontal shear about the line's middle row, up to ±0.3
  pixels per row (handwriting leans by tens of degrees);
- **height**: a vertical scale of 0.9 to 1.1 about the middle row, and a
  shift of up to ±6 % of the height;
- **elastic warp**: a smooth random displacement field (Gaussian-filtered
  noise, sigma a quarter of the height), up to about 1.3 pixels at height 32;
- **stroke width**: ink one pixel bolder or thinner (grey erosion or
  dilation, 2 x 2), each with probability 1/3;
- **noise**: Gaussian pixel noise of sd 0.03.

``strength`` scales every range (0: the line unchanged; 1: the ranges
above). The geometric part is one resampling (bilinear, the paper's median
grey outside the line). Each line's draw depends on the run's seed, the pass
over the data and the line's index only (:meth:`Augmenter.rng`), so a
resumed run augments exactly as an uninterrupted one.
"""

from __future__ import annotations

import numpy as np

#: the largest of each transformation at strength 1 (see the module docstring)
SLANT = 0.3  # horizontal pixels per row
SCALE = 0.1  # relative vertical scale
SHIFT = 0.06  # share of the height
ELASTIC = 0.04  # share of the height (1.3 px at 32)
NOISE = 0.03  # pixel sd on [0, 1]


class Augmenter:
    """Random, reproducible augmentation of prepared lines.

    >>> aug = Augmenter(strength=1.0, seed=0)
    >>> out = aug(line, index=17, epoch=3)   # same shape as line, float32 in [0, 1]
    """

    def __init__(self, strength: float = 1.0, seed: int = 0):
        if not 0.0 <= strength <= 2.0:
            raise ValueError(f"augmentation strength must be in [0, 2], got {strength}")
        self.strength, self.seed = float(strength), int(seed)

    def rng(self, index: int, epoch: int) -> np.random.Generator:
        """The generator of line ``index`` in pass ``epoch``: independent of batch order and of workers."""
        return np.random.default_rng([self.seed, 0xA46, int(epoch), int(index)])

    def __call__(self, image: np.ndarray, index: int, epoch: int) -> np.ndarray:
        """Augment one prepared line.

        Args:
            image: H x W float in [0, 1] (dark ink on light paper).
            index: the line's index in its dataset.
            epoch: the pass over the data.

        Returns:
            H x W float32 in [0, 1].
        """
        if self.strength == 0.0:
            return image
        return augment(np.asarray(image, dtype=np.float32), self.rng(index, epoch), self.strength)


def augment(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """One draw of every transformation of the module docstring on an H x W line (float in [0, 1])."""
    from scipy import ndimage

    h, w = image.shape
    s = strength
    paper = float(np.median(image))
    slant = rng.uniform(-SLANT, SLANT) * s
    scale = 1.0 + rng.uniform(-SCALE, SCALE) * s
    shift = rng.uniform(-SHIFT, SHIFT) * s * h
    # output pixel (y, x) reads the input at (ys, xs): inverse of shear + scale + shift about the middle row
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mid = (h - 1) / 2
    ys = (yy - mid - shift) / scale + mid
    xs = xx + slant * (yy - mid)
    amp = ELASTIC * s * h
    if amp > 0:
        sigma = max(1.0, h / 4)
        for grid in (ys, xs):
            field = ndimage.gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), sigma, mode="nearest")
            grid += amp * field / (np.abs(field).max() + 1e-6)
    out = ndimage.map_coordinates(image, [ys, xs], order=1, mode="constant", cval=paper)
    stroke = rng.integers(3)  # 0: as drawn, 1: bolder, 2: thinner
    if s > 0 and stroke == 1:
        out = ndimage.grey_erosion(out, size=(2, 2))  # dark ink spreads: the minimum over a 2 x 2 window
    elif s > 0 and stroke == 2:
        out = ndimage.grey_dilation(out, size=(2, 2))
    out = out + rng.normal(0.0, NOISE * s, size=out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
