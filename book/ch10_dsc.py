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
# # Depthwise separable convolutions
#
# Most of a light model's weights, and nearly all of its arithmetic, are in
# the backbone's six convolutions. The thesis replaced each by a
# *depthwise separable* convolution (DSC): one filter per input channel
# (repeated $k$ times, the multiplier), then a $1 \times 1$ convolution that
# mixes the channels. With $k = 1$ the gated light model shrinks from
# {glue:text}`params_gate` to {glue:text}`params_k1` parameters, and its
# legacy CER on IAM-B rises from {glue:text}`cer_gate` % to
# {glue:text}`cer_k1` %; larger multipliers win back part of it
# ({glue:text}`cer_k4` % at $k = 4$). Its claim: {glue:text}`claim_dsc`.
# On its CPU the $k = 1$ model was a little faster than `gate_1` at batch 1
# ({glue:text}`lat_k1` against {glue:text}`lat_gate` ms per line) and slower
# at batch 24 ({glue:text}`lat24_k1` against {glue:text}`lat24_gate` ms). This
# chapter asks whether the trade is a good one on a CPU, where a depthwise
# convolution does little arithmetic per byte it moves.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.bench.flops import forward_flops
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS
from hwr.plots.runs import cer_against
from hwr.profile import Profile
from hwr.runs import report
from hwr.thesis import CLAIMS

study, models, records, groups, latencies = page.open_study("ch10_dsc", profile, latency_batches)
measured = Profile.load(profile).latency  # the latency table's input width and decoding steps
flops = {m: forward_flops(m, width=measured["width"], steps=measured["steps"]) for m in models}
E = EXPERIMENTS
glue("claim_dsc", CLAIMS["dsc"].text, display=False)
for name, model in (("gate", "gate_1"), ("k1", "dsc_k1"), ("k4", "dsc_k4")):
    glue(f"params_{name}", f"{E[model].thesis_state_count:,}", display=False)
    glue(f"cer_{name}", f"{E[model].thesis_cer:.1f}", display=False)
    glue(f"lat_{name}", f"{E[model].thesis_latency_ms['cpu_bs1']:,}", display=False)
    glue(f"lat24_{name}", f"{E[model].thesis_latency_ms['cpu_bs24']:,}", display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Setup
#
# The gated light model `gate_1` (its runs shared with the earlier
# chapters) against its DSC versions with multipliers 1 to 4
# ({numref}`tbl-dsc-setup`). The thesis's claim compares `gate_1` with
# `dsc_k1`, so those two have every seed; the larger multipliers trace the
# size–CER curve with one seed each.

# %% tags=["hide-input"]
blocks.setup_table(study, "tbl-dsc-setup")

# %% [markdown]
# ## What a DSC saves
#
# A convolution with a $k_h \times k_w$ kernel from $C_i$ to $C_o$ channels
# has $k_h k_w C_i C_o$ weights and as many multiply-adds per output
# position. Its DSC with multiplier $k$ has a depthwise convolution
# ($k_h k_w C_i k$ weights) and a pointwise one ($C_i k \, C_o$):
#
# $$\frac{\text{DSC}}{\text{convolution}} = \frac{k_h k_w C_i k + C_i k C_o}{k_h k_w C_i C_o}
# = k \left( \frac{1}{C_o} + \frac{1}{k_h k_w} \right).$$ (eq-dsc)
#
# For the backbone's $3 \times 3$ layers with $C_o = 256$ that is about
# $0.115 k$: a ninth of the weights and of the arithmetic at $k = 1$. The
# backbone's cost grows linearly in $k$ ({glue:text}`per_k` weights per unit
# of $k$), the gate block and the decoder do not change.
# {numref}`tbl-dsc-cost` gives the counts, the FLOPs of one line by part
# (`hwr.bench.flops.forward_flops`: matrix products and convolutions, on
# the latency measurement's input, a {glue:text}`flops_input` line with
# {glue:text}`flops_steps` decoder steps), the measured latency, and the
# arithmetic rate the latency implies.

# %% tags=["hide-input"]
lat = latencies.set_index("model")
cost = []
for m in models:
    f = flops[m]
    cost.append({"model": m, "parameters": f"{E[m].thesis_state_count:,}", "backbone GFLOP": f["backbone"] / 1e9,
                 "total GFLOP": f["total"] / 1e9, "bs 1 ms": lat.loc[m, "ms_1"],
                 "GFLOP/s at bs 1": f["total"] / 1e9 / (lat.loc[m, "ms_1"] / 1000),
                 "thesis bs 1 ms": E[m].thesis_latency_ms.get("cpu_bs1")})
cost = pd.DataFrame(cost).set_index("model")
glue("per_k", f"{E['dsc_k2'].thesis_state_count - E['dsc_k1'].thesis_state_count:,}", display=False)
glue("flops_input", f"{flops['gate_1']['height']} × {flops['gate_1']['width']}", display=False)
glue("flops_steps", f"{flops['gate_1']['steps']}", display=False)
Table(cost.round(2), name="tbl-dsc-cost", decimals=2,
      caption="Cost of one line: parameters, FLOPs of the backbone and in all, the measured latency at batch 1 "
              "(one thread), the arithmetic rate that implies, and the thesis's latency on its CPU.")

# %% [markdown]
# ## Results

# %% tags=["hide-input"]
blocks.thesis_table(records, "tbl-dsc-thesis")

# %% tags=["hide-input"]
multiplier = {m: E[m].config["dsc"] for m in models}
per_run = pd.DataFrame([{"label": r.spec.label, "k": multiplier[r.spec.experiment], "cer": r.test["cer"]}
                        for r in records if multiplier[r.spec.experiment]])
glue("fig_dsc_k", cer_against(per_run, "k", "DSC multiplier k", {multiplier[m]: E[m].thesis_cer for m in models
                                                                  if multiplier[m]}), display=False)
glue("fig_dsc_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_dsc_k
# :name: fig-dsc-k
#
# Test CER of the DSC models against the multiplier $k$: here, one dot per
# seed and the mean (diamonds); in the thesis, its legacy CER on IAM-B.
# ```
#
# ```{glue:figure} fig_dsc_curves
# :name: fig-dsc-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean.
# ```
#
# Every model had the same budget of minutes; how many lines each could train on
# in them depends on its speed in training ({numref}`tbl-dsc-speed`), where
# a depthwise convolution's backward pass counts too.

# %% tags=["hide-input"]
Table(report.speed_frame(records, "gate_1"), name="tbl-dsc-speed",
      caption="Training speed: parameters, training lines per second (mean ± seed sd, validation left out, "
              "each run beside another on the same two cores), lines trained in the budget, and the speed "
              "relative to gate_1.")

# %% [markdown]
# ## The trade: CER against size and against time
#
# A model is on the *Pareto front* when no other model is both cheaper and
# better. {numref}`fig-dsc-pareto-params` puts the models on parameters,
# {numref}`fig-dsc-pareto-latency` on measured latency.

# %% tags=["hide-input"]
frame = report.cost_frame(records, latencies, flops, batch=latency_batches[0])
glue("fig_dsc_pareto_params", plots.cost_scatter(frame, "params", xlabel="parameters"), display=False)
glue("fig_dsc_pareto_latency", plots.cost_scatter(frame, "latency_ms", xlabel=f"ms per call at batch "
                                                  f"{latency_batches[0]} (one thread)"), display=False)

# %% [markdown]
# ```{glue:figure} fig_dsc_pareto_params
# :name: fig-dsc-pareto-params
#
# Test CER (mean over seeds, bars one seed sd) against parameters; filled
# points are on the Pareto front.
# ```
#
# ```{glue:figure} fig_dsc_pareto_latency
# :name: fig-dsc-pareto-latency
#
# Test CER against the measured CPU latency per call; filled points are on
# the Pareto front.
# ```

# %% tags=["hide-input"]
blocks.latency_table(latencies, "gate_1", latency_batches, "tbl-dsc-latency", profile)

# %% [markdown]
# ## Verdict

# %% tags=["hide-input"]
verdicts, table = blocks.thesis_verdicts(records, ["dsc"], "tbl-dsc-verdict", what="The thesis's claim")
table

# %% tags=["hide-input"]
def trade_text() -> str:
    """The CPU side of the trade, in words, from the FLOPs and latencies above."""
    flop_ratio = flops["dsc_k1"]["total"] / flops["gate_1"]["total"]
    parts = []
    for b in latency_batches:
        parts.append(f"{lat.loc['dsc_k1', f'ms_{b}'] / lat.loc['gate_1', f'ms_{b}']:.2f} times its time at batch {b}")
    rate = cost.loc["dsc_k1", "GFLOP/s at bs 1"] / cost.loc["gate_1", "GFLOP/s at bs 1"]
    size = E["dsc_k1"].thesis_state_count / E["gate_1"].thesis_state_count
    on_front = [m for m, f in zip(frame["label"], plots.runs.pareto_front(frame["latency_ms"], frame["cer"])) if f]
    text = (f"`dsc_k1` has {size:.2f} times `gate_1`'s parameters and {flop_ratio:.2f} times its FLOPs per line, "
            f"and takes {' and '.join(parts)}: it computes at {rate:.2f} times `gate_1`'s rate of arithmetic. ")
    text += ("On this CPU the smaller model is the faster one, " if lat.loc["dsc_k1", "ms_1"] < lat.loc["gate_1", "ms_1"]
             else "On this CPU the smaller model is not the faster one at batch 1, ")
    text += "and the models on the latency Pareto front are " + ", ".join(f"`{m}`" for m in on_front) + "."
    return text


glue("trade_dsc", Markdown(trade_text()), display=False)

# %% [markdown]
# - **CER for size:** {glue:md}`verdict_dsc`
# - **On a CPU:** {glue:md}`trade_dsc`
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch10", profile, records, models)
