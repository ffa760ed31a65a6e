"""Tesseract 5: an LSTM trained from scratch on the exported lines, and the stock English model.

Training from scratch needs no download (no langdata, no tessdata_best, no tesstrain):

1. line boxes (:mod:`hwr.peers.boxes`) and ``.lstmf`` files (``tesseract IMG BASE --psm 13
   lstm.train``) for the train and valid splits;
2. the character set of both splits (``unicharset_extractor``), so that every
   validation line can be encoded;
3. a starter ``.traineddata`` (``combine_lang_model``; its script folder needs a
   non-empty ``radical-stroke.txt``, and one comment line is enough for Latin text);
4. ``lstmtraining`` from scratch (no ``--continue_from``) with tesstrain's default
   network, stopped at the budget; it writes its checkpoint every 100 lines;
5. ``lstmtraining --stop_training`` turns the last checkpoint into a (float) model.

Steps 1-3 are data preparation and are not part of the training budget. Unlike kraken
and hwr, which keep their best model on validation, lstmtraining keeps no model chosen
on the eval lines: the model scored is the last checkpoint.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hwr.peers import logs
from hwr.peers.boxes import write_boxes
from hwr.peers.outputs import tesseract_pages
from hwr.peers.process import ToolError, check, output_of, run_logged
from hwr.peers.setup import Setup

TOOLS = ("tesseract", "unicharset_extractor", "combine_lang_model", "lstmtraining")
#: tesstrain's default network; c### becomes the size of the starter's character set
NET_SPEC = "[1,36,0,1 Ct3,3,16 Mp3,3 Lfys48 Lfx96 Lrx96 Lfx192 O1c###]"
LEARNING_RATE = 0.002  # lstmtraining's usual rate for training from scratch (tesstrain's default)
LANG = "hwr"
STOCK_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")


def require() -> None:
    """A clear error when a Tesseract tool is missing."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        raise ToolError(f"Tesseract tools missing: {', '.join(missing)}; run `bash peers/install_tesseract.sh`")


def versions() -> dict[str, str]:
    first = output_of(["tesseract", "--version"]).splitlines()
    packages = output_of(["dpkg-query", "-W", "-f=${Package} ${Version}\n", "tesseract-ocr", "tesseract-ocr-eng"])
    return {"tesseract": first[0] if first else "unknown",
            "leptonica": next((x.strip() for x in first if "leptonica" in x), ""),
            "debian packages": "; ".join(packages.splitlines())}


def _lstmf(setup: Setup, folder: Path, images: list[Path]) -> Path:
    """Boxes, links and ``.lstmf`` files for ``images`` in ``folder``; returns the list file."""
    written, skipped = write_boxes(str(folder), [str(p) for p in images])
    if skipped:
        raise ToolError(f"{len(skipped)} lines have no usable transcription: {skipped[:3]}")
    env = {**setup.thread_env(), "OMP_THREAD_LIMIT": "1"}  # one line at a time: threads would only wait
    for p in images:
        link = folder / p.name
        if not link.with_suffix(".lstmf").exists():
            subprocess.run(["tesseract", str(link), str(link.with_suffix("")), "--psm", "13", "lstm.train"],
                           check=True, capture_output=True, env={**os.environ, **env})
    listing = folder.with_suffix(".list")
    listing.write_text("".join(f"{folder / p.stem}.lstmf\n" for p in images))
    return listing


def prepare(setup: Setup, name: str) -> dict:
    """Steps 1-3: .lstmf lists, character set, starter traineddata (not timed as training)."""
    require()
    work = setup.work / name
    work.mkdir(parents=True, exist_ok=True)
    lists = {split: _lstmf(setup, work / split, setup.images(split)) for split in ("train", "valid")}
    setup.commands.append({"step": f"{name}: line boxes, then one .lstmf file per line",
                           "cmd": ["tesseract", f"{work}/SPLIT/NAME.png", f"{work}/SPLIT/NAME", "--psm", "13",
                                   "lstm.train"]})
    boxes = sorted((work / "train").glob("*.box")) + sorted((work / "valid").glob("*.box"))
    cmd = ["unicharset_extractor", "--output_unicharset", work / "unicharset", "--norm_mode", 2, *boxes]
    check(run_logged(cmd, work / "unicharset.log"), "unicharset_extractor")
    setup.commands.append({"step": f"{name}: character set",
                           "cmd": cmd[:5] + [f"{work}/train/*.box", f"{work}/valid/*.box"]})
    script_dir, starter_dir = work / "langdata", work / "starter"
    shutil.rmtree(starter_dir, ignore_errors=True)
    script_dir.mkdir(exist_ok=True)
    starter_dir.mkdir()
    # Only Han scripts use the radical table, but combine_lang_model refuses a missing or empty one.
    (script_dir / "radical-stroke.txt").write_text("# radical-stroke table: empty, no Han characters here\n")
    cmd = ["combine_lang_model", "--input_unicharset", work / "unicharset", "--script_dir", script_dir,
           "--output_dir", starter_dir, "--lang", LANG]
    check(run_logged(cmd, work / "starter.log"), "combine_lang_model")
    setup.commands.append({"step": f"{name}: starter traineddata", "cmd": cmd})
    sizes = list((starter_dir / LANG).glob(f"{LANG}.charset_size=*.txt"))
    if not sizes:
        raise ToolError(f"combine_lang_model wrote no charset_size file in {starter_dir / LANG}")
    charset = int(sizes[0].name.split("=")[1].removesuffix(".txt"))
    return {"lists": lists, "starter": starter_dir / LANG / f"{LANG}.traineddata", "charset": charset}


def train(setup: Setup, name: str) -> dict:
    """Steps 4-5: lstmtraining for the budget, then the model from its last checkpoint."""
    prep = prepare(setup, name)
    work = setup.work / name
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    net = NET_SPEC.replace("c###", f"c{prep['charset']}")
    cmd = ["lstmtraining", "--traineddata", prep["starter"], "--net_spec", net, "--model_output", out / LANG,
           "--learning_rate", LEARNING_RATE, "--train_listfile", prep["lists"]["train"],
           "--eval_listfile", prep["lists"]["valid"], "--max_iterations", 10**9, "--target_error_rate", 0.0,
           "--debug_interval", 0]
    setup.commands.append({"step": f"{name}: train (stopped at the budget)", "cmd": cmd})
    # lstmtraining has no time limit: it is stopped from outside and keeps its last checkpoint.
    done = check(run_logged(cmd, work / "train.log", env=setup.thread_env(), budget_s=setup.budget_s),
                 "lstmtraining", ok_when_stopped=True)
    text = done.log.read_text(encoding="utf-8")
    checkpoint = out / f"{LANG}_checkpoint"
    if not checkpoint.exists():
        raise ToolError(f"lstmtraining wrote no checkpoint in {setup.minutes} minutes (it writes one every 100 "
                        f"lines); see {done.log}")
    model = work / f"{LANG}.traineddata"
    cmd = ["lstmtraining", "--stop_training", "--continue_from", checkpoint, "--traineddata", prep["starter"],
           "--model_output", model]
    check(run_logged(cmd, work / "stop.log"), "lstmtraining --stop_training")
    setup.commands.append({"step": f"{name}: model from the last checkpoint", "cmd": cmd})
    summary = logs.lstmtraining_summary(text)
    return {"model": model, "summary": summary, "curve": logs.lstmtraining_curve(text), "wall_s": done.seconds,
            "net_spec": net}


def recognize(setup: Setup, name: str, images: list[Path], tag: str, model: Path | None = None) -> tuple[list[str], float]:
    """``tesseract`` over a list file of ``images`` in one process (one page per image).

    ``model``: a trained ``.traineddata`` (read as a raw line, ``--psm 13``, as in training);
    None: the stock English model (a single text line, ``--psm 7``, its usual mode for a line).
    """
    require()
    work = setup.work / name
    work.mkdir(parents=True, exist_ok=True)
    listing = work / f"ocr-{tag}.list"
    listing.write_text("".join(f"{p.resolve()}\n" for p in images))
    base = work / f"ocr-{tag}"
    if model is None:
        cmd = ["tesseract", listing, base, "--tessdata-dir", STOCK_TESSDATA, "-l", "eng", "--psm", 7]
    else:
        cmd = ["tesseract", listing, base, "--tessdata-dir", model.parent, "-l", model.stem, "--psm", 13]
    setup.commands.append({"step": f"{name}: recognise ({tag})", "cmd": cmd})
    done = check(run_logged(cmd, work / f"ocr-{tag}.log", env=setup.thread_env()), f"tesseract ({name})")
    return tesseract_pages(base.with_suffix(".txt").read_text(encoding="utf-8"), len(images)), done.seconds
