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
# # A light CRNN with a spatial transformer
#
# The fourth seed project (seed 004,
# [gasparian/CRNN_OCR_lite](https://github.com/gasparian/CRNN_OCR_lite))
# recognises single handwritten words with a CRNN
# made small for cheap inference. Three choices define it, and it reports
# one measurement:
#
# - depthwise separable convolutions {cite}`howard2017mobilenets` instead
#   of full ones (the factorisation the thesis tests in its DSC chapter);
# - a *spatial transformer* {cite}`jaderberg2015stn` in front, which learns
#   an affine map per image to straighten slanted writing;
# - training first on synthetic printed words (MJSynth
#   {cite}`jaderberg2014mjsynth`), then fine-tuning on handwriting;
# - on CPU, a word takes 100 to 150 ms, over 95 % of it in beam search.
#
# This chapter trains its model on the book's single handwritten words, with
# printed words rendered the same way for the pretraining, and checks each.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
beam_widths: list = [3, 5, 10]  # the seed's beam widths ("3...10")
n_warps: int = 6  # slanted test words shown before and after the transformer

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import build, state_count
from hwr.profile import Profile
from hwr.plots.lines import line_gallery
from hwr.runs import report
from hwr.runs.analyses import analysis

study, models, records, groups, latencies = page.open_study("ch18_lite", profile)
words_task, printed_task = Profile.load(profile).word_tasks
with page.records("analyses of the trained runs (computed once, then read back)"):
    main = groups["crnn_lite"]
    warps = {r.spec.seed: analysis(r, "stn_warps", n=n_warps) for r in main}
    decoded = {r.spec.seed: analysis(r, "ctc_decoding", widths=beam_widths, keep=beam_widths[-1], batch_size=1)
               for r in main}
height = main[0].spec.overrides.get("input_height", 64)
glue("params_lite", f"{state_count(build('crnn_lite', input_height=height)):,}", display=False)
glue("params_nostn", f"{state_count(build('crnn_lite', input_height=height, stn=False)):,}", display=False)
glue("params_stn", f"{sum(p.numel() for p in build('crnn_lite').stn.parameters()):,}", display=False)
# the time dense layer reads every row of the last map, so the count depends on the height the task trains at
glue("params_height", Markdown(
    "" if height == 64 else
    f", at the task's input height of {height} pixels; {state_count(build('crnn_lite')):,} at the height of 64 "
    f"at which the models chapter counts it, since the time dense layer reads every row of the last map"),
    display=False)
glue("words_task", Markdown(f"`{words_task}`"), display=False)
glue("printed_task", Markdown(f"`{printed_task}`"), display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## The model and the data
#
# `crnn_lite` ({glue:text}`params_lite` parameters{glue:md}`params_height`) is a 3 × 3 stem and
# four depthwise separable stages (32 to 256 channels; the width halved
# twice, the height four times), the rows of the last map concatenated and
# passed through a dense layer of 128 per column ("time dense"), two
# BiLSTMs of 128 and CTC. Its spatial transformer
# ({glue:text}`params_stn` of the parameters) looks at the word scaled to
# 16 × 64 and predicts the six numbers of an affine map $\theta$; the word
# is resampled through it before the convolutions:
#
# $$\begin{pmatrix} x_s \\ y_s \end{pmatrix} = \theta \begin{pmatrix} x_t \\ y_t \\ 1 \end{pmatrix},
# \qquad \theta = \begin{pmatrix} a & b & t_x \\ c & d & t_y \end{pmatrix},$$ (eq-stn)
#
# where $(x_t, y_t)$ is an output pixel and $(x_s, y_s)$ the input point
# it reads (coordinates in $[-1, 1]$). The shear $b$ straightens a
# slant. Its last layer starts at the identity, so training starts from the
# untouched word, and it learns only through the recognition loss.
# `crnn_lite (no STN)` ({glue:text}`params_nostn`) leaves it out.
#
# The words are the synthetic set's texts cut to one word per image,
# rendered by the same writers (task {glue:md}`words_task`). The
# pretraining set renders other words of the same texts with twelve printed
# font families, with the writers' slant and jitter
# (task {glue:md}`printed_task`); each seed's fine-tuning run starts
# from the best weights of that seed's pretraining run.
#
# ## Setup

# %% tags=["hide-input"]
Table(report.study_setup(study), name="tbl-lite-setup",
      caption="The chapter's runs: from scratch, without the transformer, pretrained on printed words, fine-tuned "
              "from that, and from scratch on twice the budget (the pretraining's and the fine-tuning's, first seed).")

# %% [markdown]
# ## Results
#
# These models read single words, not the book's phrases, so their error
# rates do not compare with the other chapters'.

# %% tags=["hide-input"]
results = report.thesis_frame(records).drop(columns=["thesis CER (%)"])
Table(results, name="tbl-lite-results",
      caption="Test CER and WER (%, greedy decoding) on the test words (the printed-words row: on printed test "
              "words): mean ± seed sd, the 95 % bootstrap interval, the legacy CER and the best validation CER.")

# %% tags=["hide-input"]
glue("fig_lite_curves", plots.learning_curves(report.curves_frame([r for r in records if "printed" not in
                                                                     r.spec.variant])), display=False)

# %% [markdown]
# ```{glue:figure} fig_lite_curves
# :name: fig-lite-curves
#
# Validation CER on handwritten words against training lines seen (top)
# and minutes (bottom): the fine-tuned runs start where their pretraining
# left them.
# ```
#
# ## Verdicts

# %% tags=["hide-input"]
verdicts, table = blocks.seed_verdicts(records, study.name, "tbl-lite-verdicts", "Seed 004's claims")
table

# %% tags=["hide-input"]
double = groups.get("crnn_lite (2x budget)", [])
tuned = {r.spec.seed: r for r in groups.get("crnn_lite (pretrained)", [])}
if double and double[0].spec.seed in tuned:
    a, b = tuned[double[0].spec.seed], double[0]
    same = (f"At the same total budget (pretraining plus fine-tuning against twice the minutes from scratch, seed "
            f"{b.spec.seed}), the fine-tuned model reads at {report.percent_text(a.test['cer'])} test CER and the "
            f"longer scratch run at {report.percent_text(b.test['cer'])}.")
else:
    same = "The equal-budget comparison is not run under this profile."
glue("same_budget", Markdown(same), display=False)

# %% [markdown]
# - **The spatial transformer.** {glue:md}`verdict_stn`
# - **Pretraining on printed words.** {glue:md}`verdict_pretraining`
#   {glue:md}`same_budget`
#
# ## What the transformer learned

# %% tags=["hide-input"]
seed = main[0].spec.seed
w = warps[seed]
images, titles = [], []
for k, text in enumerate(w["texts"]):
    t = w["theta"][k]
    for name, img in (("input", w["inputs"][k]), ("after the transformer", w["warped"][k])):
        images.append((np.clip(img, 0, 1) * 255).round().astype(np.uint8))
        titles.append(f"{text} (lean {w['lean'][k]:+.2f})" if name == "input"
                      else f"after the transformer: b = {t[0, 1]:+.3f}, a = {t[0, 0]:.2f}, d = {t[1, 1]:.2f}")
# each word beside what the transformer makes of it: two columns keep short words at a legible height
glue("fig_lite_warps", line_gallery(images, titles, fontsize=12, columns=2), display=False)
shears = pd.DataFrame([{"seed": s, "mean shear b": f"{v['shear']:+.3f}", "sd": f"{v['shear_sd']:.3f}"}
                       for s, v in warps.items()]).set_index("seed")

# %% [markdown]
# ```{glue:figure} fig_lite_warps
# :name: fig-lite-warps
#
# The most slanted test words (seed 0's model), before (left) and after
# (right) its spatial transformer, with the map's shear b and scales a and
# d; the lean is the ink's horizontal shift per row from its lower to its
# upper half.
# ```

# %% tags=["hide-input"]
Table(shears, name="tbl-lite-shear",
      caption="The shear term b of the transformer's map over all test words, per seed: a transformer that "
              "straightens right-leaning writing has b > 0 on average (it reads to the right as it goes up).")

# %% tags=["hide-input"]
# does the map depend on the word? The sd of the shear over all test words says (recorded by stn_warps)
constant = [s for s, v in warps.items() if v["shear_sd"] < 1e-3]
if constant:
    seeds_text = " and ".join(map(str, constant))
    kept = warps[constant[0]]["theta"][0]
    per_word = (f"In seed{'s' if len(constant) > 1 else ''} {seeds_text}, the transformer gives every test word the "
                f"same map: the shear's sd over the test words is below 0.001, and seed {constant[0]}'s six most "
                f"slanted words all get a = {kept[0, 0]:.2f}, b = {kept[0, 1]:+.3f}, "
                f"d = {kept[1, 1]:.2f}. Whatever the slant of the word, it is scaled and shifted the same way: a "
                "fixed crop, not a per-word correction. Its output does not depend on its input, so the layer "
                "that predicts θ acts as a constant that its bias alone could give; the recognition loss has not "
                "taught it to look at the word within this budget.")
    others = [s for s in warps if s not in constant]
    if others:
        per_word += (" Seed " + " and ".join(map(str, others)) + "'s map does vary with the word (shear sd "
                     + ", ".join(f"{warps[s]['shear_sd']:.3f}" for s in others) + ").")
else:
    sds = ", ".join(f"{v['shear_sd']:.3f}" for v in warps.values())
    per_word = f"The transformer's map varies from word to word in every seed (the shear's sd over the test words: {sds})."
glue("stn_per_word", Markdown(per_word), display=False)

# %% [markdown]
# {glue:md}`stn_per_word` (The maps: {numref}`fig-lite-warps` and
# {numref}`tbl-lite-shear`.)
#
# ## Repeated characters
#
# The seed reports that most of its model's errors come from repeated
# characters in the true labels. CTC needs a blank between two equal
# characters ("ll" in "hello"): without one, the collapse merges them. So
# the claim is about the alignment, and it can be counted: an edit
# operation *touches a repeat* when it changes or deletes a character of a
# run of equal characters, or inserts one beside such a run
# (`hwr.confusions.repeat_errors`, on one minimal alignment per word).

# %% tags=["hide-input"]
repeats = report.repeated_characters(main)
glue("repeat_verdict", Markdown(repeats.explanation), display=False)
glue("repeat_outcome", repeats.outcome, display=False)

# %% [markdown]
# {glue:md}`repeat_verdict` **Seed 004's claim that most errors come from
# repeated characters: {glue:text}`repeat_outcome`.** Errors spread evenly
# over the characters would touch repeats as often as repeats occur; a
# share well above that would point to the collapse.
#
# ## Where a word's time goes
#
# The seed timed 100 to 150 ms per word, over 95 % of it in a beam search
# run on the CPU. {numref}`tbl-lite-time` times both parts here, one word at
# a time on one thread: the network's forward call, then greedy decoding
# and prefix beam search (`fast-ctc-decode`) on its output.

# %% tags=["hide-input"]
rows = []
for s, d in decoded.items():
    for dec in d["decoders"]:
        rows.append({"seed": s, "decoder": "greedy" if dec["decoder"] == "greedy" else f"beam {dec['width']}",
                     "network": 1000 * d["network_s"], "decoder ms": 1000 * dec["seconds_per_line"],
                     "cer": dec["cer"]})
t = pd.DataFrame(rows).groupby("decoder", sort=False).mean(numeric_only=True)
t["share of the word's time"] = (100 * t["decoder ms"] / (t["decoder ms"] + t["network"])).map("{:.1f} %".format)
time_table = pd.DataFrame({"network (ms)": t["network"].map("{:.2f}".format),
                           "decoder (ms)": t["decoder ms"].map("{:.3f}".format),
                           "share of the word's time": t["share of the word's time"],
                           "test CER (%)": t["cer"].map(report.percent)})
Table(time_table, name="tbl-lite-time",
      caption="Per test word at batch 1 on one thread (means over seeds): the network's time, the decoder's, the "
              "decoder's share of the two, and the test CER it gives.")

# %% tags=["hide-input"]
widest = t.iloc[-1]
share = widest["decoder ms"] / (widest["decoder ms"] + widest["network"])
total = widest["decoder ms"] + widest["network"]
if share < 0.5:
    why = (f"With the widest beam a word takes {total:.1f} ms, of which the beam search is {100 * share:.1f} %: a "
           f"compiled prefix beam search over a word's few dozen frames costs little next to the network, so the "
           f"seed's 95 % says more about its decoder's implementation than about beam search.")
else:
    why = (f"With the widest beam a word takes {total:.1f} ms, of which the beam search is {100 * share:.1f} %: "
           f"here too the decoder, not the network, dominates a word's time.")
glue("time_why", Markdown(why), display=False)

# %% [markdown]
# {glue:md}`time_why`
#
# ## Re-run this chapter

# %% tags=["hide-input"]
page.rerun_note("ch18", profile, records, models,
                kept="the transformer's maps and the decoding times are recorded beside each run (`analyses/`)")
