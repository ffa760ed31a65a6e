"""``hwr recognize IMAGE... --model NAME_RUN_OR_CHECKPOINT``: one transcription per image.

Images are independent: one that cannot be read, is too narrow or too wide
for the model, or makes the model fail is reported in one line on stderr
(naming the file) and skipped; the others are transcribed. The exit status
is 0 when every image was transcribed, 1 when some failed, 2 for a usage
error (no such model, a bad option).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hwr.cli_types import positive_int
from hwr.errors import HwrError


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hwr recognize`` (imports nothing heavy: ``hwr --help`` stays fast)."""
    from hwr import device

    parser.add_argument("images", nargs="+", metavar="IMAGE", help="line image files (any size, PNG/JPEG/TIFF/...)")
    parser.add_argument("--model", required=True, help="a shipped model (best-ctc, best-attention, ctc_baseline: see models/), a checkpoint file or a "
                        "training run folder (its best.pt)")
    parser.add_argument("--confidences", action="store_true", help="print each character's posterior")
    parser.add_argument("--attention-out", metavar="DIR", help="seq2seq: write <image>.attention.png here")
    parser.add_argument("--beam", type=positive_int, default=None,
                        help="beam width (CTC thesis: 10; seq2seq: attention beam search, no attention map); default greedy")
    parser.add_argument("--no-invert", action="store_true",
                        help="never invert images (default: invert light-ink-on-dark images)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image instead of text")
    device.add_argument(parser)


def _attention_dir(model, args) -> Path | None:
    """``--attention-out`` when the model and decoding can give attention maps, else None (with a note)."""
    if not args.attention_out:
        return None
    if model.family != "seq2seq":
        print("hwr recognize: --attention-out: a CTC model has no attention; ignored", file=sys.stderr)
        return None
    if args.beam and args.beam > 1:
        print("hwr recognize: --attention-out: no attention maps with --beam; ignored", file=sys.stderr)
        return None
    path = Path(args.attention_out)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _recognize_one(model, name: str, args, attention: bool):
    """Read and recognise one image; a problem with this image raises ImageError naming it."""
    from hwr.recognize.core import ImageError, read_line_image, recognize_image

    image = read_line_image(name)
    try:
        return recognize_image(model, image, beam=args.beam, confidences=args.confidences, attention=attention,
                               auto_invert=not args.no_invert, name=str(name))
    except (ValueError, RuntimeError) as e:  # the model or preprocessing refused this one image
        if isinstance(e, HwrError) or _debug(args):
            raise
        raise ImageError(f"{name}: cannot be recognised ({type(e).__name__}: {str(e).splitlines()[0]})") from e


def _debug(args) -> bool:
    return bool(getattr(args, "debug", False) or os.environ.get("HWR_DEBUG") == "1")


def _save_attention(model, rec, name: str, att_dir: Path, written: set[Path]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hwr.recognize.core import attention_figure

    text = rec.text if len(rec.text) <= 60 else rec.text[:57] + "..."
    fig = attention_figure(model, rec, title=f"{Path(name).name}: {text}")
    figure = att_dir / f"{Path(name).stem}.attention.png"
    if figure in written:  # two inputs with the same file name
        figure = att_dir / f"{Path(name).stem}.{len(written)}.attention.png"
    written.add(figure)
    fig.savefig(figure, dpi=120)
    plt.close(fig)
    return figure


def main(args: argparse.Namespace) -> int:
    from hwr import device
    from hwr.evaluation.cli import load_model_arg
    from hwr.recognize.core import ImageError, format_confidences

    model = load_model_arg(args.model, device.resolve(args.device))
    att_dir = _attention_dir(model, args)
    failures = 0
    written: set[Path] = set()
    for name in args.images:
        try:
            rec = _recognize_one(model, name, args, att_dir is not None)
        except ImageError as e:
            failures += 1
            print(f"hwr recognize: {e}", file=sys.stderr)
            continue
        if rec.inverted:
            print(f"hwr recognize: {name}: light ink on a dark ground, inverted (--no-invert to keep it)",
                  file=sys.stderr)
        figure = None
        if att_dir is not None and rec.attention is not None:
            figure = _save_attention(model, rec, name, att_dir, written)
        if args.json:
            row = {"file": str(name), "text": rec.text}
            if rec.confidences is not None:
                row["confidences"] = [round(p, 4) for p in rec.confidences]
            if figure is not None:
                row["attention_png"] = str(figure)
            print(json.dumps(row, ensure_ascii=False))
        else:
            print(f"{name}\t{rec.text}")
            if rec.confidences is not None:
                print(f"\t{format_confidences(rec.text, rec.confidences)}")
            if figure is not None:
                print(f"\tattention: {figure}")
    if failures:
        print(f"hwr recognize: {failures} of {len(args.images)} image(s) could not be recognised", file=sys.stderr)
    return 1 if failures else 0
