"""What defines a synthetic dataset: its config, presets and manifest.

:func:`plan` turns a :class:`SynthConfig` into the manifest (everything that
decides the pixels: config, generator version and source digest, library,
font and corpus versions, the writer and text splits) and the list of lines
to render, without rendering anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwr.synth import fonts as F
from hwr.synth import names as N
from hwr.synth import text as T
from hwr.synth.assets import ensure_assets

#: bump when a change to the generator changes the pixels or the texts
GENERATOR_VERSION = "1"
SPLITS = F.SPLITS
#: the texts a dataset can be written from (:attr:`SynthConfig.text`)
TEXT_SOURCES = ("corpus", "names")


@dataclass(frozen=True)
class SynthConfig:
    """What defines a synthetic dataset (with the asset versions).

    Attributes:
        seed: seeds texts, writer habits and every line's rendering.
        train, valid, test: number of lines per split.
        font_seed: seeds the split of font families into writer sets (kept
            apart from ``seed`` so resampling a dataset keeps its test writers).
        font_fractions: share of font families per split (train, valid, test).
        text_fractions: share of chapters / addresses per split.
        extra_weights: use the extra weights of kalam, caveat and
            dancing-script as extra writers.
        families: restrict to these font families (None: the 40 handwriting
            ones); :data:`hwr.synth.fonts.PRINTED_FAMILIES` may be named too.
        phrase_words: None for IAM-like full lines; ``(lo, hi)`` for short
            lines of ``lo`` to ``hi`` consecutive words of the same texts
            (:func:`hwr.synth.text.chop`), drawn and rendered like the full
            lines (same writers, same split by font and by document).
        text: where the texts come from: ``"corpus"`` (the two pinned text
            corpora) or ``"names"`` (upper-case first names,
            :mod:`hwr.synth.names`; ``phrase_words`` does not apply).
        held_out_first: compose the validation and test texts before the
            training texts, and keep the training phrases out of theirs
            (instead of the reverse). The held-out splits then depend on
            ``seed`` and their own sizes only, so sets that differ in
            ``train`` alone share identical validation and test files: a
            larger training set does not move the yardstick.
    """

    seed: int = 0
    train: int = 4000
    valid: int = 400
    test: int = 800
    font_seed: int = 0
    font_fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
    text_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    extra_weights: bool = True
    families: tuple[str, ...] | None = None
    phrase_words: tuple[int, int] | None = None
    text: str = "corpus"
    held_out_first: bool = False

    def __post_init__(self):
        if self.text not in TEXT_SOURCES:
            raise ValueError(f"SynthConfig.text: one of {TEXT_SOURCES}, not {self.text!r}")
        if self.text == "names" and self.phrase_words is not None:
            raise ValueError("SynthConfig: phrase_words cuts corpus texts; a names set has none")
        for split in SPLITS:
            n = getattr(self, split)
            if not isinstance(n, int) or n < 0:
                raise ValueError(f"SynthConfig.{split}: number of lines must be an int >= 0, not {n!r}")
        for name in ("font_fractions", "text_fractions"):
            fr = getattr(self, name)
            if len(fr) != 3 or min(fr) < 0 or abs(sum(fr) - 1) > 1e-6:
                raise ValueError(f"SynthConfig.{name}: three shares (train, valid, test) summing to 1, not {fr!r}")
        if self.families is not None:
            unknown = sorted(set(self.families) - set(F.FAMILIES) - set(F.PRINTED_FAMILIES))
            if unknown:
                raise ValueError(f"SynthConfig.families: unknown font families {unknown}; "
                                 f"see hwr.synth.fonts.FAMILIES and PRINTED_FAMILIES")
            if len(set(self.families)) < 3:
                raise ValueError("SynthConfig.families: at least 3 families (one per split)")
            object.__setattr__(self, "families", tuple(self.families))
        if self.phrase_words is not None:
            pw = tuple(self.phrase_words)
            if len(pw) != 2 or not all(isinstance(k, int) for k in pw) or not 1 <= pw[0] <= pw[1]:
                raise ValueError(f"SynthConfig.phrase_words: (lo, hi) word counts with 1 <= lo <= hi, "
                                 f"not {self.phrase_words!r}")
            object.__setattr__(self, "phrase_words", pw)

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": self.train, "valid": self.valid, "test": self.test}

    @classmethod
    def from_dict(cls, d: dict) -> "SynthConfig":
        """The config recorded in a manifest (``manifest["config"]``)."""
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"SynthConfig: unknown fields {sorted(unknown)} (a manifest from a newer generator?)")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})

    def to_dict(self) -> dict:
        """Plain dict for the manifest; ``phrase_words`` only when set and ``text`` only when not the
        corpus (and ``held_out_first`` only when set), so the earlier presets keep the config (and the digest) they
        had before these fields existed."""
        d = dataclasses.asdict(self)
        if d["phrase_words"] is None:
            del d["phrase_words"]
        if d["text"] == "corpus":
            del d["text"]
        if not d["held_out_first"]:
            del d["held_out_first"]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


PRESETS: dict[str, SynthConfig] = {
    "smoke": SynthConfig(train=240, valid=60, test=60),
    "default": SynthConfig(train=4000, valid=400, test=800),
    # book-task candidates: short lines of 1-4 words, generated directly (not
    # cut from full lines); same writers, renderer, splits and sizes
    "phrases-smoke": SynthConfig(train=240, valid=60, test=60, phrase_words=(1, 4)),
    "phrases": SynthConfig(train=4000, valid=400, test=800, phrase_words=(1, 4)),
    "phrases-large": SynthConfig(train=12000, valid=400, test=800, phrase_words=(1, 4)),
    # single words (seed 004's word-level recogniser), handwritten, and printed for its pretraining
    "words-smoke": SynthConfig(train=240, valid=60, test=60, phrase_words=(1, 1)),
    # 12,000 like the printed set: with 4,000 a 10-minute run saw each word 16 times and its train CER fell
    # to 50 % while its validation CER stayed at 69 % (measured 2026-12-03, crnn_lite)
    "words": SynthConfig(train=12000, valid=400, test=800, phrase_words=(1, 1)),
    "printed-words-smoke": SynthConfig(train=240, valid=60, test=60, phrase_words=(1, 1), extra_weights=False,
                                       families=F.PRINTED_FAMILIES),
    "printed-words": SynthConfig(train=12000, valid=400, test=800, phrase_words=(1, 1), extra_weights=False,
                                 families=F.PRINTED_FAMILIES),
    # upper-case first names (seed 003's names recogniser), handwritten
    "names-smoke": SynthConfig(train=240, valid=60, test=60, text="names"),
    "names": SynthConfig(train=8000, valid=400, test=800, text="names"),
    # the book task from issue 22 on: phrases whose training set does not run out within a run's line budget
    # (one pass at 200,000 lines), with validation and test texts fixed whatever the training size
    "phrases-xl": SynthConfig(train=200000, valid=400, test=800, phrase_words=(1, 4), held_out_first=True),
    "phrases-xl-smoke": SynthConfig(train=240, valid=60, test=60, phrase_words=(1, 4), held_out_first=True),
}


def _versions() -> dict[str, str]:
    """Library versions that change rendered bytes (FreeType rasterises the
    glyphs, NumPy draws the random numbers, Pillow resamples, zlib compresses
    the PNGs)."""
    import zlib

    import PIL
    from PIL import features

    return {"pillow": PIL.__version__, "freetype": features.version("freetype2") or "?",
            "numpy": np.__version__, "zlib": zlib.ZLIB_RUNTIME_VERSION}


def generator_digest() -> str:
    """SHA-256 (first 16 hex digits) of the source files that decide the pixels
    and texts: any edit to them changes the manifest, so a stale dataset is
    rebuilt even when :data:`GENERATOR_VERSION` was not bumped."""
    import hwr.codec

    h = hashlib.sha256()
    here = Path(__file__).parent
    names = ("fonts.py", "corpus.py", "text.py", "names.py", "render.py", "warp.py", "page.py", "config.py",
             "dataset.py")
    for f in [here / n for n in names] + [Path(hwr.codec.__file__)]:
        h.update(f.read_bytes().replace(b"\r\n", b"\n"))
    return h.hexdigest()[:16]


def plan(config: SynthConfig, node_modules: Path | None = None,
         lines: bool = True) -> tuple[dict, list[tuple]]:
    """The manifest of ``config`` and its jobs, without rendering anything.

    Args:
        config: the dataset.
        node_modules: where the npm packages are (installed if missing).
        lines: also compose the line texts (about 1 s for the default
            preset); False returns the manifest alone, cheaply.

    Returns:
        (manifest dict, jobs list of ``(split, index, id, text, writer name)``).
    """
    node_modules = ensure_assets(node_modules, quiet=True)
    writers = F.discover_writers(node_modules, config.families or F.FAMILIES, config.extra_weights)
    font_split = F.split_writers(writers, config.font_seed, config.font_fractions)
    if config.text == "names":

        names, corpus = N.load_names(node_modules)
        name_split = N.split_names(names, config.seed, config.text_fractions)
    else:
        docs, corpus = T.load_documents(node_modules)
        doc_split = T.split_documents(docs, config.seed, config.text_fractions)
    jobs = []
    earlier: set[str] = set()  # phrases of earlier splits (full lines do not repeat across documents)
    # held_out_first: validation and test texts first, so they do not depend on the training size
    compose_order = ("valid", "test", "train") if config.held_out_first else SPLITS
    for split in compose_order:
        n = config.sizes[split]
        if n <= 0 or not lines:
            continue
        rng = random.Random(f"text-{config.seed}-{split}")
        if config.text == "names":
            lines = N.make_names(name_split[split], n, rng)
        else:
            lines = T.make_lines(doc_split[split], n, rng, words=config.phrase_words, exclude=frozenset(earlier))
        if config.phrase_words:
            earlier.update(t for t, _ in lines)
        # one writer per form, cycling through the split's writers in shuffled rounds
        wrng = random.Random(f"writers-{config.seed}-{split}")
        order: list[str] = []
        for i, (line, form) in enumerate(lines):
            while len(order) <= form:
                batch = list(font_split[split])
                wrng.shuffle(batch)
                order += batch
            jobs.append((split, i, f"{split}-{i:05d}", line, order[form]))
    jobs.sort(key=lambda job: SPLITS.index(job[0]))  # train, valid, test whatever order they were composed in
    manifest = {
        "format": "hwr-synth-lines",
        "generator_version": GENERATOR_VERSION,
        "generator_digest": generator_digest(),
        "config": config.to_dict(),
        "sizes": config.sizes,
        "libraries": _versions(),
        "corpus": corpus,
        "fonts": [w.record() for w in writers],
        "font_split": font_split,
        "text_split": ({s: len(name_split[s]) for s in SPLITS} if config.text == "names"  # names per split
                       else {s: [d.id for d in doc_split[s]] for s in SPLITS}),
    }
    return manifest, jobs
