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
# # Attention as character segmentation, measured
#
# The thesis looked at its attention maps and judged that each decoder step
# attends to the character it writes, so that the maps act as a
# segmentation of the line into characters, with spaces the exception:
# {glue:text}`claim_segmentation`. It judged by eye. The book's synthetic
# renderer records every character's box after all the geometric
# transforms, so the claim can be measured. This chapter measures it for
# every attention model of the book, over the test lines, and sets each
# model beside two maps that need no model: the best any map over the
# model's columns can do, and a reader that moves along the line at
# constant speed.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under

# %% tags=["hide-input"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from hwr.book import page
from hwr.book.tables import Table
from hwr.plots import segmentation as seg_plots
from hwr.runs import report
from hwr.runs.analyses import SEGMENTATION_LINES, first_analysis
from hwr.thesis import SEGMENTATION_CLAIM

study, models, records, groups, _ = page.open_study(
    "ch13_segmentation", profile,
    what=f"ch13_segmentation: the attention-model runs of the thesis chapters under {profile}")
with page.records("segmentation analyses of the trained runs (computed once, then read back)"):
    table, measured, unmeasured = report.segmentation_frame(records, SEGMENTATION_LINES)
glue("claim_segmentation", SEGMENTATION_CLAIM, display=False)
glue("n_lines", SEGMENTATION_LINES, display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)

# %% [markdown]
# ## The measure
#
# Each test line is decoded alone, so that no padding enters its
# attention, and the decoded text is aligned with the reference by one
# minimal edit alignment (`hwr.segmentation`). For every decoded character
# paired with a reference character (a match or a substitution), with box
# $[a, b)$ in input pixels and the step's attention $\alpha_j$ over memory
# columns centred at $x_j$ (a 2D map summed over its rows):
#
# - *peak in box*: $a \le x_{j^*} < b$ for the peak column $j^* = \arg\max_j \alpha_j$;
# - *mass in box*: $\sum_{j:\, a \le x_j < b} \alpha_j$;
# - *offset*: $x_{j^*} - (a + b)/2$ in pixels, positive to the right.
#
# Spaces are scored apart. Two maps need no model:
#
# - *best*: the peak at the column nearest the box centre; a character
#   narrower than the spacing of the columns may hold none, so this is the
#   ceiling of the peak-in-box share;
# - *constant speed*: the $i$-th of $n$ characters read at $(i + 1/2)/n$ of
#   the way along the text; what alignment alone scores.
#
# Every seq2seq run measures {glue:text}`n_lines` test lines when it ends
# (`analyses/segmentation.json`, a record of the run).

# %% tags=["hide-input"]
chars = [pd.DataFrame({"label": rec.spec.label, "offset": out["rows"][:, 2], "space": out["rows"][:, 3] > 0})
         for rec, out in measured.values()]
char_width = sum(out["char_width_px"] for _, out in measured.values()) / max(1, len(measured))
glue("char_width", f"{char_width:.1f}", display=False)
glue("unmeasured_text", Markdown(
    "Every attention run has the measure." if not unmeasured else
    f"{len(unmeasured)} of the {len(records)} runs have no segmentation record and are left out of the "
    "table and the figures."), display=False)
SHORT = {"test CER (%)": "CER", "peak in box (%)": "peak in box", "mass in box (%)": "mass in box",
         "distance (px)": "distance", "offset (px)": "offset", "spaces: peak in box (%)": "spaces in box",
         "best (%)": "best map", "constant speed (%)": "constant speed"}
Table(table.drop(columns=["val CER", "family"]).round(1).rename(columns=SHORT), name="tbl-seg-models", decimals=1,
      caption="Attention against the character boxes, per model (means over the seeds measured; the models' "
              "families are in the verdicts' table): test CER (%), "
              "the share of characters whose attention peak is in their box (%), the attention mass in the box "
              "(%), the median distance and signed offset of the peak from the box centre (pixels at the input), "
              "the share of spaces whose peak is in their box (%), and the peak-in-box share of the two model-free "
              "maps on the same columns (%).")

# %% [markdown]
# A character box is {glue:text}`char_width` pixels wide on average at the
# models' input. {glue:md}`unmeasured_text`
#
# ## Distributions

# %% tags=["hide-input"]
offsets = pd.concat(chars, ignore_index=True) if chars else pd.DataFrame(columns=["label", "offset", "space"])
glue("fig_seg_offsets", seg_plots.measure_distributions(offsets, char_width=char_width), display=False)
per_run = pd.DataFrame([{"label": rec.spec.label, "family": report.attention_family(rec.spec.experiment),
                         "hit": out["summary"]["chars"]["hit"], "cer": rec.test["cer"]}
                        for rec, out in measured.values()])
glue("fig_seg_hit_cer", seg_plots.hit_against_cer(per_run), display=False)
longer = [label for label in table.index if "budget" in label and groups[label][0].spec.experiment in table.index]
if longer:
    row, base = table.loc[longer[0]], table.loc[groups[longer[0]][0].spec.experiment]
    longer_text = (f"Alignment improves as reading does. The one run trained for longer, `{longer[0]}`, reads at "
                   f"{row['test CER (%)']:.1f} % CER and puts {row['peak in box (%)']:.1f} % of its peaks in their "
                   f"boxes, against {base['test CER (%)']:.1f} % and {base['peak in box (%)']:.1f} % for the same "
                   f"model at the book's budget (mean of its seeds).")
else:
    longer_text = "Every run here trained on the book's budget; how the share grows with training is not measured."
glue("longer_text", Markdown(longer_text), display=False)

# %% [markdown]
# ```{glue:figure} fig_seg_offsets
# :name: fig-seg-offsets
#
# Where the attention peak falls relative to the centre of the character
# the step wrote (left) and of the space (right), per model over all
# measured seeds: boxes span the middle half, whiskers the rest without
# outliers; the shaded band is half a mean character width either side.
# ```
#
# ```{glue:figure} fig_seg_hit_cer
# :name: fig-seg-hit-cer
#
# Peak-in-box share of characters against test CER, one point per run,
# coloured by family; the three runs with the highest shares are named.
# ```
#
# {glue:md}`longer_text`
#
# ## The best and the worst lines

# %% tags=["hide-input"]
best_model = table["peak in box (%)"].idxmax() if len(table) else None
try:
    rec, ex = first_analysis(groups[best_model], "segmentation_examples", n=SEGMENTATION_LINES)
except (FileNotFoundError, KeyError, TypeError):
    rec, ex = None, None
example_figs = []
if ex is not None:
    for i, e in enumerate(ex["examples"]):
        fig = seg_plots.boxes_and_peaks(ex[f"image_{i}"], ex[f"attention_{i}"], ex[f"boxes_{i}"], ex[f"centres_{i}"],
                                        e["reference"], e["decoded"],
                                        title=f"{e['kind']}: {100 * e['hit']:.0f} % of peaks in their box; "
                                              f"decoded “{e['decoded']}”")
        glue(f"fig_seg_example_{i}", fig, display=False)
        example_figs.append((f"fig_seg_example_{i}",
                             f"One of the {e['kind']}-aligned test lines of `{best_model}` (seed {rec.spec.seed}): "
                             f"{100 * e['hit']:.0f} % of its attention peaks fall in their character's box."))
glue("example_model", Markdown(f"`{best_model}` (seed {rec.spec.seed})" if rec else "-"), display=False)
Markdown("\n\n".join(f"```{{glue:figure}} {name}\n:name: {name.replace('_', '-')}\n\n{caption}\n```"
                     for name, caption in example_figs)
         if example_figs else "*No run of the best-aligned model kept its example lines.*")

# %% [markdown]
# The lines of {glue:md}`example_model` whose peaks fall in their boxes
# most and least often. Top of each: the line with its character boxes
# shaded and a mark at each step's peak, green in the box of the character
# the step is aligned with, red elsewhere; below, the maps, the aligned
# character's box outlined on each row.
#
# ## Up and down: the 2D attention's rows
#
# The measure above sums a 2D attention over its rows, so it says where
# along the line a step looks, not at what height. Each row of the 2D
# memory covers an equal band of the input's height, and each character's
# ink occupies some of the bands (its ink rows within its box: an "x"
# fills the middle bands, a "g" reaches into the lowest). An attention that
# localises vertically puts more of its mass in a character's ink bands
# than the share of bands they make up; one blind to height puts exactly
# that share there (`hwr.segmentation.score_rows`).

# %% tags=["hide-input"]
vertical, no_vertical = report.vertical_frame(records, SEGMENTATION_LINES)
if len(vertical):
    vertical_text = ("{numref}`tbl-seg-vertical` compares the mass in the ink bands with their share of the "
                     "bands, per 2D-attention model: a ratio above 1 means the attention looks at the height "
                     "where the character's ink is.")
else:
    vertical_text = ("None of this profile's 2D-attention runs has the measure yet: it is recorded when a run "
                     "ends (it needs the trained weights, which stay on the machine that trained them), and "
                     f"these {len(no_vertical)} runs were trained before it existed. The runs of the book's new "
                     "recipe record it.")
glue("vertical_text", Markdown(vertical_text), display=False)
Table(vertical, name="tbl-seg-vertical",
      caption="2D attention, vertically: characters scored, the attention's mass in each character's ink "
              "bands, the share of bands its ink covers (what an attention blind to height would put there), "
              "their ratio, and the share of characters whose heaviest band holds ink (%, means over seeds)."
      ) if len(vertical) else None

# %% [markdown]
# {glue:md}`vertical_text`
#
# ## Verdicts, per family

# %% tags=["hide-input"]
verdicts = report.segmentation_verdicts(table)
glue("verdict_list", Markdown("\n".join(f"- **{v['family']}** ({', '.join(f'`{m}`' for m in v['models'])}): "
                                       f"{v['why']}" for v in verdicts)), display=False)
Table(pd.DataFrame([{"family": v["family"], "models": ", ".join(v["models"]), "verdict": v["verdict"]}
                    for v in verdicts]).set_index("family") if verdicts else pd.DataFrame(),
      name="tbl-seg-verdicts", caption="The thesis's claim per model family.")

# %% [markdown]
# ```{glue:md} verdict_list
# :format: myst
# ```
#
# ## Re-run this chapter
#
# The chapter trains nothing of its own: it reads the records of the
# thesis chapters' runs (`hwr sweep ch05 ch06 ch07 ch08 ch09 ch10 ch11 ch12`
# trains any that are missing) and their recorded measures, then renders
# with `hwr run ch13`.
