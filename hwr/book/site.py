"""Stage the executed chapters with their boxes, and build the website.

The book is built by jupyter-book from ``_build/stage``, a copy of the book
sources where each chapter is its executed notebook from ``results/<profile>``,
so every output shown is the one recorded there. Staging adds to each chapter:

- under its title, a box "this page was executed with" made from ``run.json``;
- at its end, a "re-run this page" box with the exact commands and downloads
  of the chapter's jupytext source and executed notebook;

and replaces the ``% RUN RECORDS`` line of ``book/reproducibility.md`` with
tables generated from every chapter's ``run.json``, and the ``% RUN CHANGELOG``
line of ``book/changelog.md`` with the run store's history
(:mod:`hwr.book.changelog`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from html import escape as html_escape
from html import unescape as html_unescape
from pathlib import Path
from typing import Any

from hwr import paths
from hwr.book import RunnerError, changelog
from hwr.book.chapters import chapters, named, results_dir
from hwr.book.execute import show
from hwr.book.notebook import website_notebook
from hwr.files import read_yaml
from hwr.profile import Profile

MARKER = "% RUN RECORDS"


def stage_dir() -> Path:
    return paths.BUILD / "stage"


def read_record(profile: str, chapter: str) -> dict[str, Any]:
    path = results_dir(profile, chapter) / "run.json"
    if not path.exists():
        raise RunnerError(f"{show(path)} is missing: run `hwr run {chapter} --profile {profile}` first")
    return json.loads(path.read_text())


def _when(record: dict) -> str:
    started = record.get("started")
    try:
        return dt.datetime.fromisoformat(started).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (TypeError, ValueError):
        return str(started)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def machine(record: dict) -> str:
    """``2 cores of Intel Xeon ..., 8 GB, no GPU`` from a record's hardware."""
    hw = record.get("hardware", {})
    gpu = hw.get("gpu") or "no GPU"
    mem = f", {hw['memory_gb']:g} GB" if hw.get("memory_gb") else ""
    return f"{hw.get('cores', '?')} cores of {hw.get('cpu', '?')}{mem}, {gpu}"


def commit(record: dict, short: bool = False) -> str:
    """The commit's first 10 hex digits, and whether the tree had uncommitted changes."""
    c = (record.get("commit") or "unknown")[:10]
    if record.get("dirty"):
        c += "*" if short else " (with uncommitted changes)"
    return c


def executed_box(record: dict) -> str:
    """The MyST admonition under a chapter's title."""
    values = record.get("effective_params") or record.get("params", {})  # defaults included
    params = ", ".join(f"{k} = `{v}`" for k, v in values.items() if k != "profile")
    return "\n".join([
        ":::{admonition} This page was executed with",
        ":class: hwr-run note",
        f"**profile** `{record.get('profile')}` · {params or 'no parameters'}  ",
        f"**commit** `{commit(record)}` · **date** {_when(record)} · "
        f"**duration** {_duration(record.get('duration_s'))}  ",
        f"**machine** {machine(record)}",
        ":::",
    ])


def repository_url() -> str:
    """The book's repository, ``repository.url`` in ``_config.yml`` (empty when not set)."""
    path = paths.ROOT / "_config.yml"
    config = (read_yaml(path) or {}) if path.is_file() else {}
    return str((config.get("repository") or {}).get("url") or "").strip()


def clone_text() -> str:
    """Where a reader clones the book from: a link where ``_config.yml`` names the repository, else
    how to name it (never a dead link)."""
    url = repository_url()
    if url:
        return f"From a clone of [the repository]({url}) (`git clone {url}`):"
    return ("From a clone of the repository (its address is not published with this build: whoever "
            "publishes the book sets `repository.url` in `_config.yml`):")


def rerun_box(chapter: str, record: dict) -> str:
    """The MyST admonition at a chapter's end: commands and downloads."""
    profile = record.get("profile", "smoke")
    overrides = " ".join(f"-p {k} {json.dumps(v) if isinstance(v, str) and ' ' in v else v}"
                         for k, v in record.get("params", {}).items() if k != "profile")
    short = chapter.split("_")[0]  # ch07, or appendix while it names one page only
    if len(named(short)) > 1:
        short = chapter
    lines = ["# once: the pinned environment, fonts and texts", "make venv assets",
             f"# this page as published (profile {profile})", f".venv/bin/hwr run {short} --profile {profile}"]
    if overrides:
        lines += ["# the same with every parameter spelled out (change one to explore)",
                  f".venv/bin/hwr run {short} --profile {profile} {overrides}"]
    if not Profile.load(profile).smoke:
        lines += ["# a quick check that it runs (tiny data, seconds)", f".venv/bin/hwr run {short} --profile smoke"]
    lines += ["# render the website from the recorded runs", f".venv/bin/hwr run --build-only --profile {profile}"]
    return "\n".join([
        ":::{admonition} Re-run this page",
        ":class: hwr-rerun tip",
        f"This page took {_duration(record.get('duration_s'))} on {machine(record)}. " + clone_text(),
        "",
        "```bash",
        *lines,
        "```",
        "",
        f"Downloads: the chapter's source {{download}}`{chapter}.py <../src/{chapter}.py>` (jupytext, "
        f"opens as a notebook in Jupyter with jupytext) and the executed notebook "
        f"{{download}}`{chapter}.ipynb <../src/{chapter}.ipynb>`.",
        ":::",
    ])


def _markdown_cell(source: str):
    import nbformat

    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata["tags"] = []
    return cell


def stage_chapter(chapter: Path, profile: str, stage: Path) -> None:
    """Copy one executed chapter into the stage with its two boxes."""
    import nbformat

    executed = results_dir(profile, chapter.stem) / f"{chapter.stem}.ipynb"
    if not executed.exists():
        raise RunnerError(f"{chapter.stem} has not been run with profile {profile!r}: "
                          f"run `hwr run {chapter.stem} --profile {profile}` first")
    record = read_record(profile, chapter.stem)
    (stage / "src").mkdir(exist_ok=True)
    shutil.copy2(chapter, stage / "src" / chapter.name)
    shutil.copy2(executed, stage / "src" / executed.name)
    nb = website_notebook(nbformat.read(executed, as_version=4))
    title = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
                  and c.source.lstrip().startswith("# ")), -1)
    nb.cells.insert(title + 1, _markdown_cell(executed_box(record)))
    nb.cells.append(_markdown_cell(rerun_box(chapter.stem, record)))
    nbformat.write(nb, stage / "book" / executed.name)


def run_records(profile: str) -> str:
    """Markdown tables of every chapter's ``run.json`` for the appendix."""
    records = {}
    for ch in chapters():
        path = results_dir(profile, ch.stem) / "run.json"
        if path.exists():
            records[ch.stem] = json.loads(path.read_text())
    if not records:
        return f"No chapter has been run with profile `{profile}` yet."
    # plain tables, not numbered {table}s: the appendix is unnumbered, so numbered tables here would make the
    # peers appendix's first table "Table 3" (Sphinx counts across unnumbered pages)
    out = [f"The chapters of this build ran with profile `{profile}`. **The run of every chapter**, from its "
           "`run.json`:", "",
           "| chapter | status | commit | date | duration | machine |",
           "|:---|:---|:---|:---|---:|:---|"]
    for name, r in records.items():
        when = _when(r).replace(" ", "\u00a0")  # a date and time that do not wrap
        out.append(f"| {{doc}}`{name}` | {r.get('status')} | `{commit(r, short=True)}` | {when} | "
                   f"{_duration(r.get('duration_s'))} | {machine(r)} |")
    out += [""]
    if any(r.get("dirty") for r in records.values()):
        out += ["\\* the checkout had uncommitted changes when the chapter ran.", ""]
    first = next(iter(records.values()))
    versions = {k: v for k, v in first.get("versions", {}).items() if v}
    same = all(r.get("versions") == first.get("versions") for r in records.values())
    out += ["**Package versions**" + (", the same for every chapter:" if same else
                                       " of the first chapter (the others differ, see their `run.json`):"),
            "", "| package | version |", "|:---|:---|"]
    out += [f"| {k} | {v} |" for k, v in versions.items()]
    return "\n".join(out)


#: the pinned MathJax (data/package.json) and the parts of it a page loads: the combined TeX + CHTML
#: component, the fonts it draws with, and the TeX extensions it loads on demand
MATHJAX = paths.NODE_MODULES / "mathjax" / "es5"
MATHJAX_PARTS = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions")


def stage_mathjax(target: Path) -> None:
    """Copy the pinned MathJax into the book's static files, so that every equation renders offline
    (``_config.yml`` points ``mathjax_path`` at it instead of a CDN).

    Raises:
        RunnerError: the npm packages are not installed (``make assets`` installs them).
    """
    if not (MATHJAX / MATHJAX_PARTS[0]).is_file():
        raise RunnerError(f"{MATHJAX}: MathJax is missing; install the pinned npm packages with `make assets` "
                          "(npm ci --prefix data)")
    for part in MATHJAX_PARTS:
        source, dest = MATHJAX / part, target / part
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(source, dest)


def stage_book(profile: str) -> Path:
    """A copy of the book sources where each chapter is its executed notebook."""
    stage = stage_dir()
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(paths.ROOT / name, stage / name)
    for p in paths.BOOK.iterdir():
        if p.suffix in (".md", ".bib"):
            shutil.copy2(p, stage / "book" / p.name)
    if (paths.BOOK / "_static").exists():  # jupyter-book takes CSS, JS and the favicon from <root>/_static
        shutil.copytree(paths.BOOK / "_static", stage / "_static")
    # not under _static: jupyter-book loads every .js file there on every page (MathJax's extensions too)
    stage_mathjax(stage / "_vendor" / "mathjax")
    from hwr.ship.web import stage_reader  # lazy: it imports torch to export the shipped models

    stage_reader(stage / "_vendor")  # the page "Read a line": onnxruntime-web and the shipped models
    appendix = stage / "book" / "reproducibility.md"
    if appendix.exists():
        appendix.write_text(appendix.read_text().replace(MARKER, run_records(profile)))
    changes = stage / "book" / "changelog.md"
    if changes.exists():
        changes.write_text(changes.read_text().replace(changelog.MARKER, changelog.changelog_markdown(profile)))
    if paths.FIGS.exists():
        shutil.copytree(paths.FIGS, stage / "figs")
    for chapter in chapters():
        stage_chapter(chapter, profile, stage)
    return stage


_THEBE = re.compile(r'^\s*<script>const THEBE_JS_URL[^\n]*</script>\n', re.M)


def _once(pattern: re.Pattern, text: str) -> str:
    """``text`` with every match of ``pattern`` after the first removed."""
    seen = []
    return pattern.sub(lambda m: "" if seen or seen.append(1) else m.group(0), text)


_FIGURE = re.compile(r"<figure\b[^>]*>.*?</figure>", re.S)
_CAPTION_TEXT = re.compile(r'<span class="caption-text">(.*?)</span>', re.S)
_IMG_ALT = re.compile(r'(<img\b[^>]*?\balt=")([^"]*)(")')


def first_sentence(caption_html: str) -> str:
    """A caption's first sentence as plain text, for an image's alt text."""
    text = re.sub(r"\s+", " ", html_unescape(re.sub(r"<[^>]+>", "", caption_html))).strip()
    return re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]


def describe_figures(page: str) -> str:
    """Every captioned figure's image with its caption's first sentence as alt text (Sphinx writes the
    image's file name there, which a screen reader reads out)."""
    def one(m: re.Match) -> str:
        caption = _CAPTION_TEXT.search(m.group(0))
        if not caption:
            return m.group(0)
        alt = html_escape(first_sentence(caption.group(1)), quote=True)
        return _IMG_ALT.sub(lambda a: a.group(1) + alt + a.group(3), m.group(0))

    return _FIGURE.sub(one, page)


def finish_html(html: Path, stage: Path) -> None:
    """After the build: the reader's notebooks behind the theme's download
    button, each page's thebe settings declared once (sphinx-thebe adds
    the same ``const`` script twice under Sphinx 7, a console error), and
    each figure's alt text taken from its caption (:func:`describe_figures`)."""
    for nb in (stage / "src").glob("*.ipynb"):
        target = html / "_sources" / "book" / nb.name
        if target.parent.exists():
            shutil.copy2(nb, target)
    for page in html.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = describe_figures(_once(_THEBE, text))
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def build_book(profile: str, strict: bool = True) -> Path:
    """Render the book with jupyter-book; returns ``_build/html/index.html``."""
    stage = stage_book(profile)
    jb = Path(sys.executable).with_name("jupyter-book")  # the venv's own, never a global one
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(stage), "--path-output", str(paths.BUILD.parent)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    print("[hwr run] jupyter-book " + " ".join(cmd[1:]), flush=True)
    proc = subprocess.run(cmd, cwd=paths.ROOT)
    if proc.returncode:
        raise RunnerError(f"jupyter-book build failed (exit {proc.returncode}); see the log above")
    finish_html(paths.BUILD / "html", stage)
    index = paths.BUILD / "html" / "index.html"
    print(f"[hwr run] book: {show(index)}")
    return index
