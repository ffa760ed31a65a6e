"""The conditions every system of the comparison shares, in one object.

Same data (the book task's splits exported as ``NAME.png`` + ``NAME.gt.txt``),
same wall-clock budget, same number of threads, one system at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hwr.paths import ROOT

#: where peers' scratch files go (exported splits, models, logs): git-ignored (peers/.gitignore)
WORK = ROOT / "peers"


@dataclass
class Setup:
    """One comparison's shared conditions.

    Attributes:
        profile: the hwr profile whose task decides the data (``book``, ``smoke``).
        source: the dataset source of that task (``synth:phrases``).
        minutes: the training budget of every trained system, wall-clock.
        threads: threads every system may use (kraken ``--threads``, ``OMP_THREAD_LIMIT``, torch threads).
        data: the exported splits, ``data/{train,valid,test}``.
        work: scratch folder for this profile's models and logs.
        kraken_venv: the venv holding kraken (``peers/install_kraken.sh``).
        seed: the training seed of every system that takes one.
        test_limit: score only the first N test lines (0: all), for quick checks.
        commands: every command run, in order, for the records.
    """

    profile: str
    source: str
    minutes: float
    threads: int
    data: Path
    work: Path
    kraken_venv: Path = ROOT / ".venv-kraken"
    seed: int = 0
    test_limit: int = 0
    commands: list = field(default_factory=list)

    def images(self, split: str) -> list[Path]:
        """The exported images of a split, sorted (their names are the line ids)."""
        images = sorted((self.data / split).glob("*.png"))
        if split == "test" and self.test_limit:
            images = images[: self.test_limit]
        return images

    def thread_env(self) -> dict[str, str]:
        """Environment limiting every OpenMP/BLAS pool to :attr:`threads` (Tesseract reads OMP_THREAD_LIMIT)."""
        n = str(self.threads)
        return {"OMP_NUM_THREADS": n, "OMP_THREAD_LIMIT": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n,
                "OMP_WAIT_POLICY": "PASSIVE"}

    @property
    def budget_s(self) -> float:
        return self.minutes * 60
