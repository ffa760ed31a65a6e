"""``hwr train EXPERIMENT --data SOURCE --out DIR [options]``: train one model.

Runs :func:`hwr.train.train`; calling it again on the same ``--out`` resumes
an unfinished run or returns at once for a finished one with the same
settings. Model overrides: ``-o gates=2 -o norm=bn`` (values parsed as Python
literals where possible, else kept as strings).
"""

from __future__ import annotations

import argparse
import ast
import json



def parse_override(text: str) -> tuple[str, object]:
    """``"key=value"`` -> (key, value); value as a Python literal when it parses."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"model override {text!r} is not key=value")
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key.strip(), value


def configure(parser: argparse.ArgumentParser) -> None:
    from hwr.train.config import TrainConfig

    d = TrainConfig()
    parser.add_argument("experiment", help="registry name (see `hwr experiments`), e.g. gate_1, ctc_baseline")
    parser.add_argument("--data", default="synth", help="dataset source: synth, synth:smoke, or a path (default: synth)")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, history.csv, metrics.json)")
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"most epochs (default {d.epochs})")
    parser.add_argument("--minutes", type=float, default=d.minutes, help="wall-clock budget in minutes (default: none)")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    parser.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    parser.add_argument("--schedule", default=d.schedule, choices=("constant", "warmup_cosine", "onecycle"),
                        help="learning-rate schedule, peak --lr (default constant: the thesis)")
    parser.add_argument("--warmup", type=float, default=d.warmup,
                        help="schedule warm-up: fraction of --schedule-steps if < 1, else steps")
    parser.add_argument("--schedule-steps", type=int, default=d.schedule_steps,
                        help="optimiser steps at which the schedule reaches its floor")
    parser.add_argument("--lr-floor", type=float, default=d.lr_floor,
                        help=f"final rate of a schedule, as a fraction of --lr (default {d.lr_floor})")
    parser.add_argument("--teacher-forcing", type=float, default=d.teacher_forcing, help=f"default {d.teacher_forcing}")
    parser.add_argument("--patience", type=int, default=d.patience, help=f"early-stopping patience in epochs (default {d.patience})")
    parser.add_argument("--val-subset", type=int, default=d.val_subset, help="validate on this many lines (default: all)")
    parser.add_argument("--val-width", type=int, default=d.val_width, help="pad validation lines to this width (thesis: 1408)")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"default {d.seed}")
    parser.add_argument("--threads", type=int, default=d.threads, help="torch threads (default 0: one per free core)")
    parser.add_argument("--device", default=d.device, help="auto, cpu, cuda (default auto)")
    parser.add_argument("--workers", type=int, default=d.workers, help=f"data-loader workers (default {d.workers})")
    parser.add_argument("--log-every", type=int, default=d.log_every, help="progress refresh, in batches")
    parser.add_argument("--no-progress", action="store_true", help="log lines instead of a progress bar")
    parser.add_argument("--channels-last", action="store_true", help="channels-last memory format (no gain measured here)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (slow first call)")
    parser.add_argument("-o", "--override", action="append", type=parse_override, default=[], metavar="KEY=VALUE",
                        help="model override passed to hwr.models.build (repeatable)")


def main(args: argparse.Namespace) -> int:
    from hwr.train import TrainConfig, train

    config = TrainConfig(
        epochs=args.epochs, minutes=args.minutes, batch_size=args.batch_size, lr=args.lr,
        schedule=args.schedule, warmup=args.warmup, schedule_steps=args.schedule_steps, lr_floor=args.lr_floor,
        teacher_forcing=args.teacher_forcing, patience=args.patience, val_subset=args.val_subset,
        val_width=args.val_width, seed=args.seed, threads=args.threads, device=args.device,
        workers=args.workers, log_every=args.log_every, progress=not args.no_progress,
        channels_last=args.channels_last, compile=args.compile,
    )
    metrics = train(args.experiment, args.data, args.out, config, **dict(args.override))
    summary = {k: metrics[k] for k in ("best", "last", "epochs", "minutes", "lines_per_s", "stop_reason", "device")}
    print(json.dumps(summary, indent=2))
    return 0
