"""ConvNet6, the thesis backbone (spec §3), from torchmore flex layers.

Six blocks of Conv (bias) -> Norm -> ReLU -> MaxPool (floor), then
Dropout(0.15). Input B x 1 x H x W (H = 64, or 128 for one 2D variant);
output B x C x H' x W' with H' = 1 for the 1D models and 4 or 8 for the
"expand h" 2D-attention variants, which drop some of the height pools.

Input height 32 (a book-task candidate, not a thesis setting) needs one
height halving fewer: the pool of block 6 (after the 1x1 conv, on a 2-row
map at height 64) is dropped, and the 2D variants drop the last pools as at
64. Convolution and norm parameters do not depend on the input size, and the
widths are still divided by 4, so every state count is the thesis's.

The DSC variant (depthwise-separable convolutions with multiplier k) replaces
every conv by a depthwise conv (in -> in*k, groups = in) and a pointwise 1x1
conv (in*k -> out); its conv parameters are 129,530*k + 864.
"""

from __future__ import annotations

import math

from torch import nn
from torchmore import flex

from .norm import make_norm

#: (out channels or None for "backbone out", kernel, padding) per block
CONVS = ((32, 5, 2), (64, 5, 2), (128, 3, 1), (128, 3, 1), (256, 3, 1), (None, 1, 0))

#: (input height, output height H') -> pool (h, w) per block, None = no pool
POOLS: dict[tuple[int, int], tuple] = {
    (64, 1): ((2, 2), (2, 2), (2, 1), (2, 1), (2, 1), (2, 1)),
    (64, 4): ((2, 2), (2, 2), (2, 1), (2, 1), None, None),
    (64, 8): ((2, 2), (2, 2), (2, 1), None, None, None),
    (128, 8): ((2, 2), (2, 2), (2, 2), (2, 1), None, None),
    # not in the thesis: one height halving fewer at input height 32 (the
    # last pool goes, as in the expand-h variants); widths still W/4
    (32, 1): ((2, 2), (2, 2), (2, 1), (2, 1), (2, 1), None),
    (32, 4): ((2, 2), (2, 2), (2, 1), None, None, None),
    (32, 8): ((2, 2), (2, 2), None, None, None, None),
}


def pool_schedule(input_height: int, out_height: int) -> tuple:
    """The six pools for an input height and a wanted feature height H'."""
    try:
        return POOLS[(input_height, out_height)]
    except KeyError:
        raise ValueError(
            f"hwr.models.backbone: no ConvNet6 pool schedule for input_height={input_height}, "
            f"expand_h={out_height}; supported (input_height, expand_h): {sorted(POOLS)}"
        ) from None


def width_divisor(input_height: int, out_height: int) -> list[int]:
    """Horizontal pool factors, applied one after the other with floor."""
    return [p[1] for p in pool_schedule(input_height, out_height) if p is not None and p[1] > 1]


def gate_shrink(model_or_config) -> int:
    """Feature columns the unpadded gate blocks of a seq2seq model trim
    (``gates * (gate_width - 1)``; 0 for CTC models)."""
    cfg = getattr(model_or_config, "config", model_or_config)
    return cfg.gates * (cfg.gate_width - 1) if cfg.family == "seq2seq" else 0


def _width_scale(cfg) -> int:
    """Product of the horizontal pool factors (4 for every ConvNet6 schedule)."""
    return math.prod(width_divisor(cfg.input_height, cfg.expand_h if cfg.family == "seq2seq" else 1))


def min_input_width(model_or_config) -> int:
    """The narrowest input (after :func:`hwr.preprocess.prepare`) a model can read.

    Every horizontal pool floors the width, a pool over fewer columns than its
    size fails, and the gate blocks trim :func:`gate_shrink` feature columns;
    at least one column must remain, two behind a gate when H' = 1 (the
    gate's instance norm takes an unbiased std, undefined over one value).
    So the minimum is ``prod(pool widths) * (gate_shrink + columns)``
    (4 for the CTC baseline, 40 for gate_1).

    Args:
        model_or_config: a built model (its ``config``) or a
            :class:`hwr.models.registry.ModelConfig` (fields ``family``,
            ``input_height``, ``expand_h``, ``gates``, ``gate_width``).
    """
    cfg = getattr(model_or_config, "config", model_or_config)
    if hasattr(cfg, "min_input_width"):  # another architecture (hwr.models.crnn) knows its own
        return cfg.min_input_width()
    shrink = gate_shrink(cfg)
    columns = 2 if shrink and cfg.expand_h == 1 else 1
    # a margin (ModelConfig.margin) is added inside the model, on each side
    return max(1, _width_scale(cfg) * (shrink + columns) - 2 * getattr(cfg, "margin", 0))


def max_input_width(model_or_config) -> int | None:
    """The widest input a model can read, or None for no limit.

    A seq2seq model with a positional encoding covers at most
    ``posenc_max_len`` feature columns (thesis 600, about 2400 input columns).
    """
    cfg = getattr(model_or_config, "config", model_or_config)
    if cfg.family != "seq2seq" or getattr(cfg, "posenc", "none") == "none":
        return None
    scale = _width_scale(cfg)
    return (cfg.posenc_max_len + gate_shrink(cfg) + 1) * scale - 1 - 2 * getattr(cfg, "margin", 0)


def receptive_field(module: nn.Module) -> int | None:
    """Horizontal receptive field, in input columns, of one output column of
    ``module``'s convolutions and pools (applied in the order they are defined).

    Each layer of kernel width ``k`` widens it by ``(k - 1)`` times the
    product of the strides before it. Normalisations, activations and dropout
    do not count (the thesis's IN mixes a whole line's statistics into every
    column, but no column's content); a recurrent layer sees the whole line,
    so a module containing one gives None.
    """
    field, jump = 1, 1
    for m in module.modules():
        if isinstance(m, (nn.LSTM, nn.GRU)):
            return None
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k, s, d = (m.kernel_size, m.stride, getattr(m, "dilation", 1))
            k, s, d = (x[-1] if isinstance(x, tuple) else x for x in (k, s, d))
            field += (k - 1) * d * jump
            jump *= s
    return field


def depthwise_conv2d(multiplier: int, kernel, padding=0) -> nn.Module:
    """Flex depthwise conv: in -> in*multiplier channels, groups = in, bias."""

    def creator(x):
        c = x.size(1)
        return nn.Conv2d(c, c * multiplier, kernel, padding=padding, groups=c)

    return flex.Flex(creator)


def separable_conv2d(out: int, kernel, padding=0, multiplier: int = 1) -> nn.Sequential:
    """Depthwise (multiplier k) then pointwise 1x1 conv to ``out`` channels."""
    return nn.Sequential(depthwise_conv2d(multiplier, kernel, padding), flex.Conv2d(out, 1))


def convnet6(
    out_channels: int = 256,
    norm: str = "in",
    dsc: int = 0,
    input_height: int = 64,
    expand_h: int = 1,
    dropout: float = 0.15,
) -> nn.Sequential:
    """Build ConvNet6 (flex layers; close with ``flex.shape_inference``).

    Args:
        out_channels: C, the channels of block 6 ("backbone out", thesis 256 or 384).
        norm: ``"in"`` (thesis IN, unbiased std) or ``"bn"`` (BatchNorm2d).
        dsc: 0 for plain convs, k >= 1 for depthwise-separable convs with multiplier k.
        input_height: 64 (thesis), 128 (one 2D variant) or 32 (book-task candidate).
        expand_h: feature height H' (1, 4 or 8; see :data:`POOLS`).
        dropout: dropout after the last block (thesis 0.15).

    Returns:
        nn.Sequential mapping B x 1 x H x W to B x C x H' x W'.
    """
    pools = pool_schedule(input_height, expand_h)
    blocks = []
    for (out, k, p), pool in zip(CONVS, pools):
        out = out_channels if out is None else out
        conv = separable_conv2d(out, k, p, dsc) if dsc else flex.Conv2d(out, k, padding=p)
        # ReLU not in place: the IN layer keeps its output for the backward pass.
        block = [conv, make_norm(norm), nn.ReLU()]
        if pool is not None:
            block.append(nn.MaxPool2d(pool))
        blocks.append(nn.Sequential(*block))
    return nn.Sequential(*blocks, nn.Dropout(dropout))
