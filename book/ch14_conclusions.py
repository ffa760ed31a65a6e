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
# # Conclusions
#
# This chapter gathers every experiment of the book in one table, puts
# them on the two trade-offs a reader choosing a model cares about (size
# and time against error), and gives a verdict on each conclusion of the
# thesis, with a link to the chapter that tested it.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency columns
baseline: str = "seq2seq_bn"  # the model latency ratios are taken to (the thesis's baseline)

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr import plots
from hwr.book import page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS
from hwr.runs import report
from hwr.runs.analyses import SEGMENTATION_LINES
from hwr.runs.latency import latency_frame
from hwr.runs.studies import study as declared_study
from hwr.thesis import CLAIMS, CONCLUSIONS

page.start()
study = declared_study("ch14_conclusions", profile)
models = list(dict.fromkeys(s.experiment for s in study.runs))
with page.records(f"{study.name}: the {len(study.runs)} runs of the experiment chapters under {profile}"):
    records = study.ensure()
    groups = report.by_label(records)
    latencies = latency_frame(models, latency_batches, profile=profile)
    attention_runs = [r for r in records if r.spec.experiment in EXPERIMENTS
                      and EXPERIMENTS[r.spec.experiment].family == "seq2seq"]
    segmentation, _, _ = report.segmentation_frame(attention_runs, SEGMENTATION_LINES)
E = EXPERIMENTS

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## Every experiment

# %% tags=["hide-input"]
results = report.thesis_frame(records)
lat = report.latency_table(latencies, baseline, latency_batches)
rows = []
for label, recs in groups.items():
    model = recs[0].spec.experiment
    row = {"model": label, "thesis id": E[model].thesis_id, "parameters": f"{recs[0].metrics['parameters']:,}",
           **results.loc[label, ["seeds", "CER (%)", "WER (%)", "legacy CER (%)", "thesis CER (%)"]].to_dict()}
    for b in latency_batches:
        for col in (f"bs {b} ms", f"bs {b} ×", f"thesis bs {b} ×"):
            row[col] = lat.loc[model, col] if model in lat.index else "-"
    rows.append(row)
overview = pd.DataFrame(rows).set_index("model")
Table(overview, name="tbl-conclusions-all",
      caption=f"Every experiment of the book: the thesis's run id, parameters (the thesis's counts), test CER and "
              f"WER (%, mean ± seed sd), the thesis's legacy CER here and on IAM-B, and the CPU latency of one "
              f"forward call here (ms, one thread, a 1408-pixel input and 45 decoder steps) with its ratio (×) to "
              f"{baseline}'s, beside the thesis's ratio.")

# %% [markdown]
# ## Error against size and time

# %% tags=["hide-input"]
plain = [r for r in records if not r.spec.variant]
frame = report.cost_frame(plain, latencies, batch=latency_batches[0])
glue("fig_conclusions_params", plots.cost_scatter(frame, "params", xlabel="parameters"), display=False)
glue("fig_conclusions_latency", plots.cost_scatter(frame, "latency_ms", xlabel=f"ms per call at batch "
                                                   f"{latency_batches[0]} (one thread)"), display=False)
front = frame[plots.runs.pareto_front(frame["latency_ms"], frame["cer"])]["label"].tolist()
glue("latency_front", ", ".join(f"`{m}`" for m in front), display=False)

# %% [markdown]
# ```{glue:figure} fig_conclusions_params
# :name: fig-conclusions-params
#
# Test CER (mean over seeds, bars one seed sd) against parameters, every
# model at the book's budget; filled points are on the Pareto front.
# ```
#
# ```{glue:figure} fig_conclusions_latency
# :name: fig-conclusions-latency
#
# Test CER against the measured CPU latency per call; filled points are on
# the Pareto front: {glue:text}`latency_front`.
# ```
#
# ## The thesis's conclusions

# %% tags=["hide-input"]
verdict_rows = []
for k, (text, keys, chapter) in enumerate(CONCLUSIONS):
    if keys:
        parts = []
        for key in keys:
            c = CLAIMS[key]
            if c.better in groups and c.other in groups:
                v = report.claim_verdict(records, c.better, c.other)
                parts.append(f"*{c.text}*: **{v.outcome}** ({report.points(v.mean_diff)} points, "
                             f"[{report.points(v.low)}, {report.points(v.high)}])")
            else:
                parts.append(f"*{c.text}*: not run under this profile")
    else:
        parts = [f"*{v['family']}*: **{v['verdict']}**" for v in report.segmentation_verdicts(segmentation)]
    verdict_rows.append({"conclusion": text, "chapter": chapter, "verdicts": "; ".join(parts)})
    glue(f"conclusion_{k}", Markdown(report.code_names("; ".join(parts), models) + "."), display=False)
Table(pd.DataFrame(verdict_rows).set_index("conclusion").drop(columns="verdicts"), name="tbl-conclusions-map",
      caption="Each conclusion of the thesis and the chapter that tests it.")

# %% [markdown]
# 1. **The encoder RNN can be replaced by positional encoding plus one gate
#    block** ({doc}`ch06_light`): {glue:md}`conclusion_0`
# 2. **IN beats BN** ({doc}`ch07_norm`): {glue:md}`conclusion_1`
# 3. **LSTM beats GRU** ({doc}`ch08_cell`): {glue:md}`conclusion_2`
# 4. **One gate beats two or three** ({doc}`ch09_gates`): {glue:md}`conclusion_3`
# 5. **DSC trades CER for size** ({doc}`ch10_dsc`): {glue:md}`conclusion_4`
# 6. **2D attention improves CER at a large CPU cost** ({doc}`ch12_attn2d`):
#    {glue:md}`conclusion_5`
# 7. **Attention maps act as per-character segmentation, spaces excepted**
#    ({doc}`ch13_segmentation`): {glue:md}`conclusion_6`
#
# ## What the book found that the thesis did not

# %% tags=["hide-input"]
summary = report.summary_frame(records, n_resamples=200)
attention_cer = summary.loc[[label for label in summary.index if groups[label][0].spec.experiment in E
                             and E[groups[label][0].spec.experiment].family == "seq2seq"], "cer"]
ctc = summary.loc["ctc_baseline", "cer"] if "ctc_baseline" in summary.index else float("nan")
findings = [f"At the book's budget the CTC baseline reads at {report.percent(ctc)} % test CER, while every attention "
            f"model stays between {report.percent(attention_cer.min())} % and {report.percent(attention_cer.max())} %: "
            f"at equal CPU time, the attention models are far from where CTC already is."]
if len(segmentation):
    best_hit = segmentation["peak in box (%)"].max()
    uniform = segmentation["constant speed (%)"].mean()
    findings.append(f"Measured against the character boxes, the best-aligned model puts {best_hit:.1f} % of its "
                    f"attention peaks in the right box; a reader moving at constant speed, which reads nothing, "
                    f"scores {uniform:.1f} % on the same columns.")
if {"seq2seq_bn", "seq2seq_in"} <= set(latencies["model"]):
    t = latencies.set_index("model")
    here = t.loc["seq2seq_in", f"ms_{latency_batches[0]}"] / t.loc["seq2seq_bn", f"ms_{latency_batches[0]}"]
    thesis = E["seq2seq_in"].thesis_latency_ms["cpu_bs1"] / E["seq2seq_bn"].thesis_latency_ms["cpu_bs1"]
    findings.append(f"The per-line normalisation's cost depends on the CPU and the implementation: `seq2seq_in` takes "
                    f"{here:.2f} times `seq2seq_bn`'s time at batch {latency_batches[0]} here, against "
                    f"{thesis:.2f} times in the thesis.")
glue("findings", Markdown("\n".join(f"- {f}" for f in findings)), display=False)

# %% [markdown]
# {glue:md}`findings`
#
# ## At the thesis's scale
#
# The book's task (short phrases at 32 pixels, ten minutes of one CPU core
# per run, chosen in {doc}`ch03_training`) is small enough that anyone can
# rerun every chapter; its verdicts are about models that have not finished
# learning, and the chapters say so wherever that decides a verdict. The
# `full` profile runs the same studies at the thesis's conditions: each
# model at its own input height, batch 32, Adam at $5 \cdot 10^{-4}$ until
# early stopping, on IAM. With the IAM lines on disk and a GPU, set
# `defaults: data:` in `configs/full.yaml` to their folder, then:
#
# ```bash
# # train every run of the thesis chapters (SLURM through submitit, one GPU per run)
# hwr sweep ch04 ch05 ch06 ch07 ch08 ch09 ch10 ch11 ch12 --profile full \
#     --executor slurm --slurm partition gpu --slurm gpus_per_node 1
# # then render the chapters from their records
# hwr run --profile full
# ```
#
# Under `full` the seq2seq models are expected to approach the thesis's
# CERs, and the
# comparisons the book leaves *inconclusive at this budget* become
# decidable.

# %% tags=["hide-input"]
glue("hardware", report.hardware(records), display=False)
glue("study_minutes", report.seconds_total(records) / 60, display=False)

# %% [markdown]
# The book's runs took {glue:text}`study_minutes:.0f` minutes of training
# and testing in all, on {glue:text}`hardware`.
