"""Where CTC losses of NaN come from, and the three guards against them.

Seed 003 saw its CTC loss turn to NaN after some epochs, sporadically, and
blamed the loss's numerics off the CPU. The mechanism needs no GPU: CTC sums
over every alignment of the label with the frames, and a label that needs
more frames than the line has (each symbol one frame, plus a blank between
two equal neighbours, :func:`min_frames`) has no alignment at all; its loss
is ``-log 0 = inf``, the gradient of the batch mean is NaN, and one optimiser
step makes every weight NaN. Whether a batch holds such a line depends on
the batch, hence the sporadic failures.

The guards, each tried by :func:`nan_cases` on a real batch:

- ``zero_infinity=True``: an impossible line adds 0 to the loss and to the
  gradient (the book's loss, :func:`hwr.training.losses.ctc_loss`);
- checking lengths before the loss (:func:`infeasible`) and leaving such
  lines out, counted;
- computing log-probabilities with ``log_softmax`` in float32: a softmax in
  float16 followed by a log rounds every probability under about 6e-8 to 0,
  and turns a confident model's wrong reading into an impossible one.
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F


def min_frames(labels: Sequence[int]) -> int:
    """Frames a CTC alignment of ``labels`` needs: one per symbol and a blank between equal neighbours."""
    return len(labels) + sum(1 for a, b in zip(labels, labels[1:]) if a == b)


def infeasible(labels: Sequence[Sequence[int]], frames: Sequence[int]) -> list[bool]:
    """Per line: does its label need more frames than it has (its CTC loss is infinite)?"""
    return [min_frames(lab) > int(n) for lab, n in zip(labels, frames)]


def _loss(log_probs, labels, frames, zero_infinity: bool) -> torch.Tensor:
    """Mean CTC loss (blank 0) of B x L x C log-probs against label lists."""
    flat = torch.tensor([c for lab in labels for c in lab], dtype=torch.long)
    lengths = torch.tensor([len(lab) for lab in labels], dtype=torch.long)
    return F.ctc_loss(log_probs.transpose(0, 1), flat, torch.as_tensor(frames, dtype=torch.long), lengths,
                      blank=0, reduction="mean", zero_infinity=zero_infinity)


def _step(model, images, labels, frames, log_probs_of, zero_infinity: bool, keep=None) -> dict:
    """One Adam step on a copy of ``model``: the loss, whether the gradient and the weights stay finite,
    and whether the stepped model's outputs on the same images are still numbers."""
    net = copy.deepcopy(model).eval()  # batch-norm statistics as trained; gradients still flow
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    if keep is not None:
        images, labels, frames = images[keep], [labels[i] for i in keep.tolist()], frames[keep]
    log_probs = log_probs_of(net, images)
    with torch.no_grad():
        per_line = F.ctc_loss(log_probs.transpose(0, 1), torch.tensor([c for lab in labels for c in lab]),
                              torch.as_tensor(frames, dtype=torch.long), torch.tensor([len(lab) for lab in labels]),
                              blank=0, reduction="none")
    loss = _loss(log_probs, labels, frames, zero_infinity)
    loss.backward()
    grads = all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)
    opt.step()
    weights = all(torch.isfinite(p).all() for p in net.parameters())
    with torch.no_grad():
        after = bool(torch.isfinite(net(images)).all())
    return {"lines": len(labels), "infinite lines": int((~torch.isfinite(per_line)).sum()), "loss": float(loss.detach()),
            "gradient finite": bool(grads), "weights finite": bool(weights), "outputs finite after the step": after}


def log_softmax_f32(model, images):
    """The book's way: the model's log_softmax, in float32."""
    return model(images).float()


def softmax_f16_then_log(model, images):
    """A softmax rounded to float16 and then a log (as mixed precision can make it): small probabilities become 0."""
    probs = model(images).float().exp().half()
    return probs.float().log()


def nan_cases(model, images: torch.Tensor, labels: list[list[int]], frames: torch.Tensor,
              too_long: list[int]) -> list[dict]:
    """Each NaN source and guard on one batch (every case on its own copy of ``model``).

    Args:
        model: a trained CTC model (B x 1 x H x W -> B x L x C log-probs).
        images: B x 1 x H x W, a batch of real lines.
        labels: their B label sequences.
        frames: B frames per line (``model.output_width(widths)``).
        too_long: a label no line of ``frames`` can hold; it replaces the first line's label in the
            cases that need an impossible line.

    Returns:
        rows ``{case, guard, lines, infinite lines, loss, gradient finite, weights finite,
        outputs finite after the step}``.
    """
    if min_frames(too_long) <= int(frames[0]):
        raise ValueError(f"too_long needs {min_frames(too_long)} frames; the line has {int(frames[0])}")
    broken = [list(too_long)] + labels[1:]
    keep = torch.tensor([i for i, bad in enumerate(infeasible(broken, frames)) if not bad])
    cases = [
        ("every label fits", "none", labels, log_softmax_f32, False, None),
        ("one label longer than its frames", "none", broken, log_softmax_f32, False, None),
        ("one label longer than its frames", "zero_infinity=True", broken, log_softmax_f32, True, None),
        ("one label longer than its frames", "lengths checked, line left out", broken, log_softmax_f32, False, keep),
        ("every label fits, softmax in float16 then log", "none", labels, softmax_f16_then_log, False, None),
        ("every label fits, softmax in float16 then log", "zero_infinity=True", labels, softmax_f16_then_log, True,
         None),
    ]
    rows = []
    for case, guard, labs, lp, zero_inf, kept in cases:
        rows.append({"case": case, "guard": guard, **_step(model, images, labs, frames, lp, zero_inf, kept)})
    return rows
