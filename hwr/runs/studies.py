"""Each experiment chapter's study, declared once.

A chapter calls ``study(name, profile)`` and renders what it returns;
``hwr sweep CHAPTER`` fills the same runs without rendering. Declaring studies
here rather than inside the notebooks lets the sweep, the tests and the
chapters agree on one list, and lets chapters share runs (the same spec is
the same folder).
"""

from __future__ import annotations

from typing import Callable

from hwr.models import EXPERIMENTS
from hwr.profile import Profile
from hwr.runs.study import Study, first_seed, profile_task, scaled_budget, task_spec
from hwr.training.config import SCHEDULE_DEFAULTS
from hwr.training.task import get_task

STUDIES: dict[str, Callable[[str], Study]] = {}


def declares(name: str):
    """Register a function ``profile -> Study`` under a chapter name."""
    def register(fn):
        STUDIES[name] = fn
        return fn

    return register


@declares("ch03_training")
def _training(profile: str) -> Study:
    """How the book trains: the CTC baseline against the gated light seq2seq model."""
    return Study.declare("ch03_training", profile, models=["ctc_baseline", "gate_1"])


@declares("ch04_ctc")
def _ctc(profile: str) -> Study:
    """The CTC baseline: greedy against beam search, per-line errors."""
    return Study.declare("ch04_ctc", profile, models=["ctc_baseline"])


@declares("ch05_seq2seq")
def _seq2seq(profile: str) -> Study:
    """The seq2seq baseline under the thesis's teacher forcing (0.8) and under full teacher forcing."""
    return Study.declare("ch05_seq2seq", profile, models=["seq2seq_bn"],
                         variants={"tf 0.8": {}, "tf 1.0": {"train": {"teacher_forcing": 1.0}}})


@declares("ch06_light")
def _light(profile: str) -> Study:
    """Removing the encoder RNN: no PE, PE, PE + one gate, against the seq2seq models."""
    return Study.declare("ch06_light", profile,
                         models=["seq2seq_bn", "seq2seq_in", "light_no_pe", "light_bn", "light_in", "gate_1"])


@declares("ch07_norm")
def _norm(profile: str) -> Study:
    """BatchNorm against the thesis's per-sample instance normalisation, in both model families."""
    return Study.declare("ch07_norm", profile, models=["seq2seq_bn", "seq2seq_in", "light_bn", "light_in"])


# Thesis chapters II (issue 10): declared ahead of their pages so that `hwr sweep` can fill
# their runs; each page renders them once its records are in the store.
@declares("ch08_cell")
def _cell(profile: str) -> Study:
    """LSTM or GRU in the decoder of the light IN model."""
    return Study.declare("ch08_cell", profile, models=["light_in", "light_gru"])


@declares("ch09_gates")
def _gates(profile: str) -> Study:
    """No, one, two and three gate blocks in front of the decoder."""
    return Study.declare("ch09_gates", profile, models=["light_in", "gate_1", "gate_2", "gate_3"])


@declares("ch10_dsc")
def _dsc(profile: str) -> Study:
    """Depthwise separable backbones with multipliers 1 to 4 against the gated light model.

    The thesis's claim rests on k = 1 against ``gate_1``, so those get every seed; the
    larger multipliers trace the size/CER curve on the first seed.
    """
    return (Study.declare("ch10_dsc", profile, models=["gate_1", "dsc_k1"])
            + Study.declare("ch10_dsc", profile, models=["dsc_k2", "dsc_k3", "dsc_k4"], seeds=first_seed(profile)))


@declares("ch11_width")
def _width(profile: str) -> Study:
    """Wider backbone output and attention sizes against the gated light model.

    The comparisons that stand for the thesis's numbers (``bb_384`` and the
    widest attention, ``attn_512``, against ``gate_1``) get every seed; the
    attention sizes between trace the curve on the first seed. The largest
    model also trains once on twice the budget, to see whether the book's
    budget under-trains it.
    """
    return (Study.declare("ch11_width", profile, models=["gate_1", "bb_384", "attn_512"])
            + Study.declare("ch11_width", profile, models=["attn_192", "attn_384"], seeds=first_seed(profile))
            + Study.declare("ch11_width", profile, models=["bb_384"], seeds=first_seed(profile),
                            variants={"2x budget": {"train": scaled_budget(profile, "bb_384", 2)}}))


@declares("ch12_attn2d")
def _attn2d(profile: str) -> Study:
    """2D attention with feature heights 4 and 8 against the gated light model's 1D attention.

    The thesis's third 2D model differs from ``attn2d_h8`` only by its input
    height (128); a task that fixes the height (the book's 32) would train the
    same network twice, so it joins only where each model keeps its own height.
    """
    models = ["gate_1", "attn2d_h4", "attn2d_h8"]
    if profile_task(profile).input_height is None:
        models.append("attn2d_h8_in128")
    return Study.declare("ch12_attn2d", profile, models=models)


#: the thesis chapters whose attention models the segmentation chapter measures; a run shared by
#: several keeps the label of the first (ch05's "tf 0.8" variant is ch06's plain seq2seq_bn)
ATTENTION_CHAPTERS = ("ch06_light", "ch07_norm", "ch08_cell", "ch09_gates", "ch10_dsc", "ch11_width", "ch12_attn2d",
                      "ch05_seq2seq")


def _gathered(name: str, profile: str, chapters, keep=lambda spec: True) -> Study:
    """A study with no runs of its own: the runs of ``chapters`` that ``keep`` accepts,
    each run once (under the label of the first chapter that has it)."""
    runs, seen = [], set()
    for chapter in chapters:
        for spec in STUDIES[chapter](profile).runs:
            if keep(spec) and spec.run_id not in seen:
                runs.append(spec)
                seen.add(spec.run_id)
    return Study(name, profile, runs)


@declares("ch13_segmentation")
def _segmentation(profile: str) -> Study:
    """Every attention model's runs of the thesis chapters, once each (no runs of its own)."""
    return _gathered("ch13_segmentation", profile, ATTENTION_CHAPTERS,
                     lambda spec: EXPERIMENTS[spec.experiment].family == "seq2seq")


@declares("ch18_lite")
def _lite(profile: str) -> Study:
    """Seed 004's light CRNN on single words: from scratch, without its spatial transformer, and fine-tuned from
    a run pretrained on printed words (each seed from its own pretraining run); and from scratch on the
    pretraining plus fine-tuning budget, on the first seed. The ``full`` profile reads the book's word tasks
    (the thesis's data are lines, not words)."""
    words, printed = Profile.load(profile).word_tasks  # handwritten words, and printed words to pretrain on
    pretrain = Study.declare("ch18_lite", profile, models=["crnn_lite"], variants={"printed words": {}},
                             task=printed)
    task = get_task(words)
    tuned = Study("ch18_lite", profile, [task_spec(task, "crnn_lite", parent.seed, train={"init_from": parent.run_id},
                                                   variant="pretrained")
                                         for parent in pretrain.runs])
    scratch = Study.declare("ch18_lite", profile, models=["crnn_lite"], task=words,
                            variants={"": {}, "no STN": {"model": {"stn": False}}})
    double = {"minutes": task.config("crnn_lite").minutes * 2}
    if task.config("crnn_lite").schedule_steps:
        double["schedule_steps"] = task.config("crnn_lite").schedule_steps * 2
    longer = Study.declare("ch18_lite", profile, models=["crnn_lite"], task=words, seeds=first_seed(profile),
                           variants={"2x budget": {"train": double}})
    return scratch + pretrain + tuned + longer


#: the chapters of the other seed projects that are in the book (a draft joins when its runs are in the store)
SEED_CHAPTERS = ("ch15_crnn", "ch16_projection", "ch17_names", "ch18_lite")


@declares("ch14_conclusions")
def _conclusions(profile: str) -> Study:
    """Every run of the experiment chapters, the other seeds' included, once each (no runs of its own)."""
    return _gathered("ch14_conclusions", profile, ("ch04_ctc",) + ATTENTION_CHAPTERS + SEED_CHAPTERS)


# The other seed projects' CTC recognisers (issue 12), set beside the thesis's models.
#: the variants of seed 001's CRNN: the seed's default (shortcut 0.1, here with column max-pooling), without the
#: shortcut, and with the seed's stretched average pool
CRNN_VARIANTS = {"": {}, "no shortcut": {"model": {"shortcut": 0.0}}, "stretch": {"model": {"pool": "stretch"}}}


@declares("ch15_crnn")
def _crnn(profile: str) -> Study:
    """Seed 001's ResNet CRNN: max-pooled columns against the seed's stretched average pool, with and
    without the CTC shortcut, beside the thesis's CTC baseline (ch04's runs). The seed's own size
    (ResNet-34 stages) is trained under ``full``; the book's budget takes the small one."""
    crnn = "crnn_r34" if profile == "full" else "crnn"
    return (Study.declare("ch15_crnn", profile, models=[crnn], variants=CRNN_VARIANTS)
            + Study.declare("ch15_crnn", profile, models=["ctc_baseline"]))


#: seed 002's menu: the verdicts rest on these (every seed): max against the rows concatenated, raw and
#: normalised per line; and, below, the model without a sequence model
PROJECTION_VARIANTS = {"": {}, "reshape": {"model": {"projection": "reshape"}},
                       "reshape, line norm": {"model": {"projection": "reshape", "normalize": "line"}}}
#: the rest of the menu, traced on the first seed
PROJECTION_MENU = {"sum": {"model": {"projection": "sum"}}, "lstm": {"model": {"projection": "lstm"}},
                   "line norm": {"model": {"normalize": "line"}},
                   "reshape, window norm": {"model": {"projection": "reshape", "normalize": "window"}}}


@declares("ch16_projection")
def _projection(profile: str) -> Study:
    """Seed 002's projection menu: from a feature map to a sequence by max, sum, concatenated rows or a
    column LSTM, on raw and size-normalised lines, and a model with no sequence model at all."""
    return (Study.declare("ch16_projection", profile, models=["proj"], variants=PROJECTION_VARIANTS)
            + Study.declare("ch16_projection", profile, models=["proj_conv"])
            + Study.declare("ch16_projection", profile, models=["proj"], variants=PROJECTION_MENU,
                            seeds=first_seed(profile)))


@declares("ch17_names")
def _names(profile: str) -> Study:
    """Seed 003's names recogniser as the seed reports it (Mish, cosine rate, batch 32), and one change at a
    time: ReLU, a constant rate (the cosine's peak), batch 64 (the schedule as long in lines)."""
    import math

    task = Profile.load(profile).names_task  # handwritten upper-case names on the model's fixed canvas
    cfg = get_task(task).config("names_crnn")
    batch64 = {"batch_size": 2 * cfg.batch_size,
               "schedule_steps": math.ceil(cfg.schedule_steps / 2) if cfg.schedule_steps else None}
    variants = {"": {}, "relu": {"model": {"activation": "relu"}}, "constant lr": {"train": dict(SCHEDULE_DEFAULTS)},
                "batch 64": {"train": batch64}}
    return Study.declare("ch17_names", profile, models=["names_crnn"], variants=variants, task=task)


def study(chapter: str, profile: str) -> Study:
    """The study of ``chapter`` (its name, or a prefix such as ``ch03``) under ``profile``.

    Raises:
        KeyError: no chapter of that name declares a study.
    """
    matches = [n for n in STUDIES if n == chapter or n.startswith(chapter + "_")]
    if len(matches) != 1:
        raise KeyError(f"no single study for {chapter!r}; chapters with studies: {', '.join(STUDIES)}")
    return STUDIES[matches[0]](profile)
