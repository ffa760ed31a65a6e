"""The offline synthetic handwriting-line generator ("synth").

Handwriting fonts play the writers, public-domain prose the texts; both come
from pinned npm packages (``data/package.json``), so a dataset is rebuilt
bit for bit from its ``manifest.json``.

>>> from hwr.synth import PRESETS, generate, dataset_path
>>> path = dataset_path("smoke")          # data/synth/smoke, built on first use

Modules, one job each:

- :mod:`~hwr.synth.assets`   the pinned npm packages (``ensure_assets``)
- :mod:`~hwr.synth.fonts`    writers (fonts), the split by writer, glyph caches
- :mod:`~hwr.synth.corpus`   public-domain documents, split by document
- :mod:`~hwr.synth.text`     IAM-like line texts (shaping, wrapping, hyphenation)
- :mod:`~hwr.synth.render`   one line in one hand: layout, then warp and page
- :mod:`~hwr.synth.warp`     slant, rotation, elastic warp (boxes mapped alike)
- :mod:`~hwr.synth.page`     margins, neighbour fragments, pen, paper, noise
- :mod:`~hwr.synth.config`   ``SynthConfig``, ``PRESETS``, the manifest
- :mod:`~hwr.synth.dataset`  ``generate`` and ``dataset_path`` (datasets on disk)
"""

from hwr.synth.assets import AssetsError, ensure_assets
from hwr.synth.dataset import (GENERATOR_VERSION, PRESETS, SynthConfig, dataset_path, generate,
                                read_manifest)

__all__ = ["AssetsError", "ensure_assets", "GENERATOR_VERSION", "PRESETS", "SynthConfig",
           "dataset_path", "generate", "read_manifest"]
