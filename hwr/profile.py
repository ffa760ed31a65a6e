"""A parameter profile (``smoke``, ``book``, ``full``), read once from ``configs/``.

Everything that differs between profiles is asked of a :class:`Profile`:

>>> p = Profile.load("book")
>>> p.seeds, p.smoke, p.task_name, p.data          # (0, 1, 2), False, the book task, its data
>>> p.store_root                                    # results/book/runs
>>> p.latency, p.word_tasks, p.names_task           # measurement settings, the seed chapters' tasks

``configs/<name>.yaml`` holds four parts:

- ``description``;
- ``defaults``: parameters injected into every chapter that declares them
  (``data`` is also the data of a task that leaves it open);
- ``chapters``: ``{chNN_slug: {parameter: value}}``;
- ``profile``: the settings below (each optional; a missing one keeps the
  default of :class:`Profile`).

The profile's task is named in ``configs/tasks.yaml`` (``profiles:``), beside
the tasks themselves, and read from there (:mod:`hwr.training.task`).
A name with no configuration file gets every default (one seed, not smoke):
tests and notebooks make such profiles for their own stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from hwr import paths
from hwr.errors import RunnerError
from hwr.files import read_yaml

#: top-level parts of ``configs/<name>.yaml``
PARTS = ("description", "defaults", "chapters", "profile")


class ProfileError(RunnerError):
    """A profile that is missing or malformed (one line naming the file)."""


def _book_latency() -> dict:
    return {"width": None, "line_width": 750, "steps": 45, "repeats": 3, "warmup": 1}


@dataclass(frozen=True)
class Profile:
    """One profile's settings.

    Attributes:
        name: the profile's name (``configs/<name>.yaml``).
        description: what the profile is for.
        defaults: parameters injected into every chapter that declares them.
        chapters: chapter stem -> its parameters.
        seeds: the seeds a study trains when it names none (a verdict needs three).
        smoke: numbers of this profile only show that the code runs (pages say so).
        latency: CPU latency measurement settings (:mod:`hwr.runs.latency`):
            ``width`` (None: each model's own), ``line_width``, ``steps``,
            ``repeats``, ``warmup``.
        word_tasks: seed 004's (handwritten, printed) single-word tasks.
        names_task: seed 003's names task.
        peers_minutes: the peers' training budget (None: the task's minutes).
        run_end: model -> {analysis: parameters} that every finished run of the model records
            beside the family's (:data:`hwr.runs.analyses.RUN_END`): what the chapters read of the
            trained model, with the chapters' parameters under this profile, since the checkpoint
            stays on the machine that trained it (``tests/test_run_end.py`` keeps the two in step).
    """

    name: str
    description: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    chapters: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    smoke: bool = False
    latency: Mapping[str, Any] = field(default_factory=_book_latency)
    word_tasks: tuple[str, str] = ("words-32-cosine", "printed-words-32-cosine")
    names_task: str = "names-64-cosine"
    peers_minutes: float | None = None
    run_end: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)

    @staticmethod
    def load(name: str) -> "Profile":
        """The profile ``name`` (cached until its file changes). A name without a configuration file gets
        the defaults; use :func:`read` to require the file."""
        path = config_path(name)
        return _load(name, str(path), path.stat().st_mtime_ns if path.exists() else None)

    @property
    def data(self) -> str | None:
        """The profile's data source (``defaults.data``): the data of a task that leaves it open."""
        return self.defaults.get("data")

    @property
    def first_seed(self) -> tuple[int, ...]:
        """The first seed alone: for runs that only describe (no verdict rests on them)."""
        return self.seeds[:1]

    @property
    def task_name(self) -> str | None:
        """The name of the profile's task in ``configs/tasks.yaml`` (None: not chosen yet)."""
        # deferred on purpose: the task file belongs to the training package, whose import loads torch,
        # and a profile is read by code that needs neither
        from hwr.training.task import load_tasks

        return load_tasks()[1].get(self.name)

    @property
    def store_root(self) -> Path:
        """The profile's run store, ``results/<name>/runs``."""
        return paths.RESULTS / self.name / "runs"

    @property
    def results(self) -> Path:
        """The profile's results folder, ``results/<name>``."""
        return paths.RESULTS / self.name

    @staticmethod
    def of_store(root: Path) -> "Profile | None":
        """The profile whose run store is ``root`` (``results/<name>/runs`` with a ``configs/<name>.yaml``),
        or None for a store of no profile (a test's, a scratch one)."""
        root = Path(root)
        if root.name == "runs" and config_path(root.parent.name).exists():
            return Profile.load(root.parent.name)
        return None

    def chapter(self, stem: str) -> dict[str, Any]:
        """The parameters this profile sets for chapter ``stem`` (empty when none)."""
        return dict(self.chapters.get(stem) or {})


def config_path(name: str) -> Path:
    return paths.CONFIGS / f"{name}.yaml"


def known() -> list[str]:
    """The profiles with a configuration file."""
    return sorted(p.stem for p in paths.CONFIGS.glob("*.yaml") if p.stem != "tasks")


def check_shape(cfg: Any, where: str) -> None:
    """Refuse a profile whose parts are not mappings (``defaults: 5``): the
    lookups that follow would fail with a Python error that names no file.

    Raises:
        ProfileError: naming the file and the part.
    """
    if not isinstance(cfg, dict):
        raise ProfileError(f"{where}: a profile is a mapping (defaults, chapters), not {type(cfg).__name__}")
    unknown = set(cfg) - set(PARTS)
    if unknown:
        raise ProfileError(f"{where}: unknown top-level keys {sorted(unknown)} (expected {', '.join(PARTS)})")
    for part in ("defaults", "chapters", "profile"):
        value = cfg.get(part)
        if value is not None and not isinstance(value, dict):
            raise ProfileError(f"{where}: {part!r} must be a mapping of name: value, not "
                               f"{type(value).__name__} {value!r}")
    for chapter, section in (cfg.get("chapters") or {}).items():
        if section is not None and not isinstance(section, dict):
            raise ProfileError(f"{where}: chapters.{chapter} must be a mapping of parameter: value, not "
                               f"{type(section).__name__} {section!r}")
    settable = {f.name for f in fields(Profile)} - {"name", "description", "defaults", "chapters"}
    stray = set(cfg.get("profile") or {}) - settable
    if stray:
        raise ProfileError(f"{where}: profile settings {sorted(stray)} are unknown "
                           f"(known: {', '.join(sorted(settable))})")


def read_config(name: str) -> dict[str, Any]:
    """The parsed, shape-checked ``configs/<name>.yaml``.

    Raises:
        ProfileError: the file is missing, is not YAML, or has the wrong shape.
    """
    path = config_path(name)
    if not path.exists():
        raise ProfileError(f"no profile {name!r} (configs/{name}.yaml is missing); profiles: {', '.join(known())}")
    try:
        cfg = read_yaml(path) or {}
    except ValueError as e:  # not YAML, or a key given twice
        raise ProfileError(str(e)) from None
    check_shape(cfg, f"configs/{name}.yaml")
    return cfg


def read(name: str) -> Profile:
    """The profile ``name`` from its file (not cached).

    Raises:
        ProfileError: the file is missing or malformed.
    """
    cfg = read_config(name)
    settings = dict(cfg.get("profile") or {})
    if "seeds" in settings:
        settings["seeds"] = tuple(int(s) for s in settings["seeds"])
    if "word_tasks" in settings:
        settings["word_tasks"] = tuple(settings["word_tasks"])
    if "latency" in settings:
        settings["latency"] = {**_book_latency(), **settings["latency"]}
    return Profile(name=name, description=str(cfg.get("description") or "").strip(),
                   defaults=dict(cfg.get("defaults") or {}), chapters=dict(cfg.get("chapters") or {}), **settings)


@lru_cache(maxsize=None)
def _load(name: str, path: str, mtime: int | None) -> Profile:
    # keyed by the file and its modification time, so that an edited or relocated configuration is read again
    return read(name) if mtime is not None else Profile(name=name)
