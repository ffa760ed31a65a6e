"""``hwr eval --model RUN_OR_CHECKPOINT [--data SOURCE] [--split test]``: score a model.

Prints CER, WER (and the thesis's legacy CER for seq2seq) of one dataset
split; ``--out DIR`` also writes ``predictions.csv`` and ``metrics.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hwr.cli_types import non_negative_int, positive_int, share
from hwr.errors import HwrError
from hwr.files import write_json


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hwr eval`` (imports nothing heavy: ``hwr --help`` stays fast)."""
    from hwr import device
    from hwr.datasets.cli import add_line_policy

    parser.add_argument("--model", required=True, help="checkpoint file or training run folder (its best.pt)")
    parser.add_argument("--data", default="synth", help="dataset: 'synth', 'synth:<preset>' or a path (default synth)")
    parser.add_argument("--split", default="test", help="split to score (default test)")
    parser.add_argument("--out", help="folder for predictions.csv and metrics.json")
    parser.add_argument("--beam", type=positive_int, default=None,
                        help="beam width (CTC thesis: 10; seq2seq: attention beam search, no legacy CER); default greedy")
    parser.add_argument("--fixed-width", type=width_or_thesis, default=None,
                        help="pad every line to this width: a positive integer, or 'thesis' (1408 at height 64, "
                             "3225 at 128)")
    parser.add_argument("--batch-size", type=positive_int, default=16, help="lines per batch (default 16)")
    parser.add_argument("--max-lines", type=positive_int, default=None, help="score only the first N lines")
    parser.add_argument("--no-legacy", action="store_true",
                        help="seq2seq: stop decoding at EOS and skip the legacy CER (faster)")
    add_line_policy(parser)
    device.add_argument(parser)
    parser.add_argument("--threads", type=non_negative_int, default=None,
                        help="torch CPU threads (default, or 0: torch's own)")
    parser.add_argument("--max-skipped", type=share, default=0.01,
                        help="fail when more than this share of the lines was skipped (default 0.01)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def width_or_thesis(text: str) -> int | str:
    """argparse type of ``--fixed-width``: a positive integer, or the word ``thesis``
    (a width of zero or less padded nothing and was accepted without a word)."""
    if text == "thesis":
        return text
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError as e:  # the same message, with the word it also takes
        raise argparse.ArgumentTypeError(str(e).replace("integer", "integer or 'thesis'", 1)) from None


def fixed_width(value, height: int) -> int | None:
    """``--fixed-width``: None, a positive integer, or ``"thesis"`` (the thesis's width at ``height``)."""
    if value is None:
        return None
    if str(value) == "thesis":
        from hwr.preprocess import THESIS_EVAL_WIDTH

        return THESIS_EVAL_WIDTH[height]
    try:
        return width_or_thesis(str(value))
    except argparse.ArgumentTypeError as e:  # called from Python, not through the parser
        raise HwrError(f"--fixed-width {e}") from None


def load_model_arg(path: str, device: str):
    """The model of ``--model`` on ``device``, in eval mode: a checkpoint file, a run folder, or the
    name of a model shipped with the book (``best-ctc``: :mod:`hwr.ship`, checksum verified)."""
    if not Path(path).exists():
        from hwr.ship import aliases, load_shipped, resolve, shipped_names

        if resolve(path) in shipped_names():
            return load_shipped(path, device).model
        shipped = ", ".join(shipped_names() + [f"{a} ({n})" for a, n in aliases().items()]) or "none in this checkout"
        raise HwrError(f"--model {path}: no such checkpoint file, run folder or shipped model (shipped: {shipped})")
    from hwr.models.io import load_model

    return load_model(path, device=device).eval()


#: files that make a folder a training run's (hwr.runs.store): an evaluation written there would replace its records
RUN_MARKERS = ("history.csv", "spec.json", "test.json", "checkpoints")


def refuse_run_folder(out: Path) -> None:
    """Refuse ``--out`` when it is a training run's folder: its ``metrics.json``
    is the training summary and its ``predictions.csv`` the sealed test record.

    Raises:
        HwrError: names the folder and the marker found.
    """
    found = [name for name in RUN_MARKERS if (out / name).exists()]
    if found:
        raise HwrError(f"--out {out}: a training run's folder (it holds {found[0]}); an evaluation there would "
                       f"replace the run's metrics.json and predictions.csv. Give another folder")


def main(args: argparse.Namespace) -> int:
    import torch

    from hwr import device
    from hwr.datasets import open_dataset
    from hwr.evaluation.core import evaluate, format_metrics

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else None
    if out is not None:
        refuse_run_folder(out)
    model = load_model_arg(args.model, device.resolve(args.device))
    data = open_dataset(args.data, args.split, bad=args.bad, unknown=args.unknown)
    fixed = fixed_width(args.fixed_width, model.input_height)
    m, preds = evaluate(model, data, batch_size=args.batch_size, fixed_width=fixed, max_lines=args.max_lines,
                        beam=args.beam, progress=not args.quiet, legacy=not args.no_legacy, max_skipped=args.max_skipped,
                        out=[out / "predictions.csv"] if out else None)
    print(f"{getattr(model, 'experiment', '?')} on {getattr(data, 'name', args.data)} {args.split}")
    print(format_metrics(m))
    if out:
        info = {**m, "model": str(args.model), "experiment": getattr(model, "experiment", None),
                "data": str(args.data), "split": args.split, "fixed_width": fixed, "beam": args.beam}
        write_json(out / "metrics.json", info)
        print(f"predictions: {out / 'predictions.csv'}; metrics: {out / 'metrics.json'}")
    return 0
