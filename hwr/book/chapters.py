"""Chapters, their declared parameters and the profiles that set them.

A profile ``configs/<profile>.yaml`` holds ``defaults`` (injected into every
chapter that declares them) and ``chapters: {chNN_slug: {...}}``. ``-p`` overrides
come last. A name the chapter's parameters cell does not declare, or a value
of another type than the declared one, is refused before anything runs
(papermill itself would only warn, or fail deep inside the chapter).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hwr import paths
from hwr.book import RunnerError
from hwr.profile import read_config


def chapters() -> list[Path]:
    """Chapter sources in book order (``_toc.yml``), then any others in ``book/``."""
    order: list[Path] = []
    toc = yaml.safe_load((paths.ROOT / "_toc.yml").read_text())

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            f = node.get("file")
            if f and (paths.ROOT / f"{f}.py").exists():
                order.append(paths.ROOT / f"{f}.py")
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    return order + [p for p in sorted(paths.BOOK.glob("ch*.py")) if p not in order]


def named(name: str) -> list[Path]:
    """The chapters ``name`` can mean: ``ch01`` or ``ch01_data`` -> ``[book/ch01_data.py]``."""
    return [p for p in chapters() if p.stem == name or p.stem.startswith(name + "_")]


def resolve_chapter(name: str) -> Path:
    """``ch01``, ``ch01_data`` or ``book/ch01_data.py`` -> the chapter's path."""
    path = Path(name)
    if path.suffix == ".py" and path.exists():
        return path.resolve()
    matches = named(path.stem)
    if len(matches) != 1:
        known = ", ".join(p.stem for p in chapters())
        what = "no chapter" if not matches else "several chapters"
        raise RunnerError(f"{what} named {name!r}; chapters: {known}")
    return matches[0]


def read_notebook(path: Path):
    """The chapter as a notebook object (jupytext), every cell with a tags list."""
    import jupytext

    nb = jupytext.read(path)
    for cell in nb.cells:  # papermill expects every cell to carry a tags list
        cell.metadata.setdefault("tags", [])
    return nb


def declared_parameters(nb) -> dict[str, dict[str, Any]]:
    """The parameters cell's names with their type name, default and help text."""
    from papermill.inspection import _infer_parameters

    return {p.name: {"type": p.inferred_type_name, "default": p.default, "help": p.help}
            for p in _infer_parameters(nb)}


#: declared type name -> the Python types a value may have
TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,),
                                      "list": (list,), "dict": (dict,)}


def check_type(chapter: str, name: str, value: Any, declared: str, source: str, default: Any = None) -> None:
    """Refuse ``value`` when the chapter declares ``name`` with another type,
    or when a number is out of range (see :func:`check_range`).

    Undeclared or unusual types (``None``, unions) are not checked.
    """
    allowed = TYPES.get(declared)
    if allowed is None:
        return
    if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
        raise RunnerError(f"{chapter}: parameter {name!r} from {source} is {type(value).__name__} "
                          f"{value!r}, but the chapter declares {declared}")
    if declared in ("int", "float"):
        check_range(chapter, name, value, default, source)


def check_range(chapter: str, name: str, value: int | float, default: Any, source: str) -> None:
    """Refuse a numeric parameter below its range.

    Every number a chapter declares is a count, a size, a width or a budget
    (lines shown, beam width, minutes), so it must be positive; one declared
    with the default 0 (a seed) may be 0 but not negative. A count of -3 was
    accepted and a count of 0 failed deep in the chapter with a misleading
    message about the data.

    Raises:
        RunnerError: naming the chapter, the parameter, its source and the rule.
    """
    zero_allowed = _literal(default) == 0
    if zero_allowed and not value >= 0:  # `not >=`: a YAML .nan is refused too
        raise RunnerError(f"{chapter}: parameter {name!r} from {source} must be 0 or more, got {value!r}")
    if not zero_allowed and not value > 0:
        raise RunnerError(f"{chapter}: parameter {name!r} from {source} must be positive (a count, size or "
                          f"budget), got {value!r}")


def _literal(text: Any) -> Any:
    """A declared default (papermill gives its source text) as a value; the text itself when not a literal."""
    import ast

    try:
        return ast.literal_eval(text) if isinstance(text, str) else text
    except (ValueError, SyntaxError):
        return text


def load_profile(profile: str) -> dict[str, Any]:
    """The parsed ``configs/<profile>.yaml`` (:func:`hwr.profile.read_config`), refusing a chapter
    section that names no chapter of ``book/``.

    Raises:
        RunnerError: the file is missing or malformed, or a section names no chapter.
    """
    cfg = read_config(profile)
    # a misspelt chapter section ("ch01_dat") would leave that chapter on its defaults without a word
    stems = {p.stem for p in paths.BOOK.glob("*.py")} if paths.BOOK.is_dir() else set()
    strays = sorted(set(cfg.get("chapters") or {}) - stems) if stems else []
    if strays:
        raise RunnerError(f"configs/{profile}.yaml: chapter section(s) {strays} name no chapter of book/; "
                          f"chapters: {', '.join(sorted(stems))}")
    return cfg


def chapter_parameters(chapter: Path, profile: str, overrides: dict[str, Any] | None = None,
                       nb=None) -> dict[str, Any]:
    """Parameters to inject: profile defaults the chapter declares, the
    profile's chapter section, then ``overrides``.

    Raises:
        RunnerError: a name the chapter does not declare, or a value whose
            type differs from the declared one.
    """
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
    for name, value in params.items():
        check_type(chapter.name, name, value, declared[name]["type"],
                   "-p" if name in (overrides or {}) else f"configs/{profile}.yaml", declared[name]["default"])
    return params


def effective_parameters(nb, params: dict[str, Any]) -> dict[str, Any]:
    """Every declared parameter with the value a run gets: ``params`` where
    given, else the declared default (a literal; left as source text otherwise)."""
    return {name: params[name] if name in params else _literal(p["default"])
            for name, p in declared_parameters(nb).items()}


def results_dir(profile: str, chapter: str) -> Path:
    """Where a chapter's executed notebook, run.json and artefacts live."""
    return paths.RESULTS / profile / chapter
