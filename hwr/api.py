"""The front door for notebooks: train, load, evaluate and plot runs in a few lines.

::

    import hwr
    run = hwr.train("gate_1", data="synth:smoke", lines=2000)   # a resumable, recorded run
    hwr.plots.learning_curves([run, hwr.load_run("ctc_baseline-s0-c2fc032b99")])

A run trained here is a run of the store like any chapter's: it is named by
everything that determines its result (:class:`hwr.runs.RunSpec`), trained by
:func:`hwr.runs.execute.execute`, tested at its best checkpoint and sealed, and
it comes back as the same :class:`Run` that :func:`load_run` gives for a
committed ``book`` run. Training the same thing twice returns the first run.
"""

from __future__ import annotations

from pathlib import Path

from hwr.errors import HwrError
from hwr.paths import RESULTS
from hwr.runs.spec import RunSpec
from hwr.runs.store import RunRecord, RunStore

#: a finished run: records, and (with its checkpoint) its model
Run = RunRecord

#: where :func:`train` keeps the runs trained from a notebook
NOTEBOOK_STORE = RESULTS / "notebook" / "runs"


def train(model: str, data: str = "synth:smoke", lines: int | None = None, *, seed: int = 0,
          overrides: dict | None = None, store: str | Path | None = None, threads: int = 1,
          device: str = "auto", **settings) -> Run:
    """Train ``model`` on ``data`` for ``lines`` training lines, test it, and return the run.

    Args:
        model: a registry name (:func:`list_models`), e.g. ``"gate_1"``.
        data: ``"synth:<preset>"`` or a dataset path (train/valid/test splits).
        lines: the budget in training lines; the learning-rate schedule ends
            there, and the run validates five times along it (``val_every``).
            None keeps the :class:`~hwr.training.TrainConfig` default budget.
        seed: the training seed.
        overrides: model configuration fields to change (``{"hidden": 128}``).
        store: the run store folder (default ``results/notebook/runs``).
        threads, device: how to run; not part of the run's identity.
        settings: other :class:`~hwr.training.TrainConfig` fields (``batch_size``,
            ``lr``, ``aux_ctc``...).

    Returns:
        the finished :class:`Run` (trained now, or found in the store).
    """
    from hwr.runs.execute import execute

    if lines is not None:
        settings["lines"] = int(lines)
        # five validations along the budget, for a learning curve (one for a budget of a few batches)
        settings.setdefault("val_every", max(int(lines) // 5, 1))
    spec = RunSpec(model, data, seed, dict(overrides or {}), settings)
    root = Path(store) if store is not None else NOTEBOOK_STORE
    execute(spec, root, threads=threads, device=device, log=False)
    return RunStore(root).load(spec)


def load_run(run: str | Path) -> Run:
    """A finished run, by folder path or by run id (searched in every ``results/<profile>/runs``).

    Raises:
        HwrError: no such run, or an id found in several stores (give the path).
        DamagedRunError: its records fail their check (:mod:`hwr.runs.seal`).
    """
    from hwr.files import read_json

    path = Path(run)
    if not path.is_dir():
        found = sorted(RESULTS.glob(f"*/runs/{path.name}"))
        if not found:
            raise HwrError(f"no run {str(run)!r}: neither a run folder nor a run id in {RESULTS}/*/runs")
        if len(found) > 1:
            raise HwrError(f"run id {str(run)!r} is in {len(found)} stores ({', '.join(map(str, found))}); "
                           f"give its folder")
        path = found[0]
    saved = read_json(path / "spec.json")
    if not saved or not isinstance(saved.get("spec"), dict):
        raise HwrError(f"{path}: not a run folder (no readable spec.json)")
    return RunStore(path.parent).load(RunSpec.from_dict(saved["spec"]))


def study(chapter: str, profile: str = "smoke"):
    """The :class:`~hwr.runs.Study` a chapter declares under ``profile``
    (``study("ch09", "book").records()`` reads its committed runs)."""
    from hwr.runs.studies import study as chapter_study

    return chapter_study(chapter, profile)


def list_models():
    """Every model of the registry: name, family, source (thesis or seed
    project) and description, as a DataFrame."""
    import pandas as pd

    from hwr.models.registry import MODELS

    return pd.DataFrame([{"model": name, "family": entry.family, "source": entry.source,
                          "description": entry.description} for name, entry in MODELS.items()])
