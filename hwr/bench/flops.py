"""``hwr bench train --flops``: how close training comes to the machine, and where its time goes.

Three measurements per model, on the batches of :mod:`hwr.bench.train`
(bucketed, padded to the widest line of the batch, the trainer's own loss):

1. **FLOPs of one training line.** :class:`torch.utils.flop_counter.FlopCounterMode`
   counts the multiply-adds (x 2) of the matrix products and convolutions of
   forward, loss and backward for one line alone, unpadded: the line of the
   timed batches whose width is nearest their mean. Element-wise work (norms,
   activations, the optimiser) is not counted, as in any FLOP count. PyTorch
   has no formula for the oneDNN LSTM that ``nn.LSTM`` runs on CPU
   (``aten.mkldnn_rnn_layer``), so we add one: a layer over T steps and B rows
   with weights W_ih (G x I) and W_hh (G x H), G = 4H gates, costs
   ``2 T B G (I + H)`` forward and twice that backward (gradients of inputs
   and of weights).
2. **The machine's rate**: single-precision ``n x n`` matrix products
   (``n = 2048``, ``2 n^3`` FLOPs each) on the same thread count, best and
   median of a few repeats. *Efficiency* is the achieved rate of training,
   FLOPs per line x lines/s (timed without the profiler), over the best
   matmul rate. Lines/s include the padding of real batches, so efficiency
   counts only the useful work.
3. **Time by part**, with :mod:`torch.profiler` over one further pass on the
   same batches. Forward: module hooks open a ``record_function`` scope
   around each module of interest (innermost scope wins: a conv inside a gate
   block is "gates", the gate's norm too). Backward: the autograd engine
   records one ``evaluate_function`` event per node, carrying the sequence
   number of the forward op that created the node; each is charged to the
   part of that forward op. The parts:

   - backbone convolutions: the ``Conv2d`` of ConvNet6;
   - normalisation: ConvNet6's IN or BatchNorm layers;
   - backbone ReLU, pooling, dropout: the rest of ConvNet6;
   - gates: the GFCN gate blocks, whole;
   - LSTM/GRU: ``nn.LSTM``/``nn.GRU`` (the CTC BiLSTM, the baseline's encoder);
   - decoder cell: the decoder's ``LSTMCell``/``GRUCell`` steps;
   - decoder loop: the rest of the attention decoder (attention, embedding,
     output layer, the per-step Python work);
   - other model layers: what the model does outside these (positional
     encoding, CTC output layer, log-softmax, reshapes);
   - loss: target encoding and the loss, outside the model's forward;
   - optimiser: ``zero_grad`` and the Adam step;
   - other: the remaining time of the step (gradient accumulation in the
     backward engine, autograd bookkeeping).

   The parts add up to the profiled step time exactly. The profiler adds a
   fixed cost per op, which inflates the parts made of many small ops (the
   decoder loop) relative to unprofiled training; read the fractions as
   where the time goes, and the lines/s (timed without it) as the speed.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict

import numpy as np

from hwr.bench.batches import bench_lines, collate_batches, sample_batches
from hwr.bench.latency import TYPICAL_STEPS, _forward
from hwr.models import build
from hwr.models.decoder import AttentionDecoder
from hwr.models.gate import GateBlock
from hwr.models.norm import InstanceNorm
from hwr.preprocess import THESIS_EVAL_WIDTH, Batch, PreparedLines
from hwr.training.checkpoint import seed_everything
from hwr.training.config import available_cores
from hwr.training.engine import build_model
from hwr.training.losses import batch_loss

MATMUL_N = 2048
MATMUL_REPEATS = 5
SCOPE = "hwr-part:"

PARTS = ("backbone convolutions", "normalisation", "backbone ReLU, pooling, dropout", "gates", "LSTM/GRU",
         "decoder cell", "decoder loop", "other model layers", "loss", "optimiser", "other")


# ---------------------------------------------------------------- FLOPs
def _rnn_flops(input_shape, w0, w1, *args, out_shape=None, **kwargs) -> int:
    """Forward FLOPs of one oneDNN RNN layer: 2 x (T x B) x G x (I + H)."""
    rows = input_shape[0] * input_shape[1]  # T x B, either layout
    return 2 * rows * (w0[0] * w0[1] + w1[0] * w1[1])


def _rnn_backward_flops(input_shape, w0, w1, *args, out_shape=None, **kwargs) -> int:
    return 2 * _rnn_flops(input_shape, w0, w1)


def flop_counter():
    """A silent FlopCounterMode that also counts the CPU (oneDNN) LSTM."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    aten = torch.ops.aten
    mapping = {}
    if hasattr(aten, "mkldnn_rnn_layer"):
        mapping = {aten.mkldnn_rnn_layer: _rnn_flops, aten.mkldnn_rnn_layer_backward: _rnn_backward_flops}
    return FlopCounterMode(display=False, custom_mapping=mapping)


def line_flops(model, batch) -> int:
    """FLOPs of forward, loss and backward of ``batch`` (the optimiser step is not counted)."""
    model.zero_grad(set_to_none=True)
    with flop_counter() as counter:
        loss, _, _ = batch_loss(model, batch, "cpu", 0.8)
        loss.backward()
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def forward_flops(name: str, width: int | None = None, steps: int | None = None) -> dict:
    """FLOPs of one inference call on one line of registry model ``name``, by part.

    The call is the latency measurement's (:mod:`hwr.bench.latency`): a blank
    line of the model's input height, ``width`` pixels wide (None: the thesis's
    evaluation width), and ``steps`` decoder steps without stopping at EOS.
    FLOPs depend on the architecture and the input size only, not on weights.

    Returns:
        ``{model, height, width, steps, total, backbone, after_backbone (gate
        blocks, encoder LSTM), decoder (attention decoder or CTC head), other}``
        (FLOPs; the parts add up to ``total``).
    """
    import torch

    steps = TYPICAL_STEPS if steps is None else steps
    model = build(name).eval()
    width = width or THESIS_EVAL_WIDTH[model.input_height]
    x = torch.zeros(1, 1, model.input_height, width)
    with torch.no_grad(), flop_counter() as counter:
        _forward(model, x, steps)
    counts = {k: sum(v.values()) for k, v in counter.get_flop_counts().items()}
    top = type(model).__name__
    total = int(counter.get_total_flops())
    parts = {"backbone": counts.get(f"{top}.features.0", counts.get(f"{top}.backbone", 0))}
    parts["after_backbone"] = counts.get(f"{top}.features", 0) - parts["backbone"] if f"{top}.features" in counts else 0
    parts["decoder"] = counts.get(f"{top}.decoder", 0)
    parts["other"] = total - sum(parts.values())
    return {"model": name, "height": model.input_height, "width": width,
            "steps": steps if model.family == "seq2seq" else None, "total": total, **parts}


def matmul_rate(threads: int, n: int | None = None, repeats: int = MATMUL_REPEATS) -> dict:
    """This machine's float32 ``n x n`` matmul rate on ``threads`` threads (FLOP/s; n: MATMUL_N)."""
    import torch

    n = n or MATMUL_N
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    torch.mm(a, b)  # warm-up: first-call allocation and kernel selection
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        rates.append(2 * n ** 3 / (time.perf_counter() - start))
    return {"n": n, "repeats": repeats, "threads": threads, "best": max(rates), "median": statistics.median(rates)}


# ---------------------------------------------------------------- time by part
def _module_part(module, in_backbone: bool) -> str | None:
    """The part a module's own forward belongs to (None: no scope of its own)."""
    from torch import nn

    if isinstance(module, GateBlock):
        return "gates"
    if isinstance(module, (nn.LSTM, nn.GRU)):
        return "LSTM/GRU"
    if isinstance(module, (nn.LSTMCell, nn.GRUCell)):
        return "decoder cell"
    if isinstance(module, AttentionDecoder):
        return "decoder loop"
    if in_backbone and isinstance(module, nn.Conv2d):
        return "backbone convolutions"
    if in_backbone and isinstance(module, (InstanceNorm, nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)):
        return "normalisation"
    return None


def scope_modules(model) -> list:
    """Hook ``record_function`` scopes around the model's parts; returns the hook handles."""
    from torch.autograd.profiler import record_function

    backbone = model.features[0]  # ConvNet6 is the first feature layer of both families
    scoped = [(model, "other model layers"), (backbone, "backbone ReLU, pooling, dropout")]
    inside = {id(m) for m in backbone.modules()}
    for m in model.modules():
        part = _module_part(m, id(m) in inside)
        if part and m is not backbone:
            scoped.append((m, part))
    handles = []
    for module, part in scoped:
        stack = []

        def pre(mod, inputs, part=part, stack=stack):
            stack.append(record_function(SCOPE + part).__enter__())

        def post(mod, inputs, output, stack=stack):
            stack.pop().__exit__(None, None, None)

        handles += [module.register_forward_pre_hook(pre), module.register_forward_hook(post)]
    return handles


def _nearest_scopes(event):
    """Scope events below ``event`` with no scope in between."""
    for child in event.cpu_children:
        if child.name.startswith(SCOPE):
            yield child
        else:
            yield from _nearest_scopes(child)


def _scope_of(event) -> str | None:
    while event is not None:
        if event.name.startswith(SCOPE):
            return event.name[len(SCOPE):]
        event = event.cpu_parent
    return None


def split_by_part(events) -> dict[str, float]:
    """Seconds per part from profiler events of steps scoped as "step" (see the module docstring)."""
    events = list(events)
    part_of_seq = {}
    for e in events:  # forward ops that made an autograd node -> their part
        if e.sequence_nr >= 0 and not e.name.startswith("autograd::") and e.sequence_nr not in part_of_seq:
            part = _scope_of(e)
            if part not in (None, "step", "backward"):
                part_of_seq[e.sequence_nr] = part
    seconds = defaultdict(float)
    for e in events:
        if not e.name.startswith(SCOPE):
            continue
        part = e.name[len(SCOPE):]
        own = e.time_range.elapsed_us() - sum(c.time_range.elapsed_us() for c in _nearest_scopes(e))
        if part == "backward":
            nodes = [c for c in e.cpu_children if c.name.startswith("autograd::engine::evaluate_function")]
            for c in nodes:
                seconds[part_of_seq.get(c.sequence_nr, "other")] += c.time_range.elapsed_us() / 1e6
            own -= sum(c.time_range.elapsed_us() for c in nodes)
            part = "other"
        elif part == "step":
            part = "other"
        seconds[part] += own / 1e6
    return {p: seconds.get(p, 0.0) for p in PARTS}


# ---------------------------------------------------------------- one model
def _step(model, optimizer, batch, scoped: bool):
    """One training step as the trainer takes it, optionally inside profiler scopes."""
    from contextlib import nullcontext

    from torch.autograd.profiler import record_function

    scope = (lambda part: record_function(SCOPE + part)) if scoped else (lambda part: nullcontext())
    with scope("step"):
        with scope("optimiser"):
            optimizer.zero_grad(set_to_none=True)
        with scope("loss"):
            loss, _, _ = batch_loss(model, batch, "cpu", 0.8)
        with scope("backward"):
            loss.backward()
        with scope("optimiser"):
            optimizer.step()


def measure_model(experiment: str, batches, warmup: int = 1, seed: int = 0) -> dict:
    """FLOPs per line, lines/s and seconds per part of training ``experiment`` on ``batches``."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    seed_everything(seed)
    model = build_model(experiment, {})
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)

    # The line nearest the mean width, alone and unpadded.
    flat = [(b, i) for b in batches for i in range(len(b.texts))]
    widths = np.array([int(b.widths[i]) for b, i in flat])
    b, i = flat[int(np.abs(widths - widths.mean()).argmin())]
    one = Batch(b.images[i:i + 1, ..., : int(b.widths[i])], b.widths[i:i + 1], [b.texts[i]], [b.ids[i]])
    flops = line_flops(model, one)

    for j in range(warmup):
        _step(model, optimizer, batches[j % len(batches)], False)
    start = time.perf_counter()
    for batch in batches:
        _step(model, optimizer, batch, False)
    seconds = time.perf_counter() - start
    lines = sum(len(b.texts) for b in batches)

    handles = scope_modules(model)
    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for batch in batches:
                _step(model, optimizer, batch, True)
    finally:
        for h in handles:
            h.remove()
    parts = split_by_part(prof.events())
    total = sum(parts.values())
    return {"model": experiment, "flops_per_line": flops, "flop_line_width": int(one.widths[0]),
            "flop_line_chars": len(one.texts[0]), "lines": lines, "seconds": seconds, "lines_per_s": lines / seconds,
            "achieved_flops_per_s": flops * lines / seconds, "parts_seconds": parts, "profiled_seconds": total,
            "fractions": {p: (s / total if total > 0 else 0.0) for p, s in parts.items()}}


# ---------------------------------------------------------------- all models
def bench_flops(models=("ctc_baseline", "gate_1"), batch_size: int = 16, batches: int = 3, warmup: int = 1,
                source: str = "auto", lines: int = 400, seed: int = 0, threads: int = 0, report=print) -> dict:
    """Measure every model in ``models`` (see the module docstring).

    Returns:
        {"matmul": {n, repeats, threads, best, median} (FLOP/s), "models":
        [{model, flops_per_line, flop_line_width, flop_line_chars, lines,
        seconds, lines_per_s, achieved_flops_per_s, efficiency (achieved /
        best matmul), parts_seconds, profiled_seconds, fractions}], "data",
        "threads", "batch_size", "batches", "warmup"}.
    """
    import torch

    threads = threads or available_cores()
    torch.set_num_threads(threads)
    dataset, described = bench_lines(source, lines, seed)
    index_batches = sample_batches(dataset, batch_size, batches, 64, seed)
    data = collate_batches(PreparedLines(dataset, 64), index_batches, None)
    rate = matmul_rate(threads)
    report(f"hwr bench train --flops: {described}; {len(data)} batches of {batch_size} (+{warmup} warm-up), "
           f"{threads} thread(s)")
    report(f"  {rate['n']}x{rate['n']} float32 matmul: best {rate['best'] / 1e9:.1f} GFLOP/s, "
           f"median {rate['median'] / 1e9:.1f} GFLOP/s")
    rows = []
    for name in models:
        row = measure_model(name, data, warmup, seed)
        row["efficiency"] = row["achieved_flops_per_s"] / rate["best"]
        rows.append(row)
        report(format_row(row))
    return {"matmul": rate, "models": rows, "data": described, "threads": threads, "batch_size": batch_size,
            "batches": len(data), "warmup": warmup}


def format_row(row: dict) -> str:
    """A model's figures and its time by part, as a few readable lines."""
    lines = [f"  {row['model']}: {row['flops_per_line'] / 1e9:.2f} GFLOP per training line (width "
             f"{row['flop_line_width']}, {row['flop_line_chars']} characters), {row['lines_per_s']:.2f} lines/s "
             f"-> {row['achieved_flops_per_s'] / 1e9:.1f} GFLOP/s = {100 * row['efficiency']:.1f} % of matmul"]
    for part, frac in sorted(row["fractions"].items(), key=lambda kv: -kv[1]):
        if frac > 0:
            lines.append(f"      {part:32s} {100 * frac:5.1f} %  {row['parts_seconds'][part]:7.3f} s")
    return "\n".join(lines)
