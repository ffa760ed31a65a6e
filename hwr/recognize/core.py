"""Transcribe a reader's own line images with a trained model.

``hwr recognize IMAGE... --model RUN_OR_CHECKPOINT`` reads each image (any
size, any format Pillow opens: colour, grey, 16-bit, with transparency),
converts it to the thesis conditions (grey, dark ink on white, then
:func:`hwr.preprocess.prepare` at the model's input height) and prints one
transcription per file. ``--confidences`` adds each character's posterior;
``--attention-out DIR`` draws, for a seq2seq model, where the decoder looked
at every step. A file that cannot be read is reported on stderr and skipped;
the exit status is then 1.

Each image is recognised alone, at its own width, so no padding changes the
result (attention models attend over every column, padding included).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from hwr.decode import transcribe


class ImageError(ValueError):
    """An input image cannot be used; the message names the file."""


@dataclass
class Recognition:
    """One recognised line.

    Attributes:
        text: the transcription.
        confidences: per character, its posterior (None unless asked for).
        image: the prepared input, H x W float32 in [0, 1] (what the model saw).
        attention: seq2seq with attention asked for: S x W' or S x H' x W'
            (one row per decoder step run, the EOS step included).
        inverted: the image looked like light ink on a dark ground and was inverted.
    """

    text: str
    confidences: list[float] | None
    image: np.ndarray
    attention: np.ndarray | None = None
    inverted: bool = False


def read_line_image(path: str | Path) -> np.ndarray:
    """Read any image file as H x W uint8 grey; transparency becomes white.

    Raises:
        ImageError: naming the file when it is missing, unreadable or empty.
    """
    from hwr.datasets.base import DatasetError, read_grey

    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    try:
        return read_grey(path, str(path))
    except DatasetError as e:
        raise ImageError(str(e)) from None


def recognize_image(
    model,
    image: np.ndarray,
    beam: int | None = None,
    confidences: bool = False,
    attention: bool = False,
    auto_invert: bool = True,
) -> Recognition:
    """Recognise one raw line image (H x W uint8 grey, ink dark on white).

    Args:
        model: a trained model in eval mode.
        image: the raw line (not yet preprocessed).
        beam: beam width; None = greedy (seq2seq beams give no attention).
        confidences: compute per-character confidences.
        attention: seq2seq only: keep the attention maps.
        auto_invert: invert an image whose median pixel is dark (light ink
            on a dark ground), since the models saw dark ink on white only.
    """
    from hwr.preprocess import prepare

    image = np.asarray(image)
    inverted = bool(auto_invert and np.median(image) < 128)
    if inverted:
        image = 255 - image
    prepared = prepare(image, height=model.input_height)
    device = next(model.parameters()).device
    x = torch.from_numpy(prepared)[None, None].to(device)
    widths = torch.tensor([prepared.shape[1]])
    want_att = attention and model.family == "seq2seq" and not (beam and beam > 1)
    out = transcribe(model, x, widths, beam=beam, confidences=confidences, attention=want_att)
    att = out.attention[0].numpy() if out.attention is not None else None
    conf = out.confidences[0] if out.confidences is not None else None
    return Recognition(out.texts[0], conf, prepared, att, inverted)


def frame_centres(model, width: int, frames: int) -> np.ndarray:
    """Input column at the centre of each feature column (W' of them).

    Pools divide the width (stride = their product, 4 for ConvNet6); each
    unpadded gate block trims ``(width - 1) / 2`` frames on each side.
    """
    shrink = int(getattr(model, "_shrink", 0))
    stride = width / max(frames + shrink, 1)
    return (np.arange(frames) + shrink / 2 + 0.5) * stride


def attention_figure(model, rec: Recognition, title: str = ""):
    """The prepared line with each step's attention peak marked and labelled,
    above one row per decoder step showing its attention over the columns
    (2D attention: summed over the feature height; each row scaled to its
    maximum).

    Returns:
        a matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    if rec.attention is None:
        raise ValueError("hwr.recognize.attention_figure: no attention (seq2seq models only)")
    att = rec.attention
    height_maps = att if att.ndim == 3 else None  # S x H' x W'
    cols = att.sum(axis=1) if att.ndim == 3 else att  # S x W'
    steps, frames = cols.shape
    h, w = rec.image.shape
    centres = frame_centres(model, w, frames)
    labels = [("\u2423" if c == " " else c) for c in rec.text][:steps]
    labels += ["EOS"] * (steps - len(labels))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(min(2 + w / 60, 24), 1.5 + 0.18 * steps),
                                      gridspec_kw={"height_ratios": [1.2, max(steps * 0.18, 1)]},
                                      sharex=True)
    top.imshow(rec.image, cmap="gray", vmin=0, vmax=1, extent=(0, w, h, 0), aspect="auto")
    peaks = cols.argmax(axis=1)
    for t in range(min(len(rec.text), steps)):
        x = centres[peaks[t]]
        y = h / 2
        if height_maps is not None:  # the peak's row in the feature height
            y = (height_maps[t, :, peaks[t]].argmax() + 0.5) * h / height_maps.shape[1]
        top.plot([x], [y], "o", ms=3, color="tab:red", alpha=0.7)
        top.text(x, 1, labels[t], ha="center", va="top", fontsize=8, color="tab:red", family="monospace")
    top.set_yticks([])
    edges = np.concatenate([[centres[0] - (centres[1] - centres[0]) / 2 if frames > 1 else 0],
                            (centres[:-1] + centres[1:]) / 2 if frames > 1 else [],
                            [centres[-1] + (centres[-1] - centres[-2]) / 2 if frames > 1 else w]])
    # Each row scaled to its own maximum: a step's peak stays visible even
    # when its attention is spread out.
    scaled = cols / np.maximum(cols.max(axis=1, keepdims=True), 1e-12)
    bottom.pcolormesh(edges, np.arange(steps + 1), scaled, cmap="viridis", shading="flat")
    bottom.set_ylim(steps, 0)
    bottom.set_yticks(np.arange(steps) + 0.5)
    bottom.set_yticklabels(labels, fontsize=7, family="monospace")
    bottom.set_xlim(0, w)
    bottom.set_xlabel("input column (prepared image)")
    bottom.set_ylabel("decoder step")
    if title:
        top.set_title(title, fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def format_confidences(text: str, confidences: Sequence[float]) -> str:
    """``h 0.99  e 0.97  ␣ 0.88 ...`` (spaces shown as ␣)."""
    return "  ".join(f"{'␣' if c == ' ' else c} {p:.2f}" for c, p in zip(text, confidences))


# ---------------------------------------------------------------- command line
def configure(parser) -> None:
    """Arguments of ``hwr recognize``."""
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="line image files (any size, PNG/JPEG/TIFF/...)")
    parser.add_argument("--model", required=True, help="checkpoint file or training run folder (its best.pt)")
    parser.add_argument("--confidences", action="store_true", help="print each character's posterior")
    parser.add_argument("--attention-out", metavar="DIR", help="seq2seq: write <image>.attention.png here")
    parser.add_argument("--beam", type=int, default=None,
                        help="beam width (CTC thesis: 10; seq2seq: attention beam search, no attention map); default greedy")
    parser.add_argument("--no-invert", action="store_true",
                        help="never invert images (default: invert light-ink-on-dark images)")
    parser.add_argument("--json", action="store_true", help="one JSON object per image instead of text")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")


def main(args) -> int:
    from hwr.train import load_model

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if not Path(args.model).exists():
        print(f"hwr recognize: --model {args.model}: no such checkpoint file or run folder", file=sys.stderr)
        return 2
    model = load_model(args.model, device=device).eval()
    att_dir = Path(args.attention_out) if args.attention_out else None
    if att_dir is not None:
        if model.family != "seq2seq":
            print("hwr recognize: --attention-out: a CTC model has no attention; ignored", file=sys.stderr)
            att_dir = None
        elif args.beam and args.beam > 1:
            print("hwr recognize: --attention-out: no attention maps with --beam; ignored", file=sys.stderr)
            att_dir = None
        else:
            att_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    written: set[Path] = set()
    for name in args.images:
        try:
            image = read_line_image(name)
            rec = recognize_image(model, image, beam=args.beam, confidences=args.confidences,
                                  attention=att_dir is not None, auto_invert=not args.no_invert)
        except (ImageError, ValueError) as e:
            failures += 1
            print(f"hwr recognize: {e}", file=sys.stderr)
            continue
        if rec.inverted:
            print(f"hwr recognize: {name}: light ink on a dark ground, inverted (--no-invert to keep it)",
                  file=sys.stderr)
        figure = None
        if att_dir is not None and rec.attention is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            text = rec.text if len(rec.text) <= 60 else rec.text[:57] + "..."
            fig = attention_figure(model, rec, title=f"{Path(name).name}: {text}")
            figure = att_dir / f"{Path(name).stem}.attention.png"
            if figure in written:  # two inputs with the same file name
                figure = att_dir / f"{Path(name).stem}.{len(written)}.attention.png"
            written.add(figure)
            fig.savefig(figure, dpi=120)
            plt.close(fig)
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
        print(f"hwr recognize: {failures} of {len(args.images)} image(s) could not be read", file=sys.stderr)
    return 1 if failures else 0
