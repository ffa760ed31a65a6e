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
# This chapter gathers every experiment of the book in one table, the
# other seed projects' recognisers among them, puts them on the two
# trade-offs a reader choosing a model cares about (size and time against
# error), and gives a verdict on each conclusion of the thesis, with a link
# to the chapter that tested it.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
latency_batches: list = [1, 24]  # batch sizes of the latency columns
baseline: str = "seq2seq_bn"  # the model latency ratios are taken to (the thesis's baseline)

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown, display
from myst_nb import glue

from hwr import plots
from hwr.book import blocks, page
from hwr.book.tables import Table
from hwr.models import EXPERIMENTS, MODELS, build, state_count
from hwr.runs import report
from hwr.runs.analyses import SEGMENTATION_LINES
from hwr.runs.latency import latency_frame
from hwr.runs.study import profile_task
from hwr.thesis import CLAIMS, CONCLUSIONS

study, models, gathered, _, _ = page.open_study(
    "ch14_conclusions", profile, what=f"ch14_conclusions: the runs of the experiment chapters under {profile}")
book_data = profile_task(profile).data
records = [r for r in gathered if r.spec.data == book_data]  # on the book's task: their error rates compare
elsewhere = [r for r in gathered if r.spec.data != book_data]  # seed models read on their own tasks
groups = report.by_label(records)
with page.records("latencies and segmentation analyses (computed once, then read back)"):
    latencies = latency_frame(list(dict.fromkeys(r.spec.experiment for r in records)), latency_batches,
                              profile=profile)
    other_latencies = latency_frame(list(dict.fromkeys(r.spec.experiment for r in elsewhere)), latency_batches,
                                    profile=profile)
    attention_runs = [r for r in records if r.spec.experiment in EXPERIMENTS
                      and EXPERIMENTS[r.spec.experiment].family == "seq2seq"]
    segmentation, _, _ = report.segmentation_frame(attention_runs, SEGMENTATION_LINES)
E = EXPERIMENTS

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## The answers at a glance
#
# {numref}`tbl-answers` answers every claim the book tests, the thesis's
# and the other seed projects', each with the rule the chapters use: a
# difference is called only when its 95 % interval over seeds, writers and
# test lines excludes zero and the seeds agree, and no verdict rests on a
# model still above the book's validation criterion or on a run whose
# output ignores the image. The last two columns say whether the two
# models read at all. The chapter that tests a claim gives its details.

# %% tags=["hide-input"]
answers = report.answers_frame(gathered)
glue("n_answers", len(answers), display=False)
glue("n_decided", int(answers["verdict"].isin(["reproduced", "not reproduced"]).sum()), display=False)
Table(answers, name="tbl-answers", breakable=("by",),
      caption="Every claim tested: the thesis's CER difference (first model minus second, points, IAM-B legacy "
              "CER; - for a seed project's claim), the difference here (test CER, points, with its 95 % interval "
              "over seeds, writers and test lines), the verdict, who makes the claim, the two models' test CER "
              "(%, the claim's first model first) and the largest share of test lines on which either model's "
              "output ignores the image (%; * above the limit, so no verdict).")

# %% [markdown]
# {glue:text}`n_decided` of the {glue:text}`n_answers` claims are decided
# on this book's runs.
#
# Three claims of the thesis are about time, not CER. Time depends on the
# architecture and the input, not on what a model learnt, so these need no
# trained model: {numref}`tbl-answers-latency` judges them on repeated
# timed forward calls (one thread, the thesis's padded input), with a 95 %
# interval on the ratio of the two models' times.

# %% tags=["hide-input"]
latency_answers = report.latency_answers(latency_batches, profile)
sizes = " / ".join(map(str, latency_batches))
Table(latency_answers, name="tbl-answers-latency",
      caption=f"The thesis's claims about time: the slower model's forward call over the faster one's, in the "
              f"thesis (its CPU) and here (with its 95 % interval over the timed calls), at batch {sizes}, the "
              "verdict (reproduced when every interval lies above 1) and the chapter.")
#
# ## Every experiment

# %% tags=["hide-input"]
results = report.thesis_frame(records)
rows = []
for label, recs in groups.items():
    model = recs[0].spec.experiment
    source = MODELS[model].thesis_id or MODELS[model].source  # the thesis's run id, or the seed project
    # the book's CER and the thesis's first: a phone shows them without scrolling
    first = results.loc[label, ["CER (%)", "thesis CER (%)", "legacy CER (%)", "WER (%)"]].to_dict()
    rows.append({"model": label, **first,
                 # the saved-state count, the thesis's way (a trained run records its trainable parameters)
                 "state count": f"{state_count(build(model, **recs[0].spec.overrides)):,}",
                 "thesis id or seed": source})
Table(pd.DataFrame(rows).set_index("model"), name="tbl-conclusions-all", breakable=("thesis id or seed",),
      caption="Every experiment of the book: test CER (%, mean ± sd over 3 seeds; one seed where no sd is "
              "given), the thesis's legacy CER on IAM-B and here, the WER (%), the saved-state count (the thesis's way) "
              "and the thesis's run id (or, for the other seeds' models, the seed project).")

# %% [markdown]
# The same models timed side by side, one forward call each on one idle
# machine, with the ratio to the thesis's baseline here and in the thesis
# ({numref}`tbl-conclusions-latency`):

# %% tags=["hide-input"]
Table(report.latency_table(latencies, baseline, latency_batches), name="tbl-conclusions-latency",
      caption=f"CPU latency of one forward call (ms, one thread, a 1408-pixel input and 45 decoder steps) at "
              f"batch sizes {' and '.join(map(str, latency_batches))}, here and in the thesis, and its ratio (×) "
              f"to {baseline}'s.")

# %% [markdown]
# ## Error against size and time

# %% tags=["hide-input"]
plain = [r for r in records if not r.spec.variant]
frame = report.cost_frame(plain, latencies, batch=latency_batches[0])
# about thirty models: coloured by kind (a legend of three), only the Pareto front named
frame["kind"] = [("thesis, attention" if MODELS[m].family == "seq2seq" else "thesis, CTC")
                 if MODELS[m].source == "thesis" else "seed projects, CTC" for m in frame["model"]]
glue("fig_conclusions_params", plots.cost_scatter(frame, "params", xlabel="parameters", height=4.8, group="kind"),
     display=False)
glue("fig_conclusions_latency", plots.cost_scatter(frame, "latency_ms", xlabel=f"ms per call at batch "
                                                   f"{latency_batches[0]} (one thread)", height=4.8, group="kind"),
     display=False)
params_front = frame[plots.runs.pareto_front(frame["params"], frame["cer"])]["label"].tolist()
glue("params_front", Markdown(", ".join(f"`{m}`" for m in params_front)), display=False)
front = frame[plots.runs.pareto_front(frame["latency_ms"], frame["cer"])]["label"].tolist()
glue("latency_front", Markdown(", ".join(f"`{m}`" for m in front)), display=False)

# %% [markdown]
# ```{glue:figure} fig_conclusions_params
# :name: fig-conclusions-params
#
# Test CER (mean over seeds, bars one seed sd) against parameters, every
# model at the book's budget, coloured by kind of model; filled and named
# points are on the Pareto front: {glue:md}`params_front` (every model's
# numbers are in {numref}`tbl-conclusions-all`).
# ```
#
# ```{glue:figure} fig_conclusions_latency
# :name: fig-conclusions-latency
#
# Test CER against the measured CPU latency per call, coloured as above;
# filled and named points are on the Pareto front: {glue:md}`latency_front`.
# ```
#
# ## The seed models on their own tasks
#
# Two of the other seeds' recognisers do not read lines: seed 003's reads
# names on a fixed canvas, seed 004's single words. They trained on their
# own synthetic sets, written by the same writers, so their error rates are
# not on the scale of the book's task and they are left out of the figures
# above. {numref}`tbl-conclusions-elsewhere` gives them with their costs,
# which are measured on the same input as every other model's.

# %% tags=["hide-input"]
other = report.thesis_frame(elsewhere, n_resamples=200) if elsewhere else None
lat = other_latencies.set_index("model") if len(other_latencies) else None
rows = []
for label, recs in report.by_label(elsewhere).items():
    model = recs[0].spec.experiment
    timed = set(recs[0].spec.overrides) <= {"input_height"}  # the registry's architecture, as timed
    rows.append({"model": label, "seed": MODELS[model].source, "task": recs[0].spec.data.removeprefix("synth:"),
                 "parameters": f"{recs[0].metrics['parameters']:,}", "CER (%)": other.loc[label, "CER (%)"],
                 "WER (%)": other.loc[label, "WER (%)"],
                 **{f"ms at batch {b}": f"{lat.loc[model, f'ms_{b}']:.1f}" if timed else "-"
                    for b in latency_batches}})
Table(pd.DataFrame(rows, columns=["model", "seed", "task", "parameters", "CER (%)", "WER (%)",
                                  *[f"ms at batch {b}" for b in latency_batches]]).set_index("model"),
      name="tbl-conclusions-elsewhere",
      caption="The other seeds' models that read names or words: their test CER and WER on their own test set "
              "(%, mean ± sd over seeds), parameters, and CPU latency of one forward call on the line input of "
              "the latency table above (for the architectures as registered; - where a variant changes it).")

# %% [markdown]
# ## The thesis's conclusions

# %% tags=["hide-input"]
verdict_rows = []
for k, (text, keys, chapter) in enumerate(CONCLUSIONS):
    if keys:
        parts = []
        for key in keys:
            c = CLAIMS[key]
            if c.better in groups and c.other in groups:
                v = blocks.judge(records, c.better, c.other)
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
seed_labels = [label for label in summary.index if MODELS[groups[label][0].spec.experiment].source != "thesis"]
if seed_labels:
    ctc_labels = [label for label in summary.index if MODELS[groups[label][0].spec.experiment].family == "ctc"]
    best = min(ctc_labels, key=lambda label: summary.loc[label, "cer"])
    seed_cer = summary.loc[seed_labels, "cer"]
    findings.append(f"The other seed projects' CTC recognisers ({', '.join(f'`{lab}`' for lab in seed_labels)}) read "
                    f"at {report.percent(seed_cer.min())} % to {report.percent(seed_cer.max())} % test CER at the same "
                    f"budget; the book's best CTC model is `{best}` at {report.percent(summary.loc[best, 'cer'])} %."
                    + (" Every CTC model reads better than every attention model, so the gap between the families "
                       "does not hang on the thesis's choice of CTC model."
                       if summary.loc[ctc_labels, "cer"].max() < attention_cer.min() else ""))
if len(segmentation):
    best_row = segmentation.loc[segmentation["peak in box (%)"].idxmax()]  # the same model's columns
    findings.append(f"Measured against the character boxes, the best-aligned model puts "
                    f"{best_row['peak in box (%)']:.1f} % of its attention peaks in the right box; a reader moving at "
                    f"constant speed, which reads nothing, scores {best_row['constant speed (%)']:.1f} % on the same "
                    f"columns.")
if {"seq2seq_bn", "seq2seq_in"} <= set(latencies["model"]):
    t = latencies.set_index("model")
    here = t.loc["seq2seq_in", f"ms_{latency_batches[0]}"] / t.loc["seq2seq_bn", f"ms_{latency_batches[0]}"]
    thesis = E["seq2seq_in"].thesis_latency_ms["cpu_bs1"] / E["seq2seq_bn"].thesis_latency_ms["cpu_bs1"]
    findings.append(f"The per-line normalisation's cost depends on the CPU and the implementation: `seq2seq_in` takes "
                    f"{here:.2f} times `seq2seq_bn`'s time at batch {latency_batches[0]} here, against "
                    f"{thesis:.2f} times in the thesis.")
machines = report.machine_speeds(records)
if len(machines):
    findings.append(f"The machine is part of a wall-clock budget. The runs trained in sessions on "
                    f"{len(machines.columns) - 2} kinds of CPU; the models with runs on more than one trained "
                    f"{machines['ratio'].min():.2f} to {machines['ratio'].max():.2f} times as fast on the faster "
                    f"one ({{numref}}`tbl-conclusions-machines`), so a seed that trained on the faster machine saw "
                    f"that many more lines in its minutes.")
for label, recs in groups.items():  # a run trained on a longer budget, against its seed at the book's
    rec = recs[0]
    if "budget" not in (rec.spec.variant or ""):
        continue
    short = next((r for r in groups.get(rec.spec.experiment, []) if r.spec.seed == rec.spec.seed), None)
    if short is not None:
        findings.append(f"Budget decides more than architecture here: `{rec.spec.experiment}` trained for "
                        f"{rec.spec.train['minutes']:g} minutes instead of {short.spec.train['minutes']:g} "
                        f"reaches {report.percent_text(rec.test['cer'])} test CER against "
                        f"{report.percent_text(short.test['cer'])} (seed {rec.spec.seed}), a larger change than "
                        f"any architectural choice of the thesis makes at the book's budget.")
glue("findings", Markdown("\n".join(f"- {f}" for f in findings)), display=False)

# %% [markdown]
# ```{glue:md} findings
# :format: myst
# ```

# %% tags=["hide-input"]
if len(machines):
    display(Table(machines.set_index("model").round(2), name="tbl-conclusions-machines", decimals=2,
                  caption="Training lines per second of the models whose runs trained on more than one kind of "
                          "CPU (mean over the runs on each), and the faster CPU's over the slower's."))

# %% [markdown]
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
# The book has not run `full`, so it cannot say which of its verdicts
# would hold there. Two of its results say where to look first: the
# comparisons it calls *inconclusive at this budget* are between models
# that had not left their plateau, and a doubled budget moved one model
# further than any architectural change did (above), so an ordering seen
# here may not survive longer training.

# %% tags=["hide-input"]
glue("hardware", report.hardware(records), display=False)
glue("study_minutes", report.seconds_total(records) / 60, display=False)

# %% [markdown]
# The book's runs took {glue:text}`study_minutes:.0f` minutes of training
# and testing in all, on {glue:text}`hardware`.
