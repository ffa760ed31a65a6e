"""The line geometry: slant shear, small rotation and an elastic warp in
one Pillow MESH transform, with the character box edges mapped through
the same geometry."""

from __future__ import annotations

import numpy as np
from PIL import Image


def warp(mask: np.ndarray, points: np.ndarray, slant: float, rng: np.random.Generator,
         part: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Shear, rotate and elastically warp an ink mask.

    Args:
        mask: H x W uint8 ink (255 = ink), unwarped.
        points: K x 2 float source points (x, y) to map forward (box edges).
        slant: shear factor (0.12 = 7 degrees to the right); the rotation
            (about 0.5 degrees) and the warp (0.5-1.8 px displacements on a
            20-32 px grid) are drawn from ``rng``.
        part: optional second mask (H x W) warped identically.

    Returns:
        (warped mask H' x W', mapped points K x 2, warped ``part`` or None).
    """
    hs, ws = mask.shape
    angle = rng.normal(0, 0.008)  # radians
    shear = np.array([[1.0, -slant], [0.0, 1.0]])  # x' = x - slant * y: tops lean right
    c, s = np.cos(angle), np.sin(angle)
    m = np.array([[c, -s], [s, c]]) @ shear
    corners = np.array([[0, 0], [ws, 0], [0, hs], [ws, hs]], float)
    margin = 4.0
    # forward affine u = m @ p + t, placed so the whole source fits
    t = -(corners @ m.T).min(axis=0) + margin
    out_w, out_h = np.ceil((corners @ m.T).max(axis=0) + t + margin).astype(int)
    minv = np.linalg.inv(m)
    # elastic warp: source-space displacements on an output-space grid
    step = int(rng.integers(20, 33))
    amp = rng.uniform(0.5, 1.8)
    nx, ny = -(-out_w // step) + 1, -(-out_h // step) + 1  # nodes covering the output
    disp = rng.normal(0, amp, (ny, nx, 2))
    # Pillow's MESH maps each output cell bilinearly from a source quad: the
    # quads are the inverse map (affine inverse plus displacement) at the
    # grid nodes; inside a cell the displacement is bilinear, which
    # _bilinear reproduces for the points.
    gx = np.arange(nx) * step
    gy = np.arange(ny) * step
    nodes = np.stack(np.meshgrid(gx, gy), axis=-1).astype(float)  # ny x nx x 2 (x, y)
    src = (nodes - t) @ minv.T + disp
    quads = np.concatenate([src[:-1, :-1], src[1:, :-1], src[1:, 1:], src[:-1, 1:]], axis=-1)
    inked = _inked_cells(mask, quads)
    mesh = [((int(gx[i]), int(gy[j]), int(gx[i + 1]), int(gy[j + 1])), tuple(quads[j, i]))
            for j, i in zip(*np.nonzero(inked))]

    def apply(a: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(a).transform(
            (out_w, out_h), Image.Transform.MESH, mesh, Image.Resampling.BILINEAR, fillcolor=0))

    u = points @ m.T + t
    for _ in range(4):  # forward map: fixed point of u = m (p - d(u)) + t
        u = (points - _bilinear(disp, u / step)) @ m.T + t
    return apply(mask), u, (apply(part) if part is not None else None)


def _inked_cells(mask: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Which output cells (Gy x Gx bool) have ink in their source quad.

    MESH costs about 20 us per cell in Python, and most of a line's cells are
    empty paper: a summed-area table over 8 x 8 blocks of the source answers
    "any ink here?" per cell.
    """
    hs, ws = mask.shape
    bh, bw = -(-hs // 8), -(-ws // 8)
    blocks = np.zeros((bh * 8, bw * 8), bool)
    blocks[:hs, :ws] = mask > 0
    blocks = blocks.reshape(bh, 8, bw, 8).any(axis=(1, 3))
    sat = np.zeros((bh + 1, bw + 1), np.int32)
    np.cumsum(np.cumsum(blocks, axis=0), axis=1, out=sat[1:, 1:])
    qx, qy = quads[..., 0::2] / 8, quads[..., 1::2] / 8
    x0 = np.clip(np.floor(qx.min(-1) - 0.2).astype(int), 0, bw)
    x1 = np.clip(np.ceil(qx.max(-1) + 0.2).astype(int), 0, bw)
    y0 = np.clip(np.floor(qy.min(-1) - 0.2).astype(int), 0, bh)
    y1 = np.clip(np.ceil(qy.max(-1) + 0.2).astype(int), 0, bh)
    return (sat[y1, x1] - sat[y0, x1] - sat[y1, x0] + sat[y0, x0]) > 0


def _bilinear(grid: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Bilinear interpolation of ``grid`` (Gy x Gx x 2) at grid coordinates
    ``q`` (K x 2, (x, y) in units of grid steps), as in the warp."""
    gy, gx = grid.shape[:2]
    x = np.clip(q[:, 0], 0, gx - 1.000001)
    y = np.clip(q[:, 1], 0, gy - 1.000001)
    i, j = x.astype(int), y.astype(int)
    fx, fy = (x - i)[:, None], (y - j)[:, None]
    return (grid[j, i] * (1 - fx) * (1 - fy) + grid[j, i + 1] * fx * (1 - fy)
            + grid[j + 1, i] * (1 - fx) * fy + grid[j + 1, i + 1] * fx * fy)
