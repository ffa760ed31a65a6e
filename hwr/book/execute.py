"""Execute one chapter with papermill and keep its record.

``run_chapter`` writes, under ``results/<profile>/<chapter>/``:

- ``<chapter>.ipynb``: the executed notebook in the form a reader downloads
  (:func:`hwr.book.notebook.reader_notebook`);
- ``run.json``: commit, parameters, versions, hardware, duration, input hash;
- ``log.txt``: what the chapter's long work printed (:mod:`hwr.book.page`).

A failed execution never replaces the last good notebook and record: it
leaves ``<chapter>.failed.ipynb`` and ``run.failed.json`` beside them and
raises a one-line :class:`~hwr.book.RunnerError` that says where they are.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

from hwr import __version__, paths, provenance
from hwr.book import RunnerError
from hwr.book.chapters import chapter_parameters, effective_parameters, read_notebook, results_dir
from hwr.book.notebook import reader_notebook
from hwr.files import RunLock

#: the lock file of a chapter's results folder, held while ``hwr run`` executes it
RUN_LOCK = ".run.lock"


def show(path: Path) -> str:
    """A path relative to the repository when it lies inside it."""
    try:
        return str(Path(path).relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def imported_modules(nb) -> list[Path]:
    """The ``hwr`` source files a chapter imports directly (``import hwr.x``,
    ``from hwr.x import y``, ``from hwr import x``); a package counts with its
    ``__init__.py``. Cells that do not parse are skipped."""
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.split(".")[0] == "hwr")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "hwr":
                names.add(node.module)
                names.update(f"{node.module}.{a.name}" for a in node.names)
    parents = {".".join(n.split(".")[:i]) for n in names for i in range(1, n.count(".") + 1)}
    files: set[Path] = set()
    for name in names | parents:  # importing hwr.x.y runs hwr/__init__.py and hwr/x/__init__.py too
        base = paths.ROOT.joinpath(*name.split("."))
        if (base / "__init__.py").is_file():
            files.add(base / "__init__.py")
        elif base.with_suffix(".py").is_file():
            files.add(base.with_suffix(".py"))
    return sorted(files)


def input_hash(chapter: Path, params: dict[str, Any], nb=None) -> str:
    """What decides whether a chapter must run again: its source, its
    parameters, the ``hwr`` version and the sources of the ``hwr`` modules it
    imports directly (see :func:`imported_modules`). A change deeper in
    ``hwr`` that should re-execute chapters needs ``hwr run --force``."""
    nb = nb if nb is not None else read_notebook(chapter)
    h = hashlib.sha256()
    h.update(chapter.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    h.update(__version__.encode())
    for f in imported_modules(nb):
        h.update(str(f.relative_to(paths.ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _recorded_ok(out_dir: Path, stem: str, digest: str) -> bool:
    """The chapter's executed notebook is kept in ``out_dir`` and its run record says it ran ok from
    inputs hashing to ``digest``."""
    run_json, out_nb = out_dir / "run.json", out_dir / f"{stem}.ipynb"
    if not (run_json.exists() and out_nb.exists()):
        return False
    previous = json.loads(run_json.read_text())
    return previous.get("status") == "ok" and previous.get("input_hash") == digest


def is_current(chapter: Path, profile: str) -> bool:
    """Would ``hwr run`` keep this chapter's execution under ``profile`` (no parameter overrides) as it is?"""
    nb = read_notebook(chapter)
    digest = input_hash(chapter, chapter_parameters(chapter, profile, None, nb), nb)
    return _recorded_ok(results_dir(profile, chapter.stem), chapter.stem, digest)


@contextlib.contextmanager
def kernel_environment(log: Path):
    """Environment variables the chapter's kernel inherits, restored afterwards."""
    values = {
        # Figures reach the notebook as outputs only with the inline backend,
        # even when the caller runs headless with Agg.
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        # Progress bars off by default (a bar that sets disable= itself still
        # draws: hwr.book.page.records sends it to the log).
        "TQDM_DISABLE": "1",
        # Where hwr.book.page sends warnings and long work's output.
        "HWR_RUN_LOG": str(log),
        # Idle kernel threads must not spin while data workers share the cores.
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _failure(err: Exception) -> str:
    """One line for a failed execution: the exception name and message."""
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    first = str(evalue).strip().splitlines()[0] if str(evalue).strip() else ""
    return f"{ename}: {first}" if first else ename


def _execute(nb, partial: Path, params: dict[str, Any], log: Path, progress: bool) -> Exception | None:
    """Execute ``nb`` into ``partial`` with papermill; the error of a failed execution, None when it ran.

    A KeyboardInterrupt is not a failed execution: it propagates.
    """
    import papermill

    with kernel_environment(log):
        try:
            papermill.execute_notebook(nb, str(partial), parameters=params, kernel_name="python3",
                                       cwd=str(paths.BOOK), progress_bar=progress)
        except Exception as e:  # papermill's execution error, a dead kernel, a timeout
            return e
    return None


def run_chapter(chapter: Path, profile: str, overrides: dict[str, Any] | None = None,
                force: bool = False, progress: bool = True) -> Path:
    """Execute one chapter; returns the executed notebook's path.

    Raises:
        RunnerError: unknown profile, parameter or type (before anything
            runs), or a failed execution (after keeping the failed notebook).
        RunFolderError: another ``hwr run`` is executing this chapter.
    """
    nb = read_notebook(chapter)
    params = chapter_parameters(chapter, profile, overrides, nb)
    out_dir = results_dir(profile, chapter.stem)
    out_nb = out_dir / f"{chapter.stem}.ipynb"
    digest = input_hash(chapter, params, nb)
    if not force and _recorded_ok(out_dir, chapter.stem, digest):
        print(f"[hwr run] {chapter.stem}: inputs unchanged, kept {show(out_nb)}")
        return out_nb
    out_dir.mkdir(parents=True, exist_ok=True)
    # one `hwr run` of a chapter at a time: two would write one notebook and one record from two executions
    with RunLock(out_dir, RUN_LOCK):
        return _run_locked(chapter, profile, nb, params, digest, out_dir, progress)


def _run_locked(chapter: Path, profile: str, nb, params: dict, digest: str, out_dir: Path, progress: bool) -> Path:
    """:func:`run_chapter` once it holds the chapter's lock.

    The execution writes its log to ``log.running.txt``; it becomes ``log.txt``
    only when the chapter ran, and ``log.failed.txt`` when it failed or was
    interrupted, so the last good run's log is never overwritten by a bad one.
    """
    import nbformat

    out_nb, run_json = out_dir / f"{chapter.stem}.ipynb", out_dir / "run.json"
    failed_nb, failed_json = out_dir / f"{chapter.stem}.failed.ipynb", out_dir / "run.failed.json"
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items())
    print(f"[hwr run] {chapter.stem} with profile {profile!r}: {shown}", flush=True)
    partial = out_dir / f".{chapter.stem}.running.ipynb"
    log, running_log, failed_log = out_dir / "log.txt", out_dir / "log.running.txt", out_dir / "log.failed.txt"
    running_log.write_text("")
    source = show(chapter)
    started = time.time()
    error = None
    try:
        error = _execute(nb, partial, params, running_log, progress)
        status = "failed" if error else "ok"
        final_log = failed_log if error else log
        record = provenance.collect(params, started, profile=profile, chapter=chapter.stem, source=source,
                                    input_hash=digest, status=status, log=show(final_log),
                                    effective_params=effective_parameters(nb, params))
        target_nb, target_json = (failed_nb, failed_json) if error else (out_nb, run_json)
        if partial.exists():
            done = nbformat.read(partial, as_version=4)
            reader_notebook(done, params, source, show(target_nb), str(paths.ROOT))
            done.metadata["hwr"] = {"profile": profile, "input_hash": digest, "status": status}
            nbformat.write(done, target_nb)
        os.replace(running_log, final_log)
    finally:
        # Kept as the executed or failed notebook above, or cut short by Ctrl-C (a KeyboardInterrupt
        # is no failed execution: it passes through): a half-written notebook that no record
        # describes must not stay behind in the results, and its log is a failed one
        partial.unlink(missing_ok=True)
        if running_log.exists():
            os.replace(running_log, failed_log)
    target_json.write_text(json.dumps(record, indent=2) + "\n")
    if error:
        kept = f"; the last good run stays in {show(out_nb)}" if out_nb.exists() else ""
        raise RunnerError(f"{chapter.stem} failed ({_failure(error)}); the failed notebook is "
                          f"{show(failed_nb)}, its log {show(failed_log)}{kept}")
    for stale in (failed_nb, failed_json, failed_log):
        stale.unlink(missing_ok=True)
    print(f"[hwr run] {chapter.stem}: ok in {record['duration_s']:.0f} s -> {show(out_nb)}")
    return out_nb
