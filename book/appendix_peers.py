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
# # Peers side by side: kraken and Tesseract
#
# The chapters compare the book's models with each other. This appendix
# sets them beside two open-source recognisers that people actually use for
# handwritten and printed lines: **kraken** {cite}`kiessling2019kraken` (its
# trainer `ketos`, a CNN + BiLSTM + CTC network described in VGSL) and
# **Tesseract 5** {cite}`smith2007tesseract` (its LSTM engine, trained with
# `lstmtraining`). Each is trained from scratch on the
# book task's training lines, with the same wall-clock budget and the same
# threads, one system at a time on the same machine, and every output is
# scored on the same test lines with the book's own CER and WER
# (`hwr.metrics`), never with the tools' own scorers. Beside them: the book's
# best CTC and best seq2seq model retrained under the same conditions, and
# Tesseract's stock English model without any training.
#
# Nothing on this page is computed when the book is built: it reads the
# records that `bash peers/compare.sh` wrote to `results/peers/<profile>/`,
# so it renders on machines with neither tool installed.

# %% tags=["parameters"]
profile: str = "smoke"  # parameter profile whose comparison records are shown

# %% tags=["hide-input"]
from IPython.display import Markdown, display
from myst_nb import glue

from hwr.peers.figure import curves_figure
from hwr.book import page
from hwr.book.tables import Table, fmt
from hwr.peers import records as peer_records
from hwr.peers import report
from hwr.peers.compare import KRAKEN_DEFAULT_SPEC, THESIS_SIZE_SPEC
from hwr.peers.kraken import BATCH
from hwr.peers.tesseract import LEARNING_RATE, NET_SPEC

page.start()
records = peer_records.read(profile)
glue("kraken_default_spec", KRAKEN_DEFAULT_SPEC, display=False)
glue("kraken_thesis_spec", THESIS_SIZE_SPEC, display=False)
glue("tesseract_net_spec", NET_SPEC, display=False)
glue("ketos_batch", f"{BATCH}", display=False)
glue("tesseract_lr", f"{LEARNING_RATE:g}", display=False)
chosen = [r for r in records if r["kind"] == "hwr"]
glue("peers_chosen", Markdown(
    "; ".join(f"{r['label']}: chosen with a mean test CER of {report.percent(r['chosen']['book_test_cer'])} over "
              f"its {r['chosen']['book_seeds']} seeds in the book's runs" for r in chosen)
    or "No book model was retrained under this profile."), display=False)
glue("peers_conditions", Markdown(report.conditions(records) if records else
                                  f"No system has a record under the `{profile}` profile yet."), display=False)

# %% tags=["hide-input"]
page.smoke_note(profile)
if not records:
    display(Markdown(f"```{{note}}\nThere are no comparison records under the `{profile}` profile yet "
                     f"(`results/peers/{profile}/` is empty). `bash peers/compare.sh --profile {profile}` "
                     "writes them; the tables and figures below are empty until then.\n```"))

# %% [markdown]
# ## The systems
#
# - **kraken, default spec**: `ketos train` with kraken's own default
#   recognition network, {glue:text}`kraken_default_spec`: lines scaled to
#   120 pixels high, four convolution blocks, three BiLSTMs of 200.
# - **kraken, thesis-sized spec**: the same trainer with a network of about
#   the thesis models' size at the book task's input height of 32 pixels,
#   {glue:text}`kraken_thesis_spec`.
#
#   Both train with ketos' defaults (AdamW at $10^{-3}$, a constant rate, no
#   augmentation) except the batch, {glue:text}`ketos_batch` lines as in the book task, and keep
#   the model that did best on the validation lines.
# - **Tesseract 5 LSTM, from scratch**: `lstmtraining` without a starting
#   model, on tesstrain's default network {glue:text}`tesseract_net_spec`
#   (`c###`: the size of the character set), one line per iteration at a
#   rate of {glue:text}`tesseract_lr`. Its character set and starter model are built here from
#   the training and validation transcriptions, with no dictionary. Tesseract
#   keeps no model chosen on validation lines: the model scored is the last
#   checkpoint.
# - **Tesseract 5, stock English**: the `eng` model of Debian's
#   `tesseract-ocr-eng` (an integer LSTM trained by Google on printed text),
#   zero-shot, reading each image as one text line (`--psm 7`).
# - **The book's best CTC and seq2seq models**: read off the run store, the
#   configuration of each family with the lowest mean test CER on the book
#   task, retrained once (seed 0) with the task's recipe.
#   {glue:md}`peers_chosen`
#
# ## The conditions
#
# {glue:md}`peers_conditions` A system's budget is its training's wall
# clock: ketos is stopped by Lightning's timer (`max_time`, counted from the
# start of training; one last validation follows), hwr by its trainer's
# `minutes`, and `lstmtraining`, which has no time limit, is interrupted
# from outside when the minutes are up. Preparing the data (the exported
# images, Tesseract's box and `.lstmf` files and character set) is not part
# of the budget. *Lines/s* is the lines trained divided by that
# training time, validation included. *Latency* is a line's recognition
# time on the CPU once the model is loaded: each system reads all test lines
# in one process and, separately, the first line alone in another; the
# difference in wall clock divided by the other lines' number leaves out
# start-up and model loading.
#
# ## Results

# %% tags=["hide-input"]
Table(report.table(profile, records), name="tbl-peers-results", decimals=1,
      formats={"params (M)": lambda v: fmt(v, 2), "budget (min)": lambda v: fmt(v, 1)},
      caption="Every system on the same test lines: parameters in millions, training budget (minutes of wall "
              "clock), lines trained in it and lines per second, test CER (%) with its 95 % bootstrap interval "
              "over test lines, test WER (%), and the recognition time per line (ms) once loaded.")

# %% tags=["hide-input"]
curves = peer_records.curves(profile, records)
glue("fig_peers_curves", curves_figure(curves) if not curves.empty else
     report.placeholder_figure(f"No learning curves under the {profile} profile yet."), display=False)

# %% [markdown]
# ```{glue:figure} fig_peers_curves
# :name: fig-peers-curves
#
# CER on the validation lines against training lines (top) and minutes of
# training (bottom), as each tool logs it: ketos and hwr after every epoch;
# `lstmtraining` reports its running error on the lines it trains on (BCER,
# dashed) every 100 lines, and its error on the validation lines only when
# its evaluator ran.
# ```
#
# ## What the comparison says

# %% tags=["hide-input"]
glue("peers_discussion", Markdown(report.discussion(profile, records)), display=False)

# %% [markdown]
# ```{glue:md} peers_discussion
# :format: myst
# ```
#
# Beyond the numbers, three differences between the systems are part of
# what is compared and should be read with them. The input heights differ
# (kraken's default network sees 120-pixel lines, the thesis-sized one and
# hwr's models 32, Tesseract 36), so the default kraken network spends most
# of its budget on pixels. The optimisers differ (ketos and hwr take
# batches of 16 with Adam-type updates, lstmtraining updates after every
# line with momentum). And hwr's models were chosen as the best of the
# book's many configurations on this very task, while kraken and Tesseract
# run as their authors configure them, with the one change of network size
# for kraken.
#
# ## Provenance

# %% tags=["hide-input"]
Table(report.provenance(records), name="tbl-peers-provenance",
      caption="Per system: the model, threads, the commit of the checkout, when it started, its minutes in all "
              "(training, recognition, scoring) and the one-minute load average as it started.")

# %% tags=["hide-input"]
Table(report.versions(records), name="tbl-peers-versions",
      caption="Versions of the tools and libraries the comparison ran with.")

# %% tags=["hide-input"]
glue("peers_commands", Markdown(report.commands(records) if records else "(no records)"), display=False)
glue("peers_took", Markdown(report.took(profile, records)), display=False)

# %% [markdown]
# The commands each system ran, in order (paths relative to the checkout;
# the scratch files under `peers/runs/` are not committed):
#
# ```{glue:md} peers_commands
# :format: myst
# ```
#
# ## Re-run this comparison
#
# ```bash
# bash peers/compare.sh --profile book    # or: make peers
# bash peers/compare.sh --profile smoke   # seconds per system: shows that every step runs
# ```
#
# The script installs kraken into its own virtual environment (with torch
# pinned to the book's version and a workaround for torchvision's CUDA-only
# wheel, see `peers/README.md`) and Tesseract from Debian's packages, then
# runs the systems one after another; a system whose record exists is
# skipped unless `--force` is given. Under the `book` profile it takes about
# an hour on two cores and needs the machine to itself. It is not part of
# `make book` or of the tests. {glue:md}`peers_took`
