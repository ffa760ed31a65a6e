"""Execute one run of a store: train, test at the best checkpoint, save the records.

:func:`execute` is what every executor calls, in its own process: a local
pool worker, a submitit job on a SLURM cluster, or the calling process. It is
idempotent and resumable: a done run returns at once, a killed one resumes
from its last checkpoint (:func:`hwr.training.train`), and the test records are
written only once training has finished.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from hwr.datasets import open_dataset
from hwr.decode import transcribe
from hwr.evaluation import evaluate
from hwr.files import write_json
from hwr.models.backbone import min_input_width
from hwr.models.io import load_model
from hwr.preprocess import make_loader
from hwr.profile import Profile
from hwr.runs.analyses import run_end_analyses
from hwr.runs.seal import seal
from hwr.runs.spec import RunSpec
from hwr.runs.store import RunStore
from hwr.training import train
from hwr.training.data import validation_subset

#: test lines whose attention maps (seq2seq) or posteriors (CTC) are kept for figures
FIGURE_LINES = 4


@contextlib.contextmanager
def _log_to(path: Path):
    """Send this process's stdout and stderr to ``path`` (appending) while training:
    a worker's progress belongs in the run's log, not on a chapter's page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        yield log


def figure_arrays(model, dataset, n: int = FIGURE_LINES) -> dict:
    """Small arrays for figures, from the first ``n`` test lines.

    Seq2seq: ``attention_<i>`` (steps x H' x W' or steps x W', float16) and
    ``image_<i>`` (the preprocessed line, uint8). CTC: ``posteriors_<i>``
    (frames x classes, float16) and ``image_<i>``.
    """
    import numpy as np
    import torch

    n = min(n, len(dataset))
    if n == 0:
        return {}

    loader = make_loader(dataset.subset(range(n)), n, train=False, height=model.input_height,
                         min_width=min_input_width(model))
    batch = next(iter(loader))
    out: dict = {}
    with torch.no_grad():
        if model.family == "seq2seq":
            result = transcribe(model, batch.images, batch.widths, attention=True)
            for i in range(n):
                steps = len(result.texts[i]) + 1
                out[f"attention_{i}"] = result.attention[i][:steps].numpy().astype(np.float16)
        else:
            lp = model(batch.images).float()
            for i in range(n):
                out[f"posteriors_{i}"] = lp[i].numpy().astype(np.float16)
    for i in range(n):
        w = int(batch.widths[i])
        out[f"image_{i}"] = (batch.images[i, 0, :, :w].numpy() * 255).round().astype(np.uint8)
        out[f"text_{i}"] = np.array(batch.texts[i])
    return out


def execute(spec: RunSpec | dict, root: str | Path, threads: int = 1, device: str = "auto",
            log: bool = True, allow_dirty: bool = False) -> str:
    """Train ``spec`` into the store at ``root`` and write its test records.

    Args:
        spec: the run (a :class:`RunSpec` or its ``to_dict()``, for pickling-free executors).
        root: the store's folder.
        threads: torch threads for this run (one per run when runs share a machine).
        device: ``"auto"``, ``"cpu"``, ``"cuda"``...
        log: send training output to ``<run>/train.log`` instead of the console.
        allow_dirty: the caller allowed a checkout with uncommitted changes
            (:func:`hwr.runs.executors.refuse_dirty_book_store`); ``test.json`` says so.

    Returns:
        the run id.
    """
    import numpy as np
    import torch

    spec = RunSpec.from_dict(spec) if isinstance(spec, dict) else spec
    store = RunStore(root)
    folder = store.folder(spec)
    if store.is_done(spec):
        return spec.run_id
    store.write_spec(spec)
    started = time.time()
    ctx = _log_to(folder / "train.log") if log else contextlib.nullcontext()
    with ctx:

        config = spec.config(threads=threads, device=device, progress=False)
        train(spec.experiment, spec.data, folder, config, **spec.overrides)
        torch.set_num_threads(threads)
        model = load_model(folder, device="cpu")

        test = open_dataset(spec.data, "test")
        # Batches of lines of similar width, as in validation: the attention models have no padding
        # mask, so a narrow line padded to a wide neighbour's width reads worse (and the thesis's
        # padding of every line to 1408 px is a protocol of its own, kept for `hwr eval --fixed-width`).
        metrics, _ = evaluate(model, validation_subset(test, None), batch_size=16, progress=False,
                              out=folder / "predictions.csv")
        arrays = figure_arrays(model, test)
        if arrays:
            np.savez_compressed(folder / "arrays.npz", **arrays)
        write_json(folder / "test.json", {**metrics, "checkpoint": "best", "split": "test",
                                          "seconds_total": time.time() - started,
                                          **({"allow_dirty": True} if allow_dirty else {})})

        seal(folder)  # last: the manifest's digests and counts make the records check themselves
        print(f"{spec.run_id}: test CER {metrics['cer']:.2%}", file=sys.stderr)

        # what the chapters of the store's profile read of this model, recorded while the checkpoint is here
        profile = Profile.of_store(store.root)
        run_end_analyses(store.load(spec), model.family,
                         extra=dict((profile.run_end if profile else {}).get(spec.experiment, {})))
    return spec.run_id
