"""``hwr ship``: ship trained models with the book, export them for its page, list them.

    hwr ship model RUN_DIR --as best-ctc [--dtype float16]   copy a finished run into models/best-ctc/
    hwr ship lines synth:phrases-xl --count 6                 a few test lines into models/lines/
    hwr ship export [NAME...] --out DIR                       ONNX graphs + model.json per model
    hwr ship alias best-ctc ctc_baseline                      --model best-ctc reads with ctc_baseline
    hwr ship list                                             shipped models with their records, and the aliases

``hwr run`` (the book build) exports every shipped model itself into the site; ``hwr ship export``
is the same step on its own, to look at or check the graphs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hwr.cli_types import positive_int


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``hwr ship`` (imports nothing heavy)."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    model = sub.add_parser("model", help="ship a finished training run as a named model under models/")
    model.add_argument("run", metavar="RUN_DIR", help="a finished run folder (spec.json, test.json, checkpoints/best.pt)")
    model.add_argument("--as", dest="name", required=True, help="the shipped name: best-ctc, best-attention, ...")
    model.add_argument("--dtype", default="float32", choices=["float32", "float16"],
                       help="stored weights (float16: half the size; the model still runs in float32)")
    model.add_argument("--force", action="store_true", help="replace a model already shipped under that name")
    lines = sub.add_parser("lines", help="ship the first test lines of a dataset beside the models")
    lines.add_argument("data", help="dataset (synth:phrases-xl, a folder, ...)")
    lines.add_argument("--count", type=positive_int, default=6, help="how many lines (default 6)")
    export = sub.add_parser("export", help="export shipped models to ONNX (what the book's page loads)")
    export.add_argument("names", nargs="*", help="shipped models (default: all)")
    export.add_argument("--out", default="_build/models", help="output folder (default _build/models)")
    export.add_argument("--check", action="store_true",
                        help="also read the shipped test lines with PyTorch and ONNX and print how they agree")
    alias = sub.add_parser("alias", help="name a role (best-ctc, best-attention) after a shipped model")
    alias.add_argument("alias", help="the role's name: best-ctc, best-attention, ...")
    alias.add_argument("name", help="a shipped model (hwr ship list)")
    sub.add_parser("list", help="the shipped models and their records, and the aliases")


def _export(args) -> int:
    import numpy as np

    from hwr.preprocess import prepare
    from hwr.datasets.base import read_grey
    from hwr.ship import load_shipped, shipped_names
    from hwr.ship.lines import lines_dir, read_lines
    from hwr.ship.onnx_export import OnnxReader, compare, export_shipped

    names = args.names or shipped_names()
    if not names:
        print("hwr ship export: no shipped model (ship one with `hwr ship model RUN_DIR --as NAME`)")
        return 0
    for name in names:
        folder = export_shipped(name, Path(args.out))
        size = sum(p.stat().st_size for p in folder.glob("*.onnx"))
        print(f"{name}: {folder} ({size / 2**20:.1f} MiB of ONNX)")
        if args.check:
            model = load_shipped(name).model
            lines = [prepare(read_grey(lines_dir() / row["file"], row["file"]), model.input_height)
                     for row in read_lines()]
            reader = OnnxReader(folder, model.family, getattr(getattr(model, "decoder", None), "hidden", None))
            agreement = compare(model, reader, lines or [np.ones((model.input_height, 256), np.float32)])
            print(f"  PyTorch vs ONNX on {agreement.lines} line(s): same text {agreement.same_text}, "
                  f"max |log-prob difference| {agreement.max_abs_diff:.2e}")
    return 0


def main(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    if args.action == "model":
        from hwr.ship import ship_run

        folder = ship_run(args.run, args.name, args.dtype, args.force)
        record = json.loads((folder / "record.json").read_text())
        print(f"shipped {record['run_id']} as {args.name}: {folder} ({record['bytes'] / 2**20:.1f} MiB, "
              f"{record['parameters']:,} parameters, test CER {100 * record['test']['cer']:.1f} %)")
        return 0
    if args.action == "lines":
        from hwr.ship.lines import ship_lines

        print(f"test lines: {ship_lines(args.data, args.count)}")
        return 0
    if args.action == "export":
        return _export(args)
    if args.action == "alias":
        from hwr.ship import set_alias

        print(f"{args.alias} -> {args.name} ({set_alias(args.alias, args.name)})")
        return 0
    from hwr.ship import aliases, read_record, shipped_names

    for name in shipped_names():
        r = read_record(name)
        print(f"{name}\t{r['experiment']}\t{r['run_id']}\t{r['parameters']:,} parameters\t{r['dtype']}\t"
              f"{r['bytes'] / 2**20:.1f} MiB\ttest CER {100 * r['test']['cer']:.1f} %")
    for alias, name in aliases().items():
        print(f"{alias}\t-> {name}")
    return 0
