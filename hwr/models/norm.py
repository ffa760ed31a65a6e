"""The thesis's per-sample normalisation ("IN"; experiment names call it LN).

Thesis spec §3: for every sample and channel, over the spatial axes,
``y = (x - mean) / (std + eps)`` with the *unbiased* standard deviation and
``eps = 1e-5`` added to the standard deviation, not to the variance. No
learnable parameters and no running statistics, so train and eval modes
compute the same thing. This is not :class:`torch.nn.InstanceNorm2d`, which
divides by ``sqrt(biased_var + eps)``; both have zero parameters, so the
parameter counts do not tell them apart, but the numbers differ.

The layer sits after every backbone conv, so its cost matters on CPU: the
autograd of the plain expression (sub, div, std_mean) was about 40 % of a
ConvNet6 training step. :class:`_InstanceNormFn` computes the same forward
with one multiply and a hand-derived backward,

    dx = r (g - mean(g)) - y * sum(g y) / ((n - 1) s),   r = 1 / (s + eps),

(s the unbiased std, n the positions per channel), checked against autograd
in ``tests/test_models.py``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torchmore import flex

NORMS = ("in", "bn")


def std_mean(x: torch.Tensor, dims: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The unbiased std and the mean of ``x`` over ``dims`` (kept), in two passes.

    ``torch.std_mean`` over (H, W) of a channels-last tensor takes a slow
    strided path on the CPU: 28-32 % of an IN model's training step. A mean,
    then the sum of squared deviations, are plain reductions, 4-5x faster on
    a ConvNet6 activation. The two differ by rounding only (about 1e-7
    relative); the two-pass form is the textbook-stable one.
    """
    n = 1
    for d in dims:
        n *= x.shape[d]
    if n < 2:  # an unbiased std of one value is undefined: torch says so (a warning) and gives NaN
        return torch.std_mean(x, dim=dims, correction=1, keepdim=True)
    mean = x.mean(dim=dims, keepdim=True)
    var = (x - mean).square_().sum(dim=dims, keepdim=True) / (n - 1)
    return var.sqrt_(), mean


class _InstanceNormFn(torch.autograd.Function):
    """y = (x - mean) / (std_unbiased + eps) per sample and channel (see module doc)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, eps: float) -> torch.Tensor:
        dims = tuple(range(2, x.ndim))
        std, mean = std_mean(x, dims)
        r = 1.0 / (std + eps)
        y = torch.addcmul(-mean * r, x, r)  # x*r - mean*r in one pass over x
        ctx.save_for_backward(y, r, std)
        ctx.dims = dims
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, g: torch.Tensor):
        y, r, std = ctx.saved_tensors
        dims = ctx.dims
        n = y[0, 0].numel()
        g_mean = g.mean(dim=dims, keepdim=True)
        gy = (g * y).sum(dim=dims, keepdim=True)
        # Where std == 0 the output is 0 and so is gy; clamp avoids 0/0.
        c = gy / ((n - 1) * std.clamp_min(1e-12))
        dx = torch.addcmul(-g_mean * r, g, r).addcmul_(y, c, value=-1.0)
        return dx, None


class InstanceNorm(nn.Module):
    """Per-sample, per-channel standardisation with the unbiased std.

    Args:
        eps: added to the standard deviation (thesis: 1e-5).

    Shapes:
        input and output B x C x H x W (any number of trailing axes >= 1 with
        at least two positions; statistics over all axes after the channel).
    """

    def __init__(self, eps: float = 1e-5):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():  # an autograd.Function has no ONNX form; the same expression has
            return instance_norm_reference(x, self.eps)
        return _InstanceNormFn.apply(x, self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps}, unbiased std"


def instance_norm_reference(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """The plain-autograd expression of the same layer (for tests and docs)."""
    dims = tuple(range(2, x.ndim))
    std, mean = torch.std_mean(x, dim=dims, correction=1, keepdim=True)
    return (x - mean) / (std + eps)


def make_norm(kind: str) -> nn.Module:
    """A normalisation layer by name: ``"in"`` (thesis IN) or ``"bn"``.

    ``"bn"`` is a torchmore ``flex.BatchNorm2d`` (affine, eps 1e-5, momentum
    0.1) whose channel count is fixed at shape inference.
    """
    if kind == "in":
        return InstanceNorm()
    if kind == "bn":
        return flex.BatchNorm2d()
    raise ValueError(f"hwr.models.norm: norm must be one of {NORMS}, got {kind!r}")
