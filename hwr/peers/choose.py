"""Which of the book's models stand beside the peers: the best CTC and the best seq2seq model.

"Best" is read off the committed run store of the ``book`` profile, never typed in:
among the runs trained on the book task exactly (its data, recipe and budget; model
overrides beyond the task's are allowed, so a chapter's variant counts as a model of
its own), the configuration with the lowest test CER averaged over its seeds, one per
model family. Averaging over seeds keeps a lucky seed from picking the model.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from hwr import paths
from hwr.files import read_json
from hwr.runs.spec import RunSpec
from hwr.runs.study import profile_task, task_spec
from hwr.training.task import get_task


@dataclass(frozen=True)
class Choice:
    """A book model chosen for the comparison.

    Attributes:
        family: ``"ctc"`` or ``"seq2seq"``.
        experiment: registry name.
        overrides: model overrides beyond the task's (a chapter's variant), as sorted pairs.
        variant: the variant's label in its chapter ("" for the model as registered).
        test_cer: mean test CER over its seeds in the book store.
        seeds: how many seeds that mean is over.
        test_cers: each seed's test CER.
        runs: the run ids it was read from.
    """

    family: str
    experiment: str
    overrides: tuple
    variant: str
    test_cer: float
    seeds: int
    runs: tuple
    test_cers: tuple = ()

    @property
    def label(self) -> str:
        return f"{self.experiment} ({self.variant})" if self.variant else self.experiment


def on_task(spec, task) -> bool:
    """Whether a stored run was trained on ``task`` as the task defines it (data, recipe, budget)."""
    if spec.data != task.source():
        return False
    expected = task_spec(task, spec.experiment, spec.seed, model=spec.overrides)
    return expected.train == spec.train and expected.overrides == spec.overrides


def best_models(store_root: str | Path | None = None, task_name: str | None = None) -> dict[str, Choice]:
    """The best configuration of each model family on the book task.

    Args:
        store_root: a run store folder (default ``results/book/runs``).
        task_name: the task (default the ``book`` profile's, ``configs/tasks.yaml``).

    Returns:
        ``{"ctc": Choice, "seq2seq": Choice}`` (a family without any run on the task is absent).
    """
    root = Path(store_root) if store_root is not None else paths.RESULTS / "book" / "runs"
    task = profile_task("book") if task_name is None else get_task(task_name)
    groups: dict[tuple, list] = defaultdict(list)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        saved, test = read_json(folder / "spec.json"), read_json(folder / "test.json")
        if not saved or not test or "cer" not in test:
            continue
        spec = RunSpec.from_dict(saved["spec"])
        if not on_task(spec, task):
            continue
        family = saved.get("identity", {}).get("model", {}).get("family")
        key = (family, spec.experiment, tuple(sorted(spec.overrides.items())))
        groups[key].append((spec, float(test["cer"]), folder.name))
    best: dict[str, Choice] = {}
    for (family, experiment, overrides), runs in groups.items():
        mean = sum(cer for _, cer, _ in runs) / len(runs)
        variant = runs[0][0].variant
        choice = Choice(family, experiment, overrides, variant, mean, len(runs), tuple(r for _, _, r in runs),
                        tuple(cer for _, cer, _ in runs))
        if family and (family not in best or mean < best[family].test_cer):
            best[family] = choice
    return best
