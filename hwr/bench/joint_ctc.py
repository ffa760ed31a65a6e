"""``hwr bench joint-ctc``: does an auxiliary CTC loss get an attention model off its plateau sooner?

At the book's budget the attention models stay on the plateau of early
training, where the decoder writes likely words without having learnt where
to look (chapters 3 to 7). Joint CTC-attention training (Kim, Hori and
Watanabe, arXiv 1609.06773) adds a CTC loss on the encoder's features,
which forces every feature column to say which character it shows and so
gives the attention something to align with. The CTC head is a 1x1
convolution to the 81 classes on the model's memory (before positional
encoding); it is used in training only and is not part of the model, whose
state (and the thesis's parameter count) stays as it is.

This measures the idea before it goes into the engine: one process per CTC
weight (0 = the plain recipe), side by side on one thread each, with the
book task's data, batches, optimiser and schedule, and prints the
validation CER at each mark. Nothing is recorded in the run store.

    hwr bench joint-ctc --model gate_1 --weights 0,0.5 --minutes 10
"""

from __future__ import annotations

import argparse
import time

from hwr.cli_types import non_negative_int, positive_float, positive_int
from hwr.datasets import open_dataset
from hwr.evaluation import evaluate
from hwr.models import build
from hwr.training.data import train_loader, validation_subset
from hwr.training.losses import batch_loss, ctc_loss, seq2seq_loss, seq2seq_targets
from hwr.training.schedule import LRSchedule
from hwr.training.task import get_task


def _train(args: tuple) -> list[dict]:
    model_name, weight, minutes, task_name, seed, val_every = args
    import torch
    import torch.nn as nn

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    task = get_task(task_name)
    config = task.config(model_name, seed=seed)
    model = build(model_name, **task.overrides(model_name))
    model.train()
    with torch.no_grad():
        channels = model.features(torch.zeros(1, 1, model.input_height, 256)).shape[1]
    head = nn.Conv1d(channels, 81, 1)
    data = task.source()
    train, valid = open_dataset(data, "train"), validation_subset(open_dataset(data, "valid"), config.val_subset)
    params = list(model.parameters()) + (list(head.parameters()) if weight else [])
    optimizer = torch.optim.Adam(params, lr=config.lr)
    LRSchedule(optimizer, config)
    loader = train_loader(train, config, model.input_height)
    rows, lines, started, next_val, epoch = [], 0, time.time(), val_every, 0
    while time.time() - started < 60 * minutes:
        loader.batch_sampler.set_epoch(epoch)
        for batch in loader:
            if weight:
                memory = model.features(batch.images)  # B x C x 1 x W' (1D models)
                targets, lengths = seq2seq_targets(batch.texts, ids=batch.ids)
                mem = model.posenc(memory) if model.posenc is not None else memory
                log_probs, _ = model.decoder(mem.flatten(2), targets, config.teacher_forcing)
                loss = seq2seq_loss(log_probs, targets, lengths)
                ctc_lp = head(memory[:, :, 0]).transpose(1, 2).log_softmax(-1)  # B x W' x 81
                frames = model.output_width(batch.widths).clamp(1, ctc_lp.shape[1])
                loss = loss + weight * ctc_loss(ctc_lp, frames, batch.texts, batch.ids)
            else:
                loss, _, _ = batch_loss(model, batch, "cpu", config.teacher_forcing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            lines += len(batch.texts)
            if lines >= next_val or time.time() - started >= 60 * minutes:
                next_val += val_every
                m, _ = evaluate(model, validation_subset(valid, None), batch_size=16, progress=False, legacy=False)
                model.train()
                rows.append({"weight": weight, "lines": lines, "minutes": (time.time() - started) / 60,
                             "val_cer": m["cer"]})
                print(f"weight {weight}: {lines} lines, {rows[-1]['minutes']:.1f} min, val CER {m['cer']:.1%}",
                      flush=True)
            if time.time() - started >= 60 * minutes:
                break
        epoch += 1
    return rows


def configure(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("--model", default="gate_1", help="a seq2seq registry model with 1D attention")
    parser.add_argument("--weights", default="0,0.5", help="CTC loss weights, one process each (0 = plain)")
    parser.add_argument("--minutes", type=positive_float, default=10.0)
    parser.add_argument("--task", default="phrases-32-cosine", help="book task (configs/tasks.yaml)")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--val-every", type=positive_int, default=4000, help="validate every this many training lines")


def main(args: argparse.Namespace) -> int:
    import multiprocessing as mp

    weights = [float(w) for w in args.weights.split(",")]
    jobs = [(args.model, w, args.minutes, args.task, args.seed, args.val_every) for w in weights]
    with mp.get_context("spawn").Pool(len(jobs)) as pool:
        results = pool.map(_train, jobs)
    print(f"\n{args.model} on {args.task}, seed {args.seed}, {args.minutes:g} min, one thread per process")
    print(f"{'weight':>7}{'lines':>9}{'minutes':>9}{'val CER':>9}")
    for rows in results:
        for r in rows:
            print(f"{r['weight']:>7g}{r['lines']:>9}{r['minutes']:>9.1f}{100 * r['val_cer']:>8.1f}%")
    return 0
