"""``hwr data``: build the synthetic set, export or inspect datasets.

    hwr data synth --preset smoke                    # data/synth/smoke
    hwr data synth --preset default --workers 2
    hwr data export /data/IAM --split test --format gt-txt --out iam-test
    hwr data stats synth --split train
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from hwr.cli_types import non_negative_int, positive_int
from hwr.errors import HwrError

SOURCE_HELP = "'synth', 'synth:<preset>' or a dataset path (gt-txt folder, IAM, Parquet, synthetic folder)"


def _add_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", help=SOURCE_HELP)
    p.add_argument("--split", default="train", help="train, valid or test; 'all' for every line of a gt-txt folder")
    p.add_argument("--layout", choices=["synth", "gt-txt", "iam", "parquet"], help="force a layout")
    p.add_argument("--splits", help="IAM: the IAM-B split folder (default <root>/splits or <root>/iam-b)")
    add_line_policy(p)


def add_line_policy(p: argparse.ArgumentParser) -> None:
    """``--bad`` and ``--unknown``, the loaders' ``bad`` and ``unknown`` arguments
    (:func:`hwr.datasets.open_dataset`), for every command that opens a dataset."""
    p.add_argument("--unknown", choices=["error", "skip"], default="error",
                   help="characters outside the alphabet: stop with an error, or remove them with a count")
    p.add_argument("--bad", choices=["error", "skip"], default="error",
                   help="unusable lines (no image, empty text, ...): stop with an error, or leave out with a count")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="{synth,export,stats}", required=True)

    p = sub.add_parser("synth", help="generate the synthetic handwriting-line dataset")
    p.add_argument("--preset", default="default", help="preset name (default, smoke)")
    p.add_argument("--out", type=Path, help="output folder (default data/synth/<preset>)")
    p.add_argument("--workers", type=positive_int, help="processes (default: all cores)")
    p.add_argument("--seed", type=non_negative_int, help="override the preset's seed (needs --out)")
    for split in ("train", "valid", "test"):  # 0 is allowed: a set without, say, a valid split
        p.add_argument(f"--{split}", type=non_negative_int, metavar="N",
                       help=f"override the number of {split} lines (needs --out)")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = sub.add_parser("export", help="write a dataset split as png + gt.txt pairs (kraken, tesstrain, Calamari)")
    _add_source(p)
    p.add_argument("--format", choices=["gt-txt"], default="gt-txt", help="output format")
    p.add_argument("--out", type=Path, required=True, help="output folder")

    p = sub.add_parser("stats", help="line count, image widths, text lengths, normalisation report")
    _add_source(p)
    p.add_argument("--height", type=positive_int, default=64, help="model input height for prepared widths")
    p.add_argument("--json", action="store_true", help="print JSON")


def _open(args):
    from hwr.datasets import open_dataset

    kw = {"unknown": args.unknown, "bad": args.bad}
    if args.splits:
        kw["splits"] = args.splits
    split = None if args.split == "all" else args.split
    return open_dataset(args.source, split, layout=args.layout, **kw)


def _synth(args) -> int:
    from hwr.synth import PRESETS, dataset_path, generate

    if args.preset not in PRESETS:
        raise HwrError(f"unknown preset {args.preset!r}; choose from {sorted(PRESETS)}")
    changes = {k: v for k, v in {"seed": args.seed, "train": args.train, "valid": args.valid,
                                 "test": args.test}.items() if v is not None}
    if changes and args.out is None:
        raise HwrError("--seed/--train/--valid/--test change the dataset; give --out DIR so it "
                         f"does not replace the {args.preset!r} preset")
    if args.out is None:  # the preset's own folder: reused when its manifest is up to date
        path = dataset_path(args.preset, build=True, workers=args.workers, progress=not args.quiet)
    else:
        config = dataclasses.replace(PRESETS[args.preset], **changes)
        path = generate(config, args.out, workers=args.workers, progress=not args.quiet)
    print(f"synthetic dataset ready: {path}")
    return 0


def _export(args) -> int:
    from hwr.datasets.export import export_gt_txt, refuse_overlap

    if not (args.source == "synth" or args.source.startswith("synth:")):
        refuse_overlap(args.source, args.out)  # before opening; export_gt_txt checks the opened root again
    ds = _open(args)
    result = export_gt_txt(ds, args.out)
    print(f"{ds.name} {ds.split}: wrote {result['written']} lines to {args.out}"
          + (f"; skipped {len(result['skipped'])} unreadable" if result["skipped"] else ""))
    if ds.report:
        print(f"normalisation: {ds.report.summary()}")
    return 1 if result["skipped"] else 0


def _stats(args) -> int:
    from hwr.datasets.stats import dataset_stats, format_stats

    stats = dataset_stats(_open(args), height=args.height)
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


def main(args: argparse.Namespace) -> int:
    """Run one ``hwr data`` sub-command (a DatasetError reaches :mod:`hwr.cli`: one line, exit 2)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return {"synth": _synth, "export": _export, "stats": _stats}[args.data_command](args)
