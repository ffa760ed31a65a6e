"""The trainer's view of the data: splits, a fixed validation subset, loaders.

``data`` is either a source for :func:`hwr.datasets.open_dataset` ("synth",
"synth:smoke", a folder or Parquet file) or a dict of datasets with keys
``"train"`` and ``"valid"`` (``"validation"`` is accepted too).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from hwr.augment import Augmenter
from hwr.datasets import open_dataset
from hwr.paths import ROOT
from hwr.preprocess import make_loader

_VALID_KEYS = ("valid", "validation", "val")


def resolve_data(data) -> tuple[object, object, dict]:
    """The train and validation datasets of ``data`` and a JSON description of them.

    The description (source, split sizes, a fingerprint of ids and texts) is part of a run's identity: a
    finished run is reused only for the same data.

    Raises:
        KeyError: for a dict without a train or validation split.
    """
    if isinstance(data, dict):
        if "train" not in data:
            raise KeyError(f"train(data=...): the dict needs a 'train' dataset, has {sorted(data)}")
        key = next((k for k in _VALID_KEYS if k in data), None)
        if key is None:
            raise KeyError(f"train(data=...): the dict needs a 'valid' dataset, has {sorted(data)}")
        train_ds, valid_ds = data["train"], data[key]
        source = {k: getattr(v, "name", type(v).__name__) for k, v in (("train", train_ds), ("valid", valid_ds))}
    else:

        train_ds, valid_ds = open_dataset(data, "train"), open_dataset(data, "valid")
        source = describe_source(data)
    return train_ds, valid_ds, {"source": source, "train": len(train_ds), "valid": len(valid_ds),
                                "fingerprint": fingerprint(train_ds, valid_ds)}


def fingerprint(*datasets) -> str:
    """A short hash of the ids and texts of ``datasets`` (no image decoding):
    a regenerated or edited dataset is another dataset, even under the same name."""
    h = hashlib.sha1()
    for ds in datasets:
        ids = getattr(ds, "ids", None)
        texts = getattr(ds, "texts", None)
        if ids is None or texts is None:
            ids, texts = zip(*((it.id, it.text) for it in ds)) if len(ds) else ((), ())
        for i, t in zip(ids, texts):
            h.update(f"{i}\t{t}\n".encode())
        h.update(b"\f")
    return h.hexdigest()[:16]


def describe_source(source) -> str:
    """A stable name for a data source: paths relative to the repository when inside it."""
    text = os.fspath(source)
    path = Path(text)
    if not path.exists():
        return text  # a named source such as "synth" or "synth:smoke"
    path = path.resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def validation_subset(dataset, n: int | None):
    """A fixed subset of ``n`` evenly spaced lines (all when ``n`` is None),
    ordered by width so that validation batches need little padding."""
    total = len(dataset)
    if total == 0:
        raise ValueError(f"the validation split of {getattr(dataset, 'name', dataset)!r} is empty")
    if n is None or n >= total:
        indices = np.arange(total)
    else:
        indices = np.unique(np.linspace(0, total - 1, n).round().astype(int))
    sizes = dataset.sizes()
    # Width after scaling to a common height is what decides the padding.
    aspect = np.array([sizes[i][1] / max(1, sizes[i][0]) for i in indices])
    order = indices[np.argsort(aspect, kind="stable")].tolist()
    return dataset.subset(order)


#: decoder steps of a seq2seq model at inference (thesis: 98, the last for EOS)
DECODE_STEPS = 98


def without_undecodable(dataset, family: str, steps: int = DECODE_STEPS):
    """The training lines a seq2seq decoder can ever read, and (source, reason) of the others.

    A text of ``steps`` characters or more needs more decoder steps than the
    model takes at inference (its EOS included), so training on it only costs
    time: one 16,000-character label makes every batch it joins run 16,000
    decoder steps. Such lines are left out and reported as skipped. CTC models
    and datasets without such lines are returned as they are.
    """
    if family != "seq2seq":
        return dataset, []
    long = [i for i, text in enumerate(dataset.texts) if len(text) + 1 > steps]
    if not long:
        return dataset, []
    sources = getattr(dataset, "sources", dataset.ids)
    skipped = [(str(sources[i]), f"its text has {len(dataset.texts[i])} characters; the decoder reads at most "
                                 f"{steps - 1}") for i in long]
    drop = set(long)
    return dataset.subset([i for i in range(len(dataset)) if i not in drop]), skipped


def train_loader(dataset, config, height: int, pin_memory: bool = False, shard: tuple[int, int] | None = None,
                 min_width: int | None = None):
    """Width-bucketed training loader; call ``loader.batch_sampler.set_epoch(e)``
    before each epoch: the order of epoch ``e`` depends on (seed, e) only, so a
    resumed run sees the same batches as an uninterrupted one. ``shard``:
    ``(rank, world_size)`` of a distributed run, which loads only this rank's
    share of each global batch of ``config.batch_size`` lines. ``min_width``:
    the model's narrowest input (narrower batches are padded to it)."""
    augment = Augmenter(config.augment, config.seed) if config.augment else None
    return make_loader(dataset, config.batch_size, train=True, height=height, workers=config.workers,
                       seed=config.seed, pin_memory=pin_memory, shard=shard, min_width=min_width, augment=augment)


def valid_loader(subset, config, height: int, pin_memory: bool = False, min_width: int | None = None):
    """Loader over the validation subset, in the subset's (width-sorted) order."""
    return make_loader(subset, config.batch_size, train=False, height=height, fixed_width=config.val_width,
                       workers=config.workers, pin_memory=pin_memory, min_width=min_width)
