"""Book tasks: the data and training conditions an experiment runs under.

A task is data, read from ``configs/tasks.yaml``: the dataset, the model
input height, the training recipe (batch size, peak learning rate,
schedule) and the budget in minutes. The thesis's own conditions are the
task ``thesis``; the other entries are the candidates for the book's task
(issue 8 §4), measured with ``hwr bench task``. Every setting that departs
from the thesis is a field here, so it ends up in the run's identity (the
model overrides and the :class:`~hwr.training.config.TrainConfig`) and can be
stated in the book.

``profiles`` in the same file names the task of each profile (``full``
keeps the thesis's conditions; ``book`` stays open until the measurement
has chosen).

Fields of a task (all optional but ``description``):

- ``data``: a dataset source ("synth:phrases", a path); None: the profile's
  ``defaults.data``.
- ``input_height``: model input height (32, 64, 128); None: each model's own
  (64, or 128 for ``attn2d_h8_in128``). A model whose own height is above the
  thesis's 64 keeps its ratio to it (``attn2d_h8_in128`` reads a 32-pixel
  task's lines at 64).
- ``gate_margin``: true gives every gated seq2seq model the input margin
  that makes its memory as wide as a gate-less model's
  (:func:`hwr.models.registry.gate_margin`; model override ``margin``).
- ``lines``, ``val_every``: a budget in training lines and the validation
  period (:class:`~hwr.training.config.TrainConfig`); the schedule then ends at
  the budget.
- ``aux_ctc``, ``tf_start``: the auxiliary CTC loss's weight and the start
  of a teacher-forcing schedule, for seq2seq models (:data:`SEQ2SEQ_ONLY`:
  CTC models train without them).
- ``schedule_lines``: length of a learning-rate schedule in training lines
  (converted to ``schedule_steps`` with the batch size, rounding up), as one
  number or per model: ``{default: 30000, ctc_baseline: 60000}``.
- any :class:`~hwr.training.config.TrainConfig` field that decides the result
  (``batch_size``, ``lr``, ``schedule``, ``warmup``, ``lr_floor``,
  ``minutes``, ``epochs``, ``val_subset``, ...).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from hwr import paths
from hwr.errors import ConfigError, UnknownNameError
from hwr.files import read_yaml
from hwr.models.registry import MODELS, gate_margin, model_config
from hwr.training.config import EXECUTION_FIELDS, TrainConfig

#: TrainConfig fields that only an attention decoder uses: a CTC model's runs leave them out, so that
#: recipes differing only in them share the CTC runs
SEQ2SEQ_ONLY = ("aux_ctc", "tf_start")
TASK_KEYS = {"description", "data", "input_height", "schedule_lines", "gate_margin"}
#: the input height of the thesis's models but one (its high-resolution variant reads at 128)
THESIS_HEIGHT = 64
_TRAIN_KEYS = {f.name for f in dataclasses.fields(TrainConfig)} - EXECUTION_FIELDS - {"seed", "schedule_steps"}


def _family(model: str) -> str | None:
    """The family of a registry model (None for a name the registry does not know)."""
    return MODELS[model].family if model in MODELS else None


def tasks_path() -> Path:

    return paths.CONFIGS / "tasks.yaml"


@dataclass(frozen=True)
class Task:
    """One book task.

    Attributes:
        name: its key in ``configs/tasks.yaml``.
        description: one line for tables.
        data: dataset source, None for the profile's.
        input_height: model input height, None for each model's own.
        schedule_lines: schedule length in lines (int, or {model or "default": int}).
        train: TrainConfig fields (result-deciding ones only).
        gate_margin: give gated seq2seq models the margin of :func:`hwr.models.registry.gate_margin`.
    """

    name: str
    description: str = ""
    data: str | None = None
    input_height: int | None = None
    schedule_lines: int | dict | None = None
    train: dict = field(default_factory=dict)
    gate_margin: bool = False

    def overrides(self, model: str = "") -> dict:
        """Model overrides this task implies for ``model`` (``input_height``, and
        ``margin`` for a gated model when the task sets ``gate_margin``)."""
        out = {} if self.input_height is None else {"input_height": self.input_height}
        own = model_config(model).input_height if model else THESIS_HEIGHT
        if out and own > THESIS_HEIGHT:
            # the thesis's high-resolution variant reads lines at twice its others' height: at a task's
            # height it keeps that ratio, or it would be the same network as its low-resolution twin
            out["input_height"] = self.input_height * own // THESIS_HEIGHT
        if self.gate_margin and model:

            cfg = model_config(model, **out)
            if cfg.family == "seq2seq" and getattr(cfg, "gates", 0):
                out["margin"] = gate_margin(cfg)
        return out

    def config(self, model: str = "", seed: int = 0, **execution) -> TrainConfig:
        """The training config of ``model`` under this task.

        Args:
            model: registry name (picks a per-model ``schedule_lines``).
            seed: the run's seed.
            **execution: execution fields (threads, progress, ...) and, for
                tests and smoke runs, other TrainConfig fields to replace.
        """
        fields = {**self.train, "seed": seed, **execution}
        if model and _family(model) != "seq2seq":  # settings of attention decoders only
            for key in SEQ2SEQ_ONLY:
                fields.pop(key, None)
        lines = self.schedule_lines
        if isinstance(lines, dict):
            lines = lines.get(model, lines.get("default"))
        if lines and "schedule_steps" not in execution:
            fields["schedule_steps"] = math.ceil(lines / fields.get("batch_size", TrainConfig.batch_size))
        return TrainConfig(**fields)

    def settings_for(self, model: str) -> dict:
        """:meth:`settings` as they apply to ``model``."""
        return {**self.settings(), **self.overrides(model)}

    def source(self, profile_data: str | None = None) -> str:
        """The dataset source: the task's, else the profile's, else the default synthetic set."""
        return self.data or profile_data or "synth:default"

    def settings(self) -> dict:
        """Everything that defines the task, flat (for tables and the book)."""
        return {"data": self.data, "input_height": self.input_height, **self.train,
                **({"schedule_lines": self.schedule_lines} if self.schedule_lines else {}),
                **({"gate_margin": True} if self.gate_margin else {})}


def _parse(name: str, raw: dict, path: Path) -> Task:
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: task {name!r} must be a mapping of settings, got {type(raw).__name__}")
    unknown = sorted(set(raw) - TASK_KEYS - _TRAIN_KEYS)
    if unknown:
        raise ConfigError(f"{path}: task {name!r} has unknown setting(s) {unknown}; "
                          f"known: {sorted(TASK_KEYS | _TRAIN_KEYS)}")
    train = {k: v for k, v in raw.items() if k in _TRAIN_KEYS}
    task = Task(name, str(raw.get("description", "")).strip(), raw.get("data"), raw.get("input_height"),
                raw.get("schedule_lines"), train, bool(raw.get("gate_margin", False)))
    try:
        task.config(task.name)  # refuse bad values now, not an hour into a sweep
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path}: task {name!r}: {e}") from None
    return task


def load_tasks(path: str | Path | None = None) -> tuple[dict[str, Task], dict[str, str | None]]:
    """All tasks and the profile -> task name map of ``configs/tasks.yaml``.

    Raises:
        FileNotFoundError: naming the file when it is missing.
        ConfigError: (a ValueError) naming the file, and the task for a bad entry.
    """
    path = Path(path) if path else tasks_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no task file")
    raw = read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a task file is a mapping (description, tasks, profiles), not {type(raw).__name__}")
    unknown = sorted(set(raw) - {"description", "tasks", "profiles"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level keys {unknown} (expected description, tasks, profiles)")
    for part in ("tasks", "profiles"):  # `tasks: 5` would fail below with a Python error naming no file
        if raw.get(part) is not None and not isinstance(raw[part], dict):
            raise ConfigError(f"{path}: {part!r} must be a mapping, not {type(raw[part]).__name__}")
    tasks = {name: _parse(name, body or {}, path) for name, body in (raw.get("tasks") or {}).items()}
    profiles = dict(raw.get("profiles") or {})
    for profile, name in profiles.items():
        if name is not None and name not in tasks:
            raise ConfigError(f"{path}: profile {profile!r} names unknown task {name!r}")
    return tasks, profiles


def get_task(name: str, path: str | Path | None = None) -> Task:
    """One task by name.

    Raises:
        UnknownNameError: (a KeyError) listing the known tasks.
    """
    tasks, _ = load_tasks(path)
    if name not in tasks:
        raise UnknownNameError(f"{path or tasks_path()}: no task {name!r}; tasks: {', '.join(tasks)}")
    return tasks[name]


def profile_task(profile: str, path: str | Path | None = None) -> Task | None:
    """The task of a profile, None while it is not chosen yet.

    Raises:
        UnknownNameError: (a KeyError) the file names no task for ``profile``; lists the profiles it has.
    """
    tasks, profiles = load_tasks(path)
    if profile not in profiles:
        raise UnknownNameError(f"{path or tasks_path()}: profile {profile!r} has no entry under 'profiles' "
                               f"(profiles: {', '.join(profiles) or 'none'})")
    name = profiles[profile]
    return None if name is None else tasks[name]
