"""``hwr bench compile``: ``torch.compile`` and width bucketing, each against the plain way, in training lines/s.

Two questions of issue "Models that read" §6, answered per model at the
book task's conditions (``--task xl-100k``: input height 32, gated models
with their margin, batch 16, its data and teacher forcing):

1. **Eager against compiled.** Two copies of one model with identical
   weights, one wrapped as the training engine wraps it
   (``torch.compile(model, dynamic=True)``, :mod:`hwr.training.engine`).
   Both take training steps (forward, the family's loss, backward, Adam) on
   the same real batches, ``--steps`` of them per timing, drawn from one
   width-bucketed epoch at evenly spaced width quantiles. Reported: the
   compiled copy's first step (where the compiling happens) in seconds,
   whether the two copies' first-step losses agree within
   :data:`LOSS_RTOL`, graph breaks and graphs as dynamo counts them, and
   lines/s of each after a warm-up pass. A compile that raises, at the
   first step or at a later recompile, is reported in one line for that
   model.

   The loss here is :func:`hwr.training.losses.batch_loss`, the one the
   engine computes through the compiled wrapper. A task with an auxiliary
   CTC loss (``aux_ctc``, as xl-100k) trains seq2seq models through
   :class:`~hwr.training.losses.AuxCTC`, which calls the model's encoder
   and decoder directly, past the wrapper: under such a task
   ``TrainConfig.compile`` does not reach a seq2seq model at all, and this
   part measures what compiling would give if it did (the report says so).

   Each model's compile part runs in a child process with CPU-time limits
   (``--compile-limit`` for the first step, ``--recompile-limit`` for the
   warm-up and timings after it), because compiling an unrolled decoder
   loop can take many minutes; a child stopped at a limit is reported with
   what it had measured, not waited for. The inductor caches are off, so
   the compile seconds are those of a first run on a fresh machine.

   The first-step losses are compared after seeding both copies alike.
   Where the model draws random numbers (dropout masks, teacher-forcing
   choices) the compiled graph may draw them in another order, so a
   difference beyond rounding is then no sign of a wrong graph; the report
   marks such models.

2. **Bucketed against random batches** (eager). The same ``--lines`` lines
   batched two ways: width-bucketed as the training loader does
   (:class:`~hwr.datasets.sampler.BucketBatchSampler`) and in a random
   order, where a short line is padded to its batch's widest. One timing is
   a pass over all the lines, so both arrangements do the same lines. The
   loss is the engine's (with the task's auxiliary CTC loss for seq2seq
   models). Reported: lines/s of each and the share of padded pixels in
   the batch tensors (padding / all input pixels).

In both parts the two arrangements alternate A B B A (B A A B in odd
rounds), ``--rounds`` times, so a change of load from other processes
affects both alike; a timing is the process's CPU time (plus its finished
children's, which is where the C compiler runs), which on one thread is the
work done and hardly depends on what else runs. lines/s are lines per CPU
second; wall-clock times are kept in the JSON. The ratio is of the median
lines/s, with the spread (min, max) of the ratios of neighbouring A-B
pairs.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import statistics
import sys
import time
from typing import Callable, Sequence

import numpy as np

from hwr.cli_types import non_negative_int, positive_int
from hwr.datasets import MemoryDataset, open_dataset
from hwr.datasets.sampler import BucketBatchSampler
from hwr.errors import UnknownNameError
from hwr.models import MODELS
from hwr.models.registry import model_config
from hwr.models.backbone import min_input_width
from hwr.preprocess import PreparedLines, collate
from hwr.provenance import hardware
from hwr.training.checkpoint import seed_everything
from hwr.training.engine import build_model
from hwr.training.losses import AuxCTC, batch_loss
from hwr.training.task import get_task

DEFAULT_MODELS = "ctc_baseline,gate_1,seq2seq_bn,light_in"
#: first-step losses of the eager and the compiled copy agree when they differ by at most this, relative
#: (inductor fuses and reorders float32 reductions: differences of 1e-6 are rounding, not a wrong graph)
LOSS_RTOL = 1e-4


# -- timing and arithmetic ---------------------------------------------------------------------------------

def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the C compiler inductor calls).

    ``time.process_time`` for this process (``os.times`` counts in 10 ms ticks, coarse
    for a timing of a few steps); the children are only ever the compiler's.
    """
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``call()``."""
    c0, t0 = cpu_seconds(), time.perf_counter()
    call()
    return cpu_seconds() - c0, time.perf_counter() - t0


def alternate(timers: dict[str, Callable[[], tuple[float, float]]], rounds: int) -> dict[str, list]:
    """Call the two ``timers`` A B B A in even rounds and B A A B in odd ones.

    Returns:
        name -> [(cpu, wall), ...] in call order; the k-th entries of the two
        lists were taken next to each other (the neighbouring pairs).
    """
    names = list(timers)
    if len(names) != 2:
        raise ValueError(f"alternate: needs two arrangements, got {names}")
    out: dict[str, list] = {n: [] for n in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for n in order + order[::-1]:
            out[n].append(timers[n]())
    return out


def compare(lines: int, a: Sequence[float], b: Sequence[float]) -> dict:
    """lines/s of arrangements A and B from seconds per timing of ``lines`` lines, and their ratio.

    Args:
        a, b: seconds per timing, the k-th of ``a`` taken next to the k-th of ``b``.

    Returns:
        {"a", "b": median lines/s, "ratio": b / a of the medians,
        "spread": (min, max) of lines/s B / A over the neighbouring pairs}.
    """
    if not a or len(a) != len(b):
        raise ValueError(f"compare: needs paired timings, got {len(a)} and {len(b)}")
    if min(a) <= 0 or min(b) <= 0:
        raise ValueError("compare: a timing of zero seconds (the clock is too coarse for so few steps)")
    rate_a, rate_b = statistics.median(lines / s for s in a), statistics.median(lines / s for s in b)
    pairs = [sa / sb for sa, sb in zip(a, b)]  # same lines in both: lines/s B / A = time A / time B
    return {"a": rate_a, "b": rate_b, "ratio": rate_b / rate_a, "spread": (min(pairs), max(pairs))}


def padding_share(batches) -> float:
    """Share of the batch tensors' pixels that is padding (right padding and a model's minimum width)."""
    total = sum(b.images.numel() for b in batches)
    real = sum(int(b.widths.sum()) * b.images.shape[2] * b.images.shape[1] for b in batches)
    return 1.0 - real / total if total else 0.0


def failure_line(error: BaseException) -> str:
    """One line for a failed compile: the exception's type and first line, and where in hwr it happened.

    Dynamo's messages carry the user's frames as text ("from user code: File ..., line N");
    the last one inside hwr says which model code it choked on.
    """
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    if len(first) > 150:
        first = first[:147] + "..."
    places = re.findall(r'File "([^"]*?hwr/[^"]+)", line (\d+)', text)
    if not places:
        import traceback

        places = [(f.filename, str(f.lineno)) for f in traceback.extract_tb(error.__traceback__)
                  if "/hwr/" in f.filename and "/hwr/bench/" not in f.filename]
    where = ""
    if places:
        path, line = places[-1]
        where = f" (at {path[path.rfind('hwr/'):]}:{line})"
    return f"{type(error).__name__}: {first}{where}"


# -- the lines and the models ------------------------------------------------------------------------------

def load_lines(source, lines: int, seed: int = 0) -> tuple[MemoryDataset, str]:
    """``lines`` training lines of ``source`` drawn at random, held in memory, and where they come from.

    Only the drawn lines are read (a subset view would read every image header of
    a 200,000-line set to learn the widths).

    Args:
        source: a source for :func:`hwr.datasets.open_dataset`, or an opened dataset.
    """
    ds = open_dataset(source, "train")
    if len(ds) == 0:
        raise ValueError(f"hwr bench compile: {source} has no training lines")
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(ds), min(lines, len(ds)), replace=False).tolist())
    name = source if isinstance(source, str) else getattr(ds, "name", type(ds).__name__)
    return MemoryDataset([ds[i] for i in picked], name=f"{name} (train)"), f"{len(picked)} lines of {name} (train split)"


class Setting:
    """A model under the task: its overrides, training config and a builder of identical copies."""

    def __init__(self, name: str, task: str, extra: dict | None = None, seed: int = 0):
        if name not in MODELS:
            raise UnknownNameError(f"hwr bench compile: no model {name!r}; models: {', '.join(MODELS)}")
        t = get_task(task)
        self.name, self.task, self.seed = name, task, seed
        self.overrides = {**t.overrides(name), **(extra or {})}
        self.config = t.config(name, seed=seed)
        self.teacher_forcing = self.config.teacher_forcing_at(0)
        self.family = MODELS[name].family
        self.height = model_config(name, **self.overrides).input_height
        #: the engine trains this model with the task's auxiliary CTC loss (seq2seq only)
        self.uses_aux = bool(self.config.aux_ctc) and self.family == "seq2seq"

    def build(self):
        """The model (train mode) as the engine builds it: seeded, channels-last weights."""
        seed_everything(self.seed)
        model = build_model(self.name, dict(self.overrides))
        model.train()
        return model


def bucketed_batches(widths: Sequence[int], batch_size: int, seed: int) -> list[list[int]]:
    """One epoch of the training loader's sampler over these lines (incomplete batches kept)."""
    return BucketBatchSampler(widths, batch_size, seed=seed).batches(0)


def random_batches(n: int, batch_size: int, seed: int) -> list[list[int]]:
    """The lines in a random order, cut into batches (what training did before bucketing)."""
    order = np.random.default_rng([seed, 1]).permutation(n).tolist()
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def quantile_batches(widths: Sequence[int], batch_size: int, k: int, seed: int) -> list[list[int]]:
    """``k`` full batches of a bucketed epoch at evenly spaced width quantiles (narrow and wide alike)."""
    epoch = [b for b in bucketed_batches(widths, batch_size, seed) if len(b) == batch_size]
    if not epoch:
        raise ValueError(f"hwr bench compile: {len(widths)} lines make no full batch of {batch_size}")
    epoch.sort(key=lambda b: max(widths[i] for i in b))
    picks = ((np.arange(k) + 0.5) * len(epoch) / k).astype(int)
    return [epoch[min(p, len(epoch) - 1)] for p in picks]


def _stepper(params, loss_of):
    """One training step: forward and loss by ``loss_of(batch)``, backward, Adam over ``params``."""
    import torch

    optimizer = torch.optim.Adam(list(params), lr=1e-3)

    def step(batch):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of(batch)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


# -- part 1: eager against compiled ------------------------------------------------------------------------

def _cpu_limit(seconds: float | None) -> None:
    """Stop this process (SIGXCPU) once it has used ``seconds`` more CPU seconds; None: no limit."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if seconds is None:
        resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
        return
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def compile_part(setting: Setting, batches, rounds: int, stage=lambda s: None, limit: float | None = None,
                 rest_limit: float | None = None, keep=lambda row: None) -> dict:
    """Eager against compiled training steps of one model on ``batches``, in this process.

    Args:
        batches: the timed batches (every timing runs all of them; the warm-up too, once).
        rounds: A B B A rounds.
        stage: called with a short name of each phase as it begins (the parent's progress).
        limit: CPU seconds allowed for the first compiled step; ``rest_limit``: for the
            warm-up and the timings after it (a child process sets them; it is stopped
            when it runs over). None: no limit.
        keep: called with the row measured so far after each phase, so that a parent
            whose child is stopped later still has the compile seconds.

    Returns:
        {"model", "compile_s", "compile_wall_s", "first_loss": {eager, compiled}, "loss_rel_diff",
        "loss_agree", "graph_breaks", "graphs", "break_reason", "warmup_s": {eager, compiled: CPU s per
        batch}, "lines_per_timing", "eager_lines_per_s", "compiled_lines_per_s", "ratio", "spread",
        "timings"} or, when compiling failed, {"model", "failed": one line, "failed_at", ...what was
        measured before}.
    """
    import warnings

    import torch
    import torch._dynamo
    import torch._inductor.config as inductor
    from torch._dynamo.utils import counters

    warnings.filterwarnings("ignore", message=".*force_disable_caches")  # says what the next line asks for
    inductor.compile_threads = 1  # compile in this process: one core, as the runs beside it expect
    inductor.force_disable_caches = True  # a cold compile: what a fresh machine pays
    torch._dynamo.reset()
    counters.clear()

    def graphs() -> int:
        return int(counters["stats"].get("unique_graphs", 0))

    tf = setting.teacher_forcing
    eager = setting.build()
    twin = copy.deepcopy(eager)  # identical weights
    out: dict = {"model": setting.name, "overrides": setting.overrides, "teacher_forcing": tf}
    try:
        compiled = torch.compile(twin, dynamic=True)  # as hwr.training.engine wraps the runner
    except Exception as e:  # noqa: BLE001 - any failure is the result for this model
        return {**out, "failed": failure_line(e), "failed_at": "wrapping"}
    step_eager = _stepper(eager.parameters(), lambda b: batch_loss(eager, b, "cpu", tf)[0])
    step_compiled = _stepper(twin.parameters(), lambda b: batch_loss(compiled, b, "cpu", tf)[0])

    stage("eager first step")
    torch.manual_seed(setting.seed)  # the same teacher-forcing draws for both copies' first step
    loss_e = step_eager(batches[0])
    out["eager_first_loss"] = loss_e
    stage("compiling (first step)")
    torch.manual_seed(setting.seed)
    losses = []
    phase = "first step"
    try:
        _cpu_limit(limit)
        cpu, wall = timed(lambda: losses.append(step_compiled(batches[0])))
        _cpu_limit(rest_limit)  # a fresh allowance for the warm-up and the timings (recompiles happen there)
        loss_c = losses[0]
        rel = abs(loss_c - loss_e) / max(abs(loss_e), 1e-12)
        # Dropout masks and teacher-forcing choices are random draws, which compiled code may take in
        # another order than eager code: then the losses can differ by more than rounding, graph or no.
        random_draws = (any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in twin.modules())
                        or (setting.family == "seq2seq" and 0 < tf < 1))
        breaks = counters.get("graph_break", {})
        out.update(compile_s=cpu, compile_wall_s=wall, first_loss={"eager": loss_e, "compiled": loss_c},
                   loss_rel_diff=rel, loss_agree=rel <= LOSS_RTOL, loss_rtol=LOSS_RTOL, random_draws=random_draws,
                   graph_breaks=int(sum(breaks.values())), graphs=graphs(),
                   break_reason=(next(iter(breaks)).strip().splitlines()[0] if breaks else None),
                   warmup_s={"eager": [], "compiled": []})
        keep(out)
        for i, b in enumerate(batches, 1):  # each batch once: new shapes recompile here, not in a timing
            phase = f"warm-up batch {i}/{len(batches)}"
            stage(phase)
            out["warmup_s"]["eager"].append(timed(lambda: step_eager(b))[0])
            out["warmup_s"]["compiled"].append(timed(lambda: step_compiled(b))[0])
            out["graphs_after_warmup"] = graphs()
            keep(out)
        phase = "timing"
        stage(phase)
        t = alternate({"eager": lambda: timed(lambda: [step_eager(b) for b in batches]),
                       "compiled": lambda: timed(lambda: [step_compiled(b) for b in batches])}, rounds)
    except Exception as e:  # noqa: BLE001 - a recompile for a new shape can fail where the first did not
        return {**out, "failed": failure_line(e), "failed_at": phase}
    finally:
        _cpu_limit(None)
    lines = sum(len(b) for b in batches)
    c = compare(lines, [x[0] for x in t["eager"]], [x[0] for x in t["compiled"]])
    out.update(lines_per_timing=lines, eager_lines_per_s=c["a"], compiled_lines_per_s=c["b"], ratio=c["ratio"],
               spread=c["spread"], graphs_after_timing=graphs(),
               timings={k: [list(x) for x in v] for k, v in t.items()})
    return out


def _child(conn, setting: Setting, batches, rounds: int, limits, threads: int) -> None:
    """The compile part in a child process: stages and the result go back through ``conn``."""
    import resource

    import torch

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a CPU-limit stop must not write a core file
    torch.set_num_threads(threads)
    result = compile_part(setting, batches, rounds, stage=lambda s: conn.send(("stage", s)), limit=limits[0],
                          rest_limit=limits[1], keep=lambda row: conn.send(("partial", row)))
    conn.send(("result", result))
    conn.close()


def measure_compile(setting: Setting, batches, rounds: int, limit: float | None = 120.0,
                    threads: int = 1, isolate: bool = True, report=print, rest_limit: float | None = None) -> dict:
    """:func:`compile_part` for one model, in a child process with CPU limits (``isolate``) or here.

    Args:
        limit: CPU seconds for the first compiled step; ``rest_limit`` for the warm-up and
            timings after it (default: ``limit``).

    A child stopped by its CPU limit, or dying otherwise, gives a row with ``"failed"``
    saying in which phase, beside what it had measured before (the compile seconds of its
    first step, say), rather than an exception.
    """
    rest_limit = limit if rest_limit is None else rest_limit
    if not isolate:
        return compile_part(setting, batches, rounds, stage=lambda s: report(f"  {setting.name}: {s}"))
    import multiprocessing as mp
    import signal

    ctx = mp.get_context("spawn")  # a fresh interpreter: no dynamo state or threads carried over
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, setting, batches, rounds, (limit, rest_limit), threads), daemon=True)
    proc.start()
    child.close()
    last, result, partial = "starting", None, {}
    # Wall-clock backstop only: the CPU limits are what stop a long compile; under load wall time runs ahead.
    deadline = time.monotonic() + (6 * (limit + rest_limit) + 300 if limit else math.inf)
    while result is None and time.monotonic() < deadline:
        if not parent.poll(5):
            if not proc.is_alive():
                break
            continue
        try:
            kind, value = parent.recv()
        except EOFError:
            break
        if kind == "stage":
            last = value
            report(f"  {setting.name}: {value}")
        elif kind == "partial":
            partial = value
        else:
            result = value
    if proc.is_alive() and result is None:
        proc.terminate()  # only our own child, by its handle
    proc.join(30)
    if result is not None:
        return result
    code = proc.exitcode
    if code == -signal.SIGXCPU:
        why = f"stopped after its CPU limit of {limit if 'compile_s' not in partial else rest_limit:g} s"
    elif code is None:
        why = "stopped by the wall-clock backstop"
    else:
        why = f"the child process ended with code {code}"
    return {"model": setting.name, "overrides": setting.overrides, **partial, "failed": f"{why}, during: {last}",
            "failed_at": last}


# -- part 2: bucketed against random batches ---------------------------------------------------------------

def bucketing_part(setting: Setting, prepared: list, batch_size: int, rounds: int, seed: int = 0) -> dict:
    """Eager training lines/s over the same lines in bucketed and in random batches, A B B A.

    Args:
        prepared: the lines after :func:`hwr.preprocess.prepare`, as ``(image, text, id)``.

    Returns:
        {"model", "lines", "batches": {arrangement: count}, "padding": {arrangement: share},
        "random_lines_per_s", "bucketed_lines_per_s", "ratio" (bucketed / random), "spread", "timings"}.
    """
    import torch

    base = setting.build()
    narrowest = min_input_width(base)  # the engine pads narrower batches to what the model can read
    widths = [img.shape[1] for img, _, _ in prepared]
    arrangements = {"random": random_batches(len(prepared), batch_size, seed),
                    "bucketed": bucketed_batches(widths, batch_size, seed)}
    batches = {k: [collate([prepared[i] for i in b], None, narrowest) for b in idx] for k, idx in arrangements.items()}
    steps = {}
    tf = setting.teacher_forcing
    for k in arrangements:
        model = copy.deepcopy(base)  # identical weights for both
        if setting.uses_aux:  # the engine's loss, its head trained beside the model by the same Adam
            torch.manual_seed(setting.seed)  # the same head weights for both
            aux = AuxCTC(model, setting.config.aux_ctc)
            step = _stepper([*model.parameters(), *aux.head.parameters()], lambda b, a=aux: a.batch_loss(b, "cpu", tf)[0])
        else:
            step = _stepper(model.parameters(), lambda b, m=model: batch_loss(m, b, "cpu", tf)[0])
        step(batches[k][0])  # warm-up: first calls allocate and pick kernels
        steps[k] = lambda s=step, bs=batches[k]: timed(lambda: [s(b) for b in bs])
    t = alternate(steps, rounds)
    lines = len(prepared)
    c = compare(lines, [x[0] for x in t["random"]], [x[0] for x in t["bucketed"]])
    return {"model": setting.name, "overrides": setting.overrides, "lines": lines,
            "aux_ctc": setting.uses_aux,
            "batches": {k: len(v) for k, v in batches.items()},
            "mean_batch_width": {k: float(np.mean([b.images.shape[-1] for b in v])) for k, v in batches.items()},
            "padding": {k: padding_share(v) for k, v in batches.items()},
            "random_lines_per_s": c["a"], "bucketed_lines_per_s": c["b"], "ratio": c["ratio"],
            "spread": c["spread"], "timings": {k: [list(x) for x in v] for k, v in t.items()}}


# -- the whole benchmark -----------------------------------------------------------------------------------

def format_compile_row(r: dict) -> str:
    """One table row; a model whose compiling failed after its first step keeps that step's columns."""
    name = r["model"] + ("" if r.get("engine_compiles_it", True) else " *")
    if "compile_s" not in r:
        return f"{name:14s} compile failed: {r['failed']}"
    if "ratio" in r:
        lo, hi = r["spread"]
        speed = f"{r['eager_lines_per_s']:9.1f} {r['compiled_lines_per_s']:9.1f}  {r['ratio']:6.2f} [{lo:.2f}-{hi:.2f}]"
    else:
        speed = f"{'-':>9s} {'-':>9s}  {'-':>6s} {'':11s}"
    graphs = r.get("graphs_after_timing", r.get("graphs_after_warmup", r["graphs"]))
    agree = "agree" if r["loss_agree"] else ("differ, random draws +" if r.get("random_draws") else "DIFFER")
    row = (f"{name:14s} {speed}  {r['compile_s']:7.1f} {r['compile_wall_s']:7.1f}  {r['graph_breaks']:3d} "
           f"{graphs:3d}  {agree} ({r['loss_rel_diff']:.1e})")
    return row + (f"\n{'':14s} then failed: {r['failed']}" if "failed" in r else "")


def format_bucketing_row(r: dict) -> str:
    lo, hi = r["spread"]
    return (f"{r['model']:14s} {r['random_lines_per_s']:9.1f} {r['bucketed_lines_per_s']:9.1f}  {r['ratio']:6.2f} "
            f"[{lo:.2f}-{hi:.2f}]  {100 * r['padding']['random']:6.1f}% {100 * r['padding']['bucketed']:6.1f}%")


COMPILE_HEADER = (f"{'model':14s} {'eager':>9s} {'compiled':>9s}  {'c/e':>6s} {'[pairs]':11s}  "
                  f"{'comp cpu':>7s} {'wall s':>7s}  {'brk':>3s} {'gr':>3s}  first-step loss (rel diff)")
BUCKET_HEADER = (f"{'model':14s} {'random':>9s} {'bucketed':>9s}  {'b/r':>6s} {'[pairs]':11s}  "
                 f"{'pad rnd':>7s} {'pad bkt':>7s}")


def run(models: Sequence[str] = tuple(DEFAULT_MODELS.split(",")), task: str = "xl-100k", data=None,
        lines: int = 256, batch_size: int = 16, steps: int = 4, rounds: int = 2, seed: int = 0,
        compile_limit: float | None = 120.0, recompile_limit: float | None = 30.0, skip_compile: bool = False,
        skip_bucketing: bool = False,
        threads: int = 1, isolate: bool = True, overrides: dict[str, dict] | None = None,
        report=print, progress=lambda s: print(s, file=sys.stderr, flush=True)) -> dict:
    """Both parts for every model of ``models``; prints a table per part.

    Args:
        task: the book task whose input height, margins, data, teacher forcing and
            auxiliary loss apply (``configs/tasks.yaml``).
        data: a dataset source or dataset; None: the task's.
        steps: batches per timing in the compile part.
        compile_limit: CPU seconds for a model's first compiled step (a child process
            each); None: no limit. ``recompile_limit``: for its warm-up and timings after it.
        isolate: run each compile part in a child process (False: here, without a limit; tests).
        overrides: per model, extra :class:`~hwr.models.registry.ModelConfig` fields (tiny models in tests).

    Returns:
        {"task", "data", "batch_size", "steps", "rounds", "threads", "torch", "hardware",
        "compile": [rows], "bucketing": [rows]} (rows as :func:`compile_part`, :func:`bucketing_part`).
    """
    import torch

    torch.set_num_threads(threads)
    settings = [Setting(m, task, (overrides or {}).get(m), seed) for m in models]  # unknown names fail here
    source = data if data is not None else get_task(task).source()
    progress(f"hwr bench compile: reading {lines} lines of {source if isinstance(source, str) else 'the dataset'}")
    dataset, described = load_lines(source, lines, seed)
    result = {"task": task, "data": described, "batch_size": batch_size, "steps": steps, "rounds": rounds,
              "threads": threads, "torch": torch.__version__, "hardware": hardware(), "loss_rtol": LOSS_RTOL,
              "compile_limit_cpu_s": compile_limit, "recompile_limit_cpu_s": recompile_limit,
              "compile": [], "bucketing": []}
    # The lines are prepared once; each model collates them with its own minimum width.
    cache: dict[int, list] = {}

    def prepared_at(height: int) -> list:
        if height not in cache:
            lines_ = PreparedLines(dataset, height)
            cache[height] = [lines_[i] for i in range(len(lines_))]
            bad = [it for it in cache[height] if not isinstance(it, tuple)]
            if bad:
                raise ValueError(f"hwr bench compile: {len(bad)} lines cannot be read, first {bad[0].source}: "
                                 f"{bad[0].error}")
        return cache[height]

    report(f"hwr bench compile: task {task}, {described}, batch {batch_size}, {threads} thread(s), "
           f"torch {torch.__version__}, {hardware()['cpu']}")
    if not skip_compile:
        rows = []
        for s in settings:
            progress(f"hwr bench compile: {s.name}: eager against compiled")
            prep = prepared_at(s.height)
            idx = quantile_batches([img.shape[1] for img, _, _ in prep], batch_size, steps, seed)
            narrowest = min_input_width(model_config(s.name, **s.overrides))
            batches = [collate([prep[i] for i in b], None, narrowest) for b in idx]
            row = measure_compile(s, batches, rounds, compile_limit, threads, isolate, progress, recompile_limit)
            row["engine_compiles_it"] = not s.uses_aux
            rows.append(row)
        result["compile"] = rows
        report(f"\n1. eager against torch.compile(dynamic=True): training lines/s (CPU time), {steps} batches per "
               f"timing, {rounds} A B B A rounds; compile = the first compiled step, CPU and wall s; "
               f"brk = graph breaks, gr = graphs; losses agree when within {LOSS_RTOL:g} relative")
        report(COMPILE_HEADER)
        for row in rows:
            report(format_compile_row(row))
        if any(not r.get("loss_agree", True) and r.get("random_draws") for r in rows):
            report("   + the model draws dropout masks or teacher-forcing choices, which the compiled graph may draw "
                   "in another order than eager code: its first-step loss need not equal eager's")
        if not all(r["engine_compiles_it"] for r in rows):
            report(f"   * task {task} trains seq2seq models with aux_ctc, whose loss calls the encoder and decoder "
                   "past the compiled wrapper: the engine's TrainConfig.compile does not reach them today")
    if not skip_bucketing:
        rows = []
        for s in settings:
            progress(f"hwr bench compile: {s.name}: bucketed against random batches")
            rows.append(bucketing_part(s, prepared_at(s.height), batch_size, rounds, seed))
        result["bucketing"] = rows
        report(f"\n2. width-bucketed against random batches (eager): training lines/s (CPU time), one pass over "
               f"the {len(dataset)} lines per timing, {rounds} A B B A rounds; pad = padded share of input pixels")
        report(BUCKET_HEADER)
        for row in rows:
            report(format_bucketing_row(row))
    return result


def configure(parser) -> None:
    """Arguments of ``hwr bench compile``."""
    parser.add_argument("--models", default=DEFAULT_MODELS,
                        help=f"comma-separated registry names (default {DEFAULT_MODELS})")
    parser.add_argument("--task", default="xl-100k",
                        help="book task whose height, margins, data and loss apply (default xl-100k)")
    parser.add_argument("--data", default=None,
                        help="dataset source (default: the task's, synth:phrases-xl for xl-100k)")
    parser.add_argument("--lines", type=positive_int, default=256,
                        help="lines drawn from the training split (default 256)")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="lines per batch (default 16)")
    parser.add_argument("--steps", type=positive_int, default=4,
                        help="batches per timing in the compile part (default 4; the bucketing part times a whole pass)")
    parser.add_argument("--rounds", type=positive_int, default=2,
                        help="A B B A rounds (default 2: 4 timings per arrangement)")
    parser.add_argument("--compile-limit", type=non_negative_int, default=120,
                        help="CPU seconds for a model's first compiled step (default 120; 0: no limits, in this process)")
    parser.add_argument("--recompile-limit", type=positive_int, default=30,
                        help="CPU seconds for its warm-up and timings after that, where new shapes recompile (default 30)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--skip-compile", action="store_true", help="leave out part 1 (eager against compiled)")
    parser.add_argument("--skip-bucketing", action="store_true", help="leave out part 2 (bucketed against random)")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write the results as JSON to PATH")


def main(args) -> int:
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    limit = args.compile_limit or None
    result = run(models, args.task, args.data, args.lines, args.batch_size, args.steps, args.rounds, args.seed,
                 limit, args.recompile_limit if limit else None, args.skip_compile, args.skip_bucketing, args.threads,
                 isolate=limit is not None)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0
