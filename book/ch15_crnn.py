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
# # A ResNet CRNN with a CTC shortcut
#
# The first of the other seed projects (seed 001, a repository named
# *handwriting* that builds on
# [jc639/pytorch-handwritingCTC](https://github.com/jc639/pytorch-handwritingCTC))
# is a plain line recogniser of the
# kind most handwriting systems of the last decade are: a residual
# convolutional encoder, a few bidirectional LSTMs over its feature columns
# and CTC. It adds the *CTC shortcut* of Retsinas et al. {cite}`retsinas2024`: a second,
# tiny output head straight on the convolutional features, trained with its
# own CTC loss and thrown away at inference. The project leaves three
# remarks this chapter tests on the book's task:
#
# - the shortcut was "not terribly helpful";
# - its features become a sequence through an average pool that stretches
#   the feature map's columns to a fixed 96 steps, a layer whose dimension
#   order it took long to get right;
# - beam search lowered the CER by only about a point, although its
#   outputs looked much better, which made its author wonder whether CER
#   misleads.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table
beam_widths: list = [2, 5, 10]  # beam widths decoded after greedy (as the CTC baseline's chapter)
compare_width: int = 10  # the beam width compared with greedy
shape_width: int = 320  # line width (pixels) of the shape table

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.decode.effect import decoder_effect
from hwr.models import MODELS, build, state_count
from hwr.models.crnn import stage_shapes
from hwr.plots import decoding
from hwr.runs import report
from hwr.runs.analyses import analysis
from hwr.runs.latency import latency_frame
from hwr.metrics import edit_distance
from hwr.runs.study import profile_task

study, models, records, groups, _ = page.open_study("ch15_crnn", profile)
crnn = models[0]  # crnn, or the seed's ResNet-34 size under the full profile
with page.records("analyses of the trained runs, and latencies (computed once, then read back)"):
    latencies = latency_frame([crnn, "ctc_baseline", "gate_1"], latency_batches, profile=profile)
    decoded = {r.spec.run_id: analysis(r, "ctc_decoding", widths=beam_widths, keep=compare_width) for r in records}
height = profile_task(profile).input_height or MODELS[crnn].config["input_height"]
glue("crnn_params", f"{state_count(build(crnn)):,}", display=False)
glue("r34_params", f"{state_count(build('crnn_r34')):,}", display=False)
glue("ctc_params", f"{state_count(build('ctc_baseline')):,}", display=False)
glue("height", height, display=False)
glue("compare_width", compare_width, display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## The model
#
# The encoder is a ResNet: a 3 × 3 stem and four stages of residual
# blocks (two 3 × 3 convolutions with batch normalisation, added to their
# input). The seed uses ResNet-34's stages (3, 4, 6 and 3 blocks of 64 to
# 512 channels; `crnn_r34`, {glue:text}`r34_params` parameters, trained
# under the `full` profile). At the book's ten-minute budget the chapter
# trains `crnn`: one block per stage and half the channels, two BiLSTMs of
# 128 units, {glue:text}`crnn_params` parameters with the shortcut head,
# about the CTC baseline's {glue:text}`ctc_params`.
#
# Lines keep their aspect ratio: they are scaled to the input height and
# padded on the right, never squashed to a fixed width. The height halves
# four times and the width only twice, so each feature column covers four
# pixels of the line ({numref}`tbl-crnn-shapes`).

# %% tags=["hide-input"]
shapes = pd.DataFrame(stage_shapes(build(crnn, input_height=height), shape_width))
shapes["parameters"] = shapes["parameters"].map("{:,}".format)
Table(shapes.set_index("part"), name="tbl-crnn-shapes",
      caption=f"What each part of `{crnn}` makes of a line of {height} × {shape_width} pixels "
              "(channels × height × width, or channels × frames), with its parameters.")

# %% [markdown]
# ### From a feature map to a sequence
#
# CTC needs one distribution per time step, so the C × H × W feature map
# has to lose its height. The book's CRNN takes the strongest response of
# each column, $s_t = \max_h f_{:,h,t}$: one frame per four pixels, as many
# frames as the line is wide. The seed instead averages the map into a fixed
# grid of 1 × 96 cells (`AdaptiveAvgPool2d((1, 96))`): every batch becomes
# 96 frames whatever its width, the feature columns stretched (a narrow
# batch) or squeezed (a wide one) by linear averaging, padding included. The
# variant `crnn (stretch)` does the same.
#
# ### The shortcut
#
# The shortcut head is a 1 × 3 convolution from the reduced features $s$
# straight to the 81 classes. Training minimises
#
# $$\mathcal{L} = \mathrm{CTC}\big(\mathrm{BiLSTM}(s)\big) + \lambda\, \mathrm{CTC}\big(\mathrm{conv}_{1\times 3}(s)\big), \qquad \lambda = 0.1,$$ (eq-shortcut)
#
# so the encoder gets a direct signal to make its columns readable on their
# own, without waiting for the LSTMs to learn to pass one through. At
# inference the head is not run. `crnn (no shortcut)` has no head and
# $\lambda = 0$.
#
# ## Setup

# %% tags=["hide-input"]
Table(report.study_setup(study), name="tbl-crnn-setup",
      caption="The chapter's runs: the CRNN and its two variants, and the thesis's CTC baseline (the runs of "
              "the CTC baseline's chapter), with saved-state counts, seeds and budget in minutes.")

# %% [markdown]
# ## Results

# %% tags=["hide-input"]
results = report.thesis_frame(records).drop(columns=["thesis CER (%)"])
Table(results, name="tbl-crnn-results",
      caption="Test CER and WER (%, greedy decoding): mean ± seed sd, the 95 % bootstrap interval over test lines, "
              "the thesis's legacy CER and the best validation CER.")

# %% tags=["hide-input"]
glue("fig_crnn_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_crnn_curves
# :name: fig-crnn-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean.
# ```

# %% tags=["hide-input"]
blocks.speed_table(records, "ctc_baseline", "tbl-crnn-speed")

# %% [markdown]
# ## Verdicts on the architecture

# %% tags=["hide-input"]
verdicts, table = blocks.seed_verdicts(records, study.name, "tbl-crnn-verdicts", "The claims about the architecture")
table

# %% [markdown]
# - **The shortcut** ({eq}`eq-shortcut`). {glue:md}`verdict_shortcut`
# - **Max-pooled columns against the stretched average pool.**
#   {glue:md}`verdict_column_pool`
#
# ## Why beam search moves the CER so little
#
# Every run's test posteriors are decoded greedily and with a prefix beam
# search of width {glue:text}`compare_width` (no language model; the CTC
# baseline's chapter gives the method). {numref}`tbl-crnn-beam` counts the
# errors of both decoders in three units: characters (CER), words (WER) and
# whole lines read wrong.

# %% tags=["hide-input"]
rows, effects = [], {}
for rec in records:
    e = decoder_effect(decoded[rec.spec.run_id]["lines_table"], "greedy", "beam")
    effects[rec.spec.run_id] = e
    for unit in ("cer", "wer", "line"):
        rows.append({"label": rec.spec.label, "seed": rec.spec.seed, "unit": unit, **e[unit]})
eff = pd.DataFrame(rows)
mean = eff.groupby(["label", "unit"], sort=False)[["before", "after", "relative"]].mean()
table = []
for label in groups:
    row = {"model": label}
    for unit, name in (("cer", "CER"), ("wer", "WER"), ("line", "lines wrong")):
        m = mean.loc[(label, unit)]
        row[f"{name} (%)"] = f"{report.percent(m['before'])} → {report.percent(m['after'])}"
        row[f"{name} removed"] = f"{100 * m['relative']:.0f} %"
    table.append(row)
glue("fig_crnn_beam", decoding.decoder_effect(eff), display=False)
Table(pd.DataFrame(table).set_index("model"), name="tbl-crnn-beam",
      caption=f"Greedy → beam {compare_width}: test error rates (%, mean over seeds) counted in characters, words "
              "and whole lines, and the share of greedy's errors the beam removes.")

# %% [markdown]
# ```{glue:figure} fig_crnn_beam
# :name: fig-crnn-beam
#
# The share of greedy decoding's errors that the beam removes, counted in
# characters, words and whole lines (bars: mean over seeds; dots: seeds).
# ```

# %% tags=["hide-input"]
main = [effects[r.spec.run_id] for r in groups[crnn]]
n = len(main)
avg = {k: sum(e[k] for e in main) / n for k in ("changed", "edits_per_change")}
rel = {u: sum(e[u]["relative"] for e in main) / n for u in ("cer", "wer", "line")}
drop = {u: sum(e[u]["before"] - e[u]["after"] for e in main) / n for u in ("cer", "wer", "line")}
larger = max(("wer", "line"), key=lambda u: rel[u])
unit_name = {"cer": "characters", "wer": "words", "line": "whole lines"}
if rel[larger] > 1.5 * rel["cer"] and rel["cer"] > 0:
    why = (f"So the beam's gain is small in characters and larger in {unit_name[larger]}: it removes "
           f"{100 * rel['cer']:.0f} % of greedy's character errors but {100 * rel[larger]:.0f} % of its wrong "
           f"{unit_name[larger]}. Its typical fix is {avg['edits_per_change']:.0f} character(s) on a line, which a "
           f"reader sees as a word made right; the CER counts it as one edit among the line's many. Neither count "
           f"misleads: they measure different things, and the seed's impression is the word-level one.")
elif rel["cer"] <= 0:
    why = ("Here the beam does not lower the CER at all, and it does not turn more words or lines right either: "
           "on these models the seed's impression is not reproduced.")
else:
    why = (f"Here the beam's gain is about the same in every unit ({100 * rel['cer']:.0f} % of the character "
           f"errors, {100 * rel['wer']:.0f} % of the word errors, {100 * rel['line']:.0f} % of the wrong lines), "
           f"so the seed's impression of outputs much better than their CER is not reproduced on these models.")
glue("beam_changed", f"{100 * avg['changed']:.0f} %", display=False)
glue("beam_edits", f"{avg['edits_per_change']:.0f}", display=False)
glue("beam_cer_change", report.change_text(-drop["cer"]), display=False)  # drop: greedy minus beam
glue("beam_wer_change", report.change_text(-drop["wer"]), display=False)
glue("beam_why", Markdown(why), display=False)

# Per-line errors of greedy and beam decoding, every seed of the chapter's main model
per_line = []
for rec in groups[crnn]:
    for r in decoded[rec.spec.run_id]["lines_table"]:
        for decoder in ("greedy", "beam"):
            per_line.append({"label": f"{decoder}" if decoder == "greedy" else f"beam {compare_width}",
                             "cer": edit_distance(r["reference"], r[decoder]) / max(1, len(r["reference"]))})
glue("fig_crnn_lines", decoding.line_error_ecdf(pd.DataFrame(per_line)), display=False)

# %% [markdown]
# On `crnn`'s test lines the beam changes the text of
# {glue:text}`beam_changed` of the lines, by a median of
# {glue:text}`beam_edits` character(s) where it does. The CER
# {glue:text}`beam_cer_change` and the WER
# {glue:text}`beam_wer_change`. {glue:md}`beam_why`
#
# ```{glue:figure} fig_crnn_lines
# :name: fig-crnn-lines
#
# The distribution of per-line test CER of `crnn` (all seeds) under greedy
# and beam decoding: the share of lines with CER at most x.
# ```
#
# ## Cost

# %% tags=["hide-input"]
Table(report.latency_table(latencies, "ctc_baseline", latency_batches), name="tbl-crnn-latency",
      caption="CPU latency of one forward call (ms, network only, one thread) on the thesis models' 64 × 1408 "
              "input at batch sizes 1 and 24, and its ratio (×) to ctc_baseline's; the thesis gives no figure for "
              "these models except gate_1.")

# %% [markdown]
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch15", profile, records, models,
                kept="the decoding analyses are recorded beside each run (`analyses/ctc_decoding.json`)")
