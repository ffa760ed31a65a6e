"""One run on several processes: torchrun's environment, the process group, and
the few collectives the training loop needs.

``torchrun --nproc_per_node N -m hwr.training ...`` starts N copies of the same
command with ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` (and ``MASTER_ADDR`` /
``MASTER_PORT``) set. :func:`init` reads them and joins the process group
(gloo on the CPU, nccl on CUDA); without them it returns the single-process
:data:`SINGLE` context, and every helper here is then a no-op that touches no
collective, so single-process training computes exactly what it did before.

How the loop uses it (:mod:`hwr.training.engine`, :mod:`hwr.training.epoch`):

- every rank builds the same global batches and steps on its share
  (:class:`hwr.datasets.sampler.ShardedBatchSampler`); :func:`align_batch`
  pads each share to the global batch's width (and, for seq2seq, its decoder
  steps) and gives the loss weight that makes DDP's gradient average the
  gradient of the global batch's per-line mean loss;
- rank 0 alone touches the run folder and validates; :func:`on_main` hands its
  results (or its error) to the other ranks;
- decisions that depend on a rank's clock (the time budget) are agreed with
  :func:`any_flag`, so that no rank waits forever in a collective.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from hwr.errors import HwrError
from hwr.training.losses import encode_texts

#: how long a rank waits in a collective for the others (rank 0 validates and
#: writes checkpoints meanwhile; a full validation on the CPU may take long)
TIMEOUT = datetime.timedelta(hours=2)


class RankError(HwrError):
    """Another rank stopped the run (its message is repeated on this rank)."""


@dataclass(frozen=True)
class Context:
    """Where this process stands in the run.

    Attributes:
        world_size: number of processes (1: not distributed).
        rank: this process's global rank.
        local_rank: its rank on this machine (picks its GPU).
        local_world_size: processes on this machine (shares its CPU cores).
        owns_group: this context initialised the process group (and tears it down).
    """

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world_size: int = 1
    owns_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = Context()


def from_env(environ=None) -> Context:
    """The context torchrun's variables describe (:data:`SINGLE` without them or with WORLD_SIZE 1).

    Raises:
        HwrError: the variables are not integers or not consistent.
    """
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
        local_world = int(env.get("LOCAL_WORLD_SIZE", str(world)))
    except ValueError as e:
        raise HwrError(f"hwr.training.distributed: torchrun variables are not integers ({e})") from None
    if world <= 1:
        return SINGLE
    if not 0 <= rank < world or not 0 <= local < local_world:
        raise HwrError(f"hwr.training.distributed: RANK {rank} / LOCAL_RANK {local} outside WORLD_SIZE {world} / "
                       f"LOCAL_WORLD_SIZE {local_world}")
    return Context(world, rank, local, local_world)


def backend_for(device: str) -> str:
    """``"nccl"`` for a CUDA device, else ``"gloo"``."""
    return "nccl" if device.startswith("cuda") else "gloo"


def rank_device(ctx: Context, device: str) -> str:
    """The device of this rank: a CUDA device becomes ``cuda:LOCAL_RANK`` (one
    GPU per process), the CPU stays the CPU."""
    if not ctx.enabled or not device.startswith("cuda"):
        return device
    return f"cuda:{ctx.local_rank}"


def init(device: str, environ=None) -> tuple[Context, str]:
    """Join the process group torchrun describes; return the context and this rank's device.

    Args:
        device: the resolved device of the run ("cpu", "cuda", "cuda:0", ...).

    Without torchrun's variables: (:data:`SINGLE`, ``device``) and nothing
    else happens. A process group that already exists (a caller set it up) is
    used as it is and left to its owner.
    """
    ctx = from_env(environ)
    if not ctx.enabled:
        return ctx, device
    device = rank_device(ctx, device)
    if device.startswith("cuda"):
        torch.cuda.set_device(device)  # before nccl's first collective
    if dist.is_initialized():
        if dist.get_world_size() != ctx.world_size or dist.get_rank() != ctx.rank:
            raise HwrError(f"hwr.training.distributed: the process group (rank {dist.get_rank()} of "
                           f"{dist.get_world_size()}) does not match RANK {ctx.rank} of WORLD_SIZE {ctx.world_size}")
        return ctx, device
    dist.init_process_group(backend_for(device), rank=ctx.rank, world_size=ctx.world_size, timeout=TIMEOUT)
    return Context(ctx.world_size, ctx.rank, ctx.local_rank, ctx.local_world_size, owns_group=True), device


def teardown(ctx: Context) -> None:
    """Leave the process group if this context created it."""
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: Context) -> None:
    """Wait for every rank (no-op for a single process)."""
    if ctx.enabled:
        dist.barrier()


def _tensor(values, dtype) -> torch.Tensor:
    # nccl reduces CUDA tensors only; gloo the CPU ones
    device = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
    return torch.tensor(values, dtype=dtype, device=device)


def all_reduce(ctx: Context, values: list[float], op: str = "sum") -> list[float]:
    """Element-wise sum (``op="sum"``) or maximum (``"max"``) of ``values`` over
    all ranks, in float64 (exact for counts up to 2**53)."""
    if not ctx.enabled:
        return list(values)
    t = _tensor(list(values), torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
    return t.tolist()


def any_flag(ctx: Context, flag: bool) -> bool:
    """True on every rank when ``flag`` is True on at least one."""
    return bool(all_reduce(ctx, [float(flag)], "max")[0]) if ctx.enabled else bool(flag)


def all_gather_ints(ctx: Context, values: list[int]) -> list[list[int]]:
    """Every rank's ``values`` (all of the same length), by rank."""
    if not ctx.enabled:
        return [list(values)]
    t = _tensor(list(values), torch.int64)
    out = [torch.empty_like(t) for _ in range(ctx.world_size)]
    dist.all_gather(out, t)
    return [x.tolist() for x in out]


def gather_objects(ctx: Context, obj) -> list:
    """Every rank's picklable ``obj``, by rank (``[obj]`` for a single process)."""
    if not ctx.enabled:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast(ctx: Context, obj=None):
    """Rank 0's picklable ``obj`` on every rank."""
    if not ctx.enabled:
        return obj
    box = [obj if ctx.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def on_main(ctx: Context, fn):
    """Run ``fn()`` on rank 0 only and return its result on every rank.

    An exception on rank 0 is raised there as it is, and as a
    :class:`RankError` with its message on the other ranks (rather than
    leaving them waiting for a result that never comes).
    """
    if not ctx.enabled:
        return fn()
    if ctx.is_main:
        try:
            value = fn()
        except BaseException as e:
            broadcast(ctx, ("error", f"{type(e).__name__}: {e}"))
            raise
        broadcast(ctx, ("ok", value))
        return value
    kind, value = broadcast(ctx)
    if kind == "error":
        raise RankError(f"rank 0 stopped the run: {value}")
    return value


def align_batch(ctx: Context, batch, family: str) -> tuple[object, int | None, float, bool]:
    """Make this rank's share of a global batch compute what the global batch would.

    The lines of a share are padded (edge replication, as in
    :func:`hwr.preprocess.collate`) to the widest line of the whole global
    batch, since instance norm statistics and the backward LSTM see the
    padding; seq2seq targets are padded to the global batch's decoder steps,
    so that every rank draws the teacher-forcing steps a single process
    would. The loss weight ``world_size * lines / global lines`` turns DDP's
    average of the ranks' gradients into the gradient of the global per-line
    mean loss, also for shares of unequal size.

    Args:
        batch: this rank's :class:`hwr.preprocess.Batch` (images B x 1 x H x W).
        family: "ctc" or "seq2seq".

    Returns:
        (the batch, images padded to B x 1 x H x W_global; the global target
        steps for seq2seq, else None; the loss weight; whether the shares
        differ in size, the same on every rank). Single process: the batch
        unchanged, None, 1.0 and False.
    """
    if not ctx.enabled:
        return batch, None, 1.0, False
    steps = 0
    if family == "seq2seq":

        steps = max(len(x) for x in encode_texts(batch.texts, "seq2seq", batch.ids))
    shares = all_gather_ints(ctx, [len(batch), batch.images.shape[-1], steps])
    total = sum(s[0] for s in shares)
    width, steps = max(s[1] for s in shares), max(s[2] for s in shares)
    extra = width - batch.images.shape[-1]
    if extra:
        images = torch.nn.functional.pad(batch.images, (0, extra, 0, 0), mode="replicate")
        batch = type(batch)(images, batch.widths, batch.texts, batch.ids, batch.skipped)
    uneven = len({s[0] for s in shares}) > 1
    return batch, (steps if family == "seq2seq" else None), ctx.world_size * len(batch) / total, uneven


def share_rng(ctx: Context) -> None:
    """Give every rank rank 0's CPU random state.

    The ranks draw alike as long as they consume alike: equal shares padded
    to one shape take as many numbers for their dropout masks. After a step
    on shares of unequal size (the last global batch of an epoch) they
    would not, and their seq2seq teacher-forcing draws would part for good.
    """
    if ctx.enabled:
        torch.set_rng_state(broadcast(ctx, torch.get_rng_state()))


def wrap(ctx: Context, model: torch.nn.Module, device: str) -> torch.nn.Module:
    """``model`` in DistributedDataParallel (``model`` itself for a single process).

    DDP broadcasts rank 0's weights once here (they agree anyway: same seed),
    and averages the gradients over the ranks in every backward pass.
    """
    if not ctx.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [torch.device(device).index] if device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=ids)
