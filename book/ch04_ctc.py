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
# # The CTC baseline
#
# Beside its attention models, the thesis trained one model of the other
# big family of line recognisers: a convolutional backbone, a bidirectional
# LSTM over the feature columns and a per-column classifier trained with
# the connectionist temporal classification (CTC) loss. It decoded the
# classifier's output with a beam search of width
# {glue:text}`thesis_beam`, but reported no error rate for it
# ({glue:text}`ctc_count` saved parameters and buffers). This chapter gives
# the missing number at the book's budget and asks what the beam search
# buys: how much lower the error is than reading off the most probable
# symbol of each column (greedy decoding), on which lines, and at what cost.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table
beam_widths: list = [2, 5, 10]  # beam widths decoded after greedy
compare_width: int = 10  # the beam width compared with greedy (the thesis's)
n_examples: int = 6  # test lines shown where beam and greedy differ

# %% tags=["hide-input"]
import pandas as pd
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS
from hwr.plots import decoding
from hwr.runs import report
from hwr.runs.analyses import analysis

study, models, records, groups, latencies = page.open_study("ch04_ctc", profile, latency_batches,
                                                            latency_models=["ctc_baseline", "seq2seq_bn"])
with page.records("beam-search decodings of the trained runs (computed once, then read back)"):
    decoded = {r.spec.seed: analysis(r, "ctc_decoding", widths=beam_widths, keep=compare_width) for r in records}
glue("thesis_beam", 10, display=False)
glue("ctc_count", f"{EXPERIMENTS['ctc_baseline'].thesis_state_count:,}", display=False)
glue("compare_width", compare_width, display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Setup
#
# {numref}`tbl-ctc-setup` lists the runs: the thesis's CTC model, trained
# on the book task of this profile with every seed. Each run is tested with
# its best-validation checkpoint on the test lines, read in batches of lines
# of similar width.

# %% tags=["hide-input"]
Table(report.study_setup(study), name="tbl-ctc-setup",
      caption="The chapter's model: family, saved-state count (equal to the thesis's), seeds and budget "
              "in minutes.")

# %% [markdown]
# ## Greedy and beam decoding
#
# For a line the network gives, at each of its $T$ feature columns $t$, a
# distribution $y_t(k)$ over the 80 characters and the *blank*
# $\varnothing$. A path $\pi = \pi_1 \dots \pi_T$ picks one symbol per
# column; the collapsing map $\mathcal{B}$ merges repeats and then drops
# blanks ($\mathcal{B}(\texttt{aa}\varnothing\texttt{ab}) =
# \texttt{aab}$). The probability of a text $\ell$ sums over every path
# that collapses to it:
#
# $$p(\ell \mid x) = \sum_{\pi \in \mathcal{B}^{-1}(\ell)} \prod_{t=1}^{T} y_t(\pi_t).$$ (eq-ctc)
#
# Training maximises {eq}`eq-ctc` for the true text (PyTorch's `ctc_loss`).
# *Greedy* decoding collapses the single most probable path,
# $\mathcal{B}(\arg\max_k y_1(k) \dots \arg\max_k y_T(k))$, which is not
# always the most probable text: a text reachable by many moderately
# probable paths can beat the one with the best single path. A *prefix
# beam search* (`hwr.decode.ctc.ctc_beam`, through the `fast-ctc-decode`
# package) keeps the $B$ most probable prefixes after each column, summing
# over the paths that reach each, and returns the best text at the end; a
# wider beam searches more of {eq}`eq-ctc`. Neither uses a language model.
#
# Every run's test posteriors are computed once and then decoded greedily
# and at each beam width, so the times below are the decoder's alone
# (`hwr.runs.analyses.ctc_decoding`).

# %% tags=["hide-input"]
rows = []
for rec in records:
    for d in decoded[rec.spec.seed]["decoders"]:
        rows.append({"label": rec.spec.experiment, "seed": rec.spec.seed, **d})
dec = pd.DataFrame(rows)
glue("fig_beam", decoding.beam_widths(dec), display=False)
mean = dec.groupby(["decoder", "width"], sort=False)[["cer", "wer", "seconds_per_line"]].mean()
sd = dec.groupby(["decoder", "width"], sort=False)[["cer", "wer"]].std()
network_ms = 1000 * sum(d["network_s"] for d in decoded.values()) / len(decoded)
table = pd.DataFrame({
    "decoder": [("greedy" if k == "greedy" else f"beam {w}") for k, w in mean.index],
    "CER (%)": [report.mean_sd_text(mean.loc[i, "cer"], sd.loc[i, "cer"] if len(records) > 1 else None)
                for i in mean.index],
    "WER (%)": [report.mean_sd_text(mean.loc[i, "wer"], sd.loc[i, "wer"] if len(records) > 1 else None)
                for i in mean.index],
    "ms per line": [f"{1000 * mean.loc[i, 'seconds_per_line']:.3f}" for i in mean.index],
    "share of network time": [f"{100 * mean.loc[i, 'seconds_per_line'] / (network_ms / 1000):.1f} %"
                              for i in mean.index]}).set_index("decoder")
glue("network_ms", f"{network_ms:.1f}", display=False)
glue("backend", decoded[records[0].spec.seed]["backend"], display=False)
Table(table, name="tbl-ctc-decoders",
      caption="Test CER and WER (%, mean ± seed sd) of each decoder on the same posteriors, and the "
              "decoder's time per line on one thread, also as a share of the network's time per line.")

# %% [markdown]
# ```{glue:figure} fig_beam
# :name: fig-beam
#
# Test CER (top) and decoding time per line (bottom, log scale) against the
# beam width: thin lines are seeds, the thick line their mean; the dashed
# level is greedy decoding.
# ```
#
# The network itself takes {glue:text}`network_ms` ms per line on one
# thread (batches of 16 lines of similar width), so even the widest beam of
# {numref}`tbl-ctc-decoders` adds little to the cost of reading a line
# with the {glue:text}`backend` decoder.

# %% tags=["hide-input"]
greedy_runs = [report.decoded_rows(decoded[r.spec.seed]["lines_table"], "greedy") for r in records]
beam_runs = [report.decoded_rows(decoded[r.spec.seed]["lines_table"], "beam") for r in records]
verdict = blocks.judge_decoders(records, greedy_runs, beam_runs, better=f"beam {compare_width}", other="greedy")
for name, value in report.verdict_values(verdict, f"beam {compare_width}", "greedy").items():
    glue(name, value, display=False)
changed = sum(g["hypothesis"] != b["hypothesis"] for run_g, run_b in zip(greedy_runs, beam_runs)
              for g, b in zip(run_g, run_b))
glue("changed", f"{changed / sum(len(r) for r in greedy_runs):.1%}".replace("%", " %"), display=False)

# %% [markdown]
# ## Where the beam helps
#
# Beam and greedy decoding differ on {glue:text}`changed` of the test lines
# (all seeds). {numref}`tbl-beam-lines` shows some of them: the lines where
# the beam's text differs most from greedy's, the gains and the losses.

# %% tags=["hide-input"]
ex = []
for run_g, run_b in zip(greedy_runs[:1], beam_runs[:1]):
    for g, b in zip(run_g, run_b):
        if g["hypothesis"] != b["hypothesis"]:
            ex.append({"reference": g["reference"], "greedy": g["hypothesis"], "beam": b["hypothesis"],
                       "gain": g["distance"] - b["distance"]})
examples = pd.DataFrame(ex, columns=["reference", "greedy", "beam", "gain"])
if len(examples):
    examples = pd.concat([examples.nlargest(n_examples - n_examples // 3, "gain"),
                          examples.nsmallest(n_examples // 3, "gain")]).drop_duplicates()
Table(examples, name="tbl-beam-lines", index=False,
      caption=f"Test lines (seed {records[0].spec.seed}) where beam {compare_width} and greedy decoding "
              "disagree: gain is greedy's edit distance minus the beam's (positive: the beam is closer).")

# %% [markdown]
# ## How the errors are spread over lines
#
# The same corpus CER can come from a few characters wrong on every line or
# from whole lines lost. {numref}`fig-line-errors` shows which: the share of
# test lines whose own CER is at most a given value.

# %% tags=["hide-input"]
per_line = pd.DataFrame([{"label": label, "cer": r["distance"] / max(1, len(r["reference"]))}
                         for label, runs in (("greedy", greedy_runs), (f"beam {compare_width}", beam_runs))
                         for run in runs for r in run])
glue("fig_line_errors", decoding.line_error_ecdf(per_line), display=False)
glue("perfect", f"{(per_line[per_line['label'] == 'greedy']['cer'] == 0).mean():.0%}".replace("%", " %"),
     display=False)
glue("half", f"{(per_line[per_line['label'] == 'greedy']['cer'] > 0.5).mean():.0%}".replace("%", " %"),
     display=False)
glue("fig_ctc_curves", plots.learning_curves(report.curves_frame(records)), display=False)

# %% [markdown]
# ```{glue:figure} fig_line_errors
# :name: fig-line-errors
#
# The distribution of per-line test CER over all seeds' test lines, for
# greedy and beam decoding (per-line CERs above 100 % drawn at 100 %).
# ```
#
# With greedy decoding {glue:text}`perfect` of the test lines are read
# without a single error and {glue:text}`half` have more than half of their
# characters wrong. The learning curves ({numref}`fig-ctc-curves`) show how
# the runs got there.
#
# ```{glue:figure} fig_ctc_curves
# :name: fig-ctc-curves
#
# Validation CER against training lines seen (top) and minutes (bottom),
# thin lines per seed, the thick line their mean.
# ```
#
# ## Results beside the thesis

# %% tags=["hide-input"]
Table(report.thesis_frame(records), name="tbl-ctc-thesis",
      caption="Test CER and WER (%): mean ± seed sd, the 95 % bootstrap interval over test lines, the "
              "thesis's legacy CER here, the thesis's own figure (none for this model) and the best "
              "validation CER.")

# %% [markdown]
# The thesis gives no latency for its CTC model either.
# {numref}`tbl-ctc-latency` times one forward call of it and of the seq2seq
# baseline on the thesis's input size, as in the thesis but measured
# properly (`hwr.runs.latency`, chapter "Removing the encoder RNN" gives the
# details).

# %% tags=["hide-input"]
Table(report.latency_table(latencies, "seq2seq_bn", latency_batches), name="tbl-ctc-latency",
      caption="CPU latency of one forward call (ms, network only: greedy decoding) at batch sizes 1 and 24, "
              "here and in the thesis, and its ratio (×) to the seq2seq baseline's on the same machine.")

# %% [markdown]
# ## Verdict
#
# Does a beam of width {glue:text}`compare_width` read the test lines
# better than greedy decoding? Over {glue:text}`n_seeds` seed(s) and
# {glue:text}`n_lines` test lines, the beam's CER minus greedy's is
# {glue:text}`diff` points (95 % interval over seeds and test lines,
# {glue:text}`diff_low` to {glue:text}`diff_high`; per seed
# {glue:text}`diff_seeds`). **Answer: {glue:text}`answer`.** Whatever the
# size of the change, its mechanism is visible in {numref}`tbl-beam-lines`:
# the most probable path and the most probable text part only where two
# symbols compete for a few columns, and a model whose columns are mostly
# confident leaves the beam little to find.
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch04", profile, records, ["ctc_baseline"],
                kept="the decoding analyses are recorded beside each run (`analyses/ctc_decoding.json`)")
