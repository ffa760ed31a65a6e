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
# # Two-dimensional attention
#
# Every model so far pools the backbone's features down to a single row, so
# the decoder attends over columns only. The thesis kept $H'$ rows instead
# ("expand h"): it dropped the last vertical pools of the backbone and let
# the decoder attend over all $H' \times W'$ positions, with a
# two-dimensional positional encoding. With $H' = 4$ and $H' = 8$ its legacy
# CER on IAM-B was {glue:text}`cer_h4` % and {glue:text}`cer_h8` %, against
# {glue:text}`cer_gate` % for the gated light model with 1D attention, and
# {glue:text}`cer_h8_128` % with $H' = 8$ at an input height of 128. The
# cost was time on a CPU: {glue:text}`lat_h8` against
# {glue:text}`lat_gate` ms per line at batch 1, and
# {glue:text}`lat24_h8` against {glue:text}`lat24_gate` ms per batch of 24.
# Its claim: {glue:text}`claim_attn2d`.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table
n_maps: int = 3  # test lines whose attention maps are kept when a run ends
frames: int = 12  # decoder steps drawn as frames
gif_steps: int = 40  # decoder steps of the animation

# %% tags=["hide-input"]
from IPython.display import Image, Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS, build
from hwr.plots import attention
from hwr.runs import report
from hwr.runs.analyses import first_analysis
from hwr.runs.latency import latency_frame, latency_verdict
from hwr.thesis import CLAIMS

study, models, records, groups, _ = page.open_study("ch12_attn2d", profile)
two_d = [m for m in models if EXPERIMENTS[m].config["expand_h"] > 1]
with page.records("analyses of the trained runs, and latencies (computed once, then read back)"):
    # latency at each model's own height, the 128-pixel 2D model included
    latencies = latency_frame(models + [m for m in ("attn2d_h8_in128",) if m not in models], latency_batches, profile=profile)
    maps = {m: first_analysis(groups[m], "attention_maps", n=n_maps) for m in two_d}
E = EXPERIMENTS
glue("claim_attn2d", CLAIMS["attn2d"].text, display=False)
for name, model in (("h4", "attn2d_h4"), ("h8", "attn2d_h8"), ("h8_128", "attn2d_h8_in128"), ("gate", "gate_1")):
    glue(f"cer_{name}", f"{E[model].thesis_cer:.1f}", display=False)
    glue(f"lat_{name}", f"{E[model].thesis_latency_ms['cpu_bs1']:,}", display=False)
    glue(f"lat24_{name}", f"{E[model].thesis_latency_ms['cpu_bs24']:,}", display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Setup
#
# `gate_1` (its runs shared with the earlier chapters) against the same
# model with 2D attention over $H' = 4$ and $H' = 8$ feature rows
# ({numref}`tbl-attn2d-setup`). All three have the same parameters: the
# dropped pools have none, and the attention's key projection acts on each
# position alike. The thesis's third 2D model, `attn2d_h8_in128`, differs
# from `attn2d_h8` only by its input height; the book's task fixes the
# height at 32 pixels, at which the two are the same network, so it is
# trained only under the `full` profile (each model at its own height). Its
# latency is measured here all the same.

# %% tags=["hide-input"]
blocks.setup_table(study, "tbl-attn2d-setup")

# %% [markdown]
# ## Attention over rows and columns
#
# With memory vectors $m_{y,x}$ at row $y$ and column $x$ of the feature
# map and the decoder's query $q_t$ at step $t$, the additive attention
# scores every position and normalises over all of them,
#
# $$e_{t,y,x} = v^\top \tanh(W q_t + U m_{y,x}), \qquad
# \alpha_{t,y,x} = \frac{\exp e_{t,y,x}}{\sum_{y',x'} \exp e_{t,y',x'}}, \qquad
# c_t = \sum_{y,x} \alpha_{t,y,x} \, m_{y,x},$$ (eq-attn2d)
#
# and the positional encoding gives half of the channels a sinusoid of the
# column and half a sinusoid of the row. A step costs $H'$ times the
# 1D attention's work, and the backbone, with fewer vertical pools, works
# on taller maps in its last blocks.
#
# ## Results

# %% tags=["hide-input"]
blocks.thesis_table(records, "tbl-attn2d-thesis")

# %% tags=["hide-input"]
glue("fig_attn2d_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_attn2d_curves
# :name: fig-attn2d-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean.
# ```

# %% tags=["hide-input"]
speed = report.speed_frame(records, "gate_1")
glue("speed_2d", Markdown(" and ".join(f"`{m}` {float(speed.loc[m, '× gate_1']):.2f}" for m in two_d)),
     display=False)
glue("speed_cpus", Markdown(report.hardware(records)), display=False)
Table(speed, name="tbl-attn2d-speed",
      caption="Training speed: parameters, training lines per second (mean ± seed sd, validation left out), "
              "lines trained in the budget, the speed relative to gate_1's, and the CPUs the runs trained on.")

# %% [markdown]
# The budget is wall-clock minutes, so a slower model also sees fewer
# lines: relative to `gate_1`, training runs at {glue:md}`speed_2d` times
# its speed ({numref}`tbl-attn2d-speed`). The runs did not all train on
# one machine ({glue:md}`speed_cpus`), and the CPU moves a model's speed
# by up to a fifth ({doc}`ch14_conclusions`), so the ratios carry that
# too. The forward pass alone, timed side by side on one idle machine:

# %% tags=["hide-input"]
latency_ratios = report.latency_table(latencies, "gate_1", latency_batches)
Table(latency_ratios, name="tbl-attn2d-latency",
      caption="CPU latency of one forward call (ms) on a 1408-pixel-wide input (3225 at height 128) with 45 "
              "decoder steps, one thread, at batch sizes 1 and 24, here and in the thesis, and its ratio (×) "
              "to gate_1's.")

# %% [markdown]
# ## The maps over the line
#
# {numref}`fig-attn2d-frames` shows, for one test line, where the
# $H' = 8$ model attends at each of its first decoder steps, and the
# animation below runs through the whole line (`analyses/attention_maps`,
# recorded when the run ended).

# %% tags=["hide-input"]
deepest = max(two_d, key=lambda m: E[m].config["expand_h"])
rec, out = maps[deepest]
net = build(deepest, **rec.spec.overrides)
att = out["attention_0"].astype("float32")
centres = net.column_centres(att.shape[-1]).numpy()
line = out["lines"][0]
glue("fig_attn2d_frames", attention.attention_frames(out["image_0"], att, line["decoded"], centres, max_frames=frames,
                                                     title=f"{deepest} (seed {rec.spec.seed})"), display=False)
glue("attn2d_reference", line["reference"], display=False)
glue("attn2d_decoded", line["decoded"], display=False)
glue("gif_steps", gif_steps, display=False)

# %% [markdown]
# ```{glue:figure} fig_attn2d_frames
# :name: fig-attn2d-frames
#
# The first decoder steps of the $H' = 8$ model on one test line: each
# frame is one step's attention over the $H' \times W'$ positions, drawn
# over the image region each position covers, more opaque the closer a
# weight is to the step's largest. Each frame is titled with the
# character the step emitted and that largest weight's share of the step's
# attention: a few per cent means the step looked everywhere at once.
# ```
#
# The line reads "{glue:text}`attn2d_reference`"; the model decoded
# "{glue:text}`attn2d_decoded`".

# %% tags=["hide-input"]
glue("fig_attn2d_animation", Image(data=attention.attention_animation(out["image_0"], att, line["decoded"], centres,
                                                                      max_frames=gif_steps), format="gif"),
     display=False)

# %% [markdown]
# ```{glue:figure} fig_attn2d_animation
# :name: fig-attn2d-animation
#
# The same line as an animation of the first {glue:text}`gif_steps` decoder
# steps, one frame per step, each titled with the text decoded so far and
# drawn as in {numref}`fig-attn2d-frames`.
# ```

# %% [markdown]
# ## Verdict

# %% tags=["hide-input"]
verdicts = {"attn2d": blocks.judge(records, CLAIMS["attn2d"].better, CLAIMS["attn2d"].other)}
glue("verdict_attn2d", Markdown(verdicts["attn2d"].explanation), display=False)

def ratios(model: str, prefix: str) -> str:
    """``model``'s latency ratios to gate_1's at each batch size, here (``""``) or in the thesis (``"thesis "``)."""
    return " and ".join(latency_ratios.loc[model, f"{prefix}bs {b} ×"] for b in latency_batches)


batches = " and ".join(str(b) for b in latency_batches)
cost = "; ".join(f"`{m}` {ratios(m, '')} times (thesis: {ratios(m, 'thesis ')})" for m in two_d)
# the cost half of the claim needs no trained model: judged on the repeated timed calls of each model
cost_verdicts = " ".join(latency_verdict("gate_1", m, latency_batches, profile)[1] for m in two_d)
glue("cost_attn2d", Markdown(f"On one thread of this CPU, at batch {batches}, a forward call takes `gate_1`'s "
                             f"time multiplied by: {cost}. With an interval over the timed calls, the claim "
                             f"that 2D attention costs more time: {cost_verdicts}"), display=False)
Table(report.verdict_frame(verdicts), name="tbl-attn2d-verdict",
      caption="The thesis's claim: its CER difference (attn2d_h8 minus gate_1, points, IAM-B legacy CER), the "
              "difference here (test CER, points, with its 95 % interval over seeds, writers and test lines) and the verdict.")

# %% [markdown]
# - **CER:** {glue:md}`verdict_attn2d`
# - **CPU cost:** {glue:md}`cost_attn2d`
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch12", profile, records, models,
                kept="the attention maps are recorded beside each run when it ends (`analyses/attention_maps.json`)")
