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

PREDICTION_FIELDS = ("id", "reference", "hypothesis", "distance")


def _device(model) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _loader(model, data, batch_size: int, fixed_width: int | None, max_lines: int | None, workers: int):
    """A DataLoader as given, or one built over a dataset (first ``max_lines``)."""
    if isinstance(data, torch.utils.data.DataLoader):
        return data
    from hwr.preprocess import make_loader

    if max_lines is not None and max_lines < len(data):
        data = data.subset(range(max_lines)) if hasattr(data, "subset") else [data[i] for i in range(max_lines)]
    return make_loader(data, batch_size, train=False, height=model.input_height, fixed_width=fixed_width,
                       workers=workers)


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

    Returns:
        ``(metrics, predictions)``: metrics ``{cer, wer, legacy_cer (seq2seq
        with legacy), lines, seconds, lines_per_s, skipped, decoding}`` with
        rates as fractions except ``legacy_cer`` (percent, as the thesis);
        ``seconds`` is wall-clock time of the whole loop, loading included.
        predictions, in data order: ``{id, reference, hypothesis, distance}``
        with ``distance`` the character edit distance.
    """
    seq2seq = model.family == "seq2seq"
    beam = beam if beam and beam > 1 else None
    # The legacy CER is defined on the greedy decoder's raw steps: none with a beam.
    legacy = (seq2seq if legacy is None else (legacy and seq2seq)) and beam is None
    loader = _loader(model, data, batch_size, fixed_width, max_lines, workers)
    bad_before = len(getattr(loader, "bad_items", []))
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
    predictions = [
        {"id": i, "reference": r, "hypothesis": h, "distance": metrics.edit_distance(r, h)}
        for i, r, h in zip(ids, refs, hyps)
    ]
    result_metrics = {
        "cer": metrics.cer(refs, hyps),
        "wer": metrics.wer(refs, hyps),
        "lines": len(refs),
        "seconds": seconds,
        "lines_per_s": len(refs) / seconds if seconds > 0 else float("nan"),
        "skipped": len(getattr(loader, "bad_items", [])) - bad_before,
        "decoding": f"beam{beam}" if beam else "greedy",
    }
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
        raise ValueError(f"hwr.evaluate: prediction file {path} must end in .csv or .jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        if path.suffix == ".csv":
            writer = csv.DictWriter(f, fieldnames=PREDICTION_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(predictions)
        else:
            for p in predictions:
                f.write(json.dumps(p, ensure_ascii=False) + "\n")
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


def format_metrics(m: dict) -> str:
    """One human-readable block: CER, WER (percent), legacy CER, speed."""
    lines = [f"CER {100 * m['cer']:.2f} %   WER {100 * m['wer']:.2f} %"]
    if "legacy_cer" in m:
        lines.append(f"legacy CER (thesis) {m['legacy_cer']:.3f} %")
    lines.append(f"{m['lines']} lines in {m['seconds']:.1f} s ({m['lines_per_s']:.1f} lines/s), "
                 f"{m['decoding']} decoding, {m['skipped']} skipped")
    return "\n".join(lines)
