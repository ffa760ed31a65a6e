"""Width-bucketed batches: lines of similar width together, in a seeded order.

Line widths vary by a factor of ten, so a random batch is mostly padding (and
padded columns cost as much compute as real ones). Sorting lines by width
inside large random pools keeps the padding to a few per cent while the
batches still change from one epoch to the next.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler):
    """Batches of lines of similar width, in a random order fixed by the seed.

    Each epoch: shuffle all indices, cut them into pools of ``pool`` batches,
    sort each pool by width, cut it into batches and shuffle the batch order.
    Sorting within a pool keeps padding small; the shuffle before it changes
    which lines meet in a batch from one epoch to the next.

    Args:
        widths: per line, its (prepared) width.
        batch_size: lines per batch.
        seed: the order of epoch ``e`` depends on ``(seed, e)`` only.
        pool: batches per sorting pool (large = less padding, less randomness).
        drop_last: drop the last incomplete batch of each pool.
    """

    def __init__(self, widths: Sequence[int], batch_size: int, seed: int = 0, pool: int = 50, drop_last: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, not {batch_size}")
        self.widths = np.asarray(widths, dtype=np.int64)
        self.batch_size, self.seed, self.pool, self.drop_last = batch_size, seed, pool, drop_last
        self.epoch = 0
        self.start = 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """Make the next iteration produce epoch ``epoch``'s order (for resuming),
        from its batch ``start`` on (the earlier ones are skipped unread: a
        run that validates in the middle of an epoch resumes there)."""
        self.epoch, self.start = epoch, start

    def batches(self, epoch: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, epoch])
        perm = rng.permutation(len(self.widths))
        step = self.batch_size * self.pool
        out: list[list[int]] = []
        for start in range(0, len(perm), step):
            chunk = perm[start : start + step]
            chunk = chunk[np.argsort(self.widths[chunk], kind="stable")]
            for b in range(0, len(chunk), self.batch_size):
                batch = chunk[b : b + self.batch_size].tolist()
                if len(batch) == self.batch_size or not self.drop_last:
                    out.append(batch)
        order = rng.permutation(len(out))
        return [out[k] for k in order]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.batches(self.epoch)[self.start:]
        self.epoch, self.start = self.epoch + 1, 0
        return iter(batches)

    def __len__(self) -> int:
        n, step = len(self.widths), self.batch_size * self.pool
        full, rest = divmod(n, step)
        per_pool = self.pool
        last = (rest // self.batch_size) if self.drop_last else -(-rest // self.batch_size)
        return full * per_pool + last


def shard_batch(batch: Sequence[int], rank: int, world_size: int) -> list[int]:
    """Rank ``rank``'s share of a global batch: every ``world_size``-th line from
    position ``rank`` (strided, so that each share spans the batch's width range
    and no rank gets only the widest lines). The shares of all ranks partition
    the batch; their sizes differ by at most one line."""
    return list(batch[rank::world_size])


class ShardedBatchSampler(Sampler):
    """One rank's shares of the global batches of a :class:`BucketBatchSampler`.

    Every rank builds the same global batches (same widths, batch size and
    seed) and keeps its :func:`shard_batch` of each, so the ranks together see
    exactly the batches a single process would. A global batch with fewer
    lines than ranks (only the last, incomplete one of an epoch can be) would
    leave a rank without a line to step on; it is dropped on every rank.

    Args:
        base: the single-process sampler whose batches are shared out.
        rank: this process's rank, 0 <= rank < world_size.
        world_size: number of processes.
    """

    def __init__(self, base: BucketBatchSampler, rank: int, world_size: int):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        if base.batch_size < world_size:
            raise ValueError(f"batch_size {base.batch_size} is smaller than the {world_size} processes")
        self.base, self.rank, self.world_size = base, rank, world_size

    @property
    def batch_size(self) -> int:
        """Lines per global batch (shared out over the ranks)."""
        return self.base.batch_size

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.base.set_epoch(epoch, start)

    def global_batches(self, epoch: int) -> list[list[int]]:
        """The global batches of ``epoch`` that are shared out (none smaller than the rank count)."""
        return [b for b in self.base.batches(epoch) if len(b) >= self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self.global_batches(self.base.epoch)[self.base.start:]
        self.base.epoch, self.base.start = self.base.epoch + 1, 0
        return iter([shard_batch(b, self.rank, self.world_size) for b in batches])

    def __len__(self) -> int:
        b = self.base
        last = len(b.widths) % (b.batch_size * b.pool) % b.batch_size  # the one incomplete batch, if any
        dropped = not b.drop_last and 0 < last < self.world_size
        return len(b) - int(dropped)


def padding_fraction(widths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Share of the batch tensors' columns that is padding (for measuring bucketing)."""
    widths = np.asarray(widths)
    total = sum(len(b) * widths[b].max() for b in batches if len(b))
    return 1.0 - widths.sum() / total if total else 0.0


def padding_comparison(widths: Sequence[int], batch_size: int, seed: int = 0) -> dict[str, float]:
    """Padding share of random batches against width-bucketed ones, on the same lines.

    Returns:
        ``{"random": fraction, "bucketed": fraction}``.
    """
    order = np.random.default_rng(seed).permutation(len(widths))
    random_batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    bucketed = BucketBatchSampler(widths, batch_size, seed=seed).batches(0)
    return {"random": float(padding_fraction(widths, random_batches)),
            "bucketed": float(padding_fraction(widths, bucketed))}
