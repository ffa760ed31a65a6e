"""Repository paths.

Notebooks run with their own folder as working directory (jupyter-book,
papermill), so every path is anchored at the repository root found from this
file, never relative to the current directory. ``HWR_DATA`` and
``HWR_RESULTS`` and ``HWR_BUILD_ROOT`` override the data, results and build folders
(the tests build a throw-away book without touching the reader's).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CONFIGS = ROOT / "configs"
FIGS = ROOT / "figs"
DATA = Path(os.environ.get("HWR_DATA", ROOT / "data"))
RESULTS = Path(os.environ.get("HWR_RESULTS", ROOT / "results"))
NODE_MODULES = ROOT / "data" / "node_modules"  # the pinned npm assets stay in the checkout
SYNTH = DATA / "synth"
# jupyter-book always writes to <path-output>/_build, so the override names the parent
BUILD = Path(os.environ.get("HWR_BUILD_ROOT", ROOT)) / "_build"
