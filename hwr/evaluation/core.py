"""Score a model on a line dataset: CER, WER, the thesis's legacy CER.

:func:`evaluate` is the one evaluation loop of the project: ``hwr eval``, the
chapters and the trainer's per-epoch validation all call it. It decodes every
line through :func:`hwr.decode.transcribe` (greedy, or CTC beam search) and
scores with :mod:`hwr.metrics`.

Legacy CER and early stopping. The thesis's CER (spec §10) scores the raw
argmax of the decoder steps cut to ``len(reference) + 1`` symbols, so it
depends on what the decoder emits *after* its EOS when that EOS comes early
(a line predicted too short). With early stopping the batch stops once every
line emitted EOS, and those later steps are never computed; padding them with
EOS would be a guess (the loss never trained the steps after EOS, so the
model need not repeat EOS). We therefore run every ``max_steps`` (98) steps
without early stopping whenever the legacy CER is computed, as the thesis
did: it is exact, and costs little, since the convolutional features, not the
decoder steps, dominate the time. ``legacy=False`` stops at EOS and leaves
the legacy CER out. The standard CER and WER are the same either way (steps
before a line's EOS do not depend on later ones).
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path
from typing import Sequence

import torch

from hwr import metrics
from hwr.decode import transcribe
from hwr.errors import EmptyScoreError
from hwr.files import write_text
from hwr.models.backbone import min_input_width
from hwr.preprocess import make_loader

PREDICTION_FIELDS = ("id", "reference", "hypothesis", "distance")

#: default largest share of lines that may be skipped (unreadable, left out)
#: before a score is refused: a few bad files in a large split do not change
#: a CER much, many do and must not pass unnoticed
MAX_SKIPPED = 0.01


def dataset_skipped(dataset) -> list[tuple[str, str]]:
    """Lines a dataset left out when it was opened (``bad="skip"``), as
    (source, reason) pairs: its ``skipped`` list, or, for loaders that only
    count them, one entry per line of its report's ``dropped`` counts."""
    skipped = getattr(dataset, "skipped", None)
    if skipped is not None:
        return [(str(a), str(b)) for a, b in skipped]
    dropped = getattr(getattr(dataset, "report", None), "dropped", None) or {}
    name = str(getattr(dataset, "name", "dataset"))
    return [(name, str(reason)) for reason, n in dropped.items() for _ in range(n)]


def list_sources(skipped: Sequence[tuple[str, str]], limit: int = 10) -> str:
    """``"a.png (reason), b.png (reason) and 3 more"``: the files of skipped lines, for one-line messages."""
    shown = ", ".join(f"{src} ({why})" for src, why in skipped[:limit])
    return shown + (f" and {len(skipped) - limit} more" if len(skipped) > limit else "")


def check_skipped(name: str, lines: int, skipped: Sequence[tuple[str, str]], max_skipped: float,
                  task: str = "score") -> None:
    """Refuse a score over zero lines, or over a share of skipped lines above ``max_skipped``.

    Args:
        name: the split or source scored (named in the message).
        lines: lines scored.
        skipped: (source, reason) of each line left out or unreadable.
        max_skipped: largest allowed share skipped / (lines + skipped).
        task: what the lines are for, in the message ("score", "train on").

    Raises:
        EmptyScoreError: one line naming ``name`` and the skipped files.
    """
    files = f": {list_sources(skipped)}" if skipped else ""
    if lines == 0:
        why = ", a CER over 0 lines is undefined" if task == "score" else ""
        raise EmptyScoreError(f"{name}: no line to {task}{why} ({len(skipped)} skipped{files})")
    share = len(skipped) / (lines + len(skipped))
    if share > max_skipped:
        raise EmptyScoreError(f"{name}: {len(skipped)} of {lines + len(skipped)} lines skipped ({share:.1%}, "
                              f"more than the allowed {max_skipped:.1%}){files}")


def _device(model) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _loader(model, data, batch_size: int, fixed_width: int | None, max_lines: int | None, workers: int):
    """A DataLoader as given, or one built over a dataset (first ``max_lines``)."""
    if isinstance(data, torch.utils.data.DataLoader):
        return data

    if max_lines is not None and max_lines < len(data):
        data = data.subset(range(max_lines)) if hasattr(data, "subset") else [data[i] for i in range(max_lines)]

    return make_loader(data, batch_size, train=False, height=model.input_height, fixed_width=fixed_width,
                       workers=workers, min_width=min_input_width(model))


def evaluate(
    model,
    data,
    batch_size: int = 16,
    fixed_width: int | None = None,
    max_lines: int | None = None,
    beam: int | None = None,
    progress: bool = True,
    legacy: bool | None = None,
    max_steps: int = 98,
    out: str | Path | Sequence[str | Path] | None = None,
    workers: int = 0,
    max_skipped: float = MAX_SKIPPED,
    name: str | None = None,
    skipped: Sequence[tuple[str, str]] | None = None,
) -> tuple[dict, list[dict]]:
    """Transcribe every line of ``data`` and score the transcriptions.

    Args:
        model: a built model (``family``, ``input_height``, ``output_width``);
            put in eval mode for the run and returned to its previous mode.
            Runs on the device of its parameters.
        data: a :class:`hwr.datasets.LineDataset` (batched here with
            :func:`hwr.preprocess.make_loader`, dataset order) or a DataLoader
            yielding :class:`hwr.preprocess.Batch`.
        batch_size: lines per batch (dataset input only).
        fixed_width: pad every batch to this width (thesis: 1408 at height
            64); None pads to the widest line of each batch. Dataset input only.
        max_lines: score only the first ``max_lines`` lines.
        beam: beam width; None = greedy. CTC: prefix beam search (thesis:
            10). Seq2seq: attention beam search (not in the thesis; no legacy CER).
        progress: show a progress bar on stderr.
        legacy: seq2seq greedy only, compute the legacy CER (runs all
            ``max_steps`` steps, see the module docstring); None = True.
        max_steps: seq2seq step limit (thesis 98).
        out: file path(s) to write the predictions to, ``.csv`` or ``.jsonl``.
        workers: loader worker processes (dataset input only).
        max_skipped: refuse the score when more than this share of the lines
            was skipped (left out when the dataset was opened, or unreadable
            when loaded).
        name: what is scored, for messages (default: the dataset's name).
        skipped: (source, reason) of lines left out before loading; default
            :func:`dataset_skipped` of a dataset, none for a DataLoader.

    Raises:
        EmptyScoreError: naming the data, when no line could be scored (an
            empty split, every image unreadable) or too many were skipped;
            no score is returned and no prediction written then.

    Returns:
        ``(metrics, predictions)``: metrics ``{cer, wer, legacy_cer (seq2seq
        with legacy), lines, seconds, lines_per_s, skipped, skipped_lines,
        decoding}`` (``skipped`` counts the lines left out or unreadable,
        ``skipped_lines`` lists them as ``{source, reason}``) with
        rates as fractions except ``legacy_cer`` (percent, as the thesis);
        ``seconds`` is wall-clock time of the whole loop, loading included.
        predictions, in data order: ``{id, reference, hypothesis, distance}``
        with ``distance`` the character edit distance.
    """
    seq2seq = model.family == "seq2seq"
    beam = beam if beam and beam > 1 else None
    # The legacy CER is defined on the greedy decoder's raw steps: none with a beam.
    legacy = (seq2seq if legacy is None else (legacy and seq2seq)) and beam is None
    is_loader = isinstance(data, torch.utils.data.DataLoader)
    if skipped is None:
        skipped = [] if is_loader else dataset_skipped(data)
    if name is None:
        inner = getattr(getattr(data, "dataset", None), "dataset", None) if is_loader else data
        name = str(getattr(inner, "name", None) or "the evaluation data")
        if getattr(inner, "split", None):
            name = f"{inner.split} split of {name}"
    loader = _loader(model, data, batch_size, fixed_width, max_lines, workers)
    # Lines whose image fails to load inside a batch: a LineLoader counts
    # them (also in the batches it does not yield, whose lines all failed);
    # other loaders hand them over in ``batch.skipped``.
    counted = hasattr(loader, "skipped_total")
    total_before = getattr(loader, "skipped_total", 0)
    load_failed = []
    device = _device(model)
    was_training = model.training
    model.eval()
    total = max_lines
    if total is None and hasattr(loader, "bad_items"):  # a LineLoader: its dataset holds lines
        total = len(loader.dataset)
    from tqdm import tqdm

    bar = tqdm(total=total, unit="line", desc="eval", disable=not progress, file=sys.stderr, leave=False)
    refs: list[str] = []
    hyps: list[str] = []
    ids: list[str] = []
    raws: list[list[int]] = []
    started = time.perf_counter()
    try:
        for batch in loader:
            if not counted:
                load_failed += getattr(batch, "skipped", [])
            if not batch.texts:  # every line of this batch failed to load
                continue
            n = len(batch.texts)
            if max_lines is not None:
                n = min(n, max_lines - len(refs))
                if n <= 0:
                    break
            images, widths = batch.images[:n].to(device), batch.widths[:n]
            result = transcribe(model, images, widths, beam=beam, max_steps=max_steps, stop_at_eos=not legacy)
            refs += batch.texts[:n]
            ids += [str(i) for i in batch.ids[:n]]
            hyps += result.texts
            if legacy:
                raws += result.raw
            bar.update(n)
    finally:
        bar.close()
        model.train(was_training)
    seconds = time.perf_counter() - started
    if counted:
        # bad_items lists each failing line once per loader (a validation
        # loader meets the same ones every epoch): the latest are this pass's.
        fails = loader.skipped_total - total_before
        load_failed = list(getattr(loader, "bad_items", []))[-fails:] if fails else []
        load_failed += [None] * (fails - len(load_failed))
    skipped = list(skipped) + [(b.source, b.error) if b is not None else ("?", "unreadable image")
                               for b in load_failed]
    check_skipped(name, len(refs), skipped, max_skipped)
    predictions = [
        {"id": i, "reference": r, "hypothesis": h, "distance": metrics.edit_distance(r, h)}
        for i, r, h in zip(ids, refs, hyps)
    ]
    result_metrics = {
        "cer": metrics.cer(refs, hyps),
        "wer": metrics.wer(refs, hyps),
        # share of lines whose output looks independent of the image (hwr.metrics.degenerate_lines)
        "degenerate": metrics.degenerate_share(refs, hyps),
        "lines": len(refs),
        "seconds": seconds,
        "lines_per_s": len(refs) / seconds if seconds > 0 else float("nan"),
        "skipped": len(skipped),
        "skipped_lines": [{"source": src, "reason": why} for src, why in skipped],
        "decoding": f"beam{beam}" if beam else "greedy",
    }
    if not is_loader:
        result_metrics.update(reference_changes(data, ids))
    if legacy:
        result_metrics["legacy_cer"] = metrics.legacy_cer(refs, raws, batch_size=64)
    for path in ([out] if isinstance(out, (str, Path)) else (out or [])):
        write_predictions(predictions, path)
    return result_metrics, predictions


def write_predictions(predictions: Sequence[dict], path: str | Path) -> Path:
    """Write per-line predictions as CSV (header ``id,reference,hypothesis,
    distance``) or JSON lines, chosen by the suffix of ``path``."""
    path = Path(path)
    if path.suffix not in (".csv", ".jsonl"):
        raise ValueError(f"hwr.evaluation: prediction file {path} must end in .csv or .jsonl")
    import io

    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO(newline="")
    if path.suffix == ".csv":
        writer = csv.DictWriter(buffer, fieldnames=PREDICTION_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(predictions)
    else:
        for p in predictions:
            buffer.write(json.dumps(p, ensure_ascii=False) + "\n")
    # atomically (a temporary file and a rename): a full disk leaves the previous file, not half of a new one
    write_text(path, buffer.getvalue())
    return path


def read_predictions(path: str | Path) -> list[dict]:
    """Read back what :func:`write_predictions` wrote."""
    path = Path(path)
    with open(path, encoding="utf-8", newline="") as f:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in f if line.strip()]
        rows = list(csv.DictReader(f))
    for r in rows:
        r["distance"] = int(r["distance"])
    return rows


def reference_changes(data, ids: Sequence[str]) -> dict:
    """How the references scored differ from the dataset's files.

    A transcription is normalised to the alphabet when a dataset is opened
    (typographic quotes and dashes mapped, unknown characters removed with
    ``unknown="skip"``): the score is then over changed references, and says so.

    Returns:
        ``{"references_changed": lines among ``ids`` whose reference is not the
        file's text, "normalisation": {"mapped": {char: count}, "removed":
        {char: count}}}`` over the dataset, or {} for data that keeps no record.
    """
    changed, report = getattr(data, "_changed", None), getattr(data, "report", None)
    if changed is None or report is None:
        return {}
    by_id = dict(zip(map(str, data.ids), changed))
    return {"references_changed": sum(bool(by_id.get(i)) for i in ids),
            "normalisation": {"mapped": dict(report.mapped), "removed": dict(report.skipped)}}


def format_metrics(m: dict) -> str:
    """One human-readable block: CER, WER (percent), legacy CER, speed, and
    the references that normalisation changed."""
    lines = [f"CER {100 * m['cer']:.2f} %   WER {100 * m['wer']:.2f} %"]
    if "legacy_cer" in m:
        lines.append(f"legacy CER (thesis) {m['legacy_cer']:.3f} %")
    lines.append(f"{m['lines']} lines in {m['seconds']:.1f} s ({m['lines_per_s']:.1f} lines/s), "
                 f"{m['decoding']} decoding, {m['skipped']} skipped")
    if m.get("references_changed"):
        norm = m.get("normalisation", {})
        what = "; ".join(f"{kind} {', '.join(f'{c!r} x{n}' for c, n in sorted(chars.items(), key=lambda kv: -kv[1])[:8])}"
                         for kind, chars in norm.items() if chars)
        lines.append(f"{m['references_changed']} references differ from their files after normalisation"
                     + (f" ({what})" if what else ""))
    return "\n".join(lines)
