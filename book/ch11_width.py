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
# # Wider layers
#
# The gated light model has 256 channels at the backbone's output and an
# additive attention of 256 units. The thesis widened each in turn: a
# backbone output of 384 channels gave {glue:text}`cer_bb` % legacy CER on
# IAM-B against {glue:text}`cer_gate` %, and attention sizes of 192, 384
# and 512 gave {glue:text}`cer_attn`, none better than 256. Its
# conclusions do not mention width; this chapter asks whether width helps at
# the book's data size and budget, and whether that budget is too short for
# the largest model.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots, stats
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS
from hwr.plots.runs import cer_against
from hwr.runs import report

study, models, records, groups, latencies = page.open_study("ch11_width", profile, latency_batches)
E = EXPERIMENTS
longer = next(label for label in groups if "budget" in label)
base_model = groups[longer][0].spec.experiment
glue("cer_bb", f"{E['bb_384'].thesis_cer:.1f}", display=False)
glue("cer_gate", f"{E['gate_1'].thesis_cer:.1f}", display=False)
glue("cer_attn", ", ".join(f"{E[m].thesis_cer:.1f} %" for m in ("attn_192", "attn_384", "attn_512")), display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Setup
#
# `gate_1` (its runs shared with the earlier chapters), the same model with
# a 384-channel backbone output (`bb_384`), and with attention sizes 192,
# 384 and 512 ({numref}`tbl-width-setup`). The two comparisons that stand
# for the thesis's numbers, `bb_384` and the widest attention `attn_512`
# against `gate_1`, have every seed; the attention sizes in between trace
# the curve with one seed each. The largest model,
# {glue:md}`longer_model`, also trains once on twice the budget, its
# learning-rate schedule stretched to match, to see how much the book's
# budget leaves on the table.

# %% tags=["hide-input"]
glue("longer_model", Markdown(f"`{base_model}`"), display=False)
Table(report.study_setup(study), name="tbl-width-setup",
      caption="The chapter's models and variants, with the saved-state count (the thesis's), seeds and budget "
              "in minutes.")

# %% [markdown]
# ## What widening changes
#
# Widening the backbone's output from 256 to 384 channels widens its last
# two convolutions, the gate block, and the decoder where it reads the
# memory: the attention's key projection and the cell's input, which takes
# the attention context of $C$ channels. Widening the attention to $A$
# units changes only the attention's three projections,
#
# $$e_{t,j} = v^\top \tanh(W q_t + U m_j), \qquad W \in \mathbb{R}^{A \times H},\;
# U \in \mathbb{R}^{A \times C},\; v \in \mathbb{R}^{A},$$ (eq-width-attention)
#
# a small part of the model: the state counts of {numref}`tbl-width-setup` show it.
#
# ## Results

# %% tags=["hide-input"]
blocks.thesis_table(records, "tbl-width-thesis")

# %% tags=["hide-input"]
one_budget = [r for r in records if not r.spec.variant]
attention_runs = [r for r in one_budget if r.spec.experiment in ("gate_1", "attn_192", "attn_384", "attn_512")]
per_run = pd.DataFrame([{"label": r.spec.label, "attention": E[r.spec.experiment].config["attention"],
                         "cer": r.test["cer"]} for r in attention_runs])
glue("fig_width_attention", cer_against(per_run, "attention", "attention units A",
                                        {E[m].config["attention"]: E[m].thesis_cer
                                         for m in ("gate_1", "attn_192", "attn_384", "attn_512")}), display=False)
glue("fig_width_params", plots.cost_scatter(report.cost_frame(one_budget), "params", xlabel="parameters",
                                            logx=False), display=False)

# %% [markdown]
# ```{glue:figure} fig_width_attention
# :name: fig-width-attention
#
# Test CER against the attention size: here, one dot per seed and the mean
# (diamonds); in the thesis, its legacy CER on IAM-B.
# ```
#
# ```{glue:figure} fig_width_params
# :name: fig-width-params
#
# Test CER (mean over seeds, bars one seed sd) against parameters, on the
# book's budget; filled points are on the Pareto front.
# ```

# %% tags=["hide-input"]
glue("fig_width_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_width_curves
# :name: fig-width-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean; the twice-budget run is its
# own colour.
# ```
#
# ## Is the budget too short for the largest model?

# %% tags=["hide-input"]
long_rec = groups[longer][0]
same_seed = next(r for r in groups[base_model] if r.spec.seed == long_rec.spec.seed)
history = long_rec.history
half = long_rec.spec.train["minutes"] / 2
at_half = history[history["elapsed"] / 60 <= half + 1e-9]
budget = stats.compare([report.prediction_rows(same_seed)], [report.prediction_rows(long_rec)],
                       names=(base_model, longer))
glue("long_minutes", f"{long_rec.spec.train['minutes']:g}", display=False)
glue("short_minutes", f"{same_seed.spec.train['minutes']:g}", display=False)
glue("long_seed", long_rec.spec.seed, display=False)
glue("long_cer", report.percent_text(long_rec.test["cer"]), display=False)
glue("short_cer", report.percent_text(same_seed.test["cer"]), display=False)
d = budget.pooled
glue("long_diff", f"{report.points(d.estimate)} [{report.points(d.low)}, {report.points(d.high)}]", display=False)
if budget.direction < 0:
    budget_text = (f"Twice the budget lowers its CER by {report.points(-d.estimate).lstrip('+')} points: the book's "
                   "budget under-trains it, so the comparisons below compare models that are all still learning, "
                   "and a wider model may need longer to show what its width buys.")
elif budget.direction > 0:
    budget_text = "Twice the budget raises its CER: more training does not help this model on this task."
else:
    budget_text = ("Twice the budget does not change its CER beyond the noise of one seed: the comparisons below "
                   "are not short-changing the wide model.")
glue("budget_text", Markdown(budget_text), display=False)
glue("long_val_half", report.percent_text(at_half["val_cer"].min()) if len(at_half) else "-", display=False)
glue("long_val_end", report.percent_text(history["val_cer"].min()), display=False)
glue("long_lines", f"{long_rec.metrics['trained_lines']:,}", display=False)
glue("short_lines", f"{same_seed.metrics['trained_lines']:,}", display=False)

# %% [markdown]
# On seed {glue:text}`long_seed`, {glue:md}`longer_model` trained for
# {glue:text}`short_minutes` minutes ({glue:text}`short_lines` lines) has a
# test CER of {glue:text}`short_cer`; for {glue:text}`long_minutes`
# minutes ({glue:text}`long_lines` lines), {glue:text}`long_cer`, a
# difference of {glue:text}`long_diff` points (longer minus shorter, 95 %
# interval over the test writers and lines). Its best validation CER
# was {glue:text}`long_val_half` in the first half of the longer run and
# {glue:text}`long_val_end` at its end. {glue:md}`budget_text`

# %% tags=["hide-input"]
Table(report.latency_table(latencies, "gate_1", latency_batches), name="tbl-width-latency",
      caption="CPU latency of one forward call (ms) on a 64 × 1408 input with 45 decoder steps, one thread, at "
              "batch sizes 1 and 24, here, and its ratio (×) to gate_1's (the thesis did not time these models).")

# %% [markdown]
# ## Verdicts

# %% tags=["hide-input"]
verdicts, table = blocks.thesis_verdicts(one_budget, ["width_backbone", "width_attention"],
                                         "tbl-width-verdicts",
                                         what="What the thesis's numbers say about width, one comparison each")
table

# %% [markdown]
# - **A wider backbone output:** {glue:md}`verdict_width_backbone`
# - **A wider attention:** {glue:md}`verdict_width_attention`
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch11", profile, records, models)
