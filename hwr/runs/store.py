"""Where runs live and how their records are read back.

A store is a folder of run folders, ``results/<profile>/runs/<run_id>/``::

    spec.json         the RunSpec and its full identity
    history.csv       one row per validation (val CER against lines seen and minutes)
    metrics.json      the training summary (best and last validation, speed, stop reason)
    run.json          provenance: commit, versions, hardware, duration
    test.json         test metrics at the best checkpoint (CER, WER, legacy CER, skipped lines)
    predictions.csv   per-line test predictions at the best checkpoint
    arrays.npz        small arrays a figure needs (optional)

    manifest.json     size and digest of each record above, written last (:mod:`hwr.runs.seal`)
    analyses/         analyses computed from the checkpoint, cached (not sealed)
    checkpoints/      last.pt and best.pt: local only, never committed

Everything but ``checkpoints/`` is small and, for the ``book`` profile,
committed, so the book renders from records on a fresh clone. A run counts as
*done* when ``test.json`` exists, its ``spec.json`` holds the same identity,
and its records pass :func:`hwr.runs.seal.verify`; a run that fails that check
is *damaged*, and is neither loaded nor trained over.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hwr.datasets import open_dataset
from hwr.errors import CheckpointError, DamagedRunError
from hwr.evaluation import evaluate
from hwr.files import read_json, write_json
from hwr.metrics import DEGENERATE_LIMIT, degenerate_share
from hwr.models.io import load_model
from hwr.profile import Profile
from hwr.recognize.core import read_line_image, recognize_image
from hwr.runs.seal import verify
from hwr.runs.spec import RunSpec


def _damaged(problems: list[str]):

    more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
    return DamagedRunError(f"damaged run: {problems[0]}{more}; `hwr runs check` lists them, and retraining the run "
                           f"(delete its folder, then `hwr sweep`) replaces it")


@dataclass
class RunRecord:
    """The records of one finished run, loaded lazily."""

    spec: RunSpec
    folder: Path

    @cached_property
    def metrics(self) -> dict:
        return read_json(self.folder / "metrics.json") or {}

    @cached_property
    def test(self) -> dict:
        return read_json(self.folder / "test.json") or {}

    @cached_property
    def provenance(self) -> dict:
        return read_json(self.folder / "run.json") or {}

    @cached_property
    def history(self):
        """``history.csv`` as a DataFrame (one row per validation)."""
        import pandas as pd

        return pd.read_csv(self.folder / "history.csv")

    @cached_property
    def predictions(self):
        """Per-line test predictions: id, reference, hypothesis, distance."""
        import pandas as pd

        return pd.read_csv(self.folder / "predictions.csv", dtype={"id": str, "reference": str, "hypothesis": str},
                           keep_default_na=False)

    @cached_property
    def degenerate(self) -> float:
        """Share of the test lines whose output looks independent of the image
        (:func:`hwr.metrics.degenerate_share`, from ``predictions.csv``, so runs
        recorded before the metric existed are judged alike)."""
        p = self.predictions
        return degenerate_share(list(p["reference"]), list(p["hypothesis"]))

    @property
    def flagged(self) -> bool:
        """Whether no verdict may rest on this run: its degenerate share is above
        :data:`hwr.metrics.DEGENERATE_LIMIT`, or a minutes cap cut its lines budget short."""
        return self.degenerate > DEGENERATE_LIMIT or bool(self.metrics.get("capped"))

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def device(self) -> str:
        """Where the run trained: ``"CPU"``, or the GPU's name (``metrics.json``'s device, named from
        ``run.json``'s hardware). A verdict never mixes devices (:func:`hwr.runs.verdicts.guarded`)."""
        if str(self.metrics.get("device") or "cpu").startswith("cuda"):
            return (self.provenance.get("hardware") or {}).get("gpu") or "GPU"
        return "CPU"

    @cached_property
    def model(self):
        """The trained model at its best checkpoint, in eval mode on the CPU.

        Raises:
            CheckpointError: the run has no checkpoints here (committed ``book``
                runs keep their records only; ``hwr sweep`` retrains one).
        """
        if not (self.folder / "checkpoints").is_dir():
            raise CheckpointError(f"{self.folder}: no checkpoints here (a committed run keeps its records, not its "
                                  f"weights); retrain it locally with `hwr sweep` or `hwr.train` to get its model")
        return load_model(self.folder, device="cpu")

    def evaluate(self, split: str = "test", data: str | None = None, **kwargs) -> dict:
        """Score the model on ``split`` of its own data (or of ``data``): the
        metrics of :func:`hwr.evaluation.evaluate` (``cer``, ``wer``, ``lines``...)."""
        metrics, _ = evaluate(self.model, open_dataset(data or self.spec.data, split),
                              **{"progress": False, **kwargs})
        return metrics

    def recognize(self, image) -> str:
        """The transcription of one line image: a file path, or H x W uint8 grey (ink dark on white)."""
        import numpy as np

        if not isinstance(image, np.ndarray):
            image = read_line_image(image)
        return recognize_image(self.model, image).text

    @cached_property
    def arrays(self) -> dict:
        """The figure arrays (``arrays.npz``), empty when the run saved none."""
        import numpy as np

        path = self.folder / "arrays.npz"
        if not path.exists():
            return {}
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}


class RunStore:
    """A folder of run folders, such as a profile's (``results/<profile>/runs``: :meth:`of`)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @classmethod
    def of(cls, profile: str) -> "RunStore":
        """The store of ``profile`` (:attr:`hwr.profile.Profile.store_root`)."""
        return cls(Profile.load(profile).store_root)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def folder(self, spec: RunSpec) -> Path:
        return self.root / spec.run_id

    def status(self, spec: RunSpec) -> str:
        """``"done"``, ``"damaged"`` (finished, but its records fail
        :func:`hwr.runs.seal.verify`), ``"started"`` (a folder, no test
        records yet) or ``"missing"``."""
        folder = self.folder(spec)
        if not folder.exists():
            return "missing"
        saved = read_json(folder / "spec.json")
        if saved and saved.get("identity") == spec.identity() and (folder / "test.json").exists():
            return "damaged" if verify(folder) else "done"
        return "started"

    def is_done(self, spec: RunSpec) -> bool:
        return self.status(spec) == "done"

    def problems(self, spec: RunSpec) -> list[str]:
        """Why a finished run is damaged (one line each, naming the file); empty otherwise."""
        return verify(self.folder(spec)) if self.status(spec) == "damaged" else []

    def load(self, spec: RunSpec) -> RunRecord:
        """The records of a done run.

        Raises:
            DamagedRunError: the run finished but its records fail their check
                (names the first damaged file).
            FileNotFoundError: the run has not finished in this store (names
                the folder and the command that fills it).
        """
        status = self.status(spec)
        if status == "damaged":
            raise _damaged(self.problems(spec))
        if status != "done":
            raise FileNotFoundError(f"{self.folder(spec)}: run {spec.label} (seed {spec.seed}) has no records "
                                    f"yet; fill the store with `hwr sweep`")
        return RunRecord(spec, self.folder(spec))

    def finished(self) -> list[tuple[RunSpec, Path]]:
        """Every folder holding a finished run of its own identity, in folder order,
        whether sound or damaged (``hwr runs check`` tells them apart)."""
        out = []
        if not self.root.is_dir():
            return out
        for folder in sorted(self.root.iterdir()):
            saved = read_json(folder / "spec.json") if folder.is_dir() else None
            if saved and isinstance(saved.get("spec"), dict) and (folder / "test.json").exists():
                spec = RunSpec.from_dict(saved["spec"])
                if spec.run_id == folder.name:  # a folder of another engine or identity is not this run
                    out.append((spec, folder))
        return out

    def records(self) -> list[RunRecord]:
        """Every finished run in the store, whichever study declared it, in folder order.

        Raises:
            DamagedRunError: one of them is damaged (a store-wide count must not
                silently leave a run out).
        """
        out = []
        for spec, folder in self.finished():
            problems = verify(folder)
            if problems:
                raise _damaged(problems)
            out.append(RunRecord(spec, folder))
        return out

    def write_spec(self, spec: RunSpec) -> None:

        self.folder(spec).mkdir(parents=True, exist_ok=True)
        write_json(self.folder(spec) / "spec.json", {"spec": spec.to_dict(), "run_id": spec.run_id,
                                                     "identity": spec.identity()})
