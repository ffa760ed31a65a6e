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
# # The projection menu and size normalisation
#
# The second seed project is a lecture on OCR with recurrent networks by
# the author of torchmore, the library this book's models are built from.
# It treats a line recogniser as a menu: an input that is raw or
# normalised in size and position, convolutional layers, a *projection*
# from the two-dimensional feature map to a sequence, and a sequence model
# or none. It ends with rules of thumb, not measurements:
#
# - sum, max or LSTM projections for unnormalised input, concatenation
#   (or LSTM) for normalised input;
# - normalisation, convolutions and an LSTM for printed Western text;
#   no normalisation, convolutions and an LSTM for handwriting and scene
#   text;
# - without normalisation and with convolutions only: faster, but worse.
#
# This chapter orders from the menu on the book's task and checks the
# rules that apply to it.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table
n_gallery: int = 3  # test lines shown raw and normalised

# %% tags=["hide-input"]
import numpy as np
import torch
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.datasets import open_dataset
from hwr.models import build, state_count
from hwr.models.sizenorm import SizeNormalize
from hwr.plots.lines import line_gallery
from hwr.preprocess import prepare
from hwr.runs import report
from hwr.runs.study import profile_task

study, models, records, groups, latencies = page.open_study("ch16_projection", profile, latency_batches,
                                                            latency_models=["proj", "proj_conv", "ctc_baseline"])
height = profile_task(profile).input_height or 64
for name, overrides in (("max", {}), ("reshape", {"projection": "reshape"}), ("lstm", {"projection": "lstm"}),
                        ("conv", None)):
    net = build("proj_conv", input_height=height) if overrides is None else build("proj", input_height=height,
                                                                                   **overrides)
    glue(f"params_{name}", f"{state_count(net):,}", display=False)
glue("height", height, display=False)
glue("rows", height // 8, display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## The menu
#
# Every model of the chapter shares its convolutions: four blocks of a
# 3 × 3 convolution, batch normalisation and a ReLU (32 to 256 channels),
# with 2 × 2 max pools after the first two and a 2 × 1 pool after the
# third. A line of height {glue:text}`height` becomes a map $f$ of
# $C = 256$ channels, $H' =$ {glue:text}`rows` rows and $W/4$ columns. The
# projections make one feature vector $s_t$ per column $t$:
#
# $$
# s_t^{\text{sum}} = \sum_{h} f_{:,h,t}, \qquad
# s_t^{\text{max}} = \max_{h} f_{:,h,t}, \qquad
# s_t^{\text{reshape}} = \big[f_{:,1,t}; \dots; f_{:,H',t}\big], \qquad
# s_t^{\text{lstm}} = \mathrm{LSTM}\big(f_{:,1,t}, \dots, f_{:,H',t}\big)_{\text{last}}.
# $$ (eq-projections)
#
# Sum and max forget *where* in the column a feature fired; concatenation
# keeps it (and feeds the sequence model $C H'$ numbers per column instead
# of $C$); the LSTM reads the column top to bottom and learns what to keep.
# The sequence model is two BiLSTMs of 128 units (`proj`,
# {glue:text}`params_max` parameters with max; {glue:text}`params_reshape`
# with concatenation, {glue:text}`params_lstm` with the column LSTM) or,
# in `proj_conv`, three 1-D convolutions of width 3 with no recurrence
# ({glue:text}`params_conv`).
#
# ### Size and position normalisation
#
# For the normalised variants the model's first layer moves each line's
# writing to the same place and size (`hwr.models.sizenorm`). A pixel's
# ink weight is how much darker than the paper it is,
# $w_{y,x} = \max(0,\ p - I_{y,x} - \epsilon)$, with $p$ the line's median
# grey (most of a line is paper) and a noise floor $\epsilon = 0.1$: a soft
# threshold, which keeps the anti-aliased edges of the strokes and ignores
# the grain of the paper. The ink's centroid row and spread are
#
# $$\mu = \frac{\sum_{y,x} y\, w_{y,x}}{\sum_{y,x} w_{y,x}}, \qquad
# \sigma^2 = \frac{\sum_{y,x} (y - \mu)^2\, w_{y,x}}{\sum_{y,x} w_{y,x}},$$ (eq-moments)
#
# and output row $r$ reads input row $\mu + (r - \tfrac{H-1}{2})\,\sigma /
# (H/8)$: the centroid lands on the middle row and four standard
# deviations either side fill the height. *Line* normalisation takes one
# $\mu, \sigma$ per line; *window* normalisation takes them per column from
# the ink within a window twice the height wide around it, so a line whose
# baseline drifts is straightened piece by piece
# ({numref}`fig-projection-norm`).

# %% tags=["hide-input"]
data = open_dataset(study.runs[0].data, "test")
picks = np.linspace(0, len(data) - 1, n_gallery).astype(int)
images, titles = [], []
for i in picks:
    item = data[int(i)]
    x = torch.from_numpy(prepare(item.image, height))[None, None]
    for name, view in (("raw", x), ("line norm", SizeNormalize("line")(x)),
                       ("window norm", SizeNormalize("window")(x))):
        images.append((view[0, 0].numpy() * 255).round().astype(np.uint8))
        titles.append(f"{name}: {item.text}" if name == "raw" else name)
glue("fig_projection_norm", line_gallery(images, titles, fontsize=11), display=False)

# %% [markdown]
# ```{glue:figure} fig_projection_norm
# :name: fig-projection-norm
#
# Test lines as the models see them: raw (the thesis preprocessing at the
# book's height), normalised per line and normalised in windows.
# ```
#
# ## Setup

# %% tags=["hide-input"]
Table(report.study_setup(study), name="tbl-projection-setup",
      caption="The chapter's runs: the projection and normalisation of each `proj` variant, and `proj_conv`, with "
              "saved-state counts, seeds and budget in minutes. The verdicts rest on the models with three "
              "seeds; the rest of the menu is traced on the first.")

# %% [markdown]
# ## Results

# %% tags=["hide-input"]
results = report.thesis_frame(records).drop(columns=["thesis CER (%)"])
Table(results, name="tbl-projection-results",
      caption="Test CER and WER (%, greedy decoding): mean ± seed sd (one seed where no sd is given), the 95 % "
              "bootstrap interval over test lines, the thesis's legacy CER and the best validation CER.")

# %% tags=["hide-input"]
cost = report.cost_frame(records)
speed = {label: np.mean([r.metrics["lines_per_s"] for r in recs]) for label, recs in groups.items()}
cost["ms_per_line"] = cost["label"].map(lambda lab: 1000 / speed[lab])
glue("fig_projection_cost", plots.cost_scatter(cost, "ms_per_line", xlabel="training ms per line (one thread)",
                                               logx=False, height=4.2), display=False)
glue("fig_projection_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_projection_cost
# :name: fig-projection-cost
#
# Test CER (mean over seeds, bars one seed sd) against the training time
# per line of every item of the menu; filled points are on the Pareto
# front (no other item trains faster and reads better).
# ```
#
# ```{glue:figure} fig_projection_curves
# :name: fig-projection-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean.
# ```

# %% tags=["hide-input"]
blocks.speed_table(records, "proj", "tbl-projection-speed")

# %% [markdown]
# ## The rules of thumb

# %% tags=["hide-input"]
verdicts, table = blocks.seed_verdicts(records, study.name, "tbl-projection-verdicts",
                                       "The lecture's rules of thumb that the book's task can test")
table

# %% [markdown]
# - **"Concatenation wants normalised input."** {glue:md}`verdict_reshape_norm`
# - **"On raw lines, max rather than concatenation."** {glue:md}`verdict_reshape_raw`
# - **"Convolutions alone are faster but read worse."** {glue:md}`verdict_conv_only`
#
# The rest of the menu (sum, the column LSTM, max on normalised lines,
# concatenation on window-normalised lines) has one seed each: its rows of
# {numref}`tbl-projection-results` describe, they do not decide.
#
# ## Cost at inference
#
# The lecture's last rule promises speed for the model without a sequence
# model. {numref}`tbl-projection-latency` times one forward call of `proj`,
# `proj_conv` and the thesis's CTC baseline on the thesis models' input.

# %% tags=["hide-input"]
Table(report.latency_table(latencies, "proj", latency_batches), name="tbl-projection-latency",
      caption="CPU latency of one forward call (ms, network only, one thread) on a 64 × 1408 input at batch "
              "sizes 1 and 24, and its ratio (×) to proj's.")

# %% [markdown]
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch16", profile, records, models)
