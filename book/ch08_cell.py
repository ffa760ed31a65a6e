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
# # LSTM or GRU in the decoder
#
# The attention decoder of every seq2seq model keeps its state in one
# recurrent cell, stepped once per emitted character. The thesis used an
# LSTM and tried a GRU in its place, in the light model with instance
# normalisation and no gate block. A GRU has three weight blocks where the
# LSTM has four, so the decoder loses a quarter of its recurrent weights
# ({glue:text}`params_lstm` against {glue:text}`params_gru` state entries
# for the whole model). Its claim: {glue:text}`claim_cell`
# ({glue:text}`cer_lstm` % legacy CER on IAM-B against
# {glue:text}`cer_gru` %), with the GRU model no faster on its CPU
# ({glue:text}`lat_gru` against {glue:text}`lat_lstm` ms per line).

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table

# %% tags=["hide-input"]
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS, build
from hwr.runs import report
from hwr.thesis import CLAIMS

study, models, records, groups, latencies = page.open_study("ch08_cell", profile, latency_batches)
E = EXPERIMENTS
glue("claim_cell", CLAIMS["cell"].text, display=False)
for name, model in (("lstm", "light_in"), ("gru", "light_gru")):
    cell = build(model).decoder.cell
    glue(f"cell_{name}", f"{sum(p.numel() for p in cell.parameters()):,}", display=False)
for name, model in (("lstm", "light_in"), ("gru", "light_gru")):
    glue(f"cer_{name}", f"{E[model].thesis_cer:.1f}", display=False)
    glue(f"lat_{name}", f"{E[model].thesis_latency_ms['cpu_bs1']:,}", display=False)
    glue(f"params_{name}", f"{E[model].thesis_state_count:,}", display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Setup
#
# Two models that differ only in the decoder's cell ({numref}`tbl-cell-setup`):
# `light_in` (the light model of the chapter on removing the encoder, its
# runs shared) and `light_gru`.

# %% tags=["hide-input"]
blocks.setup_table(study, "tbl-cell-setup")

# %% [markdown]
# ## Two cells
#
# At step $t$ the decoder's cell takes the previous character's embedding
# and the attention context, concatenated into $x_t$, and its previous
# hidden state $h_{t-1}$. The LSTM keeps a second state, the cell $c_t$,
# written through an input gate $i_t$ and erased through a forget gate
# $f_t$, and shows $h_t$ through an output gate $o_t$:
#
# $$\begin{aligned}
# i_t, f_t, o_t &= \sigma(W_{i,f,o} x_t + U_{i,f,o} h_{t-1} + b_{i,f,o}), &
# g_t &= \tanh(W_g x_t + U_g h_{t-1} + b_g), \\
# c_t &= f_t \odot c_{t-1} + i_t \odot g_t, &
# h_t &= o_t \odot \tanh(c_t).
# \end{aligned}$$ (eq-lstm)
#
# The GRU has no separate cell: an update gate $z_t$ mixes the old state
# with a candidate, and a reset gate $r_t$ decides how much of the old
# state the candidate sees:
#
# $$\begin{aligned}
# z_t, r_t &= \sigma(W_{z,r} x_t + U_{z,r} h_{t-1} + b_{z,r}), &
# n_t &= \tanh(W_n x_t + r_t \odot (U_n h_{t-1} + b_{hn}) + b_n), \\
# h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}. &&
# \end{aligned}$$ (eq-gru)
#
# Three blocks of weights $W, U$ against four: with 256 hidden units the
# decoder cell has {glue:text}`cell_gru` weights instead of
# {glue:text}`cell_lstm`. The cell is a small
# share of a line's work, most of which is the backbone's convolutions
# (the FLOP counts in the chapter on depthwise separable convolutions), so
# neither speed nor size should change much.
#
# ## Results

# %% tags=["hide-input"]
blocks.thesis_table(records, "tbl-cell-thesis")

# %% tags=["hide-input"]
glue("fig_cell_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_cell_curves
# :name: fig-cell-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean.
# ```
#
# A smaller cell could buy more training lines in the same budget.
# {numref}`tbl-cell-speed` gives the trainer's own speed; every run trained
# beside another on the same two cores, so the speeds carry that noise.

# %% tags=["hide-input"]
blocks.speed_table(records, "light_in", "tbl-cell-speed")

# %% tags=["hide-input"]
blocks.latency_table(latencies, "light_in", latency_batches, "tbl-cell-latency", profile)

# %% [markdown]
# ## Verdict

# %% tags=["hide-input"]
verdicts = {"cell": blocks.judge(records, CLAIMS["cell"].better, CLAIMS["cell"].other)}
glue("verdict_cell", Markdown(verdicts["cell"].explanation), display=False)
speed = {m: sum(r.metrics["lines_per_s"] for r in recs) / len(recs) for m, recs in groups.items()}
lat = latencies.set_index("model")
ratios = {"trains at": speed["light_gru"] / speed["light_in"],
          "takes": lat.loc["light_gru", f"ms_{latency_batches[0]}"] / lat.loc["light_in", f"ms_{latency_batches[0]}"]}
cost = (f"The GRU model trains at {ratios['trains at']:.2f} times the LSTM model's lines per second and takes "
        f"{ratios['takes']:.2f} times its time per call at batch {latency_batches[0]}")
if all(abs(r - 1) < 0.1 for r in ratios.values()):
    cost += ": within 10 % both ways, so the cell is too small a part of the work for its size to matter on a CPU."
else:
    cost += "."
glue("cost_cell", Markdown(cost), display=False)
Table(report.verdict_frame(verdicts), name="tbl-cell-verdict",
      caption="The thesis's claim: its CER difference (LSTM minus GRU, points, IAM-B legacy CER), the "
              "difference here (test CER, points, with its 95 % interval over seeds, writers and test lines) and the verdict.")

# %% [markdown]
# - **LSTM against GRU:** {glue:md}`verdict_cell`
# - **Cost.** {glue:md}`cost_cell`
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch08", profile, records, models)
