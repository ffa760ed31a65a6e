"""Generate a synthetic line dataset on disk, deterministically from its manifest.

Layout of a dataset folder::

    manifest.json                   everything that defines the pixels
    build.json                      how long the build took (not part of the identity)
    <split>/<id>.png                grey uint8, dark ink on white, raw rendered line
    <split>/<id>.gt.txt             transcription + "\\n"
    <split>/<id>.boxes.json         {"chars": [[x0, x1], ...], "chars_unwarped": [...], "writer": name}

Every line is rendered from its own random stream seeded with
``(seed, split, index)``, so the pixels do not depend on the number of
worker processes or on the order the lines are done in.

An existing output folder is replaced only when the generator made it: it
holds a ``manifest.json`` with this generator's fields (``format``
``"hwr-synth-lines"``, ``generator_version``, ``config``) and nothing but the
files listed above. Any other folder that is not empty is refused with
:class:`OutputFolderError` before anything is written or deleted.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from hwr.errors import UnknownNameError
from hwr.synth.render import Renderer

try:
    import fcntl  # POSIX: lets parallel callers of dataset_path wait for one build
except ImportError:  # Windows
    fcntl = None

from hwr import paths
from hwr.errors import HwrError
from hwr.synth import fonts as F
from hwr.synth.config import GENERATOR_VERSION, PRESETS, SPLITS, SynthConfig, plan  # noqa: F401 (re-exported)

MANIFEST_FORMAT = "hwr-synth-lines"
_OWN_TOP = {"manifest.json", "build.json", *SPLITS}
_OWN_SUFFIXES = (".png", ".gt.txt", ".boxes.json")


class OutputFolderError(HwrError, FileExistsError):
    """The output folder exists and is not a dataset this generator made."""


def is_generator_manifest(manifest) -> bool:
    """Whether ``manifest`` (parsed JSON) was written by this generator."""
    return (isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT
            and "generator_version" in manifest and isinstance(manifest.get("config"), dict))


def refuse_foreign_folder(out_dir: Path) -> None:
    """Raise :class:`OutputFolderError` unless ``out_dir`` is missing, empty,
    or a dataset made by this generator holding only its own files."""
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir}: exists and is not a folder; refusing to replace it")
    entries = sorted(out_dir.iterdir())
    if not entries:
        return
    if not is_generator_manifest(read_manifest(out_dir)):
        raise OutputFolderError(f"{out_dir}: exists and is not a synthetic dataset made by this generator (no "
                                f"manifest.json of format {MANIFEST_FORMAT!r}); refusing to replace it, nothing "
                                "was deleted: choose another --out or empty it yourself")
    foreign = [e.name for e in entries if e.name not in _OWN_TOP or (e.name in SPLITS) != e.is_dir()]
    for split in SPLITS:
        if (out_dir / split).is_dir():
            foreign += [f"{split}/{e.name}" for e in sorted((out_dir / split).iterdir())
                        if not (e.is_file() and e.name.endswith(_OWN_SUFFIXES))]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise OutputFolderError(f"{out_dir}: a synthetic dataset, but it also holds files the generator did not "
                                f"write ({shown}); refusing to replace it, nothing was deleted: move them first")


# -- workers -----------------------------------------------------------------
_STATE: dict = {}


def _init_worker(writers: list[F.Writer], seed: int, out: str) -> None:
    _STATE.update(writers={w.name: w for w in writers}, seed=seed, out=out, renderers={})


def png_bytes(image: np.ndarray) -> bytes:
    """Encode a grey uint8 image (H x W) as PNG.

    A direct writer (Sub filter, zlib level 1): Pillow's encoder spends 2-4
    ms per line on its filter search; this one about 0.5 ms, and its output
    depends only on the pixels and the zlib version.
    """
    h, w = image.shape
    raw = np.empty((h, w + 1), np.uint8)
    raw[:, 0] = 1  # filter type Sub: each byte minus its left neighbour
    raw[:, 1] = image[:, 0]
    np.subtract(image[:, 1:], image[:, :-1], out=raw[:, 2:])

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 1)) + chunk(b"IEND", b""))


def _pairs(boxes: np.ndarray) -> str:
    """N x 2 ints as a compact JSON list (json.dump costs 1 ms a line here)."""
    return "[" + ",".join(f"[{a},{b}]" for a, b in boxes.tolist()) + "]"


def _render_chunk(jobs: list[tuple]) -> int:
    for job in jobs:
        _render_job(job)
    return len(jobs)


def _chunks(jobs: list[tuple], size: int = 256) -> list[list[tuple]]:
    """Jobs grouped by writer, in pieces of at most ``size``, largest first:
    a writer's lines then mostly go to one worker, which builds that
    writer's glyph cache once (cold caches were half the build time)."""
    by_writer: dict[str, list[tuple]] = {}
    for job in jobs:
        by_writer.setdefault(job[4], []).append(job)
    chunks = [group[i:i + size] for group in by_writer.values() for i in range(0, len(group), size)]
    return sorted(chunks, key=len, reverse=True)


def _render_job(job: tuple) -> int:

    split, index, line_id, text, writer = job
    st = _STATE
    r = st["renderers"].get(writer)
    if r is None:
        r = st["renderers"][writer] = Renderer(st["writers"][writer], st["seed"])
    rng = np.random.default_rng([st["seed"], SPLITS.index(split), index])
    out = r.render(text, rng)
    base = os.path.join(st["out"], split, line_id)
    with open(base + ".png", "wb") as f:
        f.write(png_bytes(out.image))
    with open(base + ".gt.txt", "w", encoding="utf-8") as f:
        f.write(text + "\n")
    with open(base + ".boxes.json", "w", encoding="utf-8") as f:
        f.write(f'{{"chars":{_pairs(out.boxes)},"chars_unwarped":{_pairs(out.boxes_unwarped)},'
                f'"writer":{json.dumps(writer)}}}\n')
    return len(text)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS
        return max(1, os.cpu_count() or 1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_leftovers(out_dir: Path) -> list[Path]:
    """Delete the temporary build folders (``.<name>.tmp-PID``, ``.<name>.old-PID``)
    that a killed build of ``out_dir`` left next to it, unless their process
    still runs; returns what was removed."""
    removed = []
    if not out_dir.parent.is_dir():
        return removed
    for kind in ("tmp", "old"):
        for path in out_dir.parent.glob(f".{out_dir.name}.{kind}-*"):
            pid = path.name.rsplit("-", 1)[1]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def generate(config: SynthConfig, out_dir: str | Path, workers: int | None = None,
             progress: bool = True) -> Path:
    """Render the dataset of ``config`` into ``out_dir``.

    The folder is built under a temporary name next to ``out_dir`` and renamed
    at the end, so an interrupted build never leaves a half dataset. An
    existing ``out_dir`` is replaced only if it is empty or a dataset this
    generator made, holding only its own files (see the module docstring).

    Args:
        config: what to generate (see :data:`PRESETS`).
        out_dir: the dataset folder.
        workers: processes (default: the usable CPU cores); the pixels do not
            depend on it.
        progress: show a tqdm bar and print lines/s.

    Returns:
        ``out_dir`` as a Path.

    Raises:
        OutputFolderError: ``out_dir`` exists and may not be replaced.
    """
    out_dir = Path(out_dir)
    if out_dir.is_symlink():  # build and replace what the link points to; the link stays a link
        out_dir = out_dir.resolve()
    refuse_foreign_folder(out_dir)
    remove_leftovers(out_dir)
    manifest, jobs = plan(config)
    writers = F.discover_writers(None, config.families or F.FAMILIES, config.extra_weights)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    for split in SPLITS:
        (tmp / split).mkdir(parents=True)
    workers = max(1, min(workers or default_workers(), len(jobs) or 1))
    from tqdm.auto import tqdm

    start = time.perf_counter()
    try:
        bar = tqdm(total=len(jobs), desc=f"synth -> {out_dir.name}", unit="line", disable=not progress,
                   mininterval=1.0)
        if workers == 1:
            _init_worker(writers, config.seed, str(tmp))
            for job in jobs:
                _render_job(job)
                bar.update()
        else:
            # fork starts workers in milliseconds on Linux; elsewhere fork is
            # unsafe (macOS) or missing (Windows)
            ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            with ctx.Pool(workers, _init_worker, (writers, config.seed, str(tmp))) as pool:
                for n in pool.imap_unordered(_render_chunk, _chunks(jobs)):
                    bar.update(n)
        bar.close()
        seconds = time.perf_counter() - start
        rate = len(jobs) / max(seconds, 1e-9)
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        (tmp / "build.json").write_text(json.dumps(
            {"seconds": round(seconds, 2), "lines_per_second": round(rate, 1), "workers": workers}) + "\n")
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        refuse_foreign_folder(out_dir)  # again: something may have been put there during the build
        if out_dir.exists():
            os.rename(out_dir, old)
        os.rename(tmp, out_dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if progress:
        print(f"synth: {len(jobs)} lines in {seconds:.1f} s = {rate:.0f} lines/s "
              f"({workers} workers) -> {out_dir}", flush=True)
    return out_dir


def read_manifest(dataset_dir: str | Path) -> dict | None:
    """The manifest of a dataset folder, or None when it has none (or one
    that is not JSON: then it is not this generator's)."""
    try:
        return json.loads((Path(dataset_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, UnicodeDecodeError, ValueError):
        return None


def dataset_path(preset: str = "default", build: bool = True, workers: int | None = None,
                 progress: bool = True) -> Path:
    """The folder of a preset's dataset (``data/synth/<preset>``), built on demand.

    Reuses the folder when its manifest matches what the preset would generate
    now (same config, generator, fonts, texts and library versions);
    regenerates it otherwise. A lock file keeps parallel callers from
    building the same preset twice.

    Raises:
        UnknownNameError: (a KeyError) unknown preset; lists the presets.
        FileNotFoundError: missing or stale and ``build`` is False.
    """
    if preset not in PRESETS:

        raise UnknownNameError(f"unknown synthetic preset {preset!r}; choose one of {sorted(PRESETS)}")
    out = paths.SYNTH / preset
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{preset}.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        expected, _ = plan(PRESETS[preset], lines=False)
        if read_manifest(out) == expected:
            return out
        if not build:
            why = "missing" if not out.exists() else "stale (its manifest differs from the preset)"
            raise FileNotFoundError(f"{out}: synthetic dataset {why}; build it with "
                                    f"`hwr data synth --preset {preset}`")
        return generate(PRESETS[preset], out, workers=workers, progress=progress)
