"""``hwr bench latency``: inference time per forward call, the thesis's way and properly.

The thesis (spec §11) timed one forward call of a model on a batch padded to
64 x 1408, and that is the first figure here. The proper figures differ in
how they measure (the first five rows) and, for the last column, in the input:

=====================  ===============================  ===================================
                       thesis method                    proper
=====================  ===============================  ===================================
gradients              recorded (no ``no_grad``)        ``torch.no_grad()``
decoder steps          all 98                           ``--steps`` (45: a typical IAM line
                                                        of 44 characters + EOS)
warm-up                none (the first call counts)     ``--warmup`` untimed calls
GPU synchronisation    none (times kernel launches)     ``torch.cuda.synchronize()``
statistic              mean of the calls                median of the calls
memory format          default (contiguous)             channels-last, as ``hwr.models.build``
                                                        gives it (``--no-channels-last``: default)
input                  padded to 1408                   same (``proper_ms``), and a typical
                                                        line, 750 wide (``proper_line_ms``)
=====================  ===============================  ===================================

Weights are random (seeded): the work of a forward call does not depend on
their values, except where the decoder stops. A trained model stops once
every line emitted EOS; a random one never does, so the proper measurements
run a fixed, realistic number of steps instead (``stop_at_eos=False``,
``max_steps=--steps``). CTC models have no decoder steps; only the other
differences apply. Calls of the two methods alternate so that load from
other processes affects both alike. The report records thread count, CPU
model, GPU and torch version: the figures mean nothing without them.
"""

from __future__ import annotations

import copy
import json
import platform
import statistics
import time
from typing import Sequence

import torch

from hwr import device
from hwr.bench.memory_format import weights_format
from hwr.cli_types import non_negative_int, positive_int
from hwr.models import MODELS, build
from hwr.preprocess import THESIS_EVAL_WIDTH
from hwr.provenance import hardware

THESIS_STEPS = 98
TYPICAL_STEPS = 45
TYPICAL_WIDTH = 750


def environment(device: str = "cpu") -> dict:
    """What the figures depend on: torch version, threads, CPU, GPU."""
    hw = hardware()
    return {
        "torch": torch.__version__,
        "threads": hw["torch_threads"],
        "cpu": hw["cpu"],
        "cores": hw["cores"],
        "device": device,
        "gpu": hw["gpu"] if device.startswith("cuda") else None,
        "python": platform.python_version(),
    }


def _forward(model, x: torch.Tensor, steps: int):
    if model.family == "seq2seq":
        return model(x, max_steps=steps, stop_at_eos=False)
    return model(x)


def thesis_call(model, x: torch.Tensor) -> float:
    """Seconds of one call timed as the thesis did: ``time.time()`` around
    one forward call in eval mode with gradients recorded, all 98 decoder
    steps, no CUDA synchronisation."""
    t0 = time.time()
    y = _forward(model, x, THESIS_STEPS)
    seconds = time.time() - t0
    del y  # frees the autograd graph before the next call
    return seconds


@torch.no_grad()
def proper_call(model, x: torch.Tensor, steps: int = TYPICAL_STEPS) -> float:
    """Seconds of one ``no_grad`` call with ``steps`` decoder steps,
    synchronised before and after on a GPU."""
    if x.is_cuda:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    _forward(model, x, steps)
    if x.is_cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def measure(
    name: str,
    batch_size: int,
    width: int | None = None,
    line_width: int | None = TYPICAL_WIDTH,
    steps: int = TYPICAL_STEPS,
    repeats: int = 3,
    warmup: int = 1,
    device: str = "cpu",
    channels_last: bool = True,
    compile: bool = False,
    seed: int = 0,
) -> dict:
    """Time one registry model at one batch size, the thesis's way and properly.

    The thesis calls and the proper calls alternate, so a change of load on
    a shared machine affects both alike. The first thesis call is the first
    forward call of the freshly built model (no warm-up, as the thesis); the
    proper calls follow ``warmup`` untimed calls.

    Args:
        name: registry name (``hwr.models.MODELS``).
        batch_size: lines per call (thesis: 24 and 1).
        width: padded input width of the thesis measurement and of the
            "same input" proper one; None = the thesis's evaluation width for
            the model's input height (1408 at 64, 3225 at 128).
        line_width: width of the "typical line" proper measurement (no
            padding: one line, or a batch bucketed by width); None = skip it.
            Default 750, the mean prepared width of IAM lines at height 64
            (scaled by the input height for the height-128 model).
        steps: decoder steps of the proper measurements.
        repeats: timed calls of each measurement.
        warmup: untimed calls before the proper measurements.
        device: ``"cpu"`` or ``"cuda"``.
        channels_last: proper measurements with the weights in channels-last
            memory format, as :func:`hwr.models.build` gives them; False
            converts them to the default format. The thesis measurement
            always runs in the default format, as the thesis's code did.
        compile: proper measurements through ``torch.compile`` (first call 1-2 min).
        seed: seed of the random weights and inputs.

    Returns:
        ``{model, family, batch, height, width, line_width, thesis_ms (mean),
        thesis_warm_ms (median of the thesis calls after the first),
        proper_ms, proper_line_ms (medians), ratio, line_ratio (proper /
        thesis_ms), *_calls_ms (every call), thesis_steps, proper_steps,
        channels_last, thesis_memory_format, memory_format (the formats the
        weights of the two measurements were actually in), compile,
        thesis_reported_ms}``.
    """
    if repeats < 1:
        raise ValueError(f"hwr bench latency: repeats must be >= 1, got {repeats}")
    torch.manual_seed(seed)
    # build() gives channels-last weights; the thesis's code ran the default format.
    model = build(name).to(device).eval().to(memory_format=torch.contiguous_format)
    height = model.input_height
    width = width or THESIS_EVAL_WIDTH[height]
    x = torch.rand(batch_size, 1, height, width, device=device)
    inputs = {"proper": x}
    if line_width:
        line_width = line_width * height // 64
        inputs["proper_line"] = torch.rand(batch_size, 1, height, line_width, device=device)
    fast = copy.deepcopy(model)
    if channels_last:  # B x 1 x H x W inputs are channels-last already
        fast = fast.to(memory_format=torch.channels_last)
    formats = {"thesis_memory_format": weights_format(model), "memory_format": weights_format(fast)}
    if compile:
        family = fast.family
        fast = torch.compile(fast, dynamic=True)
        fast.family = family
    calls: dict[str, list[float]] = {"thesis": [thesis_call(model, x)], **{k: [] for k in inputs}}
    for _ in range(warmup):
        for v in inputs.values():
            proper_call(fast, v, steps)
    for i in range(repeats):
        if i:  # the first thesis call was the cold one above
            calls["thesis"].append(thesis_call(model, x))
        for k, v in inputs.items():
            calls[k].append(proper_call(fast, v, steps))
    ms = {k: [1000 * t for t in v] for k, v in calls.items()}
    thesis_ms = statistics.mean(ms["thesis"])
    # The same calls without the cold first one: separates the cost of the
    # measuring method from the one-off cost of a first call.
    warm_ms = statistics.median(ms["thesis"][1:]) if repeats > 1 else None
    proper_ms = statistics.median(ms["proper"])
    line_ms = statistics.median(ms["proper_line"]) if line_width else None
    reported = MODELS[name].thesis_latency_ms
    key = (("gpu_bs24" if batch_size == 24 else None) if device.startswith("cuda")
           else {24: "cpu_bs24", 1: "cpu_bs1"}.get(batch_size))
    seq2seq = model.family == "seq2seq"
    return {
        "model": name,
        "family": model.family,
        "batch": batch_size,
        "height": height,
        "width": width,
        "line_width": line_width,
        "thesis_ms": thesis_ms,
        "thesis_warm_ms": warm_ms,
        "proper_ms": proper_ms,
        "proper_line_ms": line_ms,
        "ratio": proper_ms / thesis_ms,
        "line_ratio": line_ms / thesis_ms if line_ms else None,
        "thesis_calls_ms": ms["thesis"],
        "proper_calls_ms": ms["proper"],
        "proper_line_calls_ms": ms.get("proper_line"),
        "thesis_steps": THESIS_STEPS if seq2seq else None,
        "proper_steps": steps if seq2seq else None,
        "channels_last": channels_last,
        **formats,
        "compile": compile,
        "thesis_reported_ms": reported.get(key) if key else None,
    }


def run(models: Sequence[str], batch_sizes: Sequence[int], device: str = "cpu", **kw) -> dict:
    """:func:`measure` for every model and batch size, with the environment."""
    results = [measure(m, b, device=device, **kw) for m in models for b in batch_sizes]
    return {"environment": environment(device), "random_weights": True, "results": results}


def format_report(report: dict) -> str:
    """A text table of :func:`run`'s output."""
    env = report["environment"]
    head = (f"torch {env['torch']}, {env['threads']} thread(s), CPU {env['cpu']} ({env['cores']} cores)"
            + (f", GPU {env['gpu']}" if env.get("gpu") else "") + f", device {env['device']}")
    lines = [head,
             "random weights (latency does not depend on their values)",
             "thesis: padded input, grad recorded, 98 steps, no warm-up, no sync, mean of calls "
             "(warm: median without the first call)",
             "proper: no_grad, realistic steps, warm-up, sync, median of calls; same padded input, "
             "and a typical line (line width)",
             "last column: memory format of the weights, thesis/proper"]
    lines.append(f"{'model':<14}{'batch':>6}{'input':>10}{'thesis ms':>11}{'(warm)':>8}{'proper ms':>11}{'ratio':>7}"
                 f"{'line':>6}{'line ms':>10}{'ratio':>7}{'steps':>7}{'paper ms':>10}")
    for r in report["results"]:
        steps = f"{r['proper_steps']}" if r["proper_steps"] else "-"
        paper = f"{r['thesis_reported_ms']:.0f}" if r.get("thesis_reported_ms") else "-"
        line = (f"{r['line_width']:>6}{r['proper_line_ms']:>10.1f}{r['line_ratio']:>7.2f}"
                if r.get("proper_line_ms") else f"{'-':>6}{'-':>10}{'-':>7}")
        warm = f"{r['thesis_warm_ms']:>8.1f}" if r.get("thesis_warm_ms") else f"{'-':>8}"
        extra = f" {r['thesis_memory_format']}/{r['memory_format']}" + (" compiled" if r["compile"] else "")
        lines.append(f"{r['model']:<14}{r['batch']:>6}{r['height']:>5}x{r['width']:<4}{r['thesis_ms']:>11.1f}{warm}"
                     f"{r['proper_ms']:>11.1f}{r['ratio']:>7.2f}{line}{steps:>7}{paper:>10}{extra}")
    return "\n".join(lines)


# ---------------------------------------------------------------- command line
def configure(parser) -> None:
    """Arguments of ``hwr bench latency``."""
    parser.add_argument("--models", nargs="+", default=["gate_1"], help="registry names (default gate_1)")
    parser.add_argument("--batch-sizes", nargs="+", type=positive_int, default=[1, 24], help="default: 1 24")
    parser.add_argument("--width", type=positive_int, default=None, help="input width (default: 1408 at height 64, 3225 at 128)")
    parser.add_argument("--line-width", type=non_negative_int, default=TYPICAL_WIDTH,
                        help=f"width of the typical-line measurement, 0 = skip it (default {TYPICAL_WIDTH})")
    parser.add_argument("--steps", type=positive_int, default=TYPICAL_STEPS,
                        help=f"decoder steps of the proper measurement (default {TYPICAL_STEPS})")
    parser.add_argument("--repeats", type=positive_int, default=3, help="timed calls per measurement (default 3)")
    parser.add_argument("--warmup", type=non_negative_int, default=1, help="untimed calls before the proper measurement")
    parser.add_argument("--threads", type=non_negative_int, default=None,
                        help="torch CPU threads (default, or 0: torch's own)")
    device.add_argument(parser, default="cpu")
    parser.add_argument("--no-channels-last", action="store_true",
                        help="proper measurements in the default memory format (default: channels-last)")
    parser.add_argument("--compile", action="store_true", help="proper measurement through torch.compile")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def main(args) -> int:

    if args.threads:
        torch.set_num_threads(args.threads)
    report = run(args.models, args.batch_sizes, device=device.resolve(args.device), width=args.width,
                 line_width=args.line_width or None, steps=args.steps, repeats=args.repeats,
                 warmup=args.warmup, channels_last=not args.no_channels_last, compile=args.compile,
                 seed=args.seed)
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0
