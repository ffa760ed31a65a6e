"""The comparison driver: every system in turn, same data, same budget, same threads.

``python -m hwr.peers --profile book`` (``bash peers/compare.sh`` installs the tools
first and then runs this). For each system, one at a time:

1. train it for ``--minutes`` of wall clock with ``--threads`` threads (the stock
   Tesseract model is not trained);
2. let it read the test lines in one process, then read the first test line alone
   in a fresh process, and take the difference over the other lines as the latency
   per line (start-up and model loading cancel out);
3. score its output with :func:`hwr.metrics.cer` / :func:`hwr.metrics.wer`;
4. write its record, curve and predictions to ``results/peers/<profile>/``.

A system whose record exists is skipped unless ``--force``: a comparison cut
short continues where it stopped. Scratch files (exported lines, models, logs)
go to ``peers/data`` and ``peers/runs``, which git ignores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

from hwr.peers import book, kraken, records, tesseract
from hwr.peers.choose import best_models
from hwr.peers.outputs import read_references, score
from hwr.peers.process import ToolError, check, run_logged, shown
from hwr.peers.setup import WORK, Setup
from hwr.profile import Profile
from hwr.provenance import git_state, hardware, versions
from hwr.runs.study import profile_task

#: a VGSL spec of about the thesis models' size (1.77 M parameters with the output layer for this
#: alphabet; ctc_baseline has 1.73 M) at the book task's input height: three conv blocks, two BiLSTMs of 200
THESIS_SIZE_SPEC = "[1,32,0,1 Cr3,3,32 Mp2,2 Cr3,3,64 Mp2,2 Cr3,3,64 Mp2,1 S1(1x0)1,3 Lbx200 Do0.5 Lbx200 Do0.5]"
#: ketos' default recognition spec (kraken 7.1.1), spelled out for the record; ketos is run without -s for it
KRAKEN_DEFAULT_SPEC = ("[1,120,0,1 Cr3,13,32 Do0.1,2 Mp2,2 Cr3,13,32 Do0.1,2 Mp2,2 Cr3,9,64 Do0.1,2 Mp2,2 "
                       "Cr3,9,64 Do0.1,2 S1(1x0)1,3 Lbx200 Do0.1,2 Lbx200 Do0.1,2 Lbx200 Do]")


@dataclass(frozen=True)
class System:
    name: str
    label: str  # for tables and sentences
    short: str  # for legends
    kind: str  # kraken, tesseract, tesseract-stock, hwr
    option: str = ""  # the kraken spec, or the hwr model family


SYSTEMS = {s.name: s for s in [
    System("kraken-default", "kraken, default spec", "kraken default", "kraken", ""),
    System("kraken-thesis-size", "kraken, thesis-sized spec", "kraken thesis-sized", "kraken", THESIS_SIZE_SPEC),
    System("tesseract-scratch", "Tesseract 5 LSTM, from scratch", "Tesseract scratch", "tesseract"),
    System("tesseract-eng", "Tesseract 5, stock English (zero-shot)", "Tesseract eng", "tesseract-stock"),
    System("hwr-ctc", "hwr, best CTC model", "hwr CTC", "hwr", "ctc"),
    System("hwr-seq2seq", "hwr, best seq2seq model", "hwr seq2seq", "hwr", "seq2seq"),
]}
assert tuple(SYSTEMS) == records.ORDER


def say(text: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {text}", flush=True)


def export(setup: Setup) -> None:
    """The task's three splits as NAME.png + NAME.gt.txt (``hwr data export``), once."""
    for split in ("train", "valid", "test"):
        out = setup.data / split
        stamp = out / ".exported"
        if stamp.exists() and stamp.read_text().strip() == setup.source:
            continue
        cmd = [sys.executable, "-m", "hwr.cli", "data", "export", setup.source, "--split", split, "--out", out]
        say(f"exporting {setup.source} {split} to {shown([out])}")
        check(run_logged(cmd, setup.data / f"export-{split}.log"), f"hwr data export ({split})")
        stamp.write_text(setup.source + "\n")
    setup.commands.append({"step": "export", "cmd": [sys.executable, "-m", "hwr.cli", "data", "export",
                                                     setup.source, "--split", "SPLIT", "--out", setup.data / "SPLIT"]})


def _trained(setup: Setup, system: System, choices: dict) -> tuple[dict, callable]:
    """Train ``system``; its record fields and a function that recognises images with it."""
    name = system.name
    if system.kind == "kraken":
        tr = kraken.train(setup, name, system.option or None)
        s = tr["summary"]
        fields = {"parameters": s.get("parameters"), "model": system.option or KRAKEN_DEFAULT_SPEC,
                  "training": {"lines": s.get("lines"), "seconds": s.get("seconds"), "epochs": s.get("epochs"),
                               "wall_s": tr["wall_s"], "kept": "best on validation"}}
        return fields | {"curve": tr["curve"]}, lambda images, tag: kraken.recognize(setup, name, tr["model"], images, tag)
    if system.kind == "tesseract":
        tr = tesseract.train(setup, name)
        s = tr["summary"]
        fields = {"parameters": s.get("parameters"), "model": tr["net_spec"],
                  "training": {"lines": s.get("lines"), "seconds": s.get("seconds"), "iterations": s.get("iterations"),
                               "wall_s": tr["wall_s"], "kept": "last checkpoint (at most 100 lines before the stop)"}}
        return fields | {"curve": tr["curve"]}, lambda images, tag: tesseract.recognize(setup, name, images, tag,
                                                                                       model=tr["model"])
    if system.kind == "tesseract-stock":
        tesseract.require()
        fields = {"parameters": None, "model": "eng.traineddata (tesseract-ocr-eng, integer LSTM)", "training": {}}
        return fields | {"curve": []}, lambda images, tag: tesseract.recognize(setup, name, images, tag)
    if system.kind == "hwr":
        choice = choices.get(system.option)
        if choice is None:
            raise ToolError(f"no {system.option} run of the book task in results/book/runs to choose a model from")
        tr = book.train(setup, name, choice)
        m = tr["metrics"]
        fields = {"parameters": m.get("parameters"), "model": choice.label,
                  "chosen": {"experiment": choice.experiment, "overrides": dict(choice.overrides),
                             "variant": choice.variant, "book_test_cer": choice.test_cer, "book_seeds": choice.seeds,
                             "book_test_cers": list(choice.test_cers),
                             "book_runs": list(choice.runs)},
                  "training": {"lines": m.get("trained_lines"), "seconds": 60 * m.get("minutes", 0),
                               "epochs": m.get("epochs"), "wall_s": tr["wall_s"], "kept": "best on validation",
                               "stop": m.get("stop_reason")}}
        return fields | {"curve": tr["curve"]}, lambda images, tag: book.recognize(setup, name, tr["model"], images, tag)
    raise ValueError(f"unknown kind {system.kind!r}")


def run_system(setup: Setup, system: System, choices: dict, git: dict) -> tuple[dict, list[dict], list[dict]]:
    """Train, recognise, score and time one system; its record, curve and per-line predictions (not yet written).

    ``git``: the checkout's state when the comparison started (the records it writes would make it dirty).
    """
    started, first_command = time.time(), len(setup.commands)
    load_before = [round(x, 2) for x in os.getloadavg()]
    say(f"{system.name}: training for {setup.minutes:g} min on {setup.threads} threads" if system.kind !=
        "tesseract-stock" else f"{system.name}: no training (stock model)")
    fields, recognize = _trained(setup, system, choices)
    curve = fields.pop("curve")
    images = setup.images("test")
    say(f"{system.name}: reading {len(images)} test lines")
    hypotheses, seconds_all = recognize(images, "test")
    _, seconds_one = recognize(images[:1], "one")
    n = len(images)
    latency = (seconds_all - seconds_one) / (n - 1) if n > 1 else None
    metrics, rows = score([p.stem for p in images], read_references(images), hypotheses)
    training = fields.pop("training")
    if training.get("lines") and training.get("seconds"):
        training["lines_per_s"] = training["lines"] / training["seconds"]
    say(f"{system.name}: test CER {metrics['cer']:.2%}, WER {metrics['wer']:.2%}"
        + (f", {training['lines']:,} lines trained" if training.get("lines") else ""))
    label, short = system.label, system.short
    if system.kind == "hwr":
        label = f"hwr {fields['model']} (best {system.option if system.option == 'seq2seq' else 'CTC'} model)"
        short = f"hwr {fields['model']}"
    record = {
        "system": system.name, "label": label, "short": short, "kind": system.kind, "profile": setup.profile,
        "data": setup.source, "seed": setup.seed, "threads": setup.threads,
        "budget_minutes": setup.minutes if training else 0, **fields, "training": training,
        "test": {**metrics, "recognition_s": seconds_all, "one_line_s": seconds_one,
                 "latency_s": max(latency, 0.0) if latency is not None else None,
                 "latency_method": "(wall clock of one process reading all test lines - one reading the first "
                                   "line) / (lines - 1): start-up and model loading cancel"},
        "commands": [{"step": c["step"], "cmd": shown(c["cmd"]), **({"env": c["env"]} if "env" in c else {})}
                     for c in setup.commands[first_command:]],
        "load_average": {"before": load_before, "after": [round(x, 2) for x in os.getloadavg()]},
        **git, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
    }
    return record, curve, rows


def environment(setup: Setup) -> tuple[dict, dict]:
    """Tool versions (every tool, so each record says what was installed) and the hardware."""
    v = versions()
    out = {"python": v.get("python"), "hwr": v.get("hwr"), "torch": v.get("torch"), "torchmore": v.get("torchmore")}
    try:
        out.update(kraken.versions(setup))
    except ToolError:
        out["kraken"] = None
    out.update(tesseract.versions())
    hw = hardware()
    return out, {k: hw.get(k) for k in ("cpu", "cores", "memory_gb", "machine")}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m hwr.peers", description=__doc__.split("\n\n")[0])
    p.add_argument("--profile", default="book", help="whose task decides the data: book (default) or smoke")
    p.add_argument("--minutes", type=float, default=None,
                   help="training budget per system (default: the profile's peers_minutes, else the task's minutes)")
    p.add_argument("--threads", type=int, default=2, help="threads for every system (default 2)")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset (default: all)")
    p.add_argument("--force", action="store_true", help="redo systems whose record exists")
    p.add_argument("--test-limit", type=int, default=0, help="score only the first N test lines (quick checks)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:

    args = parse(argv)
    unknown = [s for s in args.systems.split(",") if s not in SYSTEMS]
    if unknown:
        print(f"unknown system(s) {unknown}; systems: {', '.join(SYSTEMS)}", file=sys.stderr)
        return 2
    task = profile_task(args.profile)
    profile = Profile.load(args.profile)
    minutes = args.minutes or profile.peers_minutes or task.train.get("minutes")
    if not minutes:
        print(f"task {task.name} has no minutes: give --minutes", file=sys.stderr)
        return 2
    source = task.source(profile.data)
    setup = Setup(args.profile, source, float(minutes), args.threads,
                  data=WORK / "data" / source.replace(":", "-"), work=WORK / "runs" / args.profile,
                  seed=args.seed, test_limit=args.test_limit)
    todo = [SYSTEMS[s] for s in args.systems.split(",") if args.force or not records.exists(args.profile, s)]
    say(f"profile {args.profile} (task {task.name}, data {source}): {setup.minutes:g} min per system, "
        f"{setup.threads} threads; to run: {', '.join(s.name for s in todo) or 'nothing (all recorded; --force)'}")
    if not todo:
        return 0
    try:
        export(setup)
        choices = best_models()
        for family, c in choices.items():
            say(f"best {family} model of the book: {c.label} (mean test CER {c.test_cer:.2%} over {c.seeds} seeds)")
        versions, hardware = environment(setup)
        git = git_state()  # before any record is written: a rewritten record would make the checkout dirty
        for system in todo:
            record, curve, rows = run_system(setup, system, choices, git)
            record.update(versions=versions, hardware=hardware)
            path = records.write(args.profile, record, curve, rows)
            say(f"{system.name}: record {shown([path])}")
    except ToolError as e:
        print(f"peers: {e}", file=sys.stderr)
        return 1
    return 0
