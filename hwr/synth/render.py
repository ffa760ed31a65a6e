"""Render one text line in one writer's hand: image plus per-character boxes.

The recipe of ``spec/data.md`` §1, in three stages:

1. layout (unwarped): characters drawn one by one from a glyph cache with
   per-word and per-character scale jitter (about +-6 %), a smooth baseline
   wobble plus per-word and per-character baseline jitter, the writer's
   letter and word spacing; pen width normalised to the x-height;
2. geometry, one Pillow MESH transform: slant shear, small rotation and an
   elastic warp (random node displacements on a 20-32 px grid); the
   character boxes go through the same map;
3. page: crop with random margins, sometimes descender/ascender fragments of
   neighbouring lines, pen pressure, ink texture and level, near-white paper
   with a light gradient, blur and noise.

A box is a character's advance cell ``[x0, x1)`` on the unwarped baseline
(spaces included, cells tile the line), mapped through the geometry at
mid x-height: boxes are monotonic and lie inside the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from hwr.synth.fonts import GlyphCache, Writer, is_joined, stable_hash
from hwr.synth.page import page
from hwr.synth.warp import warp


@dataclass(frozen=True)
class WriterStyle:
    """The constant habits of one writer (drawn once per dataset seed)."""

    x_height: float       # px at scale 1
    pen_ratio: float      # stroke width / x-height
    letter_space: float   # extra gap between letters, in x-heights
    word_space: float     # gap between words, in x-heights (>= 0.45)
    slant: float          # mean shear (0.12 = 7 degrees to the right)
    size_jitter: float    # sd of per-word / per-char scale jitter

    @classmethod
    def draw(cls, writer: Writer, seed: int, joined: bool) -> "WriterStyle":
        rng = np.random.default_rng([stable_hash("writer", writer.name), seed])
        return cls(
            x_height=float(rng.uniform(17.0, 23.0)),
            pen_ratio=float(rng.uniform(0.11, 0.17)),
            # cursive fonts keep their joins only without extra spacing
            letter_space=float(rng.uniform(-0.04, 0.0) if joined else rng.uniform(-0.03, 0.07)),
            word_space=float(rng.uniform(0.5, 1.0)),
            slant=float(np.clip(rng.normal(0.12, 0.15), -0.2, 0.5)),
            size_jitter=float(rng.uniform(0.015, 0.03)),
        )


@dataclass
class RenderedLine:
    """A rendered line: ``image`` (H x W uint8, dark ink on white), ``boxes``
    (N x 2 int, ``[x0, x1)`` per character in image columns), ``boxes_unwarped``
    (N x 2 int, in the unwarped layout's columns) and ``ink`` (H x W uint8,
    255 = ink, the clean mask after the geometry, before the page effects,
    with neighbour-line fragments; only the chosen characters with ``only``)."""

    image: np.ndarray
    boxes: np.ndarray
    boxes_unwarped: np.ndarray
    ink: np.ndarray


class Renderer:
    """Renders lines of one writer; keeps that writer's glyph cache.

    Args:
        writer: the font.
        seed: dataset seed (writer habits depend on it).
    """

    def __init__(self, writer: Writer, seed: int = 0):
        self.style = WriterStyle.draw(writer, seed, is_joined(writer))
        self.cache = GlyphCache(writer, self.style.x_height, self.style.pen_ratio)
        self.writer = writer

    def layout(self, text: str, rng: np.random.Generator, only=None):
        """Draw the unwarped ink mask. Returns (mask H x W uint8, cells N+1
        float pen positions, baseline y per cell edge (N+1), x-height, and
        the mask of the characters in ``only`` (None without ``only``))."""
        st, cache = self.style, self.cache
        xh = st.x_height * rng.uniform(0.95, 1.05)
        line_scale = xh / st.x_height
        n = len(text)
        # smooth baseline: two slow sines; per-word and per-char jitter
        amp = rng.uniform(0.0, 0.12, 2) * xh
        period = rng.uniform(250.0, 900.0, 2)
        phase = rng.uniform(0, 2 * np.pi, 2)
        spacing = (st.letter_space + rng.normal(0, 0.015)) * xh
        word_gap = max(0.45, st.word_space * rng.uniform(0.85, 1.2)) * xh
        # upper bound of the canvas: ascent/descent at the largest size
        big = cache.font(cache.size(line_scale * 1.12))
        ascent, descent = big.getmetrics()
        pad = int(2 * xh)
        height = ascent + descent + 2 * pad
        base_y = pad + ascent
        width = int(pad * 2 + n * 1.6 * big.size + 8)
        canvas = np.zeros((height, width), np.uint8)
        part = np.zeros_like(canvas) if only is not None else None
        cells = np.zeros(n + 1)
        base = np.zeros(n + 1)
        # all random draws at once (per character: scale, baseline; per word: scale, baseline)
        jitter = rng.normal(0, 1, (n, 4))
        # cursive fonts draw each join twice (exit and entry strokes overlap):
        # jitter between the letters of a word would split them into double lines
        jitter[:, 0] *= 0.0 if cache.joined else st.size_jitter
        jitter[:, 1] *= 0.0 if cache.joined else 0.02 * xh
        jitter[:, 2] *= st.size_jitter
        jitter[:, 3] *= 0.06 * xh
        gaps = word_gap * rng.uniform(0.8, 1.25, n)
        a0, a1 = float(amp[0]), float(amp[1])
        f0, f1 = 2 * math.pi / float(period[0]), 2 * math.pi / float(period[1])
        p0, p1 = float(phase[0]), float(phase[1])
        pen = float(pad)
        word_scale = word_dy = 0.0
        new_word = True
        for i, ch in enumerate(text):
            if new_word and ch != " ":
                word_scale, word_dy = jitter[i, 2], jitter[i, 3]
                new_word = False
            dy = a0 * math.sin(f0 * pen + p0) + a1 * math.sin(f1 * pen + p1)
            cells[i], base[i] = pen, base_y + dy
            if ch == " ":
                pen += gaps[i]
                new_word = True
                continue
            s = line_scale * (1 + min(0.06, max(-0.06, word_scale + jitter[i, 0])))
            g = cache.glyph(ch, cache.size(s))
            y = int(round(base_y + dy + word_dy + jitter[i, 1])) + g.top
            x = int(round(pen)) + g.left
            h, w = g.mask.shape
            if h and w and 0 <= y and y + h <= height and 0 <= x and x + w <= width:
                view = canvas[y:y + h, x:x + w]
                np.maximum(view, g.mask, out=view)
                if part is not None and i in only:
                    view = part[y:y + h, x:x + w]
                    np.maximum(view, g.mask, out=view)
            pen += g.advance + spacing
        cells[n], base[n] = pen, base_y
        right = min(width, int(pen + pad))
        rows = np.flatnonzero(canvas[:, :right].any(axis=1))
        r0 = max(0, rows[0] - 3) if len(rows) else 0
        r1 = min(height, rows[-1] + 4) if len(rows) else height
        r0, r1 = min(r0, int(base_y - xh)), max(r1, int(base_y + 1))
        canvas = canvas[r0:r1, :right]  # the warp costs per pixel: keep only ink rows
        part = part[r0:r1, :right] if part is not None else None
        base -= r0
        return canvas, cells, base, xh, part

    def render(self, text: str, rng: np.random.Generator, only=None) -> RenderedLine:
        """Render ``text`` (non-empty, in the alphabet) with random draws from ``rng``.

        Args:
            only: indices of characters whose ink alone is returned in
                ``RenderedLine.ink`` (the image and boxes are unchanged): tests
                use it to see which ink belongs to which box.
        """
        if not text:
            raise ValueError("cannot render an empty line")
        mask, cells, base, xh, part = self.layout(text, rng, only)
        slant = self.style.slant + rng.normal(0, 0.03)
        points = np.stack([cells, base - xh / 2], axis=1)  # box edges at mid x-height
        warped, mapped, part = warp(mask, points, slant, rng, part)
        image, boxes, unwarped, ink = page(warped, mapped[:, 0], cells, rng, part)
        return RenderedLine(image=image, boxes=boxes, boxes_unwarped=unwarped, ink=ink)

