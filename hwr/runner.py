"""Run book chapters with a parameter profile, record provenance, build the book.

A chapter is a jupytext percent-format ``book/chNN_slug.py``. Running it:

1. reads the profile ``configs/<profile>.yaml`` (``defaults`` for every
   chapter that declares them, then ``chapters: {chNN_slug: {...}}``) and any
   ``-p key value`` overrides; a parameter the chapter's parameters cell does
   not declare is refused (papermill itself would only warn);
2. skips the chapter when its inputs (chapter source, parameters, the ``hwr``
   sources) are unchanged since the last successful run;
3. executes it with papermill into ``results/<profile>/<chapter>/<chapter>.ipynb``
   and writes ``run.json`` (commit, parameters, versions, hardware, duration).

The book is then built by jupyter-book from a staging folder that holds the
executed notebooks in place of the ``.py`` sources, so every output shown is
the one recorded in ``results/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from hwr import provenance
from hwr.paths import BOOK, BUILD, CONFIGS, RESULTS, ROOT

STAGE = BUILD / "stage"


class RunnerError(RuntimeError):
    """A chapter or profile that cannot be run as asked."""


# ---------------------------------------------------------------- chapters
def chapters() -> list[Path]:
    """Chapter sources in book order (``_toc.yml``), then any others found."""
    order: list[Path] = []
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            f = node.get("file")
            if f and (ROOT / f"{f}.py").exists():
                order.append(ROOT / f"{f}.py")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    extra = [p for p in sorted(BOOK.glob("ch*.py")) if p not in order]
    return order + extra


def resolve_chapter(name: str) -> Path:
    """``ch01``, ``ch01_data`` or ``book/ch01_data.py`` -> the chapter's path."""
    path = Path(name)
    if path.suffix == ".py" and path.exists():
        return path.resolve()
    stem = path.stem
    matches = [p for p in chapters() if p.stem == stem or p.stem.startswith(stem + "_")]
    if len(matches) != 1:
        known = ", ".join(p.stem for p in chapters())
        what = "no chapter" if not matches else "several chapters"
        raise RunnerError(f"{what} named {name!r}; chapters: {known}")
    return matches[0]


def read_notebook(path: Path):
    import jupytext

    nb = jupytext.read(path)
    for cell in nb.cells:  # papermill expects every cell to carry a tags list
        cell.metadata.setdefault("tags", [])
    return nb


def declared_parameters(nb) -> dict[str, dict[str, Any]]:
    """The parameters cell's names with their type, default and help text."""
    from papermill.inspection import _infer_parameters

    return {p.name: {"type": p.inferred_type_name, "default": p.default, "help": p.help}
            for p in _infer_parameters(nb)}


# ---------------------------------------------------------------- profiles
def load_profile(profile: str) -> dict[str, Any]:
    path = CONFIGS / f"{profile}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.yaml")))
        raise RunnerError(f"no profile {profile!r} ({path} is missing); profiles: {known}")
    cfg = yaml.safe_load(path.read_text()) or {}
    unknown = set(cfg) - {"defaults", "chapters", "description", "task"}
    if unknown:
        raise RunnerError(f"{path}: unknown top-level keys {sorted(unknown)}")
    return cfg


def chapter_parameters(chapter: Path, profile: str, overrides: dict[str, Any] | None = None,
                       nb=None) -> dict[str, Any]:
    """Parameters to inject: profile defaults the chapter declares, the
    profile's chapter section, then ``overrides``. Unknown names are refused."""
    nb = nb if nb is not None else read_notebook(chapter)
    declared = declared_parameters(nb)
    cfg = load_profile(profile)
    params = {k: v for k, v in (cfg.get("defaults") or {}).items() if k in declared}
    if "profile" in declared:
        params["profile"] = profile
    for source, values in ((f"configs/{profile}.yaml", (cfg.get("chapters") or {}).get(chapter.stem) or {}),
                           ("-p", overrides or {})):
        unknown = sorted(set(values) - set(declared))
        if unknown:
            raise RunnerError(
                f"{chapter.name}: unknown parameter(s) {unknown} from {source}; "
                f"the chapter declares: {', '.join(declared) or 'none'}")
        params.update(values)
    return params


def results_dir(profile: str, chapter: str) -> Path:
    """Where a chapter's executed notebook, run.json and artefacts live."""
    return RESULTS / profile / chapter


# ---------------------------------------------------------------- running
def _show(path: Path) -> str:
    """A path relative to the repository when it lies inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _hwr_sources_hash() -> str:
    h = hashlib.sha256()
    for p in sorted((ROOT / "hwr").rglob("*.py")):
        h.update(str(p.relative_to(ROOT)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def input_hash(chapter: Path, params: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(chapter.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    h.update(_hwr_sources_hash().encode())
    return h.hexdigest()[:16]


def run_chapter(chapter: Path, profile: str, overrides: dict[str, Any] | None = None,
                force: bool = False, progress: bool = True) -> Path:
    """Execute one chapter; returns the executed notebook's path.

    Raises:
        RunnerError: unknown profile or parameter.
        papermill.PapermillExecutionError: a cell failed (the partly executed
            notebook is kept for inspection and run.json says ``failed``).
    """
    import papermill

    nb = read_notebook(chapter)
    params = chapter_parameters(chapter, profile, overrides, nb)
    out_dir = results_dir(profile, chapter.stem)
    out_nb = out_dir / f"{chapter.stem}.ipynb"
    run_json = out_dir / "run.json"
    digest = input_hash(chapter, params)
    if not force and run_json.exists() and out_nb.exists():
        previous = json.loads(run_json.read_text())
        if previous.get("status") == "ok" and previous.get("input_hash") == digest:
            print(f"[hwr run] {chapter.stem}: inputs unchanged, kept {_show(out_nb)}")
            return out_nb
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"[hwr run] {chapter.stem} with profile {profile!r}: {params}", flush=True)
    # Kernel threads must not spin while data workers share the two cores.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Figures must reach the notebook as PNG outputs (glue, display): the kernel
    # needs the inline backend even when the caller runs headless with Agg.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    started = time.time()
    status = "failed"
    try:
        papermill.execute_notebook(nb, str(out_nb), parameters=params, kernel_name="python3",
                                   cwd=str(BOOK), progress_bar=progress)
        status = "ok"
    finally:
        record = provenance.collect(params, started, profile=profile, chapter=chapter.stem,
                                    source=str(chapter.relative_to(ROOT)), input_hash=digest,
                                    status=status)
        run_json.write_text(json.dumps(record, indent=2) + "\n")
        if out_nb.exists():  # papermill records a temporary input path; point it at the source
            import nbformat

            done = nbformat.read(out_nb, as_version=4)
            done.metadata.setdefault("papermill", {})["input_path"] = str(chapter.relative_to(ROOT))
            done.metadata["hwr"] = {"profile": profile, "input_hash": digest, "status": status}
            nbformat.write(done, out_nb)
    print(f"[hwr run] {chapter.stem}: {status} in {record['duration_s']:.0f} s -> {_show(out_nb)}")
    return out_nb


# ---------------------------------------------------------------- building
def stage_book(profile: str) -> Path:
    """A copy of the book sources where each chapter is its executed notebook."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, STAGE / name)
    for p in BOOK.iterdir():
        if p.suffix in (".md", ".bib") or p.is_dir() and not p.name.startswith((".", "_")):
            (shutil.copytree if p.is_dir() else shutil.copy2)(p, STAGE / "book" / p.name)
    if (ROOT / "figs").exists():
        shutil.copytree(ROOT / "figs", STAGE / "figs")
    for chapter in chapters():
        executed = results_dir(profile, chapter.stem) / f"{chapter.stem}.ipynb"
        if not executed.exists():
            raise RunnerError(f"{chapter.stem} has not been run with profile {profile!r}: "
                              f"run `hwr run {chapter.stem} --profile {profile}` first")
        shutil.copy2(executed, STAGE / "book" / executed.name)
        # chapter artefacts (figures saved next to the notebook) travel too
    return STAGE


def build_book(profile: str, strict: bool = True) -> Path:
    """Render the book with jupyter-book; returns ``_build/html/index.html``."""
    stage = stage_book(profile)
    jb = Path(sys.executable).with_name("jupyter-book")  # the venv's own, never a global one
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(stage), "--path-output", str(BUILD.parent)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    print("[hwr run] jupyter-book " + " ".join(cmd[1:]), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode:
        raise RunnerError(f"jupyter-book build failed (exit {proc.returncode}); see the log above")
    index = BUILD / "html" / "index.html"
    print(f"[hwr run] book: {index}")
    return index


# ---------------------------------------------------------------- command line
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("chapters", nargs="*", metavar="CHAPTER",
                        help="chapters to run (ch01, ch01_data or book/ch01_data.py); default: all")
    parser.add_argument("--profile", default="smoke", help="parameter profile in configs/ (default: smoke)")
    parser.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a chapter parameter (value parsed as YAML)")
    parser.add_argument("--force", action="store_true", help="run even if the inputs did not change")
    parser.add_argument("--build", dest="build", action="store_true", default=None,
                        help="render the book afterwards (default when running all chapters)")
    parser.add_argument("--no-build", dest="build", action="store_false", help="do not render the book")
    parser.add_argument("--build-only", action="store_true", help="only render the book from existing runs")
    parser.add_argument("--list", action="store_true", help="list chapters and their parameters")


def main(args: argparse.Namespace) -> int:
    try:
        if args.list:
            for ch in chapters():
                params = declared_parameters(read_notebook(ch))
                print(ch.stem)
                for name, p in params.items():
                    print(f"    {name}: {p['type']} = {p['default']}  {p['help']}")
            return 0
        if not args.build_only:
            selected = [resolve_chapter(c) for c in args.chapters] or chapters()
            overrides = {k: yaml.safe_load(v) for k, v in args.param}
            if overrides and len(selected) > 1:
                raise RunnerError("-p overrides apply to one chapter at a time; name the chapter")
            for ch in selected:
                run_chapter(ch, args.profile, overrides, force=args.force)
        build = args.build if args.build is not None else (args.build_only or not args.chapters)
        if build:
            build_book(args.profile)
    except RunnerError as e:
        print(f"hwr run: error: {e}", file=sys.stderr)
        return 2
    return 0
