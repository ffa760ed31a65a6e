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
# # Batch normalisation or per-line normalisation
#
# Every block of the backbone normalises its feature maps before the
# non-linearity. The thesis tried two ways: batch normalisation (BN), which
# normalises each channel with statistics gathered over the training
# batches, and a per-line normalisation it calls instance normalisation
# (IN), which normalises each line's channel by that line's own mean and
# standard deviation. Its claim: {glue:text}`claim_norm`. With the encoder
# LSTM, IN gave {glue:text}`cer_s2s_in` % legacy CER on IAM-B against BN's
# {glue:text}`cer_s2s_bn` %; in the light model {glue:text}`cer_light_in` %
# against {glue:text}`cer_light_bn` %, at a higher CPU latency
# ({glue:text}`lat_in` against {glue:text}`lat_bn` ms per line for the
# light model). This chapter tests the claim in both families and then
# looks at the mechanism: what each normalisation depends on.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
norm_lines: int = 256  # test lines of the batch-size and padding analysis
channels: int = 8  # channels of the first normalisation layer drawn
latency_batches: list = [1, 24]  # batch sizes of the latency table

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS
from hwr.plots import norm as norm_plots
from hwr.runs import report
from hwr.runs.analyses import analysis
from hwr.thesis import CLAIMS

study, models, records, groups, latencies = page.open_study("ch07_norm", profile, latency_batches)
with page.records("analyses of the trained runs (computed once, then read back)"):
    norm = {(r.spec.experiment, r.spec.seed): analysis(r, "norm_batch", n=norm_lines, channels=max(channels, 16))
            for r in records}
E = EXPERIMENTS
glue("claim_norm", CLAIMS["norm_light"].text.split(" (")[0], display=False)
glue("norm_lines", norm_lines, display=False)
for m in models:
    glue(f"cer_{m.replace('seq2seq', 's2s')}", f"{E[m].thesis_cer:.1f}", display=False)
glue("lat_in", f"{E['light_in'].thesis_latency_ms['cpu_bs1']:,}", display=False)
glue("lat_bn", f"{E['light_bn'].thesis_latency_ms['cpu_bs1']:,}", display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Setup

# %% tags=["hide-input"]
Table(report.study_setup(study), name="tbl-norm-setup",
      caption="The chapter's models: two pairs that differ only in the backbone's normalisation, with the "
              "saved-state count (the thesis's; BN's running statistics count), seeds and budget in minutes.")

# %% [markdown]
# ## Two normalisations
#
# Write $x_{b,c,h,w}$ for the activation of line $b$ of a batch, channel
# $c$, at row $h$ and column $w$ of a feature map. BN (PyTorch's
# `BatchNorm2d`) normalises with the mean and variance of the channel over
# the whole batch, padding included:
#
# $$\mu_c = \frac{1}{BHW} \sum_{b,h,w} x_{b,c,h,w}, \qquad
# \hat x_{b,c,h,w} = \gamma_c \, \frac{x_{b,c,h,w} - \mu_c}{\sqrt{\sigma^2_c + \epsilon}} + \beta_c,$$ (eq-bn)
#
# and keeps running averages of $\mu_c$ and $\sigma^2_c$ that replace them
# at test time. The thesis's IN (`hwr.models.norm.InstanceNorm`) uses each
# line's own statistics, in training and at test time alike, and has no
# parameters:
#
# $$\mu_{b,c} = \frac{1}{HW} \sum_{h,w} x_{b,c,h,w}, \qquad
# \hat x_{b,c,h,w} = \frac{x_{b,c,h,w} - \mu_{b,c}}{s_{b,c} + \epsilon},$$ (eq-in)
#
# with $s_{b,c}$ the unbiased standard deviation over $(h, w)$. So a BN
# model in training sees statistics that depend on the other lines of its
# batch and on their padding, and at test time statistics that depend on
# neither; an IN model's statistics depend on the line alone, and on how
# much padding the line carries, in training and at test time alike.

# %% tags=["hide-input"]
blocks.thesis_table(records, "tbl-norm-thesis")

# %% tags=["hide-input"]
glue("fig_norm_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_norm_curves
# :name: fig-norm-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean.
# ```
#
# IN costs time: its statistics are computed for every line at every
# block, in training and at test time, where BN's test-time normalisation
# is a fixed scale and shift ({numref}`tbl-norm-latency`, measured as in
# the previous chapter).

# %% tags=["hide-input"]
blocks.latency_table(latencies, "seq2seq_bn", latency_batches, "tbl-norm-latency", profile)

# %% [markdown]
# ## The mechanism: what the statistics depend on
#
# Each trained model is tested again on {glue:text}`norm_lines` test lines
# under other conditions (`hwr.runs.analyses.norm_batch`): one line at a
# time; batches of 4 and 32 lines of similar width (*sorted*); batches of 32
# lines in random order, so that a short line is padded to the width of the
# longest of its batch (*mixed*); and, for the BN models, the same batches
# with BN normalising by the batch's own statistics ({eq}`eq-bn`, as in
# training) instead of the running ones.

# %% tags=["hide-input"]
def condition_name(c: dict) -> str:
    stats_of = "running stats" if c["mode"] == "eval" else "batch stats"
    return f"{c['batch']} {c['order']}" + (f", {stats_of}" if c["mode"] == "batch" else "")


cond = pd.DataFrame([{"label": m, "seed": s, "condition": condition_name(c), "cer": c["cer"]}
                     for (m, s), out in norm.items() for c in out["conditions"]])
glue("fig_norm_conditions", norm_plots.conditions(cond), display=False)
mean = cond.groupby(["label", "condition"], sort=False)["cer"].mean().unstack("label")
Table((100 * mean).round(1), name="tbl-norm-conditions", decimals=1,
      caption="Test CER (%, mean over seeds) of each model under each condition: lines per batch, their order "
              "(sorted by width or mixed), and for BN models whether BN used its running statistics or the "
              "batch's.")

# %% [markdown]
# ```{glue:figure} fig_norm_conditions
# :name: fig-norm-conditions
#
# Test CER under each condition: diamonds are means over seeds, dots single
# seeds.
# ```
#
# {numref}`fig-norm-stats` shows why BN's running statistics are only an
# average: each test line's own mean and variance of the first BN layer's
# input, per channel, against the running values BN uses for every line.

# %% tags=["hide-input"]
first = norm[("seq2seq_bn", groups["seq2seq_bn"][0].spec.seed)]
glue("fig_norm_stats", norm_plots.line_statistics(first["line_mean"], first["line_var"], first.get("running_mean"),
                                                  first.get("running_var"), channels=channels), display=False)

# %% [markdown]
# ```{glue:figure} fig_norm_stats
# :name: fig-norm-stats
#
# Per-line mean (top) and variance (bottom) of the input of the first
# normalisation layer of `seq2seq_bn` (first seed), per channel: one dot per test line, the bar the running statistic BN
# normalises every line with.
# ```
#
# ## Verdicts

# %% tags=["hide-input"]
verdicts, table = blocks.thesis_verdicts(records, ["norm_seq2seq", "norm_light"], "tbl-norm-verdicts",
                                         what="The thesis's claim in each family (IN against BN)")
table

# %% tags=["hide-input"]
def spread(model: str, a: str, b: str) -> float:
    """Mean over seeds of CER(condition b) - CER(condition a), in points."""
    return 100 * (mean.loc[b, model] - mean.loc[a, model]) if a in mean.index and b in mean.index else float("nan")


glue("bn_pad", f"{spread('seq2seq_bn', '32 sorted', '32 mixed'):+.1f}", display=False)
glue("in_pad", f"{spread('seq2seq_in', '32 sorted', '32 mixed'):+.1f}", display=False)
glue("bn_batch", f"{spread('seq2seq_bn', '32 sorted', '32 sorted, batch stats'):+.1f}", display=False)
# like for like: batch statistics against running ones at the same batch size and order
glue("bn_batch4", f"{spread('seq2seq_bn', '4 sorted', '4 sorted, batch stats'):+.1f}", display=False)


def mechanism(model: str, a: str, b: str, what: str) -> str:
    """The verdict on "condition ``b`` raises ``model``'s CER over condition ``a``", over its seeds."""
    runs = sorted(groups[model], key=lambda r: r.spec.seed)
    per = cond[cond["label"] == model].set_index(["seed", "condition"])["cer"]
    if any((r.spec.seed, c) not in per.index for r in runs for c in (a, b)):
        return f"*{what}*: not measured under this profile."
    outcome, text = report.seed_paired_verdict(runs, [per[(r.spec.seed, a)] for r in runs],
                                               [per[(r.spec.seed, b)] for r in runs], what)
    return f"*{what}*: **{outcome}**. {text}"


mechanisms = [mechanism("seq2seq_in", "32 sorted", "32 mixed",
                        "mixing line widths in a batch of 32 raises seq2seq_in's CER"),
              mechanism("light_in", "32 sorted", "32 mixed", "mixing line widths in a batch of 32 raises light_in's CER"),
              mechanism("seq2seq_bn", "4 sorted", "4 sorted, batch stats",
                        "normalising by the batch's statistics instead of the running ones raises seq2seq_bn's CER")]
glue("mechanism_verdicts", Markdown("\n".join(f"  - {m}" for m in mechanisms)), display=False)

# %% [markdown]
# - **With the encoder LSTM:** {glue:md}`verdict_norm_seq2seq`
# - **In the light model:** {glue:md}`verdict_norm_light`
# - **The mechanism.** For `seq2seq_bn`, mixing line widths in a batch of
#   32 changes the test CER by {glue:text}`bn_pad` points, for `seq2seq_in`
#   by {glue:text}`in_pad` points ({numref}`tbl-norm-conditions`): with
#   running statistics BN does not see the padding, IN does (it enters each
#   line's mean and variance) and so does the attention, in both. Letting BN
#   normalise by the batch, as in training, changes `seq2seq_bn`'s CER by
#   {glue:text}`bn_batch` points at batch 32 and {glue:text}`bn_batch4` at
#   batch 4, each against running statistics on the same batches. An IN model normalises a test line the way it normalised its
#   training lines, by the line's own statistics; a BN model normalises it
#   by running averages that no single training batch had. Each of these
#   effects is judged over the seeds (the same model measured both ways;
#   a t interval on the per-seed differences):
#
# {glue:md}`mechanism_verdicts`
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch07", profile, records, models,
                kept="the analyses are recorded beside each run (`analyses/norm_batch.json`)")
