"""One pass over the training data: the optimisation step and the epoch loop.

The epoch loop checks the time budget between batches (never inside one),
shows a progress bar with the running loss, the running CER of the training
outputs and lines/s, and returns the epoch's statistics for ``history.csv``.

In a distributed run (:mod:`hwr.training.distributed`) each rank steps on its
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
from hwr.training import distributed
from hwr.training.config import TrainConfig
from hwr.training.ctc_checks import min_frames
from hwr.training.losses import batch_loss, encode_texts


def train_step(model, batch, optimizer, device, config: TrainConfig, ctx=distributed.SINGLE, aux=None,
               step: int = 0):
    """One optimisation step on ``batch``: forward, loss, backward, Adam.

    Args:
        ctx: the distributed context; with several ranks, ``batch`` is this
            rank's share of a global batch (see :func:`hwr.training.distributed.align_batch`).
        aux: a training-only auxiliary loss (:class:`hwr.training.losses.AuxCTC`)
            called instead of the model: it adds its weighted loss to the model's.
        step: the run's optimiser steps before this one (a teacher-forcing
            schedule's position, :meth:`TrainConfig.teacher_forcing_at`).

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
    tf = config.teacher_forcing_at(step)
    if aux is not None:
        loss, log_probs, lengths = aux.batch_loss(batch, device, tf, steps)
    else:
        loss, log_probs, lengths = batch_loss(model, batch, device, tf, steps)
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


def infeasible_lines(batch, frames) -> list[tuple[str, str]]:
    """(id, reason) of each line of a CTC batch whose label needs more output
    frames than its image gives: ``zero_infinity`` turns its infinite loss into
    a silent 0, so the line is counted as skipped instead of passing as trained."""
    labels = encode_texts(list(batch.texts), "ctc", list(batch.ids))
    out = []
    for line_id, label, n in zip(batch.ids, labels, frames.tolist()):
        need = min_frames(label)
        if need > n:
            out.append((str(line_id), f"its label needs {need} CTC frames, the image gives {n} (no loss)"))
    return out


def train_errors(family: str, log_probs, lengths, texts: list[str]) -> tuple[int, int]:
    """Character edit distance and reference length of the greedy reading of
    training outputs (teacher-forced for seq2seq: an optimistic running CER)."""
    hyps = family_of(family).read(log_probs, lengths)
    return sum(edit_distance(r, h) for r, h in zip(texts, hyps)), sum(len(r) for r in texts)


def _set_pass(loader, epoch: int) -> None:
    """Tell the loader's dataset which pass comes next (an augmented one draws by it)."""
    set_epoch = getattr(getattr(loader, "dataset", None), "set_epoch", None)
    if set_epoch is not None:
        set_epoch(epoch)


class BatchStream:
    """The training batches, pass after pass, from a saved position on.

    A run with a line budget validates every ``val_every`` lines, usually in
    the middle of a pass over the data; its checkpoint then records
    :attr:`position` (the pass and the batch within it), and a resumed run
    continues with exactly the batch the uninterrupted run would have taken
    next (the skipped batches are never loaded).

    Args:
        loader: the training loader (its bucketing sampler orders pass ``p``
            by ``(seed, p)`` alone).
        position: ``{"pass": p, "batch": k}``: the next batch is batch ``k``
            of pass ``p`` (passes count from 1, as epochs do).
    """

    def __init__(self, loader, position: dict | None = None):
        self.loader = loader
        position = position or {"pass": 1, "batch": 0}
        self.pass_, self.batch = int(position["pass"]), int(position["batch"])
        self._it = None

    @property
    def position(self) -> dict:
        """Where the next batch comes from: ``{"pass", "batch"}``."""
        return {"pass": self.pass_, "batch": self.batch}

    def __iter__(self):
        return self

    def __next__(self):
        for _ in range(2):  # at most one pass boundary per batch
            fresh = self._it is None
            if fresh:
                self.loader.batch_sampler.set_epoch(self.pass_, self.batch)
                _set_pass(self.loader, self.pass_)
                self._it = iter(self.loader)
            # The loader's iterator draws a worker seed from torch's generator
            # when its first batch is asked for; keep that draw out of the
            # training stream, so that a run resumed in the middle of a pass
            # draws what the uninterrupted run draws.
            saved = torch.get_rng_state() if fresh else None
            try:
                batch = next(self._it)
            except StopIteration:
                self._it, self.pass_, self.batch = None, self.pass_ + 1, 0
                continue
            finally:
                if saved is not None:
                    torch.set_rng_state(saved)
            self.batch += 1
            return batch
        raise RuntimeError("hwr.training.epoch: a pass over the training data yielded no batch")


def train_epoch(runner, family, loader, optimizer, device, config, epoch, name, out_of_time,
                ctx=distributed.SINGLE, stream: BatchStream | None = None, steps: int | None = None,
                aux=None, step0: int = 0) -> dict:
    """Train one epoch, or until ``out_of_time(lines, seconds)`` (checked between batches).

    With ``stream`` and ``steps``, train ``steps`` optimiser steps taken from
    the stream instead (a validation period of a run with ``val_every``,
    crossing pass boundaries as needed); ``epoch`` then only labels the
    display.

    Args:
        runner: the model to call (the model itself, or its compiled wrapper).
        family: "seq2seq" or "ctc".
        loader: the training loader (its bucketing sampler gets ``epoch``).
        name: experiment name for the display.
        ctx: the distributed context (:data:`hwr.training.distributed.SINGLE`: one process).
        stream: a :class:`BatchStream` over ``loader`` (with ``steps``).
        steps: optimiser steps to take from ``stream``.
        aux: a training-only auxiliary loss (:class:`hwr.training.losses.AuxCTC`) or None.
        step0: the run's optimiser steps before this call (for a teacher-forcing schedule).

    Returns:
        {"train_loss" (mean per line), "train_cer", "lines", "lines_per_s",
        "seconds" (training time, validation excluded), "partial" (stopped
        early by the budget), "skipped" (lines whose image failed to load, and
        CTC lines whose label needs more frames than the image gives),
        "skipped_lines" ([(source, reason), ...] of those lines; not part of
        the history row), "steps" (optimiser steps taken); with ``aux``
        also "aux_loss" (its mean per line) and "aux_infeasible" (lines whose
        label needs more CTC frames than the memory has: no aux loss)}.
    """
    # The loader counts lines that fail to load, also in the batches it never
    # yields because all their lines failed.
    skipped_before = getattr(loader, "skipped_total", 0)
    if stream is None:
        loader.batch_sampler.set_epoch(epoch)
        _set_pass(loader, epoch)
        # Creating the iterator draws a worker seed from torch's generator; keep
        # that draw out of the training stream so resumed runs match.
        saved = torch.get_rng_state()
        batches = iter(loader)
        torch.set_rng_state(saved)
        total = len(loader)
    else:
        batches, total = (next(stream) for _ in range(steps)), steps
    total_loss = lines = dist = ref_len = 0
    too_long: list[tuple[str, str]] = []  # CTC lines whose label cannot fit their frames (no loss, no gradient)
    aux_loss = aux_bad = 0.0
    seconds, partial, taken = 0.0, False, 0
    show = ctx.is_main  # one progress display per run, not one per rank
    bar = tqdm(total=total, desc=f"{name} {'epoch' if stream is None else 'period'} {epoch}", unit="batch",
               disable=not (config.progress and show), leave=False, dynamic_ncols=True)
    start = time.perf_counter()
    for i, batch in enumerate(batches, 1):
        loss, log_probs, lengths = train_step(runner, batch, optimizer, device, config, ctx, aux, step0 + i - 1)
        taken = i
        d, n = train_errors(family, log_probs, lengths, batch.texts)
        if family == "ctc":
            too_long += infeasible_lines(batch, lengths)
        total_loss += loss * len(batch)
        if aux is not None:
            aux_loss += aux.last_loss * len(batch)
            aux_bad += aux.last_infeasible
        lines, dist, ref_len = lines + len(batch), dist + d, ref_len + n
        seconds = time.perf_counter() - start
        bar.update()
        if i % config.log_every == 0 and show:
            info = dict(loss=f"{total_loss / lines:.3f}", cer=f"{dist / max(ref_len, 1):.1%}",
                        lps=f"{lines / seconds:.1f}")
            if config.progress:
                bar.set_postfix(info)
            else:
                tqdm.write(f"{name} epoch {epoch} batch {i}/{total}: " + ", ".join(f"{k} {v}" for k, v in info.items()))
        # Every rank must agree, or the others would wait for it in the next step's collectives.
        if i < total and distributed.any_flag(ctx, out_of_time(lines, seconds)):
            partial = True
            break
    bar.close()
    skipped = getattr(loader, "skipped_total", 0) - skipped_before
    failed = [(b.source, b.error) for b in list(getattr(loader, "bad_items", []))[-skipped:]] if skipped else []
    skipped, failed = skipped + len(too_long), failed + too_long
    if ctx.enabled:  # the global batches' statistics: sums over the ranks
        total_loss, lines, dist, ref_len, skipped, aux_loss, aux_bad = distributed.all_reduce(
            ctx, [total_loss, lines, dist, ref_len, skipped, aux_loss, aux_bad])
        lines, dist, ref_len, skipped = int(lines), int(dist), int(ref_len), int(skipped)
        failed = [b for part in distributed.gather_objects(ctx, failed) for b in part]
    # No lines, no loss: NaN, never a 0.0 that reads as a perfect fit (the
    # engine refuses such an epoch before it is recorded).
    out = {"train_loss": total_loss / lines if lines else float("nan"),
           "train_cer": dist / ref_len if ref_len else float("nan"), "lines": lines, "skipped": skipped,
           "skipped_lines": [tuple(b) for b in failed],
           "lines_per_s": lines / max(seconds, 1e-9), "seconds": seconds, "partial": partial, "steps": taken}
    if aux is not None:
        out["aux_loss"] = aux_loss / lines if lines else float("nan")
        out["aux_infeasible"] = int(aux_bad)
    return out
