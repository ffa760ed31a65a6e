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
# # The seq2seq baseline
#
# The thesis's baseline reads a line the way a translator reads a sentence:
# an *encoder* turns the image into a sequence of feature vectors, and a
# *decoder* writes the text one character at a time, at each step looking
# back at the features through an attention distribution over the line's
# columns. Its encoder is the six-layer convolutional backbone followed by a
# bidirectional LSTM; its decoder is an LSTM with additive (Bahdanau)
# attention. With batch normalisation in the backbone (`seq2seq_bn`,
# {glue:text}`bn_count` saved parameters and buffers) the thesis reports a
# legacy test CER of {glue:text}`bn_cer` % on IAM-B. This chapter trains it
# on the book task and asks three questions the thesis leaves open: does
# its teacher forcing of {glue:text}`tf_thesis` help against always feeding
# the true previous character, does a beam search read better than the
# thesis's greedy decoder, and what do its errors and attention maps look
# like.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency table
beam_widths: list = [2, 5]  # attention beam widths decoded after greedy
n_maps: int = 3  # test lines whose attention maps are drawn
seg_lines: int = 400  # test lines whose attention is measured against the character boxes

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.confusions import kind_rates
from hwr.models import EXPERIMENTS
from hwr.plots import attention, decoding
from hwr.runs import report
from hwr.runs.analyses import analysis
from hwr.training.config import TrainConfig

study, models, records, groups, latencies = page.open_study("ch05_seq2seq", profile, latency_batches,
                                                            latency_models=["seq2seq_bn", "ctc_baseline"])
with page.records("analyses of the trained runs (computed once, then read back)"):
    base_label = "seq2seq_bn (tf 0.8)"
    base = groups[base_label]
    decoded = {r.spec.seed: analysis(r, "seq2seq_decoding", widths=beam_widths) for r in base}
    maps = analysis(base[0], "attention_maps", n=n_maps)
    segments = [analysis(r, "segmentation", n=seg_lines) for r in base]
glue("bn_count", f"{EXPERIMENTS['seq2seq_bn'].thesis_state_count:,}", display=False)
glue("bn_cer", f"{EXPERIMENTS['seq2seq_bn'].thesis_cer:.1f}", display=False)
glue("tf_thesis", f"{TrainConfig().teacher_forcing:g}", display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Setup

# %% tags=["hide-input"]
Table(report.study_setup(study), name="tbl-s2s-setup",
      caption="The chapter's runs: the baseline under the thesis's teacher forcing (tf 0.8) and with the "
              "true previous character always fed (tf 1.0); saved-state count (the thesis's), seeds and "
              "budget in minutes.")

# %% [markdown]
# ## Attention, and teacher forcing
#
# The encoder gives one feature vector $h_j$ per column $j = 1 \dots N$ of
# the line. At step $t$ the decoder, with LSTM state $s_{t-1}$, scores every
# column, turns the scores into weights that sum to one, and reads their
# weighted mean, the *context*:
#
# $$e_{t,j} = v^\top \tanh\left(W s_{t-1} + U h_j\right), \qquad
# \alpha_{t,j} = \frac{\exp e_{t,j}}{\sum_{k=1}^{N} \exp e_{t,k}}, \qquad
# c_t = \sum_{j=1}^{N} \alpha_{t,j} h_j.$$ (eq-bahdanau)
#
# The LSTM takes $c_t$ and the embedding of the previous character and
# predicts the next one, until it emits the end symbol (EOS) or reaches
# {glue:text}`max_steps` steps (`hwr.models.decoder.AttentionDecoder.step`;
# `hwr.models.decoder.BahdanauAttention` computes {eq}`eq-bahdanau`). The
# weights $\alpha_{t,\cdot}$ are the attention map of step $t$.
#
# In training the *previous character* is the true one with probability
# $p$ (teacher forcing) and the model's own prediction otherwise. The
# thesis used $p = $ {glue:text}`tf_thesis`: a model that sometimes sees
# its own mistakes in training should recover from them better at test
# time, when it always does; a model that always sees the truth learns the
# alignment from cleaner signals. Which effect wins at the book's budget is
# measured below.

# %% tags=["hide-input"]
glue("max_steps", 98, display=False)
blocks.thesis_table(records, "tbl-s2s-thesis")

# %% tags=["hide-input"]
glue("fig_s2s_curves", plots.learning_curves(report.curves_frame(records)), display=False)
tf = blocks.judge(records, better=base_label, other="seq2seq_bn (tf 1.0)")
glue("tf_verdict", Markdown(tf.explanation), display=False)

# %% [markdown]
# ```{glue:figure} fig_s2s_curves
# :name: fig-s2s-curves
#
# Validation CER against training lines seen (top) and minutes (bottom):
# thin lines per seed, thick lines their mean, one colour per teacher
# forcing.
# ```
#
# **Teacher forcing {glue:text}`tf_thesis` against 1.0.**
# {glue:md}`tf_verdict`
#
# ## Greedy and beam decoding
#
# The thesis decodes greedily: each step feeds back its most probable
# character. A beam search (`hwr.decode.attention_beam.seq2seq_beam`) keeps
# the $B$ most probable prefixes instead, scored by the sum of their
# characters' log-probabilities, and stops when every kept prefix has
# emitted EOS. {numref}`tbl-s2s-decoders` decodes the test lines of the
# tf {glue:text}`tf_thesis` runs both ways.

# %% tags=["hide-input"]
rows = [{"seed": s, **d} for s, out in decoded.items() for d in out["decoders"]]
dec = pd.DataFrame(rows)
grouped = dec.groupby(["decoder", "width"], sort=False)
mean, sd = grouped[["cer", "wer", "seconds_per_line"]].mean(), grouped[["cer", "wer"]].std()
several = len(decoded) > 1
widest = f"beam_{max(beam_widths)}"
beam_runs = [r for r in records if r.spec.seed in decoded]
beam_verdict = blocks.judge_decoders(beam_runs,
                                     [report.decoded_rows(decoded[r.spec.seed]["lines_table"], "greedy") for r in beam_runs],
                                     [report.decoded_rows(decoded[r.spec.seed]["lines_table"], widest) for r in beam_runs],
                                     better=widest.replace("_", " "), other="greedy")
for name, value in report.verdict_values(beam_verdict, widest.replace("_", " "), "greedy").items():
    glue(f"beam_{name}", value, display=False)
Table(pd.DataFrame({
    "decoder": [("greedy" if k == "greedy" else f"beam {w}") for k, w in mean.index],
    "CER (%)": [report.mean_sd_text(mean.loc[i, "cer"], sd.loc[i, "cer"] if several else None) for i in mean.index],
    "WER (%)": [report.mean_sd_text(mean.loc[i, "wer"], sd.loc[i, "wer"] if several else None) for i in mean.index],
    "ms per line": [f"{1000 * mean.loc[i, 'seconds_per_line']:.1f}" for i in mean.index],
}).set_index("decoder"), name="tbl-s2s-decoders",
      caption="Test CER and WER (%, mean ± seed sd) of greedy and beam decoding of the tf 0.8 runs, and the "
              "time per line on one thread (network and decoder: each beam step runs the decoder).")

# %% [markdown]
# ## The errors
#
# {numref}`fig-s2s-kinds` splits each model's CER into substitutions,
# deletions and insertions (one minimal alignment per line,
# `hwr.confusions.kind_rates`); the three add up to the CER. An attention
# decoder that loses its place on the line either skips ahead (deletions)
# or reads a stretch twice (insertions); a decoder that never emits EOS
# runs to its step limit and inserts the most. {glue:md}`eos_text`

# %% tags=["hide-input"]
kinds = pd.DataFrame([{"label": label, "kind": k, "rate": v}
                      for label, recs in groups.items()
                      for k, v in kind_rates([row for r in recs for row in report.prediction_rows(r)]).items()])
glue("fig_s2s_kinds", decoding.error_kinds(kinds), display=False)
no_eos = sum(out["no_eos"] * out["lines"] for out in decoded.values()) / sum(out["lines"] for out in decoded.values())
eos_text = (f"Greedy decoding of the tf {TrainConfig().teacher_forcing:g} runs emitted EOS on every test line."
            if no_eos == 0 else
            f"Greedy decoding of the tf {TrainConfig().teacher_forcing:g} runs reached the step limit without "
            f"EOS on {report.percent_text(no_eos)} of the test lines.")
glue("eos_text", Markdown(eos_text), display=False)

# %% [markdown]
# ```{glue:figure} fig_s2s_kinds
# :name: fig-s2s-kinds
#
# Substitutions, deletions and insertions per 100 reference characters, all
# seeds' test lines pooled.
# ```
#
# ## Attention maps
#
# {numref}`fig-s2s-maps` draws the attention of the first tf
# {glue:text}`tf_thesis` seed on test lines of increasing width, each read
# alone: one row per decoder step, labelled with the character that step
# emitted (EOS: the end symbol). A model that has learnt to align moves its
# bright cell from left to right as it writes; a model that has not spreads
# its attention or keeps it in one place and writes the characters its
# language model finds most likely.

# %% tags=["hide-input"]
items = [{"image": maps[f"image_{i}"], "attention": maps[f"attention_{i}"], "decoded": line["decoded"],
          "title": f"{line['reference'][:24]}"} for i, line in enumerate(maps["lines"])]
glue("fig_s2s_maps", attention.attention_gallery(items), display=False)
seg = {k: sum(x["summary"]["chars"][k] for x in segments) / len(segments) for k in ("hit", "mass", "distance_median")}
spaces = [x["summary"]["spaces"]["hit"] for x in segments if x["summary"]["spaces"]["n"]]
glue("seg_lines", seg_lines, display=False)
glue("seg_hit", report.percent_text(seg["hit"]), display=False)
glue("seg_mass", report.percent_text(seg["mass"]), display=False)
glue("seg_space", report.percent_text(sum(spaces) / len(spaces)) if spaces else "none scored", display=False)
glue("seg_dist", f"{seg['distance_median']:.1f}", display=False)
offset = sum(x["summary"]["chars"]["offset_median"] for x in segments) / len(segments)
glue("seg_offset", f"{abs(offset):.1f}", display=False)
glue("seg_side", "right" if offset > 0 else "left", display=False)
glue("char_px", f"{sum(x['char_width_px'] for x in segments) / len(segments):.0f}", display=False)

# %% [markdown]
# ```{glue:figure} fig_s2s_maps
# :name: fig-s2s-maps
#
# Attention maps of `seq2seq_bn` (tf 0.8, first seed) on test lines: the
# line (top, its reference as title), and each step's attention over the
# line's width (bottom, bright is high), labelled with the emitted
# character.
# ```
#
# The synthetic renderer records where each character lies on the line, so
# the maps can be measured, not only looked at (`hwr.segmentation`): each
# decoded character is aligned with the reference character it stands for,
# and its step's attention is compared with that character's box. Over
# {glue:text}`seg_lines` test lines and the tf {glue:text}`tf_thesis`
# seeds, the attention peak of {glue:text}`seg_hit` of the decoded
# characters lies inside their own character's box (spaces:
# {glue:text}`seg_space`), and {glue:text}`seg_mass` of a step's attention
# falls inside it on average; the median distance from the peak to the
# box's centre is {glue:text}`seg_dist` pixels, against characters about
# {glue:text}`char_px` pixels wide at the model's input, and the peak lies
# a median {glue:text}`seg_offset` pixels {glue:text}`seg_side` of the
# centre: the maps follow the line, but not exactly the character being
# written.
#
# ## Latency
#
# {numref}`tbl-s2s-latency` times one forward call on the thesis's input
# size (`hwr.runs.latency`; the chapter "Removing the encoder RNN" gives the
# details), beside the thesis's CPU timings and beside the CTC model, which
# reads a line in one pass instead of one decoder step per character.

# %% tags=["hide-input"]
blocks.latency_table(latencies, "seq2seq_bn", latency_batches, "tbl-s2s-latency", profile)

# %% [markdown]
# ## Verdict
#
# - **The baseline against the thesis:** {numref}`tbl-s2s-thesis` sets the
#   book's test CER beside the thesis's IAM-B figure; the two differ in
#   data and budget, so the comparison says how far the book's budget takes
#   the model, not whether the thesis's number holds.
# - **Teacher forcing:** {glue:md}`tf_verdict`
# - **Beam search** against greedy decoding: over {glue:text}`beam_n_seeds`
#   seed(s) and {glue:text}`beam_n_lines` test lines, the widest beam's CER
#   minus greedy's is {glue:text}`beam_diff` points (95 % interval over
#   seeds and test lines, {glue:text}`beam_diff_low` to {glue:text}`beam_diff_high`; per
#   seed {glue:text}`beam_diff_seeds`). **Answer:
#   {glue:text}`beam_answer`.** The beam rescores whole texts under the
#   model, so it helps most where the model's reading, not its alignment,
#   is uncertain.
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch05", profile, records, ["seq2seq_bn"],
                kept="the decoding and attention analyses are recorded beside each run (`analyses/`)")
