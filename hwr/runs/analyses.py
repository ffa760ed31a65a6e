"""Analyses of a finished run that need its trained model, kept as records.

Test CER and per-line predictions are written when a run finishes
(:mod:`hwr.runs.execute`). Some chapters need more of a trained model: beam
search at several widths, decoding without a step limit, the model under
other batch sizes or with batch statistics. Those are *analyses*:

>>> result = analysis(record, "ctc_decoding", widths=[1, 5, 10])

The first call loads ``<run>/checkpoints/best.pt``, computes, and saves the
result in ``<run>/analyses/<name>.json`` (arrays beside it in
``<name>.npz``) with its parameters and provenance; every later call, on a
fresh clone without checkpoints too, reads it back. A call with other
parameters recomputes (and needs the checkpoint again). The files are small
and committed with the run's records, so the book renders without training.

Every analysis evaluates on the run's own test split. Those that time
something (seconds per line) record the thread count and the machine: on a
shared machine a timing is only comparable with timings of the same call.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from hwr.runs.store import RunRecord

ANALYSES: dict[str, Callable] = {}
#: the version of each analysis's output: a record of another version is computed again
VERSIONS: dict[str, int] = {}


def analyses(name: str, version: int = 1):
    """Register ``fn(model, record, **params) -> dict`` as analysis ``name``.

    The dict holds JSON values; numpy arrays in it go to ``<name>.npz``.
    Bump ``version`` when the output changes, so that older records are not
    read back as if they had it."""

    def register(fn):
        ANALYSES[name] = fn
        VERSIONS[name] = version
        return fn

    return register


def _paths(rec: RunRecord, name: str) -> tuple[Path, Path]:
    folder = rec.folder / "analyses"
    return folder / f"{name}.json", folder / f"{name}.npz"


def _jsonable(params: dict) -> dict:
    import json

    return json.loads(json.dumps(params))


def analysis(rec: RunRecord, name: str, threads: int = 1, **params) -> dict:
    """The result of analysis ``name`` of run ``rec`` with ``params``: read
    back when recorded with the same parameters, else computed from the
    run's best checkpoint and recorded.

    Raises:
        KeyError: no analysis of that name.
        FileNotFoundError: not recorded with these parameters and the
            checkpoint is not on this machine (says how to get it).
    """
    from hwr.files import read_json, write_json

    if name not in ANALYSES:
        raise KeyError(f"no analysis {name!r}; known: {', '.join(sorted(ANALYSES))}")
    json_path, npz_path = _paths(rec, name)
    saved = read_json(json_path)
    if saved is not None and saved.get("params") == _jsonable(params) and saved.get("version", 1) == VERSIONS[name]:
        result = dict(saved["result"])
        if npz_path.exists():
            with np.load(npz_path, allow_pickle=False) as z:
                result.update({k: z[k] for k in z.files})
        return result
    checkpoint = rec.folder / "checkpoints" / "best.pt"
    if not checkpoint.exists():
        why = ("was recorded with other parameters or by another version" if saved is not None
               else "is not recorded")
        raise FileNotFoundError(
            f"{rec.folder}: analysis {name!r} {why} and the run's checkpoint is not on this machine; "
            f"retrain the run (delete its folder, then `hwr sweep`) or restore {checkpoint}")
    import torch

    from hwr.models.io import load_model
    from hwr.provenance import git_state, hardware, versions

    torch.set_num_threads(threads)
    model = load_model(rec.folder, device="cpu")
    started = time.time()
    result = ANALYSES[name](model, rec, **params)
    arrays = {k: v for k, v in result.items() if isinstance(v, np.ndarray)}
    plain = {k: v for k, v in result.items() if k not in arrays}
    json_path.parent.mkdir(exist_ok=True)
    if arrays:
        np.savez_compressed(npz_path, **arrays)
    elif npz_path.exists():
        npz_path.unlink()
    write_json(json_path, {"analysis": name, "version": VERSIONS[name], "params": _jsonable(params), "threads": threads,
                           "seconds": time.time() - started, "provenance": {"git": git_state(), "versions": versions(), "hardware": hardware()},
                           "result": plain})
    return result


#: test lines the attention of every seq2seq run is measured on when the run ends (the chapters read it back)
SEGMENTATION_LINES = 400
#: analyses every finished run of a family records at once, with their parameters: its checkpoint
#: stays on the machine that trained it, so what a later chapter needs of the model is kept now
RUN_END = {"seq2seq": {"segmentation": {"n": SEGMENTATION_LINES}, "attention_maps": {"n": 3},
                       "segmentation_examples": {"n": SEGMENTATION_LINES}}}


def run_end_analyses(rec: RunRecord, family: str, threads: int = 1) -> dict[str, dict]:
    """Record the :data:`RUN_END` analyses of a finished run of ``family``."""
    try:
        return {name: analysis(rec, name, threads, **params) for name, params in RUN_END.get(family, {}).items()}
    finally:
        _SCORED.clear()


def first_analysis(records, name: str, threads: int = 1, **params) -> tuple[RunRecord, dict]:
    """Analysis ``name`` of the first of ``records`` that has it recorded or has
    its checkpoint, in the records' order (seed order in a study): a chapter that
    draws one run's analysis takes whichever seed can give it.

    Raises:
        FileNotFoundError: none of the runs can (the error of the last one).
    """
    error = None
    for rec in records:
        try:
            return rec, analysis(rec, name, threads, **params)
        except FileNotFoundError as e:
            error = e
    raise error or FileNotFoundError(f"no runs to take analysis {name!r} from")


def test_lines(rec: RunRecord, n: int | None = None, order: str = "sorted", seed: int = 0):
    """The run's test lines: all, or ``n`` evenly spaced ones, ``"sorted"`` by
    width (as the run's own test) or in a seeded random (``"mixed"``) order."""
    from hwr.datasets import open_dataset
    from hwr.training.data import validation_subset

    subset = validation_subset(open_dataset(rec.spec.data, "test"), n)
    if order == "sorted":
        return subset
    if order != "mixed":
        raise ValueError(f"order must be 'sorted' or 'mixed', got {order!r}")
    return subset.subset(np.random.default_rng(seed).permutation(len(subset)).tolist())


def _loader(model, lines, batch_size: int):
    from hwr.preprocess import make_loader

    from hwr.models.backbone import min_input_width

    return make_loader(lines, batch_size, train=False, height=model.input_height, min_width=min_input_width(model))


def _scores(refs: list[str], hyps: list[str]) -> dict:
    from hwr.metrics import cer, wer

    return {"cer": cer(refs, hyps), "wer": wer(refs, hyps)}


@analyses("ctc_decoding")
def ctc_decoding(model, rec: RunRecord, widths=(1, 2, 5, 10, 20, 50), keep: int = 10, batch_size: int = 16) -> dict:
    """Greedy against prefix beam search of a CTC model on the test lines.

    The network runs once (its time per line is ``network_s``); each decoder
    then decodes the same posteriors, so its ``seconds_per_line`` is the
    decoder's alone.

    Returns:
        ``{network_s, lines, backend, decoders: [{decoder, width, cer, wer,
        seconds_per_line}], lines_table: [{id, reference, greedy, beam}]}``
        with the beam of width ``keep`` in ``lines_table``.
    """
    import torch

    from hwr.decode.ctc import clip_lengths, ctc_beam, ctc_greedy, has_fast_beam
    from hwr.decode.family import FAMILIES

    codec = FAMILIES["ctc"].codec
    lines = test_lines(rec)
    posteriors, refs, ids = [], [], []
    network = 0.0
    with torch.no_grad():
        for batch in _loader(model, lines, batch_size):
            t = time.perf_counter()
            lp = model(batch.images).float()
            network += time.perf_counter() - t
            lengths = clip_lengths(model.output_width(batch.widths), lp.shape[0], lp.shape[1])
            posteriors += [lp[i, :lengths[i]].numpy() for i in range(len(lengths))]
            refs += list(batch.texts)
            ids += list(batch.ids)
    decoders, hyps_by = [], {}
    for label, width in [("greedy", 1)] + [("beam", w) for w in widths]:
        t = time.perf_counter()
        if label == "greedy":
            labels = [ctc_greedy(p[None])[0] for p in posteriors]
        else:
            labels = [ctc_beam(p[None], beam=width)[0] for p in posteriors]
        seconds = (time.perf_counter() - t) / max(1, len(posteriors))
        hyps = [codec.decode(lab) for lab in labels]
        hyps_by[(label, width)] = hyps
        decoders.append({"decoder": label, "width": width, **_scores(refs, hyps), "seconds_per_line": seconds})
    beam = hyps_by.get(("beam", keep), hyps_by[("greedy", 1)])
    return {"network_s": network / max(1, len(refs)), "lines": len(refs),
            "backend": "fast-ctc-decode" if has_fast_beam() else "python",
            "decoders": decoders,
            "lines_table": [{"id": i, "reference": r, "greedy": g, "beam": b}
                            for i, r, g, b in zip(ids, refs, hyps_by[("greedy", 1)], beam)]}


@analyses("seq2seq_decoding")
def seq2seq_decoding(model, rec: RunRecord, widths=(2, 5), n: int | None = None, batch_size: int = 16,
                     max_steps: int = 98) -> dict:
    """Greedy against attention beam search of a seq2seq model, and how often
    greedy decoding never emits EOS (it then runs to ``max_steps``).

    Returns:
        ``{lines, no_eos, decoders: [{decoder, width, cer, wer,
        seconds_per_line}], no_eos_ids, lines_table: [{id, reference,
        greedy, beam_<w>...}]}`` (``no_eos``: share of test lines).
    """
    import torch

    from hwr.codec import EOS
    from hwr.decode import transcribe

    lines = test_lines(rec, n)
    decoders, no_eos_ids, table = [], [], {}
    for label, width in [("greedy", 1)] + [("beam", w) for w in widths]:
        refs, hyps, ids, seconds = [], [], [], 0.0
        with torch.no_grad():
            for batch in _loader(model, lines, batch_size):
                t = time.perf_counter()
                out = transcribe(model, batch.images, batch.widths, beam=None if label == "greedy" else width,
                                 max_steps=max_steps)
                seconds += time.perf_counter() - t
                refs += list(batch.texts)
                hyps += out.texts
                ids += [str(i) for i in batch.ids]
                if label == "greedy":
                    no_eos_ids += [i for i, raw in zip(batch.ids, out.raw) if EOS not in raw]
        decoders.append({"decoder": label, "width": width, **_scores(refs, hyps),
                         "seconds_per_line": seconds / max(1, len(refs))})
        key = "greedy" if label == "greedy" else f"beam_{width}"
        for i, r, h in zip(ids, refs, hyps):
            table.setdefault(i, {"id": i, "reference": r})[key] = h
    return {"lines": len(lines), "no_eos": len(no_eos_ids) / max(1, len(lines)), "no_eos_ids": no_eos_ids,
            "decoders": decoders, "lines_table": list(table.values())}


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
    import copy

    import torch

    from hwr.decode import transcribe

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


@analyses("attention_maps")
def attention_maps(model, rec: RunRecord, n: int = 4, max_steps: int = 98) -> dict:
    """Attention maps of ``n`` evenly spaced test lines, each decoded alone (no padding).

    Arrays: ``image_<i>`` (H x W uint8, the prepared line), ``attention_<i>``
    (steps x W', or steps x H' x W', float16; one row per emitted character
    and one for EOS).

    Returns:
        ``{lines: [{id, reference, decoded}], ...arrays}``
    """
    import torch

    from hwr.decode import transcribe

    out: dict = {"lines": []}
    with torch.no_grad():
        for i, batch in enumerate(_loader(model, test_lines(rec, n), 1)):
            t = transcribe(model, batch.images, batch.widths, max_steps=max_steps, attention=True)
            steps = min(len(t.texts[0]) + 1, t.attention.shape[1])
            out[f"attention_{i}"] = t.attention[0, :steps].numpy().astype(np.float16)
            out[f"image_{i}"] = (batch.images[0, 0].numpy() * 255).round().astype(np.uint8)
            out["lines"].append({"id": str(batch.ids[0]), "reference": batch.texts[0], "decoded": t.texts[0]})
    return out


#: the scored test lines of the last run asked for, so that its segmentation and its examples decode them once
_SCORED: dict = {}


def _scored_lines(model, rec: RunRecord, n: int | None, max_steps: int) -> tuple[int, list[tuple]]:
    """How many of ``rec``'s test lines were asked for (the first ``n``), and
    their :func:`_score_lines`, computed once per run and checkpoint (the
    last run's are kept)."""
    checkpoint = rec.folder / "checkpoints" / "best.pt"
    key = (str(rec.folder), checkpoint.stat().st_mtime_ns if checkpoint.exists() else None, n, max_steps)
    if key not in _SCORED:
        _SCORED.clear()
        lines = test_lines(rec, n)
        _SCORED[key] = len(lines), list(_score_lines(model, lines, max_steps))
    return _SCORED[key]


def _score_lines(model, lines, max_steps: int):
    """Decode each of ``lines`` alone and score its attention against its
    character boxes (:func:`hwr.segmentation.score_line`).

    Yields:
        ``(item, image, attention, centres, boxes, decoded, rows)`` per line
        that has boxes: the prepared image (H x W float), the attention (S x W'
        or S x H' x W'), the memory column centres, the boxes at the input,
        the decoded text and the rows.
    """
    import torch

    from hwr.decode import transcribe
    from hwr.segmentation import boxes_at_input, score_line

    with torch.no_grad():
        for k, batch in enumerate(_loader(model, lines, 1)):
            item = lines[k]
            if item.boxes is None:
                continue
            t = transcribe(model, batch.images, batch.widths, max_steps=max_steps, attention=True)
            att = t.attention[0].numpy()
            centres = model.column_centres(att.shape[-1]).numpy()
            h, w = item.image.shape[:2]
            boxes = boxes_at_input(item.boxes, h, w, model.input_height)
            rows = score_line(att, centres, boxes, item.text, t.texts[0])
            yield item, batch.images[0, 0].numpy(), att, centres, boxes, t.texts[0], rows


def _line_hit(rows: list[dict]) -> float | None:
    hits = [r["hit"] for r in rows if r["char"] != " "]
    return float(np.mean(hits)) if hits else None


@analyses("segmentation", version=3)  # 2: signed offsets; 3: rows as an array
def segmentation(model, rec: RunRecord, n: int | None = None, max_steps: int = 98) -> dict:
    """Attention maps as character segmentation (:mod:`hwr.segmentation`) on
    the test lines, each decoded alone (no padding in its attention).

    Returns:
        ``{lines, scored_lines, summary: {chars, spaces}, char_width_px (mean
        width of a character box at the input, spaces left out), rows (an
        array, one row per scored character: hit, mass, offset, is_space),
        per_line}`` (rows: every scored
        character, for distributions; lines without boxes are left out and
        counted).
    """
    from hwr.segmentation import summarize

    n_lines, scored = _scored_lines(model, rec, n, max_steps)
    rows, per_line, widths = [], [], []
    for item, _, _, _, boxes, decoded, line_rows in scored:
        widths += [b - a for (a, b), ch in zip(boxes, item.text) if ch != " "]
        rows += line_rows
        per_line.append({"id": str(item.id), "reference": item.text, "decoded": decoded, "hit": _line_hit(line_rows)})
    return {"lines": n_lines, "scored_lines": len(per_line), "summary": summarize(rows),
            "char_width_px": float(np.mean(widths)) if widths else float("nan"),
            "rows": np.array([[r["hit"], r["mass"], r["offset"], r["char"] == " "] for r in rows],
                             dtype=np.float32).reshape(-1, 4),
            "per_line": per_line}


@analyses("segmentation_examples")
def segmentation_examples(model, rec: RunRecord, n: int | None = None, k: int = 2, min_chars: int = 8,
                          max_steps: int = 98) -> dict:
    """The ``k`` test lines (of at least ``min_chars`` characters) whose
    attention peaks fall in their characters' boxes most often, and the ``k``
    where least often, with everything needed to draw them.

    Arrays per example ``i`` (best first, then worst): ``image_<i>`` (H x W
    uint8), ``attention_<i>`` (S x W' or S x H' x W' float16), ``boxes_<i>``
    (characters x 2, input pixels), ``centres_<i>`` (W' column centres).

    Returns:
        ``{examples: [{id, reference, decoded, hit, kind ("best"/"worst")}], ...arrays}``
    """
    scored = []
    for item, image, att, centres, boxes, decoded, rows in _scored_lines(model, rec, n, max_steps)[1]:
        hit = _line_hit(rows)
        if hit is not None and len(item.text.replace(" ", "")) >= min_chars:
            scored.append((hit, -len(item.text), item, image, att, centres, boxes, decoded))
    scored.sort(key=lambda x: (x[0], x[1]))
    worst, best = scored[:k], scored[::-1][:k]
    out: dict = {"examples": []}
    for i, (kind, (hit, _, item, image, att, centres, boxes, decoded)) in enumerate(
            [("best", x) for x in best] + [("worst", x) for x in worst if all(x is not b for b in best)]):
        out["examples"].append({"id": str(item.id), "reference": item.text, "decoded": decoded, "hit": hit,
                                "kind": kind})
        out[f"image_{i}"] = (image * 255).round().astype(np.uint8)
        out[f"attention_{i}"] = att.astype(np.float16)
        out[f"boxes_{i}"] = np.asarray(boxes, dtype=np.float32)
        out[f"centres_{i}"] = centres.astype(np.float32)
    return out


@analyses("gate_activations")
def gate_activations(model, rec: RunRecord, n: int = 64, n_maps: int = 2, bins: int = 50) -> dict:
    """What the gate blocks let through: the sigmoid half of each block
    (``sigmoid(x2)`` in :class:`hwr.models.gate.GateBlock`, before its IN), on
    ``n`` evenly spaced test lines, each run alone (no padding).

    Arrays: ``image_<i>`` (H x W uint8) and ``gate_<i>_<b>`` (C x W'_b
    float16, averaged over the feature rows) for the first ``n_maps`` lines
    and each block ``b``; ``centres_<b>`` (W'_b of the widest line: where
    each column of block ``b`` sits on the input, in pixels); ``hist``
    (blocks x ``bins``: the share of gate values in each of ``bins`` equal
    bins over [0, 1], over all lines, channels and columns).

    Returns:
        ``{blocks, lines: [{id, reference}], summary: [{block, mean, sd,
        closed (share < 0.1), open (share > 0.9), channel_sd (sd over
        channels of each channel's mean)}]}``
    """
    import torch

    from hwr.models.gate import GateBlock

    blocks = [m for m in model.modules() if isinstance(m, GateBlock)]
    if not blocks:
        raise ValueError(f"{rec.spec.experiment} has no gate blocks")
    seen: dict[int, torch.Tensor] = {}
    hooks = [b.conv.register_forward_hook(lambda mod, inp, out, i=i: seen.__setitem__(i, out.chunk(2, dim=1)[1]))
             for i, b in enumerate(blocks)]
    out: dict = {"blocks": len(blocks), "lines": []}
    hist = np.zeros((len(blocks), bins))
    totals = np.zeros((len(blocks), 3))  # sum, sum of squares, count
    channel_means: list[list[np.ndarray]] = [[] for _ in blocks]
    closed, opened = np.zeros(len(blocks)), np.zeros(len(blocks))
    widest = 0
    try:
        with torch.no_grad():
            for k, batch in enumerate(_loader(model, test_lines(rec, n), 1)):
                model.encode(batch.images)
                if k < n_maps:
                    out[f"image_{k}"] = (batch.images[0, 0].numpy() * 255).round().astype(np.uint8)
                    out["lines"].append({"id": str(batch.ids[0]), "reference": batch.texts[0]})
                for b in range(len(blocks)):
                    g = torch.sigmoid(seen[b][0]).mean(dim=1).numpy()  # C x W'
                    if k < n_maps:
                        out[f"gate_{k}_{b}"] = g.astype(np.float16)
                    hist[b] += np.histogram(g, bins=bins, range=(0.0, 1.0))[0]
                    totals[b] += (g.sum(), (g ** 2).sum(), g.size)
                    closed[b] += (g < 0.1).sum()
                    opened[b] += (g > 0.9).sum()
                    channel_means[b].append(g.mean(axis=1))
                widest = max(widest, seen[len(blocks) - 1].shape[-1])
    finally:
        for h in hooks:
            h.remove()
    # column k of block b is made from backbone columns k .. k + (shrink of blocks 0..b): its
    # centre lies half the later blocks' shrink left of the last block's column k (Seq2Seq.column_centres)
    for b in range(len(blocks)):
        later = sum(x.shrink() for x in blocks[b + 1:])
        centres = model.column_centres(widest + later).numpy()
        stride = float(centres[1] - centres[0])
        out[f"centres_{b}"] = (centres - later / 2 * stride).astype(np.float32)
    out["hist"] = (hist / hist.sum(axis=1, keepdims=True)).astype(np.float32)
    summary = []
    for b in range(len(blocks)):
        s, s2, c = totals[b]
        means = np.mean(channel_means[b], axis=0)
        summary.append({"block": b + 1, "mean": s / c, "sd": float(np.sqrt(max(0.0, s2 / c - (s / c) ** 2))),
                        "closed": closed[b] / c, "open": opened[b] / c, "channel_sd": float(means.std())})
    out["summary"] = summary
    return out


@analyses("names_reading")
def names_reading(model, rec: RunRecord, batch_size: int = 32) -> dict:
    """Seed 003's accuracies beside correct ones, on the run's test names.

    The network runs once per batch; from its output come the per-frame
    argmax (raw: blanks and repeats kept, what seed 003 compared) and the
    greedy reading (collapsed). Each is scored both ways: by edit distance
    (CER, and a line right only when read exactly) and by seed 003's
    position-by-position comparison (:func:`hwr.metrics.positional_accuracy`).

    Returns:
        ``{lines, frames, canvas, cropped, cer, char_accuracy, line_accuracy,
        raw: {char, word}, collapsed: {char, word}, cer_cropped,
        cer_whole}``: fractions; ``cropped`` is the share of test names wider
        than the model's canvas (their ends are cut off before the network
        sees them), ``cer_cropped``/``cer_whole`` the CER of those names and of
        the rest (None where there are none).
    """
    import torch

    from hwr.decode.ctc import ctc_greedy
    from hwr.decode.family import FAMILIES
    from hwr.metrics import cer, line_accuracy, positional_accuracy

    codec = FAMILIES["ctc"].codec
    canvas = getattr(getattr(model, "cfg", None), "input_width", None)
    if canvas is None:
        raise ValueError(f"{rec.folder}: names_reading needs a fixed-canvas model (names_crnn)")
    refs, raw, collapsed, widths = [], [], [], []
    with torch.no_grad():
        for batch in _loader(model, test_lines(rec), batch_size):
            lp = model(batch.images)
            raw += lp.argmax(-1).tolist()
            collapsed += ctc_greedy(lp)
            refs += list(batch.texts)
            widths += batch.widths.tolist()
    hyps = [codec.decode(lab) for lab in collapsed]
    labels = [codec.encode(r) for r in refs]
    cut = [w > canvas for w in widths]
    part = {flag: ([r for r, c in zip(refs, cut) if c == flag], [h for h, c in zip(hyps, cut) if c == flag])
            for flag in (True, False)}
    raw_char, raw_word = positional_accuracy(labels, raw)
    col_char, col_word = positional_accuracy(labels, collapsed)
    error = cer(refs, hyps)
    return {"lines": len(refs), "frames": len(raw[0]) if raw else 0, "canvas": canvas,
            "cropped": sum(cut) / max(1, len(cut)), "cer": error, "char_accuracy": 1 - error,
            "line_accuracy": line_accuracy(refs, hyps),
            "raw": {"char": raw_char, "word": raw_word}, "collapsed": {"char": col_char, "word": col_word},
            "cer_cropped": cer(*part[True]) if part[True][0] else None,
            "cer_whole": cer(*part[False]) if part[False][0] else None}


@analyses("ctc_nan")
def ctc_nan(model, rec: RunRecord, lines: int = 8) -> dict:
    """Seed 003's NaN losses reproduced on the trained model (:func:`hwr.training.ctc_checks.nan_cases`).

    One batch of ``lines`` evenly spaced test names; the impossible label
    is the batch's names joined by spaces, cut to one symbol more than the
    frames a line has.

    Returns:
        ``{frames, too_long, cases: [{case, guard, lines, infinite lines, loss,
        gradient finite, weights finite, outputs finite after the step}]}``.
    """
    from hwr.decode.family import FAMILIES
    from hwr.training.ctc_checks import nan_cases

    codec = FAMILIES["ctc"].codec
    batch = next(iter(_loader(model, test_lines(rec, lines), lines)))
    labels = [codec.encode(t) for t in batch.texts]
    frames = model.output_width(batch.widths)
    text = " ".join(batch.texts * (1 + int(frames[0]) // max(1, len(" ".join(batch.texts)))))
    too_long = text[:int(frames[0]) + 1]
    rows = nan_cases(model, batch.images, labels, frames, codec.encode(too_long))
    return {"frames": int(frames[0]), "too_long": too_long, "cases": rows}


@analyses("stn_warps")
def stn_warps(model, rec: RunRecord, n: int = 6, pick: str = "slanted") -> dict:
    """What a light CRNN's spatial transformer does to test words (seed 004's figure).

    Args:
        n: words kept.
        pick: ``"slanted"``: the ``n`` test words whose ink leans most (the
            largest horizontal shift of the ink's centroid from its lower to
            its upper half, per row of height); ``"spaced"``: evenly spaced.

    Returns:
        ``{ids, texts, lean, theta}`` (theta: n x 2 x 3 affine maps, lean: per
        word), ``inputs`` and ``warped`` (n x H x Wmax arrays, padded with
        the paper's grey at the right), and ``shear``: the mean shear term of
        theta over all test words (``theta[0, 1]``) with its sd.
    """
    import torch

    from hwr.preprocess import prepare

    if getattr(model, "stn", None) is None:
        raise ValueError(f"{rec.folder}: stn_warps needs a model with a spatial transformer")
    lines = test_lines(rec)
    height = model.input_height
    images = [prepare(item.image, height) for item in lines]
    leans = np.array([_lean(im) for im in images])
    order = np.argsort(-leans)[:n] if pick == "slanted" else np.linspace(0, len(images) - 1, n).astype(int)
    thetas, warped = [], []
    with torch.no_grad():
        for im in images:
            x = torch.from_numpy(im)[None, None]
            out = model.stn(x)
            thetas.append(model.stn.last_theta[0].numpy())
            warped.append(out[0, 0].numpy())
    thetas = np.stack(thetas)
    width = max(images[i].shape[1] for i in order)

    def pad(a):
        return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=float(np.median(a)))

    return {"ids": [lines[int(i)].id for i in order], "texts": [lines[int(i)].text for i in order],
            "lean": [float(leans[i]) for i in order], "theta": thetas[order],
            "inputs": np.stack([pad(images[i]) for i in order]), "warped": np.stack([pad(warped[i]) for i in order]),
            "shear": float(thetas[:, 0, 1].mean()), "shear_sd": float(thetas[:, 0, 1].std())}


def _lean(image: np.ndarray) -> float:
    """How far a word's ink leans right: the horizontal shift of the ink's centroid from the lower to the upper
    half of its rows, divided by the rows between the halves' centroids (0 for upright writing)."""
    ink = np.clip(np.median(image) - image - 0.1, 0, None)
    rows = np.arange(image.shape[0])[:, None]
    cols = np.arange(image.shape[1])[None, :]
    total = ink.sum()
    if total <= 0:
        return 0.0
    mid = (ink * rows).sum() / total
    upper, lower = ink * (rows < mid), ink * (rows >= mid)
    if upper.sum() <= 0 or lower.sum() <= 0:
        return 0.0
    dx = (upper * cols).sum() / upper.sum() - (lower * cols).sum() / lower.sum()
    dy = (lower * rows).sum() / lower.sum() - (upper * rows).sum() / upper.sum()
    return float(dx / max(dy, 1e-6))
