"""One pass over the training data: the optimisation step and the epoch loop.

The epoch loop checks the time budget between batches (never inside one),
shows a progress bar with the running loss, the running CER of the training
outputs and lines/s, and returns the epoch's statistics for ``history.csv``.

In a distributed run (:mod:`hwr.train.distributed`) each rank steps on its
share of every global batch, the budget check is agreed between the ranks,
and the returned statistics are those of the global batches (summed over the
ranks); only rank 0 shows progress.
"""

from __future__ import annotations

import time

import torch
from tqdm import tqdm

from hwr.decode import family_of
from hwr.metrics import edit_distance
from hwr.train import distributed
from hwr.train.config import TrainConfig
from hwr.train.losses import batch_loss


def train_step(model, batch, optimizer, device, config: TrainConfig, ctx=distributed.SINGLE):
    """One optimisation step on ``batch``: forward, loss, backward, Adam.

    Args:
        ctx: the distributed context; with several ranks, ``batch`` is this
            rank's share of a global batch (see :func:`hwr.train.distributed.align_batch`).

    Returns:
        (loss as a float: the mean over this rank's lines, detached log_probs
        B x S x C, per-line lengths for decoding).

    Raises:
        FloatingPointError: when the loss is not finite (naming the batch's
            first ids; on every rank when it is not finite on one).
    """
    optimizer.zero_grad(set_to_none=True)
    family = family_of(getattr(model, "module", model)).name
    batch, steps, weight, uneven = distributed.align_batch(ctx, batch, family)
    loss, log_probs, lengths = batch_loss(model, batch, device, config.teacher_forcing, steps)
    finite = bool(torch.isfinite(loss))
    if distributed.any_flag(ctx, not finite):
        if finite:  # another rank's share
            raise FloatingPointError(f"training loss is not finite on another rank (this rank's share of the "
                                     f"batch starts with {batch.ids[:3]})")
        where = f" (rank {ctx.rank})" if ctx.enabled else ""
        raise FloatingPointError(f"training loss is {loss.item()} on the batch starting with {batch.ids[:3]}{where}")
    (loss * weight if ctx.enabled else loss).backward()
    optimizer.step()
    if uneven:
        distributed.share_rng(ctx)
    return loss.item(), log_probs.detach(), lengths


def train_errors(family: str, log_probs, lengths, texts: list[str]) -> tuple[int, int]:
    """Character edit distance and reference length of the greedy reading of
    training outputs (teacher-forced for seq2seq: an optimistic running CER)."""
    hyps = family_of(family).read(log_probs, lengths)
    return sum(edit_distance(r, h) for r, h in zip(texts, hyps)), sum(len(r) for r in texts)


def train_epoch(runner, family, loader, optimizer, device, config, epoch, name, out_of_time,
                ctx=distributed.SINGLE) -> dict:
    """Train one epoch, or until ``out_of_time(lines, seconds)`` (checked between batches).

    Args:
        runner: the model to call (the model itself, or its compiled wrapper).
        family: "seq2seq" or "ctc".
        loader: the training loader (its bucketing sampler gets ``epoch``).
        name: experiment name for the display.
        ctx: the distributed context (:data:`hwr.train.distributed.SINGLE`: one process).

    Returns:
        {"train_loss" (mean per line), "train_cer", "lines", "lines_per_s",
        "seconds" (training time, validation excluded), "partial" (stopped
        early by the budget), "skipped" (lines whose image failed to load),
        "skipped_lines" ([(source, reason), ...] of those lines; not part of
        the history row)}.
    """
    loader.batch_sampler.set_epoch(epoch)
    # Creating the iterator draws a worker seed from torch's generator; keep
    # that draw out of the training stream so resumed runs match.
    saved = torch.get_rng_state()
    # The loader counts lines that fail to load, also in the batches it never
    # yields because all their lines failed.
    skipped_before = getattr(loader, "skipped_total", 0)
    batches = iter(loader)
    torch.set_rng_state(saved)
    total_loss = lines = dist = ref_len = 0
    seconds, partial = 0.0, False
    show = ctx.is_main  # one progress display per run, not one per rank
    bar = tqdm(total=len(loader), desc=f"{name} epoch {epoch}", unit="batch",
               disable=not (config.progress and show), leave=False, dynamic_ncols=True)
    start = time.perf_counter()
    for i, batch in enumerate(batches, 1):
        loss, log_probs, lengths = train_step(runner, batch, optimizer, device, config, ctx)
        d, n = train_errors(family, log_probs, lengths, batch.texts)
        total_loss += loss * len(batch)
        lines, dist, ref_len = lines + len(batch), dist + d, ref_len + n
        seconds = time.perf_counter() - start
        bar.update()
        if i % config.log_every == 0 and show:
            info = dict(loss=f"{total_loss / lines:.3f}", cer=f"{dist / max(ref_len, 1):.1%}",
                        lps=f"{lines / seconds:.1f}")
            if config.progress:
                bar.set_postfix(info)
            else:
                tqdm.write(f"{name} epoch {epoch} batch {i}/{len(loader)}: " + ", ".join(f"{k} {v}" for k, v in info.items()))
        # Every rank must agree, or the others would wait for it in the next step's collectives.
        if i < len(loader) and distributed.any_flag(ctx, out_of_time(lines, seconds)):
            partial = True
            break
    bar.close()
    skipped = getattr(loader, "skipped_total", 0) - skipped_before
    failed = list(getattr(loader, "bad_items", []))[-skipped:] if skipped else []
    if ctx.enabled:  # the global batches' statistics: sums over the ranks
        total_loss, lines, dist, ref_len, skipped = distributed.all_reduce(
            ctx, [total_loss, lines, dist, ref_len, skipped])
        lines, dist, ref_len, skipped = int(lines), int(dist), int(ref_len), int(skipped)
        failed = [b for part in distributed.gather_objects(ctx, failed) for b in part]
    # No lines, no loss: NaN, never a 0.0 that reads as a perfect fit (the
    # engine refuses such an epoch before it is recorded).
    return {"train_loss": total_loss / lines if lines else float("nan"),
            "train_cer": dist / ref_len if ref_len else float("nan"), "lines": lines, "skipped": skipped,
            "skipped_lines": [(b.source, b.error) for b in failed],
            "lines_per_s": lines / max(seconds, 1e-9), "seconds": seconds, "partial": partial}
