"""The page: crop with margins, neighbouring-line fragments, pen and paper.

Everything after the geometry: random margins, sometimes clipped
descenders/ascenders of the lines above and below, pen width and pressure,
ink texture and level, near-white paper with a light gradient, blur and
noise. Output grey, dark ink on white.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter


def page(ink: np.ndarray, edges: np.ndarray, cells: np.ndarray, rng: np.random.Generator,
         part: np.ndarray | None = None):
    """Turn a warped ink mask into a line image.

    Args:
        ink: H x W uint8 warped ink (255 = ink).
        edges: N+1 character cell edges in ``ink``'s columns.
        cells: N+1 cell edges in the unwarped layout's columns.
        rng: random draws.
        part: optional mask cropped like ``ink`` and returned instead of it.

    Returns:
        (image H' x W' uint8, boxes N x 2, unwarped boxes N x 2, cropped ink H' x W').
    """
    rows = np.flatnonzero((ink > 60).any(axis=1))
    cols = np.flatnonzero((ink > 60).any(axis=0))
    if len(rows) == 0:  # nothing drawn (a line of spaces): frame the cells
        rows = np.array([ink.shape[0] // 3, 2 * ink.shape[0] // 3])
        cols = np.array([int(edges.min()), int(edges.max())])
    top = rows[0] - int(rng.integers(2, 13))
    bottom = rows[-1] + 1 + int(rng.integers(2, 13))
    left = min(cols[0], int(np.floor(edges.min()))) - int(rng.integers(3, 25))
    right = max(cols[-1] + 1, int(np.ceil(edges.max()))) + int(rng.integers(3, 25))
    crop = _window(ink, top, bottom, left, right)
    ink_h = rows[-1] - rows[0] + 1
    # fragments of the lines above (their descenders) and below (ascenders)
    for sign in (1, -1):
        if rng.random() < 0.25:
            shift = sign * int(ink_h * rng.uniform(0.95, 1.2))
            dx = int(rng.integers(-200, 200))
            np.maximum(crop, _window(ink, top + shift, bottom + shift, left + dx, right + dx), out=crop)
    h, w = crop.shape
    # pen width per line (about +-0.5 px): gain and offset on the
    # antialiased edge, as a lookup table on the 8-bit ink
    # (the core of a stroke always saturates: gain - offset >= 1)
    gain = rng.uniform(1.1, 1.8)
    # thin strokes never reach full coverage after antialiasing and the
    # warp: scale by the line's darkest ink so their core is solid too
    peak = max(int(crop.max()), 64)
    lut = np.clip(np.arange(256, dtype=np.float32) / peak * gain - rng.uniform(0.0, 1.0) * (gain - 1), 0, 1)
    alpha = lut[crop]
    # pen pressure along the line and ink texture
    x = np.arange(w, dtype=np.float32)
    pressure = 1 - rng.uniform(0, 0.2) * (0.5 + 0.5 * np.sin(x * (2 * np.pi / rng.uniform(150, 600))
                                                              + rng.uniform(0, 6.3)))
    tex = _smooth_noise(rng, h, w, 3) * -rng.uniform(0.0, 0.3)
    tex += 1
    tex *= pressure[None, :]
    alpha *= tex
    # near-white paper with a light gradient, dark ink
    paper = (rng.uniform(222, 252) + rng.uniform(-8, 8) * np.linspace(-1, 1, w, dtype=np.float32)[None, :]
             + rng.uniform(-5, 5) * np.linspace(-1, 1, h, dtype=np.float32)[:, None])
    ink_level = rng.uniform(5, 70)
    img = (ink_level - paper) * alpha
    img += paper
    blur = rng.uniform(0.0, 0.9)
    if blur > 0.25:
        img = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(blur))
        img = np.asarray(img, dtype=np.float32)
    if rng.random() < 0.5:  # sensor noise on half the lines (noise also triples the PNG size)
        img += _noise(rng, h, w) * rng.uniform(0.5, 2.0)
    image = np.clip(img + 0.5, 0, 255).astype(np.uint8)

    return (image, _boxes(edges, left, w), _boxes(cells, 0, int(np.ceil(cells[-1])) + 1),
            crop if part is None else _window(part, top, bottom, left, right))


def _boxes(e: np.ndarray, lo: float, hi: int) -> np.ndarray:
    """Cell edges (N+1) -> N x 2 int ``[x0, x1)`` boxes in ``[0, hi]``,
    shifted by ``lo``: monotonic and never empty."""
    e = np.maximum.accumulate(np.clip(np.round(e - lo), 0, hi))
    b = np.stack([e[:-1], e[1:]], axis=1).astype(np.int64)
    b[:, 1] = np.maximum(b[:, 1], np.minimum(b[:, 0] + 1, hi))  # never empty
    b[:, 0] = np.minimum(b[:, 0], hi - 1)
    return b


def _window(a: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """``a[top:bottom, left:right]`` with zeros where the window leaves ``a``."""
    out = np.zeros((bottom - top, right - left), a.dtype)
    h, w = a.shape
    y0, y1, x0, x1 = max(top, 0), min(bottom, h), max(left, 0), min(right, w)
    if y1 > y0 and x1 > x0:
        out[y0 - top:y1 - top, x0 - left:x1 - left] = a[y0:y1, x0:x1]
    return out


_NOISE: list[np.ndarray] = []


def _noise(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Unit Gaussian noise (h x w float32): a window of a fixed tile at a
    random offset, 20x cheaper than drawing fresh numbers for every pixel."""
    if not _NOISE:
        _NOISE.append(np.random.default_rng(20240611).standard_normal((256, 4096), np.float32))
    tile = _NOISE[0]
    if h > tile.shape[0] or w > tile.shape[1]:
        return rng.standard_normal((h, w), np.float32)
    y = int(rng.integers(0, tile.shape[0] - h + 1))
    x = int(rng.integers(0, tile.shape[1] - w + 1))
    return tile[y:y + h, x:x + w]


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Noise in [0, 1] smooth over about ``cell`` pixels (ink texture)."""
    small = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    big = Image.fromarray(small).resize(((w // cell + 2) * cell, (h // cell + 2) * cell),
                                                  Image.Resampling.BILINEAR)
    return np.asarray(big)[:h, :w]
