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
# # How many gate blocks
#
# The light model reads the backbone's features with no recurrent encoder.
# The thesis put *gate blocks* from GFCN {cite}`coquenet2020gfcn` between
# the backbone and the decoder: a convolution across 9 feature columns whose
# output is split into a signal and a gate that decides, channel by channel
# and column by column, how much of the signal passes. One block lowered the
# legacy CER on IAM-B from {glue:text}`cer_g0` % to {glue:text}`cer_g1` %;
# two and three did worse ({glue:text}`cer_g2` % and {glue:text}`cer_g3` %).
# Its claim: {glue:text}`claim_gates`. This chapter tests it, shows what
# the gates let through, and what adding blocks changes besides the CER.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table
gate_lines: int = 64  # test lines whose gate values are summarised
n_maps: int = 2  # test lines whose gate maps are kept (the first one is drawn)

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS, build
from hwr.models.backbone import min_input_width, receptive_field
from hwr.plots import gates as gate_plots
from hwr.plots.runs import cer_against
from hwr.runs import report
from hwr.runs.analyses import first_analysis

study, models, records, groups, latencies = page.open_study("ch09_gates", profile, latency_batches)
gated = [m for m in models if EXPERIMENTS[m].config["gates"] > 0]
with page.records("analyses of the trained runs (computed once, then read back)"):
    activations, no_checkpoint = {}, []
    for m in gated:  # a run's checkpoint stays on the machine that trained it: take a seed that has one
        try:
            activations[m] = first_analysis(groups[m], "gate_activations", n=gate_lines, n_maps=n_maps)
        except FileNotFoundError:
            no_checkpoint.append(m)
E = EXPERIMENTS
gate_count = {m: E[m].config["gates"] for m in models}
glue("claim_gates", "one gate block beats two or three", display=False)
glue("gate_lines", gate_lines, display=False)
for m in models:
    glue(f"cer_g{gate_count[m]}", f"{E[m].thesis_cer:.1f}", display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Setup
#
# Four light models with instance normalisation that differ only in the
# number of gate blocks ({numref}`tbl-gates-setup`): `light_in` (none) and
# `gate_1` share their runs with the chapter on removing the encoder.

# %% tags=["hide-input"]
blocks.setup_table(study, "tbl-gates-setup")

# %% [markdown]
# ## The gate block
#
# A block takes the backbone's features $X$ ($C = 256$ channels, one row,
# $W'$ columns), applies a depthwise separable convolution of width 9
# without padding to $2C$ channels, and splits the result into halves $A$
# and $B$:
#
# $$Y = \mathrm{IN}\big(\tanh(A)\big) \odot \mathrm{IN}\big(\sigma(B)\big), \qquad
# [A; B] = \mathrm{DSC}_{1 \times 9}(X),$$ (eq-gate-block)
#
# followed by dropout, with no residual connection: what the gate closes
# does not reach the decoder by another path. $\sigma(B) \in (0, 1)$ is the
# gate. Each block
#
# - adds {glue:text}`block_params` parameters;
# - loses 8 feature columns, since the convolution has no padding: the
#   memory the decoder attends over is 8 columns shorter per block, and
#   the shortest line a model can read is wider. A phrase of one short word
#   is narrower than that at height 32, so every batch is padded with white
#   up to the model's minimum width (`hwr.models.backbone.min_input_width`);
# - widens the receptive field of each memory column by 8 feature columns,
#   {glue:text}`block_px` input pixels at this input height.

# %% tags=["hide-input"]
rows = []
nets = {m: build(m, **study.runs[0].overrides) for m in models}
for m, net in nets.items():
    lost = nets["light_in"].output_width([1000]).item() - net.output_width([1000]).item()
    rows.append({"model": m, "gate blocks": gate_count[m], "parameters": f"{E[m].thesis_state_count:,}",
                 "receptive field (px)": receptive_field(net.features), "memory columns lost": lost,
                 "narrowest input (px)": min_input_width(net)})
geometry = pd.DataFrame(rows).set_index("model")
glue("block_params", f"{E['gate_1'].thesis_state_count - E['light_in'].thesis_state_count:,}", display=False)
glue("block_px", f"{geometry.loc['gate_1', 'receptive field (px)'] - geometry.loc['light_in', 'receptive field (px)']}",
     display=False)
Table(geometry, name="tbl-gates-geometry",
      caption="What the blocks change at this input height: parameters, the horizontal receptive field of one "
              "memory column (convolutions and pools; the normalisations mix whole-line statistics in), the "
              "memory columns lost on a line, and the narrowest input the model reads.")

# %% [markdown]
# ## Results

# %% tags=["hide-input"]
blocks.thesis_table(records, "tbl-gates-thesis")

# %% tags=["hide-input"]
per_run = pd.DataFrame([{"label": r.spec.label, "gates": gate_count[r.spec.experiment], "cer": r.test["cer"]}
                        for r in records])
glue("fig_gates_count", cer_against(per_run, "gates", "gate blocks", {gate_count[m]: E[m].thesis_cer for m in models}),
     display=False)

# %% [markdown]
# ```{glue:figure} fig_gates_count
# :name: fig-gates-count
#
# Test CER against the number of gate blocks: here, one dot per seed and
# the mean (diamonds); in the thesis, its legacy CER on IAM-B.
# ```

# %% tags=["hide-input"]
glue("fig_gates_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_gates_curves
# :name: fig-gates-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean.
# ```
#
# ## What the gates let through
#
# {numref}`fig-gates-maps` shows the gate $\sigma(B)$ of every block of the
# deepest model over one test line, and {numref}`fig-gates-values` the
# distribution of gate values of each model over
# {glue:text}`gate_lines` test lines (`hwr.runs.analyses.gate_activations`,
# from one seed of each model, named in {numref}`tbl-gates-values`).
# {glue:md}`no_checkpoint`

# %% tags=["hide-input"]
if no_checkpoint:
    missing = ", ".join(f"`{m}`" for m in no_checkpoint)
    note = (f"{missing} {'has' if len(no_checkpoint) == 1 else 'have'} no recorded gate analysis, so "
            f"{'it is' if len(no_checkpoint) == 1 else 'they are'} not drawn.")
else:
    note = f"All {len(activations)} gated models are drawn."
glue("no_checkpoint", Markdown(note), display=False)
deepest = max(activations, key=lambda m: gate_count[m])
rec, act = activations[deepest]
glue("fig_gates_maps", gate_plots.gate_maps(act["image_0"], [act[f"gate_0_{b}"] for b in range(act["blocks"])],
                                            [act[f"centres_{b}"] for b in range(act["blocks"])],
                                            title=f"{deepest} (seed {rec.spec.seed}): {act['lines'][0]['reference']}"),
     display=False)
hist = []
for m, (r, a) in activations.items():
    bins = a["hist"].shape[1]
    for b in range(a["blocks"]):
        hist += [{"label": m, "block": b + 1, "value": (i + 0.5) / bins, "share": a["hist"][b, i]} for i in range(bins)]
glue("fig_gates_values", gate_plots.gate_histograms(pd.DataFrame(hist)), display=False)
values = pd.DataFrame([{"model": m, "seed": r.spec.seed, "block": s["block"], "mean": s["mean"], "sd": s["sd"],
                        "< 0.1 (%)": 100 * s["closed"], "> 0.9 (%)": 100 * s["open"],
                        "sd of channel means": s["channel_sd"]} for m, (r, a) in activations.items()
                       for s in a["summary"]]).set_index(["model", "block"])
Table(values.round(3), name="tbl-gates-values", decimals=3,
      caption="Gate values per model and block over the test lines: mean and sd, the shares nearly closed "
              "(< 0.1) and nearly open (> 0.9), and how much the channels' mean gates differ (sd).")

# %% [markdown]
# ```{glue:figure} fig_gates_maps
# :name: fig-gates-maps
#
# One test line and the gate of each block of the deepest model, one row
# per channel (sorted by its mean over the line, most open at the top) and
# one column per memory column, placed at the input columns it is centred
# on: a block's map is narrower than the one before it by 8 columns.
# ```
#
# ```{glue:figure} fig_gates_values
# :name: fig-gates-values
#
# Distribution of gate values per model and block, over all channels and
# columns of the test lines.
# ```

# %% tags=["hide-input"]
blocks.latency_table(latencies, "gate_1", latency_batches, "tbl-gates-latency", profile)

# %% [markdown]
# ## Verdicts

# %% tags=["hide-input"]
verdicts, table = blocks.thesis_verdicts(records, ["gates", "gates3"], "tbl-gates-verdicts",
                                         what="The thesis's claim, one comparison each (one gate against more)")
table

# %% [markdown]
# - **One gate against two:** {glue:md}`verdict_gates`
# - **One gate against three:** {glue:md}`verdict_gates3`
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch09", profile, records, models,
                kept="the gate analyses are recorded beside the run they were taken from (`analyses/gate_activations.json`)")
