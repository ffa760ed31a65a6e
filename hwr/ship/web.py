"""Stage the page "Read a line" into the website: onnxruntime-web, the page's script, the shipped
models exported to ONNX, and the shipped test lines.

Everything lands in ``<vendor>/`` (``_build/stage/_vendor``), which jupyter-book copies to the site's
root as it is (``html_extra_path``), so the page works offline:

    ort/        onnxruntime-web's WebAssembly build, pinned in data/package.json
    reader/     book/reader/read_a_line.js
    models/     index.json (models with their records, test lines), <name>/model.json + *.onnx, lines/
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hwr import paths
from hwr.errors import HwrError
from hwr.ship.lines import lines_dir, read_lines
from hwr.ship.onnx_export import MANIFEST, export_shipped
from hwr.ship.store import aliases, shipped_names

#: the roles the page offers first, in this order (``models/aliases.json``)
ROLES = ("best-ctc", "best-attention")

ORT = paths.NODE_MODULES / "onnxruntime-web" / "dist"
#: the parts of onnxruntime-web the page loads: the WebAssembly-only bundle (global ``ort``), and the
#: runtime it fetches (SIMD; it falls back to one thread where the page is not cross-origin isolated)
ORT_PARTS = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
SCRIPT = paths.BOOK / "reader" / "read_a_line.js"


class AssetsError(HwrError):
    """The pinned npm packages are not installed."""


def stage_ort(target: Path) -> None:
    """Copy the pinned onnxruntime-web files into ``target``."""
    if not (ORT / ORT_PARTS[0]).is_file():
        raise AssetsError(f"{ORT}: onnxruntime-web is missing; install the pinned npm packages with `make assets` "
                          "(npm ci --prefix data)")
    target.mkdir(parents=True, exist_ok=True)
    for part in ORT_PARTS:
        shutil.copy2(ORT / part, target / part)


def _role_rank(alias: str) -> tuple[int, str]:
    """Where an alias sorts: the roles of :data:`ROLES` in their order, then any other alias by name."""
    return (ROLES.index(alias), "") if alias in ROLES else (len(ROLES), alias)


def stage_models(target: Path, names: list[str] | None = None) -> dict:
    """Export every shipped model into ``target/<name>/``, copy the test lines into ``target/lines/``
    and write ``target/index.json``; returns that index. The models that fill a role (:data:`ROLES`,
    ``best-ctc`` first) come first, so that the page opens on the best CTC model; each lists its roles."""
    target.mkdir(parents=True, exist_ok=True)
    roles: dict[str, list[str]] = {}  # shipped name -> its aliases, ROLES first in their order
    for alias, name in sorted(aliases().items(), key=lambda item: _role_rank(item[0])):
        roles.setdefault(name, []).append(alias)
    models = []
    for name in sorted(shipped_names() if names is None else names,
                       key=lambda n: (_role_rank(roles[n][0])[0] if n in roles else len(ROLES), n)):
        folder = export_shipped(name, target)
        spec = json.loads((folder / MANIFEST).read_text())
        models.append({"name": name, "family": spec["family"], "record": spec["record"],
                       "roles": roles.get(name, [])})
    lines = read_lines()
    if lines:
        shutil.copytree(lines_dir(), target / "lines", dirs_exist_ok=True)
    index = {"models": models, "lines": lines}
    (target / "index.json").write_text(json.dumps(index, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return index


def stage_reader(vendor: Path) -> dict:
    """Stage the page's runtime, script, models and lines under ``vendor``; returns the models' index."""
    stage_ort(vendor / "ort")
    (vendor / "reader").mkdir(parents=True, exist_ok=True)
    shutil.copy2(SCRIPT, vendor / "reader" / SCRIPT.name)
    return stage_models(vendor / "models")
