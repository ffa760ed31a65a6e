"""Let PyPI's torchvision import beside a CPU-only torch whose build it does not match.

Why: on these machines torch==2.13.0 is a local CPU wheel (``2.13.0+cpu``), while
PyPI's torchvision==0.28.0 (the release that pairs with torch 2.13) is a CUDA
build (``0.28.0+cu130``). Its compiled ops library ``torchvision/_C.so`` links
``libc10_cuda.so`` and ``libtorch_cuda.so``, which a CPU torch does not ship, so
``torchvision.extension`` fails to load it (silently) and then
``torchvision/_meta_registrations.py`` runs, unconditionally,

    @torch.library.register_fake("torchvision::nms")
    @torch.library.register_fake("torchvision::qnms")

which raise ``RuntimeError: operator torchvision::nms does not exist`` because
no schema was ever defined. Every ``import torchvision`` (and so ``import
kraken``) dies there.

What: when ``torchvision`` is first imported, this hook tries to load
torchvision's ``_C`` extension exactly as torchvision would. If that works
(torchvision matches torch) it does nothing at all. Only if it fails does it
define the schemas of the two operators that import needs, so the rest of
torchvision (transforms, models, datasets, io) imports and works. The compiled
detection ops (``torchvision.ops.nms``, ``roi_align``, ``deform_conv2d``...)
stay unavailable and raise torchvision's own "Couldn't load custom C++ ops"
error when called; kraken's recognition training and inference do not use them.

Installed by ``peers/install_kraken.sh`` as ``site-packages/torchvision_cpu_shim.py``
plus a one-line ``torchvision_cpu_shim.pth`` (``import torchvision_cpu_shim``).
Importing this module is cheap: torch is imported only when torchvision is.
Set ``TORCHVISION_CPU_SHIM=0`` to switch it off; set
``TORCHVISION_WARN_WHEN_EXTENSION_LOADING_FAILS=1`` to see why ``_C`` failed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys

# Schemas as compiled into torchvision 0.2x's _C.so (torchvision/csrc/ops/nms.cpp
# and the quantized nms). Only these two are touched by an unconditional
# registration at import time; every other op is guarded by _has_ops().
SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

#: None until torchvision is imported; then True if the schemas were defined
#: (torchvision's _C did not load), False if torchvision's own ops loaded.
ACTIVE: bool | None = None
#: Why torchvision's _C failed to load, when ACTIVE is True.
REASON: str | None = None
_LIBRARY = None  # keeps the torch.library.Library (and its definitions) alive


def _extension_path(package_dir: str) -> str | None:
    """Find torchvision/_C.<suffix> the way torchvision's _get_extension_path does."""
    finder = importlib.machinery.FileFinder(
        package_dir,
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
    )
    spec = finder.find_spec("_C")
    return spec.origin if spec is not None else None


def _prepare(package_dir: str) -> None:
    """Load torchvision's ops if they load; otherwise define the schemas import needs."""
    global ACTIVE, REASON, _LIBRARY
    import torch

    path = _extension_path(package_dir)
    try:
        if path is None:
            raise ImportError(f"no _C extension in {package_dir}")
        # Same call torchvision.extension makes; on success torchvision's own call
        # later is a no-op (torch remembers loaded libraries).
        torch.ops.load_library(path)
        ACTIVE = False
        return
    except (ImportError, OSError) as error:  # what torchvision itself catches
        cause = error.__cause__ or error
        REASON = f"{type(cause).__name__}: {cause}"

    missing = {}
    for name, schema in SCHEMAS.items():
        try:
            torch._C._get_schema(f"torchvision::{name}", "")
        except RuntimeError:
            missing[name] = schema
    if missing:
        _LIBRARY = torch.library.Library("torchvision", "FRAGMENT")
        for schema in missing.values():
            _LIBRARY.define(schema)
    ACTIVE = True
    if os.environ.get("TORCHVISION_WARN_WHEN_EXTENSION_LOADING_FAILS"):
        import warnings

        warnings.warn(
            f"torchvision_cpu_shim: torchvision's _C did not load ({REASON}); "
            f"defined schemas {sorted(missing)} so torchvision imports without its compiled ops"
        )


class _Finder(importlib.abc.MetaPathFinder):
    """Runs _prepare once, just before the torchvision package is first imported."""

    def __init__(self) -> None:
        self._busy = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torchvision" or self._busy:
            return None
        self._busy = True
        try:
            sys.meta_path.remove(self)  # one shot
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.submodule_search_locations:
                try:
                    _prepare(list(spec.submodule_search_locations)[0])
                except Exception as error:  # never break an import that might work anyway
                    global REASON
                    REASON = f"shim failed: {type(error).__name__}: {error}"
        finally:
            self._busy = False
        return None  # let the normal finders import torchvision


def install() -> None:
    if os.environ.get("TORCHVISION_CPU_SHIM", "1") == "0":
        return
    if "torchvision" in sys.modules:
        return
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
