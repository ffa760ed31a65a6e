"""Handwriting fonts as "writers": discovery, the split by writer, glyph caches.

A writer is one font file: a ``@fontsource`` family at weight 400, plus a few
extra weights of the same family (:data:`EXTRA_WEIGHTS`). Weights of a family
always land in the same split, so test writers are unseen families, the way
IAM-B's test writers are unseen people.
"""

from __future__ import annotations

import json
import random
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageFont

from hwr import paths

#: the 40 families of ``spec/data.md`` §1, checked by eye and for full coverage
FAMILIES: tuple[str, ...] = (
    "annie-use-your-telescope", "architects-daughter", "bad-script", "caveat", "caveat-brush",
    "cedarville-cursive", "covered-by-your-grace", "dawning-of-a-new-day", "delicious-handrawn",
    "freehand", "gloria-hallelujah", "gochi-hand", "handlee", "homemade-apple", "indie-flower",
    "just-me-again-down-here", "kalam", "la-belle-aurore", "mansalva", "marck-script", "ms-madi",
    "nanum-pen-script", "neucha", "nothing-you-could-do", "over-the-rainbow", "patrick-hand",
    "reenie-beanie", "schoolbell", "shadows-into-light", "sue-ellen-francisco", "swanky-and-moo-moo",
    "the-girl-next-door", "waiting-for-the-sunrise", "zeyada", "courgette", "cookie", "damion",
    "satisfy", "rochester", "dancing-script",
)
#: printed (book and screen) families, for pretraining on printed words (seed 004's recipe); not handwriting,
#: so never part of the default datasets: a config asks for them by name
PRINTED_FAMILIES: tuple[str, ...] = (
    "roboto", "open-sans", "lato", "merriweather", "lora", "noto-serif", "source-serif-4", "pt-serif",
    "libre-baskerville", "eb-garamond", "ibm-plex-sans", "roboto-slab",
)
#: extra weights used as extra writers of the same family
EXTRA_WEIGHTS: dict[str, tuple[int, ...]] = {
    "kalam": (300, 700), "caveat": (500, 600, 700), "dancing-script": (500, 600, 700)}
#: families under Apache-2.0; all others are OFL-1.1
APACHE_FAMILIES = frozenset({"homemade-apple", "rochester", "satisfy", "schoolbell", "roboto-slab"})
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Writer:
    """One font file used as one writer."""

    name: str      # "caveat-500"
    family: str    # "caveat"
    weight: int    # 500
    path: str      # absolute path of the .woff file
    version: str   # npm package version
    license: str   # "OFL-1.1" | "Apache-2.0"

    def record(self) -> dict:
        """Manifest entry (no absolute path: manifests must match across checkouts)."""
        return {"name": self.name, "package": f"@fontsource/{self.family}", "version": self.version,
                "file": Path(self.path).name, "license": self.license}


def discover_writers(node_modules: Path | None = None, families=FAMILIES, extra_weights=True) -> list[Writer]:
    """Every writer whose font file is installed, in a fixed order.

    Raises:
        FileNotFoundError: a family of ``families`` is not installed (run
            :func:`hwr.synth.ensure_assets`).
    """
    root = Path(node_modules or paths.NODE_MODULES) / "@fontsource"
    out = []
    for fam in families:
        pkg = root / fam / "package.json"
        if not pkg.is_file():
            raise FileNotFoundError(f"{pkg}: font package missing; run hwr.synth.ensure_assets() "
                                    f"(npm ci --prefix {root.parent.parent})")
        version = json.loads(pkg.read_text(encoding="utf-8"))["version"]
        weights = (400,) + (EXTRA_WEIGHTS.get(fam, ()) if extra_weights else ())
        for w in weights:
            f = root / fam / "files" / f"{fam}-latin-{w}-normal.woff"
            if not f.is_file():
                raise FileNotFoundError(f"{f}: font file missing from {pkg.parent}")
            out.append(Writer(f"{fam}-{w}", fam, w, str(f), version,
                              "Apache-2.0" if fam in APACHE_FAMILIES else "OFL-1.1"))
    return out


def split_writers(writers: list[Writer], seed: int = 0,
                  fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)) -> dict[str, list[str]]:
    """Split writers by family into disjoint train / valid / test sets.

    Args:
        writers: from :func:`discover_writers`.
        seed: shuffles the families (deterministic, independent of the host).
        fractions: share of families per split; valid and test get at least one.

    Returns:
        ``{"train": [writer names], "valid": [...], "test": [...]}``.
    """
    families = sorted({w.family for w in writers})
    random.Random(f"font-split-{seed}").shuffle(families)
    n = len(families)
    n_valid = max(1, round(fractions[1] * n))
    n_test = max(1, round(fractions[2] * n))
    if n - n_valid - n_test < 1:
        raise ValueError(f"{n} font families are too few for a train/valid/test split")
    chosen = {"valid": families[:n_valid], "test": families[n_valid:n_valid + n_test],
              "train": families[n_valid + n_test:]}
    return {s: [w.name for w in writers if w.family in set(chosen[s])] for s in SPLITS}


def stable_hash(*parts) -> int:
    """A 32-bit hash that, unlike ``hash()``, is the same in every process."""
    return zlib.crc32("\x1f".join(map(str, parts)).encode())


@dataclass
class Glyph:
    """A rendered character: ink mask (h x w uint8, 255 = ink), its top-left
    offset from the pen position on the baseline, and the pen advance."""

    mask: np.ndarray
    left: int
    top: int
    advance: float


class GlyphCache:
    """Rendered glyphs of one writer at a few integer pixel sizes.

    FreeType rendering costs 0.1-0.2 ms per glyph; a line draws about 40, and
    sizes are quantised (see :mod:`hwr.synth.render`), so a cache turns
    rendering into array copies after the first few lines of a writer.

    Args:
        writer: the font.
        x_height: x-height in pixels at scale 1.
        pen_ratio: wanted stroke width / x-height; the font's own stroke is
            thickened with FreeType's stroker or thinned per glyph with a min filter.
    """

    REF_SIZE = 64

    def __init__(self, writer: Writer, x_height: float, pen_ratio: float):
        self.writer = writer
        ref = ImageFont.truetype(writer.path, self.REF_SIZE)
        xh_ref = -ref.getbbox("x", anchor="ls")[1]
        self.base_size = self.REF_SIZE * x_height / xh_ref
        self.x_height = x_height
        self._fonts: dict[int, ImageFont.FreeTypeFont] = {}
        self._glyphs: dict[tuple[str, int], Glyph] = {}
        # the font's pen measured at the size it is drawn (small sizes render
        # thicker than a scaled-down measurement says)
        stroke = _stroke_width(self.font(self.size(1.0)))
        want = pen_ratio * x_height
        # thicken by stroking (adds on both sides); thin each glyph with a 3x3 min filter (2 px)
        self.stroke = round(max(0.0, (want - stroke) / 2), 1)
        self.thin = stroke - want > 1.4
        self.joined = is_joined(writer)

    def size(self, scale: float) -> int:
        return max(6, int(round(self.base_size * scale)))

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        f = self._fonts.get(size)
        if f is None:
            f = self._fonts[size] = ImageFont.truetype(self.writer.path, size)
        return f

    def glyph(self, ch: str, size: int) -> Glyph:
        key = (ch, size)
        g = self._glyphs.get(key)
        if g is None:
            font = self.font(size)
            advance = font.getlength(ch)
            if ch == " ":
                g = Glyph(np.zeros((0, 0), np.uint8), 0, 0, advance)
            else:
                mask, left, top = _mask(font, ch, self.stroke)
                if self.thin:  # a 3 x 3 min filter on white-on-black ink thins strokes by 2 px
                    mask = np.asarray(Image.fromarray(np.pad(mask, 1)).filter(ImageFilter.MinFilter(3)))
                    left, top = left - 1, top - 1
                g = Glyph(mask, left, top, advance)
            self._glyphs[key] = g
        return g


def _mask(font: ImageFont.FreeTypeFont, text: str, stroke: float) -> tuple[np.ndarray, int, int]:
    """Ink mask (h x w uint8) of ``text`` and its top-left offset from the
    pen position on the baseline."""
    # stroke_filled: the stroked glyph with its inside filled (as ImageDraw.text
    # draws it), not FreeType's outline band alone, which looks hollow
    core, (left, top) = font.getmask2(text, mode="L", anchor="ls", stroke_width=stroke, stroke_filled=True)
    w, h = core.size
    return np.array(core, dtype=np.uint8).reshape(h, w), left, top


def _stroke_width(font: ImageFont.FreeTypeFont) -> float:
    """Mean stroke width in pixels: 2 x ink area / ink perimeter of "nmoeu"."""
    core, _ = font.getmask2("nmoeu", mode="L", anchor="ls")
    w, h = core.size
    a = np.array(core, dtype=np.uint8).reshape(h, w) > 127
    p = np.pad(a, 1)
    inner = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return 2.0 * a.sum() / max(1, a.sum() - inner.sum())


def is_joined(writer: Writer) -> bool:
    """Whether "nn" is drawn as one connected stroke (a cursive font): such
    fonts must keep their letter spacing near zero to keep the joins."""
    font = ImageFont.truetype(writer.path, GlyphCache.REF_SIZE)
    core, _ = font.getmask2("nn", mode="L", anchor="ls")
    w, h = core.size
    cols = (np.array(core, dtype=np.uint8).reshape(h, w) > 80).any(axis=0)
    inner = cols[w // 4: 3 * w // 4]
    return bool(inner.all())
