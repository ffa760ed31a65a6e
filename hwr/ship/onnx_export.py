"""Export a shipped model to ONNX, and run the export the way the book's page does.

A CTC model is one graph, ``model.onnx``::

    image 1 x 1 x H x W float32  ->  log_probs 1 x L x 81 (blank 0)

An attention model cannot be one graph: its greedy decoder is a Python loop that stops at the first
EOS, and its length depends on what it reads. It is exported as the two pieces that loop is made
of (:class:`hwr.models.decoder.AttentionDecoder`), and the page runs the loop itself:

    encoder.onnx  image 1 x 1 x H x W  ->  keys 1 x N x A, values 1 x N x C   (once per line)
    step.onnx     keys, values, y (1, int64), h 1 x hidden, c 1 x hidden
                  ->  log_probs 1 x 81, h, c, attention 1 x N               (once per character)

A GRU decoder has no cell state: its step takes ``c`` and gives it back unchanged, so that the page
drives both cells alike.

:class:`OnnxReader` is that loop in Python over onnxruntime: the tests compare it with the PyTorch
model (:func:`compare`), and the page's JavaScript (``book/reader/read_a_line.js``) mirrors it.
Exports use torch's TorchScript-based exporter (``dynamo=False``), which traces the flex layers'
plain PyTorch modules without extra packages; opset :data:`OPSET` runs in onnxruntime-web.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hwr.codec import EOS, SOS, SYMBOLS
from hwr.decode import transcribe
from hwr.models.backbone import gate_shrink, max_input_width, min_input_width
from hwr.ship.store import load_shipped, read_record

OPSET = 17
LATE_OPSET = 20
#: the step limit of the attention decoder without targets (thesis 98), as in :func:`hwr.decode.transcribe`
MAX_STEPS = 98
MANIFEST = "model.json"


class _CTCGraph(nn.Module):
    """image B x 1 x H x W -> log_probs B x L x 81: the CTC model's forward, nothing else."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        return self.model(image)


class _EncoderGraph(nn.Module):
    """image 1 x 1 x H x W -> (keys 1 x N x A, values 1 x N x C): the memory and its attention keys."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        memory = self.model.encode(image)
        b, c, h, w = memory.shape
        return self.model.decoder.prepare(memory.reshape(b, c, h * w))


class _StepGraph(nn.Module):
    """One greedy decoder step (see the module docstring)."""

    def __init__(self, model):
        super().__init__()
        self.decoder = model.decoder
        self.lstm = model.decoder.cell_kind == "lstm"

    def forward(self, keys, values, y, h, c):
        logits, h, c_out, alpha = self.decoder.step(keys, values, y, h, c if self.lstm else None)
        return torch.log_softmax(logits, dim=1), h, (c_out if self.lstm else c + 0), alpha


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str], dynamic: dict) -> None:
    """Export at :data:`OPSET`, or at :data:`LATE_OPSET` for a model that needs it (crnn_lite's spatial
    transformer: affine_grid and grid_sample are ONNX operators from opset 20 on)."""
    for opset in (OPSET, LATE_OPSET):
        try:
            with warnings.catch_warnings():  # the TorchScript exporter warns that it is the older of torch's two
                warnings.simplefilter("ignore")
                torch.onnx.export(module, args, str(path), dynamo=False, opset_version=opset, input_names=inputs,
                                  output_names=outputs, dynamic_axes=dynamic, do_constant_folding=True)
            return
        except torch.onnx.errors.UnsupportedOperatorError:
            if opset == LATE_OPSET:
                raise


def _example(model) -> torch.Tensor:
    """A blank line image wide enough for every model (an export traces shapes, not values)."""
    width = max(min_input_width(model) * 2, 256)
    return torch.ones(1, 1, model.input_height, width)


def export_model(model, out: Path) -> dict:
    """Write ``model``'s ONNX graph(s) into folder ``out``; returns the file names by role."""
    out.mkdir(parents=True, exist_ok=True)
    image = _example(model)
    with torch.no_grad():
        if model.family == "ctc":
            _export(_CTCGraph(model).eval(), (image,), out / "model.onnx", ["image"], ["log_probs"],
                    {"image": {3: "width"}, "log_probs": {1: "frames"}})
            return {"model": "model.onnx"}
        keys, values = _EncoderGraph(model).eval()(image)
        _export(_EncoderGraph(model).eval(), (image,), out / "encoder.onnx", ["image"], ["keys", "values"],
                {"image": {3: "width"}, "keys": {1: "columns"}, "values": {1: "columns"}})
        hidden = model.decoder.hidden
        state = torch.zeros(1, hidden)
        y = torch.full((1,), SOS, dtype=torch.long)
        _export(_StepGraph(model).eval(), (keys, values, y, state, state.clone()), out / "step.onnx",
                ["keys", "values", "y", "h", "c"], ["log_probs", "h_out", "c_out", "attention"],
                {"keys": {1: "columns"}, "values": {1: "columns"}, "attention": {1: "columns"}})
        return {"encoder": "encoder.onnx", "step": "step.onnx"}


def manifest(model, files: dict, record: dict) -> dict:
    """What the page needs to run and explain a model: its graphs, input height, the widths it
    reads, the alphabet, how feature columns map to input columns, and its shipped record."""
    cfg = model.config
    return {
        "name": record.get("name"),
        "family": model.family,
        "files": files,
        "input_height": model.input_height,
        "min_width": min_input_width(model),
        "max_width": max_input_width(model),
        "symbols": list(SYMBOLS),
        "blank": 0, "sos": SOS, "eos": EOS, "max_steps": MAX_STEPS,
        "hidden": model.decoder.hidden if model.family == "seq2seq" else None,
        "feature_height": getattr(model, "output_height", 1),
        # frame_centres (hwr.recognize): feature column k of a line W wide sits at
        # (k + shrink / 2 + 0.5) * (W + 2 margin) / (columns + shrink) - margin
        "shrink": gate_shrink(model),
        "margin": int(getattr(cfg, "margin", 0) or 0),
        "record": record,
    }


def export_shipped(name: str, out: Path) -> Path:
    """Export shipped model ``name`` (checksum verified) into ``out/<name>/`` with its ``model.json``."""
    shipped = load_shipped(name)
    folder = out / name
    files = export_model(shipped.model, folder)
    (folder / MANIFEST).write_text(json.dumps(manifest(shipped.model, files, read_record(name)), indent=1) + "\n",
                                   encoding="utf-8")
    return folder


@dataclass
class OnnxReading:
    """One line read through the ONNX graphs.

    Attributes:
        text: the greedy transcription.
        log_probs: CTC: L x 81 per frame; attention: S x 81 per decoder step (EOS step included).
        attention: attention models: S x N, else None.
    """

    text: str
    log_probs: np.ndarray
    attention: np.ndarray | None = None


class OnnxReader:
    """Greedy reading of prepared lines with an exported model (the page's algorithm, in Python).

    Args:
        folder: what :func:`export_model` wrote (with or without a ``model.json``).
        family: ``ctc`` or ``seq2seq``.
        hidden: the decoder's state size (attention models).
    """

    def __init__(self, folder: Path, family: str, hidden: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1

        def session(file):
            return ort.InferenceSession(str(folder / file), options, providers=["CPUExecutionProvider"])

        self.family, self.hidden = family, hidden
        if family == "ctc":
            self.model = session("model.onnx")
        else:
            self.encoder, self.step = session("encoder.onnx"), session("step.onnx")

    def read(self, prepared: np.ndarray) -> OnnxReading:
        """prepared: H x W float32 in [0, 1] (:func:`hwr.preprocess.prepare`)."""
        image = prepared[None, None].astype(np.float32)
        if self.family == "ctc":
            lp = self.model.run(None, {"image": image})[0][0]  # L x 81
            best = lp.argmax(axis=1)
            labels = [int(k) for i, k in enumerate(best) if k != 0 and (i == 0 or k != best[i - 1])]
            return OnnxReading("".join(SYMBOLS[k] for k in labels), lp)
        keys, values = self.encoder.run(None, {"image": image})
        h = np.zeros((1, self.hidden), np.float32)
        c = np.zeros((1, self.hidden), np.float32)
        y = np.array([SOS], np.int64)
        steps, maps, labels = [], [], []
        for _ in range(MAX_STEPS):
            lp, h, c, alpha = self.step.run(None, {"keys": keys, "values": values, "y": y, "h": h, "c": c})
            steps.append(lp[0])
            maps.append(alpha[0])
            y = lp.argmax(axis=1).astype(np.int64)
            if int(y[0]) == EOS:
                break
            labels.append(int(y[0]))
        return OnnxReading("".join(SYMBOLS[k] for k in labels), np.stack(steps), np.stack(maps))


@dataclass
class Agreement:
    """PyTorch against ONNX on some lines: greedy texts and the largest log-probability difference."""

    lines: int
    same_text: int
    max_abs_diff: float
    texts: list[tuple[str, str]]


def compare(model, reader: OnnxReader, prepared_lines: list[np.ndarray]) -> Agreement:
    """Read each prepared line with the PyTorch ``model`` and with ``reader``; compare texts and
    log-probabilities (CTC: every frame; attention: every step both ran, which are the same steps
    while the texts agree)."""
    worst, same, texts = 0.0, 0, []
    for prepared in prepared_lines:
        x = torch.from_numpy(prepared)[None, None]
        ours = transcribe(model, x, torch.tensor([prepared.shape[1]]))
        theirs = reader.read(prepared)
        lp = ours.log_probs[0].numpy()
        steps = min(len(lp), len(theirs.log_probs))
        worst = max(worst, float(np.abs(lp[:steps] - theirs.log_probs[:steps]).max()))
        same += ours.texts[0] == theirs.text
        texts.append((ours.texts[0], theirs.text))
    return Agreement(len(prepared_lines), same, worst, texts)
