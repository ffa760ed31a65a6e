"""Transcribe a reader's own line images with a trained model.

``hwr recognize IMAGE... --model RUN_OR_CHECKPOINT`` (:mod:`.cli`) reads each image (any
size, any format Pillow opens: colour, grey, 16-bit, with transparency),
converts it to the thesis conditions (grey, dark ink on white, then
:func:`hwr.preprocess.prepare` at the model's input height) and prints one
transcription per file. ``--confidences`` adds each character's posterior;
``--attention-out DIR`` draws, for a seq2seq model, where the decoder looked
at every step. A file that cannot be read, or whose line is too narrow or too
wide for the model (:func:`check_width`, from the backbone's
:func:`~hwr.models.backbone.min_input_width`), is reported on stderr in one
line and skipped; the exit status is then 1.

Each image is recognised alone, at its own width, so no padding changes the
result (attention models attend over every column, padding included).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from hwr.datasets.base import DatasetError, read_grey
from hwr.decode import transcribe
from hwr.errors import HwrError
from hwr.models.backbone import gate_shrink, max_input_width, min_input_width
from hwr.preprocess import prepare, prepared_width


class ImageError(HwrError, ValueError):
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
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such file")
    try:
        return read_grey(path, str(path))
    except DatasetError as e:
        raise ImageError(str(e)) from None


def check_width(model, shape: tuple[int, int], name: str = "image") -> int:
    """The width of a raw ``h x w`` line once prepared for ``model``, checked
    against the widths the model can read (before it runs, so a line too
    narrow for its height fails with a reason rather than inside a pool).

    Raises:
        ImageError: naming ``name``, its size and the model's limit.
    """
    h, w = int(shape[0]), int(shape[1])
    height = model.input_height
    width = prepared_width(h, w, height)
    low, high = min_input_width(model), max_input_width(model)
    if width < low:
        raise ImageError(f"{name}: {w} x {h} px is too small or too narrow for its height: at the model's height "
                         f"{height} it is {width} px wide, the model needs at least {low} (crop it to one text line)")
    if high is not None and width > high:
        raise ImageError(f"{name}: {w} x {h} px is too wide for its height: at the model's height {height} it is "
                         f"{width} px wide, the model reads at most {high} (split the line)")
    return width


def recognize_image(
    model,
    image: np.ndarray,
    beam: int | None = None,
    confidences: bool = False,
    attention: bool = False,
    auto_invert: bool = True,
    name: str = "image",
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
        name: the image's name in error messages.

    Raises:
        ImageError: the image is empty, or too narrow or too wide for the
            model (:func:`check_width`).
    """
    image = np.asarray(image)
    if image.ndim < 2 or image.size == 0:
        raise ImageError(f"{name}: empty image (shape {image.shape})")
    check_width(model, image.shape[:2], name)
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
    unpadded gate block trims ``(width - 1) / 2`` frames on each side; a
    model's ``margin`` (input pixels on each side) shifts the columns left.
    """
    shrink = gate_shrink(model)
    margin = getattr(getattr(model, "config", None), "margin", 0) or 0
    stride = (width + 2 * margin) / max(frames + shrink, 1)
    return (np.arange(frames) + shrink / 2 + 0.5) * stride - margin


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
