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
# # The task and the data
#
# A text-line recogniser takes the image of one line of handwriting and returns
# its text. It is *segmentation-free* when nobody tells it where one character
# ends and the next begins: the model has to find the alignment between image
# columns and characters on its own, either through an attention mechanism
# that looks at part of the line for each output symbol (chapters on seq2seq
# models) or through connectionist temporal classification, CTC, which sums
# over all alignments (the CTC chapters).
#
# This chapter fixes everything the later chapters share: the data, the
# alphabet, the preprocessing and the batching. It answers two questions.
# What does the input look like after the thesis's preprocessing? And how far
# is the synthetic data this book trains on by default from the real
# handwriting the thesis used?

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile the chapter runs under
data: str = "synth:smoke"  # dataset: "synth:<preset>" or a path to IAM, Parquet or png+gt.txt lines
n_gallery: int = 6  # lines shown in the gallery
seed: int = 0  # which lines are drawn for the figures

# %% tags=["hide-input"]
import numpy as np
import pandas as pd
from myst_nb import glue

from hwr import codec, plots, preprocess
from hwr.book import page
from hwr.book.tables import Table
from hwr.datasets import open_dataset
from hwr.datasets.sampler import padding_comparison
from hwr.datasets.stats import IAM_STATS, compare_with_iam, dataset_stats, text_stats

page.start()
with page.records(f"open {data} (built first when missing)"):
    splits = {name: open_dataset(data, name) for name in ("train", "valid", "test")}
rng = np.random.default_rng(seed)
train = splits["train"]

# %% [markdown]
# ## IAM and the IAM-B split
#
# The thesis trained and tested on the line images of the IAM handwriting
# database {cite}`marti2002iam`: English sentences from the LOB corpus copied
# by 657 writers, 13,353 lines. It used the split known as IAM-B (the "Aachen"
# split): 6,482 training, 976 validation and 2,915 test lines, with no writer
# in more than one subset, so the test measures how a model reads hands it has
# never seen.
#
# IAM needs a registration and its licence forbids redistribution, so this
# book cannot download it. Readers who have it point any chapter at it with
# `-p data /path/to/iam` (the official `lines/` + `xml/` layout with a split
# folder, a Parquet export, or a folder of `*.png` + `*.gt.txt` lines).
#
# ## The synthetic dataset
#
# By default the book trains on lines it renders itself from open handwriting
# fonts and public-domain English prose (Moby-Dick and the State of the Union
# addresses, a mix of fiction and formal prose that resembles IAM's mix of
# press, essays and fiction). Each font plays a *writer*: the fonts are split
# between training, validation and test, as IAM-B splits writers, and so are
# the texts. The renderer jitters size, baseline, spacing, slant, pen width
# and ink, warps each line elastically, and records where every character
# lies, something IAM does not provide and that a later chapter uses to check
# whether attention maps segment characters.

# %% tags=["hide-input"]
if data.startswith("synth"):  # one line per writer (font), named
    from hwr.plots.gallery import gallery
    from hwr.synth import dataset_path

    fig = gallery(dataset_path(data.partition(":")[2] or "default"), n=n_gallery)
else:
    items = [train[int(i)] for i in rng.choice(len(train), min(n_gallery, len(train)), replace=False)]
    fig = plots.line_gallery([it.image for it in items], [it.text for it in items])
glue("fig_gallery", fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_gallery
# :name: fig-gallery
#
# Training lines of the dataset this chapter ran on, each with its
# transcription. In the synthetic set every line comes from one font, the
# font standing for a writer.
# ```

# %% tags=["hide-input"]
rows = {name: dataset_stats(ds) for name, ds in splits.items()}
sizes = pd.DataFrame({name: {"lines": r["lines"], "median width (px)": r["width"]["median"],
                             "median height (px)": r["height"]["median"],
                             "median width at height 64": r["prepared_width_h64"]["median"],
                             "characters per line": r["chars_per_line"]["mean"],
                             "wider than 1408 at height 64": r["wider_than_eval_width"]["lines"]}
                      for name, r in rows.items()}).T
sizes.index.name = "split"
Table(sizes.astype({"lines": int, "wider than 1408 at height 64": int}), name="tbl-splits", decimals=1,
      caption="The splits of the dataset this chapter ran on: line counts, median image sizes "
              "and mean characters per line.")

# %% [markdown]
# ## How close to IAM are the texts?
#
# A recogniser learns a language model of sorts from its training
# transcriptions, so their statistics matter as well as the pictures. The
# generator wraps prose to line lengths drawn around IAM's distribution and
# rewrites nineteenth-century punctuation (far more `;` than IAM) towards
# IAM's rates. {numref}`fig-lengths`, {numref}`fig-rates` and
# {numref}`tbl-text-stats` compare the result with the IAM figures.

# %% tags=["hide-input"]
texts = [t for ds in splits.values() for t in ds.texts]
ours = text_stats(texts)
glue("mean_len", ours["length_mean"], display=False)
glue("sd_len", ours["length_sd"], display=False)
glue("fig_lengths", plots.length_histogram([len(t) for t in texts], IAM_STATS["length_mean"],
                                           IAM_STATS["length_sd"]), display=False)
# every mark IAM counts, then digits and capital letters (per 1000 characters, as IAM's rates)
names = [f"'{ch}'" for ch in IAM_STATS["per_1000"]] + ["digits", "capitals"]
glue("fig_rates", plots.rate_comparison(
    names, [*ours["per_1000"].values(), ours["digits_per_1000"], 10 * ours["upper_percent"]],
    [*IAM_STATS["per_1000"].values(), IAM_STATS["digits_per_1000"], 10 * IAM_STATS["upper_percent"]]),
    display=False)

# %% tags=["hide-input"]
LABELS = {"length_mean": "characters per line: mean", "length_sd": "characters per line: standard deviation",
          "length_p5": "characters per line: 5th percentile", "length_p95": "characters per line: 95th percentile",
          "length_max": "characters per line: longest", "upper case %": "capital letters, % of characters"}
rows = [(LABELS.get(name, name), *values) for name, *values in compare_with_iam(texts)]
Table(pd.DataFrame(rows, columns=["statistic", "this dataset", "IAM"]).set_index("statistic"),
      name="tbl-text-stats", decimals=2, formats={"this dataset": lambda v: f"{v:g}", "IAM": lambda v: f"{v:g}"},
      caption="Text statistics of all splits against IAM's lines (rates per 1000 characters).")

# %% [markdown]
# ```{glue:figure} fig_lengths
# :name: fig-lengths
#
# Characters per line in all splits of this dataset (bars) against a normal
# curve with IAM's mean and standard deviation. Here the mean is
# {glue:text}`mean_len:.1f` characters with a standard deviation of
# {glue:text}`sd_len:.1f`.
# ```
#
# ```{glue:figure} fig_rates
# :name: fig-rates
#
# Each punctuation mark that IAM's transcriptions use, digits, and capital
# letters, per 1000 characters: IAM against this dataset (the scale is
# logarithmic above 1).
# ```

# %% [markdown]
# ## The alphabet
#
# Both model families predict one of 81 classes. For the seq2seq models class
# 0 is the start token fed to the decoder's first step and class 18 the end
# token; for the CTC models class 0 is the blank. The other 79 classes are the
# symbols of IAM's line transcriptions. Characters outside the alphabet are
# mapped (curly quotes to straight ones, dashes to hyphens) and counted, never
# silently dropped.

# %% tags=["hide-input"]
print(f"classes 1-{codec.EOS - 1}:", " ".join("space" if c == " " else c for c in codec.SYMBOLS[1:codec.EOS]))
print(f"class {codec.EOS}: end of sequence")
print(f"classes {codec.EOS + 1}-{len(codec.SYMBOLS) - 1}:", "".join(codec.SYMBOLS[codec.EOS + 1:]))
print("normalisation of the training transcriptions:", train.report.summary())

# %% [markdown]
# ## Preprocessing, step by step
#
# The thesis kept preprocessing minimal: a white border (16 px above and
# below, 32 px left and right), a bilinear resize to height 64 that keeps the
# aspect ratio, and scaling to [0, 1], with no normalisation of contrast,
# slant or skew and no augmentation. Lines of a batch are padded on the right
# to the widest one by repeating their last column, so the padding looks like
# the paper around the line rather than a black bar.

# %% tags=["hide-input"]
item = train[int(rng.integers(len(train)))]
padded = np.pad(item.image, ((16, 16), (32, 32)), constant_values=255)
prepared = preprocess.prepare(item.image, height=64)
batch = preprocess.collate([(prepared, item.text, item.id),
                            (np.ones((64, prepared.shape[1] + 160), np.float32), "", "wider")])
fig = plots.preprocessing_steps(item.image, padded, prepared, batch.images[0, 0].numpy())
glue("fig_preprocess", fig, display=False)

# %% [markdown]
# ```{glue:figure} fig_preprocess
# :name: fig-preprocess
#
# One line through the thesis preprocessing. In the last panel the line sits
# in a batch whose widest member is 160 px wider; the dashed line marks where
# edge replication begins.
# ```
#
# ## Batching by width
#
# Line widths vary several-fold, and every pixel of padding costs computation
# without teaching anything. The training loader therefore groups lines of
# similar width into the same batch (shuffling the groups and the lines inside
# them, deterministically from a seed), so that little of a batch is padding.

# %% tags=["hide-input"]
widths = [preprocess.prepared_width(h, w) for h, w in train.sizes()]
pad = padding_comparison(widths, batch_size=16, seed=seed)
glue("pad_random", 100 * pad["random"], display=False)
glue("pad_bucketed", 100 * pad["bucketed"], display=False)

# %% [markdown]
# With batches of 16 lines, random batching spends
# {glue:text}`pad_random:.0f` % of the pixels of a batch on padding; batching
# by width spends {glue:text}`pad_bucketed:.0f` %.
#
# ## How synthetic lines differ from real handwriting
#
# The synthetic set is a stand-in, and it is easier than IAM in ways that
# matter. Each font draws a letter the same way every time it occurs, up to
# the jitter and warping, while a person never writes the same letter twice;
# most of the fonts are casual print rather than joined-up cursive, where
# the boundaries between letters disappear; pen width is uniform along a
# stroke; nothing is crossed out, corrected or written over a ruled line, and
# the words come from two books rather than from the LOB corpus. On the other
# side, 40 fonts are far fewer writers than IAM's 657, so a model sees less
# variety in training and the held-out fonts may differ more from the
# training fonts than one IAM writer from another. Error rates measured on
# the synthetic set are therefore not comparable in absolute terms with the
# thesis's IAM figures; what this book compares on them is how the
# architectures rank against each other, and it says so wherever a thesis
# number stands beside ours.
#
# ## Summary
#
# - A line image goes in, its text comes out; nothing tells the model where the
#   characters are.
# - The default data are synthetic lines, split by font into unseen writers,
#   with text statistics close to IAM's; a local IAM copy or any png + gt.txt
#   folder can replace them with one parameter.
# - Preprocessing follows the thesis exactly; batching by width keeps padding
#   small.
