# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A names recogniser on a fixed canvas
#
# The third seed project (seed 003,
# [amtan20/handwriting_recognition](https://github.com/amtan20/handwriting_recognition))
# reads handwritten first and last names from a
# Kaggle collection of scanned forms (331,059 training names). Its authors
# translated a Keras notebook into PyTorch: every image cropped or padded
# to 256 × 64 pixels, three convolution blocks, one bidirectional LSTM and
# CTC over an upper-case alphabet. Its notes report four observations:
#
# - a cosine learning-rate schedule {cite}`loshchilov2017sgdr` did better
#   than fixed rates;
# - Mish {cite}`misra2019mish` made training noticeably slower than ReLU;
# - the character accuracy rose (to 20 % by epoch 15) while the word
#   accuracy stayed flat, which the authors suspected was a bug in the
#   metric;
# - after about 15 epochs the CTC loss turned to NaN, sporadically, which
#   they put down to the loss's numerics off the CPU.
#
# They compared batch 32 with batch 64 but left that result blank. This
# chapter trains the seed's model on synthetic handwritten names and checks
# each observation.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
n_gallery: int = 6  # test names shown as the model sees them
nan_lines: int = 8  # test names in the batch the NaN cases are tried on

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.codec import BLANK, Codec
from hwr.datasets import open_dataset
from hwr.metrics import perfect_ctc_frames, positional_accuracy
from hwr.models import build, state_count
from hwr.models.names import NAMES_ALPHABET, fixed_width
from hwr.plots.accuracy import accuracy_bars
from hwr.plots.lines import line_gallery
from hwr.preprocess import prepare
from hwr.profile import Profile
from hwr.runs import report
from hwr.runs.analyses import analysis
from hwr.runs.analyses.seeds import nan_mechanism
from hwr.synth.names import TWO_NAMES
from hwr.training.ctc_checks import min_frames

study, models, records, groups, latencies = page.open_study("ch17_names", profile)
task = Profile.load(profile).names_task
with page.records("analyses of the trained runs (computed once, then read back)"):
    main = groups["names_crnn"]
    readings = {(r.spec.label, r.spec.seed): analysis(r, "names_reading") for r in records}
    nan = analysis(main[0], "ctc_nan", lines=nan_lines)
net = build("names_crnn")
codec = Codec("ctc")
glue("params", f"{state_count(net):,}", display=False)
glue("canvas", f"{net.cfg.input_width} × {net.cfg.input_height}", display=False)
glue("frames", net.cfg.input_width // 4, display=False)
glue("alphabet", len(NAMES_ALPHABET), display=False)
glue("task", Markdown(f"`{task}`"), display=False)
glue("two_names", f"{100 * TWO_NAMES:.0f} %", display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## The model and the data
#
# `names_crnn` ({glue:text}`params` parameters) follows the seed's notes.
# The image is scaled to height 64 and cropped or padded at the right to
# {glue:text}`canvas` pixels. Three blocks of a 3 × 3 convolution, batch
# normalisation and an activation (Mish, or ReLU in a variant) with 32, 64
# and 128 channels and max pools of 2 × 2, 2 × 2 and 2 × 1 leave a map of
# 128 channels, 8 rows and {glue:text}`frames` columns. A linear layer
# turns each column's 1,024 values into 64, a BiLSTM of 512 units per
# direction reads the columns, and a last linear layer gives each column a
# distribution over the {glue:text}`alphabet` symbols (A to Z, hyphen,
# apostrophe and space) and the CTC blank. So every name, short or long,
# has {glue:text}`frames` frames to be read in.
#
# The names are upper-case first names from two public lists (the
# `@stdlib` female and male English first names), split so that no name is
# in two splits. {glue:text}`two_names` of the images hold two names, as a
# form's first and last name would. They are written by the synthetic
# writers that write the book's lines (task {glue:md}`task`).

# %% tags=["hide-input"]
test = open_dataset(study.runs[0].data, "test")
picks = np.linspace(0, len(test) - 1, n_gallery).astype(int)
images, titles = [], []
for i in picks:
    item = test[int(i)]
    x = torch.from_numpy(prepare(item.image, net.cfg.input_height))[None, None]
    shown = fixed_width(x, net.cfg.input_width)[0, 0].numpy()
    images.append((np.clip(shown, 0, 1) * 255).round().astype(np.uint8))
    titles.append(f"{item.text} ({x.shape[-1]} px wide{', cropped' if x.shape[-1] > net.cfg.input_width else ''})")
glue("fig_names_canvas", line_gallery(images, titles, fontsize=11), display=False)
cropped = np.mean([readings[(r.spec.label, r.spec.seed)]["cropped"] for r in main])
glue("cropped", f"{100 * cropped:.1f} %", display=False)

# %% [markdown]
# ```{glue:figure} fig_names_canvas
# :name: fig-names-canvas
#
# Test names as the model sees them: scaled to height 64, then cropped or
# padded (the last column repeated) to the fixed canvas.
# ```
#
# {glue:text}`cropped` of the test names are wider than the canvas and
# lose their end before the network sees them; no model of this chapter
# can read those completely.
#
# ## Setup

# %% tags=["hide-input"]
Table(report.study_setup(study), name="tbl-names-setup",
      caption="The chapter's runs: the seed's setting (Mish, warm-up and cosine, batch 32) and one change at a "
              "time: ReLU, a constant rate at the cosine's peak, and batch 64 over the same number of lines.")

# %% [markdown]
# ## Results

# %% tags=["hide-input"]
results = report.thesis_frame(records).drop(columns=["thesis CER (%)"])
Table(results, name="tbl-names-results",
      caption="Test CER and WER (%, greedy decoding) on the test names: mean ± seed sd, the 95 % bootstrap "
              "interval over test names, the legacy CER and the best validation CER.")

# %% tags=["hide-input"]
glue("fig_names_curves", plots.learning_curves(report.curves_frame(records)), display=False)
seen = [r.metrics["trained_lines"] for r in records]
best_val = [pd.read_csv(r.folder / "history.csv")["val_cer"].min() for r in records]
minutes = study.runs[0].train.get("minutes")
glue("names_budget", Markdown(
    f"In {f'its {minutes:g} minutes' if minutes else 'its budget'} a run trained on {min(seen):,} to "
    f"{max(seen):,} names (the seed's model saw its 331,059 training names 20 times), and every run's best "
    f"validation CER lay between {100 * min(best_val):.1f} and {100 * max(best_val):.1f} %: "
    + ("all are still near CTC's plateau, so the settings are compared on how fast they start to learn."
       if min(best_val) > 0.5 else "the runs have left CTC's plateau.")), display=False)

# %% [markdown]
# ```{glue:figure} fig_names_curves
# :name: fig-names-curves
#
# Validation CER against training names seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean.
# ```
#
# {glue:md}`names_budget`
#
# ## Accuracy, scored two ways
#
# The seed padded every label to 64 symbols with −1 and counted a
# character right where the prediction held the label's symbol *at the
# same position*, and a name right when every position matched. Its notes
# do not say what the prediction was; the model's output has one argmax per
# frame, 64 of them, the same number as the padded label's positions,
# which makes the raw frames the natural thing to compare. But CTC frames
# are mostly blanks and repeats: a frame lines up with the label's symbol
# at its index only by chance, and a name's every position never does.
# Scored that way ({numref}`fig-names-accuracy`, "seed's, raw frames"),
# the word accuracy stays at zero however well the model reads.
#
# Scored correctly, the frames are collapsed first (repeats merged, blanks
# removed), the character accuracy is 1 − CER (edit distance, so one
# missing letter costs one error, not every position after it) and a name
# is right when it is read exactly.

# %% tags=["hide-input"]
ways = {"correct: characters (1 − CER)": lambda d: d["char_accuracy"],
        "correct: names read exactly": lambda d: d["line_accuracy"],
        "seed's: characters, raw frames": lambda d: d["raw"]["char"],
        "seed's: words, raw frames": lambda d: d["raw"]["word"],
        "seed's: characters, collapsed": lambda d: d["collapsed"]["char"],
        "seed's: words, collapsed": lambda d: d["collapsed"]["word"]}
# a reader with no errors, scored both ways: its raw frames fire each letter once, blanks elsewhere
frames = next(iter(readings.values()))["frames"]
labels = [codec.encode(text) for text in test.texts]
perfect_raw = positional_accuracy(labels, [perfect_ctc_frames(lab, frames, BLANK) for lab in labels])
perfect = {"char_accuracy": 1.0, "line_accuracy": 1.0, "raw": dict(zip(("char", "word"), perfect_raw)),
           "collapsed": {"char": 1.0, "word": 1.0}}
acc = pd.DataFrame([{"label": label, "seed": seed, "measure": way, "accuracy": fn(d)}
                    for (label, seed), d in [*readings.items(), (("perfect reader", 0), perfect)]
                    for way, fn in ways.items()])
short = acc.assign(label=acc["label"].map(lambda lab: "seed's setting" if lab == "names_crnn"
                                           else lab.removeprefix("names_crnn (").removesuffix(")")))
glue("fig_names_accuracy", accuracy_bars(short[~short["measure"].str.endswith("collapsed")]), display=False)
means = acc.groupby(["label", "measure"], sort=False)["accuracy"].mean().unstack()[list(ways)]
means.index.name = "model"
Table(means.map(lambda v: f"{100 * v:.1f}"), name="tbl-names-accuracy",
      caption="Test accuracy (%, mean over seeds) scored correctly and by the seed's position-by-position "
              "comparison, on the raw frames and on the collapsed reading; the last row is a reader with no "
              "errors.")

# %% [markdown]
# ```{glue:figure} fig_names_accuracy
# :name: fig-names-accuracy
#
# Test accuracy of each setting (the seed's: Mish, cosine, batch 32; the
# others change one of them) and of a reader with no errors, scored
# correctly and by the seed's position-by-position comparison of the raw
# frames (bars: mean over seeds; dots: seeds).
# ```

# %% tags=["hide-input"]
seed_words = max(d["raw"]["word"] for d in readings.values())
best = max(readings.values(), key=lambda d: (d["line_accuracy"], d["char_accuracy"]))
glue("metric_text", Markdown(
    f"A reader that makes no error, firing each letter in one frame of its share of the {frames} and the blank "
    f"in the others (as trained CTC models do), gets {100 * perfect_raw[1]:.1f} % of the names and "
    f"{100 * perfect_raw[0]:.1f} % of the characters right by the seed's comparison of raw frames: there both "
    f"of the seed's scores stay near zero however well a model reads (at most {100 * seed_words:.1f} % of the "
    f"names across this chapter's {len(readings)} runs). On the collapsed reading the comparison counts a "
    f"name's letters up to its first dropped or added letter, so its character score can rise with training "
    f"while staying under the correct one, and its word score is about the share of names read exactly. The "
    f"seed's notes do not say which of the two it compared. The best run here reads "
    f"{100 * best['line_accuracy']:.1f} % of the test names exactly, with "
    f"{100 * best['char_accuracy']:.1f} % of the characters right by edit distance, "
    f"{100 * best['raw']['char']:.1f} % by the seed's comparison of its raw frames and "
    f"{100 * best['collapsed']['char']:.1f} % by that of its collapsed reading."),
    display=False)

# %% [markdown]
# {glue:md}`metric_text`
#
# ## Verdicts

# %% tags=["hide-input"]
verdicts, table = blocks.seed_verdicts(records, study.name, "tbl-names-verdicts", "Seed 003's settings")
table

# %% tags=["hide-input"]
speed = {label: {r.spec.seed: r.metrics["lines_per_s"] for r in recs} for label, recs in groups.items()}
relu = "names_crnn (relu)"
if relu in speed:
    paired = [speed["names_crnn"][s] / speed[relu][s] for s in speed["names_crnn"] if s in speed[relu]]
    ratio = float(np.mean(paired))
    mish_speed = (f"Mish trains at {ratio:.2f} times ReLU's speed in names per second (mean over "
                  f"{len(paired)} seed{'s' if len(paired) > 1 else ''}, each pair trained side by side on the "
                  f"same machine, range {min(paired):.2f} to {max(paired):.2f}): "
                  + ("slower, as the seed noticed." if max(paired) < 1 else
                     "no slower here." if min(paired) >= 1 else "no consistent difference."))
else:
    mish_speed = "ReLU is not trained under this profile."
glue("mish_speed", Markdown(mish_speed), display=False)

# %% [markdown]
# - **A cosine schedule.** {glue:md}`verdict_cosine`
# - **Mish.** {glue:md}`verdict_mish` {glue:md}`mish_speed`
# - **Batch 32.** {glue:md}`verdict_batch_32`
#
# {numref}`tbl-names-speed` gives the training speed of each setting.

# %% tags=["hide-input"]
Table(report.speed_frame(records, "names_crnn"), name="tbl-names-speed",
      caption="Training speed: parameters, training names per second (mean ± seed sd, validation left out), "
              "names trained in the budget, and the speed relative to the seed's setting.")

# %% [markdown]
# ## Where the NaN losses come from
#
# CTC's loss sums the probabilities of every alignment of the label with
# the frames. An alignment writes each symbol in at least one frame and
# needs a blank between two equal neighbours ("LL" in ALLAN), so a label
# needs as many frames as it has symbols plus its doubled letters. A label
# that needs more frames than the line has has no alignment; its
# probability is 0 and its loss $-\log 0 = \infty$. The gradient of a
# batch's mean loss is then NaN, and one optimiser step writes NaN into
# every weight: every later loss is NaN. Whether a batch holds such a label
# depends on how the batches were drawn, so it happens sporadically.
#
# {numref}`tbl-names-nan` tries this on the trained model, on CPU, with a
# batch of {glue:text}`nan_n` test names: as they are, with one label
# replaced by one that needs more than the {glue:text}`nan_frames` frames
# ({glue:md}`too_long`), and with each guard.

# %% tags=["hide-input"]
glue("nan_n", nan_lines, display=False)
glue("nan_frames", nan["frames"], display=False)
glue("too_long", Markdown(f"`{nan['too_long']}`"), display=False)
cases = pd.DataFrame(nan["cases"])
cases["loss"] = cases["loss"].map(lambda v: f"{v:.3f}" if np.isfinite(v) else str(v))
for column in ("gradient finite", "weights finite", "outputs finite after the step"):
    cases[column] = cases[column].map({True: "yes", False: "**no**"})
Table(cases.set_index(["case", "guard"]), name="tbl-names-nan",
      caption="One Adam step of the trained model on one batch, each case on its own copy: the lines kept, how "
              "many have an infinite loss, the batch's mean loss, and whether the gradient, the weights and the "
              "next outputs are finite.")

# %% tags=["hide-input"]
needs = [min_frames(codec.encode(text)) for split in ("train", "valid", "test")
         for text in open_dataset(study.runs[0].data, split).texts]
finite = all(np.isfinite(pd.read_csv(r.folder / "history.csv")["train_loss"]).all() for r in records)
fits = max(needs) <= nan["frames"]
glue("nan_data", Markdown(
    f"On this chapter's names the longest label needs {max(needs)} of the {nan['frames']} frames, so "
    + ("no batch could hold an impossible label" if fits else "some labels are impossible")
    + (", and every run's training loss stayed finite. " if finite else
       "; some run's training loss was not finite (see its `history.csv`). ")
    + "The seed padded its labels to 64 symbols for 64 frames: any of its names near that length with a doubled "
      "letter, or a misread label, had no alignment."), display=False)

f16 = [r for r in nan["cases"] if "float16" in r["case"] and r["guard"] == "none"][0]
if f16["infinite lines"]:
    nan_f16 = (f"On this batch {f16['infinite lines']} of the {f16['lines']} names lost every alignment that "
               f"way, and the step left the weights {'finite' if f16['weights finite'] else 'NaN'}.")
else:
    nan_f16 = ("On this batch no name lost every alignment that way (the trained model gives each frame's likely "
               "symbols probabilities well above that), so the float16 row shows the risk, not an observed NaN.")
glue("nan_f16", Markdown(nan_f16), display=False)
nan_outcome, nan_text = nan_mechanism(nan)
glue("verdict_nan", Markdown(f"*One label with no alignment makes a training step write NaN into the weights on the "
                             f"CPU, and either guard prevents it*: **{nan_outcome}**. {nan_text}"), display=False)

# %% [markdown]
# {glue:md}`verdict_nan`
#
# {glue:md}`nan_data`
#
# The fixes are
# to pass `zero_infinity=True`, which gives such a line a loss and a
# gradient of 0 (the book's loss always does), or to check label lengths
# against frames before the loss and leave those lines out, counted.
#
# A third source is precision: a softmax rounded to float16 before its
# log, as mixed-precision training on a GPU can make it, sets every
# probability under about $6 \times 10^{-8}$ to 0. {glue:md}`nan_f16` The
# book's models give the loss `log_softmax` in float32.
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch17", profile, records, models,
                kept="the accuracies and the NaN cases are recorded beside each run (`analyses/`)")
