"""Line images -> model inputs: the thesis preprocessing, batching and loaders.

Thesis conditions (thesis spec §1): grey uint8, ink dark on white; pad with
white, 16 px top and bottom and 32 px left and right; resize with bilinear
interpolation so the height is 64, keeping the aspect ratio; scale to [0, 1]
(no mean/std normalisation). Batches are right-padded by repeating the last
column ("edge replication"), to the widest line of the batch in training or
to a fixed width (1408 at height 64) in evaluation.

The padding is added in source pixels, before the resize: at another input
height (128 for one thesis variant, 32 for a book-task candidate) it stays
the same share of the line, so a height-32 input is the height-64 input
halved (evaluation width 704 = 1408 / 2).

Training batches group lines of similar width (:class:`hwr.datasets.sampler.BucketBatchSampler`):
with random batches most of each batch is padding, since line widths vary by
a factor of ten; grouping keeps the padding small at the same randomness
between epochs.

A line that cannot be loaded (unreadable image, a file gone missing) must not
kill a long run: the loader skips it, logs a warning naming the file and
counts it in ``loader.bad_items``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

# THESIS_EVAL_WIDTH and prepared_width are re-exported: callers read them from here
from hwr.datasets.geometry import PAD_LEFT_RIGHT, PAD_TOP_BOTTOM, THESIS_EVAL_WIDTH, prepared_width  # noqa: F401
from hwr.datasets.sampler import BucketBatchSampler, ShardedBatchSampler

log = logging.getLogger(__name__)


def prepare(image: np.ndarray, height: int = 64) -> np.ndarray:
    """The thesis preprocessing of one line image.

    Args:
        image: H x W uint8, ink dark on white (an H x W x C array is
            converted to grey).
        height: output height (64, or 128 for the high-resolution variant).

    Returns:
        height x W' float32 in [0, 1], W' = round((W + 64) * height / (H + 32)).

    Raises:
        ValueError: for an empty image or a wrong number of axes.
    """
    image = np.asarray(image)
    if image.ndim == 3:
        image = np.asarray(Image.fromarray(image).convert("L"))
    if image.ndim != 2:
        raise ValueError(f"expected an H x W grey image, got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"empty image (shape {image.shape})")
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {image.dtype}")
    h, w = image.shape
    padded = np.pad(image, ((PAD_TOP_BOTTOM,), (PAD_LEFT_RIGHT,)), constant_values=255)
    resized = Image.fromarray(padded).resize((prepared_width(h, w, height), height), Image.BILINEAR)
    return np.asarray(resized, dtype=np.float32) / 255.0


@dataclass
class BadItem:
    """A line the loader could not prepare (kept for the count and the log)."""

    index: int
    source: str
    error: str


@dataclass
class Batch:
    """A batch of prepared lines.

    Attributes:
        images: B x 1 x H x W float32, right-padded by edge replication.
        widths: B (long), each line's width before padding.
        texts: B transcriptions.
        ids: B line ids.
        skipped: lines of this batch that failed to load (not in the tensors).
    """

    images: torch.Tensor
    widths: torch.Tensor
    texts: list[str]
    ids: list[str]
    skipped: list[BadItem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def to(self, device, non_blocking: bool = False) -> "Batch":
        return Batch(self.images.to(device, non_blocking=non_blocking), self.widths.to(device), self.texts, self.ids, self.skipped)

    def pin_memory(self) -> "Batch":  # called by DataLoader(pin_memory=True)
        return Batch(self.images.pin_memory(), self.widths.pin_memory(), self.texts, self.ids, self.skipped)


def collate(items: Sequence, fixed_width: int | None = None, min_width: int | None = None) -> Batch:
    """Stack prepared lines into a :class:`Batch`.

    Args:
        items: ``(image H x W float32, text, id)`` tuples; :class:`BadItem`
            entries are moved to ``Batch.skipped``.
        fixed_width: pad every line to this width (evaluation); a line wider
            than it keeps its width and widens the batch, with a warning,
            rather than being cut.
        min_width: pad a batch narrower than this to it (a model's
            :func:`~hwr.models.backbone.min_input_width`: a phrase of one
            short word can be narrower than what the unpadded gate blocks
            trim). ``widths`` keep the lines' own widths.
    """
    good = [it for it in items if not isinstance(it, BadItem)]
    bad = [it for it in items if isinstance(it, BadItem)]
    if not good:
        return Batch(torch.zeros(0, 1, 1, 1), torch.zeros(0, dtype=torch.long), [], [], bad)
    heights = {img.shape[0] for img, _, _ in good}
    if len(heights) != 1:
        raise ValueError(f"lines of one batch must share their height, got {sorted(heights)}")
    widths = [img.shape[1] for img, _, _ in good]
    width = max(widths)
    if fixed_width is not None:
        if width > fixed_width:
            log.warning("line %s is %d px wide, more than the fixed width %d: the batch is widened",
                        good[widths.index(width)][2], width, fixed_width)
        width = max(width, fixed_width)
    width = max(width, min_width or 0)
    out = np.empty((len(good), 1, heights.pop(), width), dtype=np.float32)
    for k, (img, _, _) in enumerate(good):
        out[k, 0, :, : img.shape[1]] = img
        out[k, 0, :, img.shape[1]:] = img[:, -1:]  # edge replication
    return Batch(torch.from_numpy(out), torch.tensor(widths, dtype=torch.long),
                 [t for _, t, _ in good], [i for _, _, i in good], bad)


class PreparedLines(Dataset):
    """A line dataset seen through :func:`prepare`; a failing line becomes a
    :class:`BadItem` instead of an exception, so one bad file cannot stop a run."""

    def __init__(self, dataset, height: int = 64, augment=None):
        self.dataset, self.height, self.augment = dataset, height, augment
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """The pass the next items belong to (the augmentation's draw depends on it)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        try:
            item = self.dataset[i]
            image = prepare(item.image, self.height)
            if self.augment is not None:
                image = self.augment(image, index=i, epoch=self.epoch)
            return image, item.text, item.id
        except Exception as e:  # noqa: BLE001 - any failure of one line is counted, not fatal
            sources = getattr(self.dataset, "sources", None)
            source = str(sources[i]) if sources is not None else f"item {i}"
            return BadItem(i, source, f"{type(e).__name__}: {e}")

    def widths(self) -> list[int]:
        """Prepared widths from the dataset's image sizes (headers only)."""
        if hasattr(self.dataset, "sizes"):
            sizes = self.dataset.sizes()
        else:
            sizes = [self.dataset[i].image.shape for i in range(len(self.dataset))]
        return [prepared_width(h, w, self.height) if h and w else 0 for h, w in sizes]


class LineLoader(DataLoader):
    """A DataLoader of :class:`Batch` that logs and counts skipped lines.

    ``bad_items`` lists each line that failed (once, however many epochs it
    failed in; the warning is logged the first time), ``skipped_total`` counts
    every skip. Batches whose lines all failed are not yielded.
    """

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.bad_items: list[BadItem] = []
        self.skipped_total = 0
        self._bad_seen: set[int] = set()

    def __iter__(self):
        for batch in super().__iter__():
            for bad in batch.skipped:
                self.skipped_total += 1
                if bad.index not in self._bad_seen:
                    self._bad_seen.add(bad.index)
                    self.bad_items.append(bad)
                    where = "" if bad.source in bad.error else f" ({bad.source})"
                    log.warning("skipped line %d%s: %s [%d bad lines so far]", bad.index, where, bad.error,
                                len(self.bad_items))
            if len(batch):
                yield batch


class _Collate:
    """Picklable collate function bound to a fixed and a minimum width (for worker processes)."""

    def __init__(self, fixed_width: int | None, min_width: int | None = None):
        self.fixed_width, self.min_width = fixed_width, min_width

    def __call__(self, items):
        return collate(items, self.fixed_width, self.min_width)


def make_loader(dataset, batch_size: int, train: bool, height: int = 64, fixed_width: int | None = None,
                workers: int = 0, seed: int = 0, pool: int = 50, drop_last: bool = False,
                pin_memory: bool = False, shard: tuple[int, int] | None = None,
                min_width: int | None = None, augment=None) -> LineLoader:
    """A loader of :class:`Batch` over a line dataset.

    Args:
        dataset: a :class:`hwr.datasets.LineDataset` (or any sequence of
            items with ``image``, ``text``, ``id``).
        batch_size: lines per batch.
        train: True: width-bucketed batches in a seeded random order that
            changes every epoch (:class:`BucketBatchSampler`); False: dataset
            order.
        height: input height (64 or 128).
        fixed_width: pad every batch to this width (thesis evaluation: 1408
            at height 64, 3225 at 128; see ``THESIS_EVAL_WIDTH``).
        workers: DataLoader worker processes (0 = load in this process).
        seed: seed of the training order.
        pool: batches per sorting pool of the bucketing sampler.
        drop_last: drop incomplete batches (training only).
        pin_memory: pin batches for faster host-to-GPU copies.
        shard: ``(rank, world_size)``: training only, yield this rank's share
            of each global batch (:class:`~hwr.datasets.sampler.ShardedBatchSampler`).
        min_width: pad every batch to at least this width (see :func:`collate`).
        augment: training only, a :class:`hwr.augment.Augmenter` applied to each prepared line; its
            draw follows ``loader.dataset.set_epoch`` (in this process: no workers).

    Raises:
        ValueError: augmentation with worker processes (they would not see the pass change).
    """
    if augment is not None and (not train or workers > 0):
        raise ValueError("augmentation is for training loaders without worker processes (workers=0)")
    prepared = PreparedLines(dataset, height, augment=augment)
    common = dict(collate_fn=_Collate(fixed_width, min_width), num_workers=workers, pin_memory=pin_memory,
                  persistent_workers=workers > 0)
    if train:
        sampler = BucketBatchSampler(prepared.widths(), batch_size, seed=seed, pool=pool, drop_last=drop_last)
        if shard is not None:
            sampler = ShardedBatchSampler(sampler, *shard)
        return LineLoader(prepared, batch_sampler=sampler, **common)
    return LineLoader(prepared, batch_size=batch_size, shuffle=False, **common)
