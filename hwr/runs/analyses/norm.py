"""The normalisation analysis: the model under other batch sizes and orders, and with batch statistics."""

from __future__ import annotations

import copy

import numpy as np
import torch

from hwr.decode import transcribe
from hwr.runs.analyses.core import _loader, _scores, analyses, test_lines
from hwr.runs.store import RunRecord


#: (mode, batch size, order) of :func:`norm_batch`; "batch" = BatchNorm layers use the batch's statistics
NORM_CONDITIONS = [("eval", 1, "sorted"), ("eval", 4, "sorted"), ("eval", 32, "sorted"), ("eval", 32, "mixed"),
                   ("batch", 4, "sorted"), ("batch", 32, "sorted"), ("batch", 32, "mixed")]


@analyses("norm_batch")
def norm_batch(model, rec: RunRecord, n: int = 256, conditions=None, channels: int = 16) -> dict:
    """Test CER of one model under other batch sizes and paddings, and the
    statistics its first normalisation layer sees.

    Conditions (``NORM_CONDITIONS``): ``eval`` is inference as always
    (BatchNorm with its running statistics, IN per line); ``batch`` puts the
    BatchNorm layers in training mode, so they normalise with the statistics
    of the batch they are in, padding included, as during training (IN
    models: skipped, IN has no running statistics). ``sorted`` batches lines
    of similar width; ``mixed`` batches them in a random order, so a short
    line is padded to the width of the widest in its batch.

    Arrays: ``line_mean``, ``line_var`` (n x channels): each test line's own
    mean and variance, per channel, of the input of the first normalisation
    layer over the line's unpadded columns; ``running_mean``,
    ``running_var`` (channels; BN only).

    Returns:
        ``{lines, norm, conditions: [{mode, batch, order, cer, wer}], ...arrays}``
    """
    conditions = [tuple(c) for c in (conditions or NORM_CONDITIONS)]
    is_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    rows = []
    for mode, batch_size, order in conditions:
        if mode == "batch" and not is_bn:
            continue
        m = copy.deepcopy(model).eval()
        if mode == "batch":
            for layer in m.modules():
                if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
                    layer.train()
                    layer.momentum = 0.0  # normalise with the batch's statistics, leave the running ones
        refs, hyps = [], []
        with torch.no_grad():
            for batch in _loader(m, test_lines(rec, n, order), batch_size):
                refs += list(batch.texts)
                hyps += transcribe(m, batch.images, batch.widths).texts
        rows.append({"mode": mode, "batch": batch_size, "order": order, **_scores(refs, hyps)})
    # what the first normalisation layer sees, line by line
    first = next(layer for layer in model.modules()
                 if isinstance(layer, (torch.nn.modules.batchnorm._BatchNorm, torch.nn.InstanceNorm2d))
                 or type(layer).__name__ in ("InstanceNorm", "SampleNorm"))
    seen = {}
    hook = first.register_forward_hook(lambda mod, inp, out: seen.__setitem__("x", inp[0].detach()))
    means, variances = [], []
    with torch.no_grad():
        for batch in _loader(model, test_lines(rec, n), 1):
            model(batch.images) if model.family == "ctc" else transcribe(model, batch.images, batch.widths, max_steps=1)
            x = seen["x"][0, :channels].float()  # C x H' x W'
            means.append(x.mean(dim=(1, 2)).numpy())
            variances.append(x.var(dim=(1, 2), unbiased=False).numpy())
    hook.remove()
    out = {"lines": n, "norm": "bn" if is_bn else "in", "conditions": rows,
           "line_mean": np.stack(means).astype(np.float32), "line_var": np.stack(variances).astype(np.float32)}
    if is_bn:
        out["running_mean"] = first.running_mean[:channels].numpy().astype(np.float32)
        out["running_var"] = first.running_var[:channels].numpy().astype(np.float32)
    return out
