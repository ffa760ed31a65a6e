"""Tiny shipped models for the tests: a finished-looking run folder around a seeded, untrained
model, shipped into a temporary ``models/`` (``HWR_MODELS``), and a few rendered test lines.

Untrained weights are enough to test shipping, checksums, export and the page: every check compares
two ways of running the same weights (PyTorch and ONNX, Python and the browser), never a model with
the truth. What a trained model reads is checked on the real shipped models (test_shipped.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from hwr.models import build
from hwr.models.io import save_model
from hwr.models.registry import gate_margin, model_config

#: the book task's models at its input height, small enough to build in a second
TINY = {"tiny-ctc": ("ctc_baseline", {"input_height": 32}), "tiny-attention": ("gate_1", {"input_height": 32})}
TEXTS = ["a move to stop", "Mr. Gaitskell's", "nominating 42"]


def make_run(folder: Path, experiment: str, overrides: dict, cer: float = 0.25) -> Path:
    """A run folder as a finished sweep leaves it: spec, test score, provenance, best checkpoint."""
    overrides = dict(overrides)
    if experiment.startswith("gate"):
        overrides["margin"] = gate_margin(model_config(experiment, **overrides))
    torch.manual_seed(0)
    model = build(experiment, **overrides).eval()
    (folder / "checkpoints").mkdir(parents=True)
    save_model(folder / "checkpoints" / "best.pt", model)
    spec = {"spec": {"experiment": experiment, "data": "synth:tiny", "seed": 0, "overrides": overrides,
                     "train": {"lines": 100}, "variant": "tiny"}, "run_id": f"{experiment}-s0-0000000000"}
    (folder / "spec.json").write_text(json.dumps(spec))
    (folder / "test.json").write_text(json.dumps({"cer": cer, "wer": 0.5, "lines": 3, "decoding": "greedy",
                                                  "checkpoint": "best", "split": "test"}))
    (folder / "run.json").write_text(json.dumps({"commit": "0" * 40, "dirty": False}))
    return folder


def text_line(text: str, mode: str = "L") -> Image.Image:
    """A line of ``text`` drawn in Pillow's default font, dark on white (or as ``mode``)."""
    im = Image.new("L", (12 + 7 * len(text), 24), 255)
    ImageDraw.Draw(im).text((6, 5), text, fill=20)
    return im.convert(mode) if mode != "L" else im


def ship_tiny(models: Path, runs: Path) -> None:
    """Ship :data:`TINY` into ``models`` (``HWR_MODELS`` must point there) with :data:`TEXTS` as test lines."""
    from hwr.ship import ship_run

    for name, (experiment, overrides) in TINY.items():
        ship_run(make_run(runs / name, experiment, overrides), name)
    lines = models / "lines"
    lines.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, text in enumerate(TEXTS):
        text_line(text).save(lines / f"{i:02d}.png")
        rows.append({"file": f"{i:02d}.png", "id": f"t{i}", "text": text, "data": "fabricated", "split": "test"})
    (lines / "lines.json").write_text(json.dumps(rows))


def grey(path: Path) -> np.ndarray:
    from hwr.recognize import read_line_image

    return read_line_image(path)
