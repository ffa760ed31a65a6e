"""The book's models as configuration, and the one factory that builds them.

Every experiment of the thesis is a row of :data:`EXPERIMENTS`: a registry
name, the thesis's run id, a :class:`ModelConfig` (as a plain dict), the state
count the thesis reports and its legacy test CER (thesis spec §8, §12). There
is no code per experiment: :func:`build` turns any row (plus overrides) into a
model. ``book/ch02_models`` checks every count against the thesis.

Ambiguities (thesis spec §13), resolved to the stated defaults:

- the baseline seq2seq has no positional encoding on the encoder side;
- the extra decoder dropouts of later runs (query, cell input) are off;
- the H' = 8 runs use one gate block;
- ``light_no_pe`` (the "no encoder" run) is the light IN model without
  positional encoding.

The light / gate / DSC / attention / backbone-384 / 2D variants use the IN
norm (the thesis's "LN") and an LSTM decoder; only ``seq2seq_bn`` and
``light_bn`` use BatchNorm, and the CTC baseline uses IN (its count leaves no
room for BatchNorm statistics).

The models of the other seed projects (issue 12) have their own
configuration classes and networks (an ``architecture``, a key of
:data:`ARCHITECTURES`, names which) and no thesis numbers. :data:`MODELS` is
the one registry of both; :data:`EXPERIMENTS` (the thesis's) and
:data:`SEED_MODELS` are views of it, and :func:`build` and
:func:`model_config` accept any of its names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torchmore import flex

from hwr.errors import ConfigError, UnknownNameError

from .crnn import CRNNConfig, ResNetCRNN
from .ctc import CTCModel
from .lite import LiteConfig, LiteCRNN
from .names import NamesConfig, NamesCRNN
from .posenc import PositionalEncoding1d, PositionalEncoding2d
from .projection import ProjectionConfig, ProjectionCTC
from .seq2seq import Seq2Seq


@dataclass(frozen=True)
class ModelConfig:
    """Every knob of the thesis models (defaults: seq2seq-light, IN, LSTM, PE).

    Attributes:
        family: ``"seq2seq"`` or ``"ctc"``.
        norm: backbone norm, ``"in"`` (thesis IN/"LN") or ``"bn"``.
        backbone_out: C, channels of the last backbone block (256; 384).
        dsc: 0 for plain convs, k >= 1 for depthwise-separable backbone convs.
        input_height: 64 or 128 (thesis); 32 (book-task candidate, see backbone.POOLS).
        expand_h: feature height H' (1 for 1D attention; 4 or 8 for 2D).
        dropout: backbone dropout and decoder output dropout (0.15).
        gates: number of GFCN gate blocks (0-3).
        gate_width: horizontal kernel of the gate conv (9).
        gate_dropout: dropout after each gate (0.4).
        encoder_hidden: per-direction size of the BiLSTM encoder, 0 = none (baseline 128).
        posenc: ``"none"``, ``"1d"`` or ``"2d"``.
        posenc_max_len: widest feature map the encoding covers (600).
        cell: decoder cell, ``"lstm"`` or ``"gru"``.
        hidden: decoder state size (256).
        attention: A, additive attention size (256).
        embedding: symbol embedding size (64).
        query_dropout: dropout on the attention query (off; later thesis runs).
        input_dropout: dropout on the decoder cell input (off; later thesis runs).
        ctc_hidden: per-direction BiLSTM size of the CTC model (256).
        ctc_dropout: dropout before the CTC output layer (0.5).
        margin: input pixels added on each side of a seq2seq model's input
            (edge replication: the white of the line's own padding) before
            its backbone; no weights, not a thesis setting. The book task sets
            it to what the gate blocks trim (:func:`gate_margin`), so that a
            gated model's memory spans a short line as a gate-less one's does
            (0: none, the thesis).
    """

    family: str = "seq2seq"
    norm: str = "in"
    backbone_out: int = 256
    dsc: int = 0
    input_height: int = 64
    expand_h: int = 1
    dropout: float = 0.15
    gates: int = 0
    gate_width: int = 9
    gate_dropout: float = 0.4
    encoder_hidden: int = 0
    posenc: str = "1d"
    posenc_max_len: int = 600
    cell: str = "lstm"
    hidden: int = 256
    attention: int = 256
    embedding: int = 64
    query_dropout: float = 0.0
    input_dropout: float = 0.0
    ctc_hidden: int = 256
    ctc_dropout: float = 0.5
    margin: int = 0

    #: fields that count channels, units or pixels: zero or less builds no network (or one torch refuses
    #: with a message about tensor shapes)
    SIZES = ("backbone_out", "input_height", "expand_h", "gate_width", "posenc_max_len", "hidden", "attention",
             "embedding", "ctc_hidden")
    #: fields where 0 means "none": plain convolutions, no gate, no encoder, no margin
    COUNTS = ("dsc", "gates", "encoder_hidden", "margin")
    DROPOUTS = ("dropout", "gate_dropout", "query_dropout", "input_dropout", "ctc_dropout")

    def __post_init__(self):
        self._check_ranges()
        checks = {
            "family": (self.family, ("seq2seq", "ctc")),
            "norm": (self.norm, ("in", "bn")),
            "posenc": (self.posenc, ("none", "1d", "2d")),
            "cell": (self.cell, ("lstm", "gru")),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"hwr.models.registry: {name} must be one of {allowed}, got {value!r}")
        if self.posenc == "2d" and self.expand_h == 1:
            raise ValueError("hwr.models.registry: posenc='2d' needs expand_h > 1")
        if self.encoder_hidden and self.expand_h != 1:
            raise ValueError("hwr.models.registry: the BiLSTM encoder needs expand_h == 1")
        if not isinstance(self.margin, int) or self.margin < 0 or (self.margin and self.family != "seq2seq"):
            raise ValueError(f"hwr.models.registry: margin must be an int >= 0 (seq2seq models only), "
                             f"got {self.margin!r}")
        from .backbone import POOLS  # an unsupported pair failed only when the backbone was built

        feature_height = self.expand_h if self.family == "seq2seq" else 1  # the CTC backbone ends at height 1
        if (self.input_height, feature_height) not in POOLS:
            heights = sorted({h for h, e in POOLS if e == feature_height})
            raise ValueError(f"hwr.models.registry: input_height must be one of {heights} (expand_h="
                             f"{feature_height}), got {self.input_height}")

    def _check_ranges(self) -> None:
        """Refuse sizes below 1, counts below 0 and dropouts outside [0, 1), naming the field."""
        for names, low in ((self.SIZES, 1), (self.COUNTS, 0)):
            for name in names:
                value = getattr(self, name)
                if isinstance(value, bool) or not isinstance(value, int) or value < low:
                    raise ValueError(f"hwr.models.registry: {name} must be an int >= {low}, got {value!r}")
        for name in self.DROPOUTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise ValueError(f"hwr.models.registry: {name} must be a probability in [0, 1), got {value!r}")


#: ModelConfig fields added after the first book runs, left out of :func:`config_dict` at these values
#: (which build what was built before they existed), so that stored runs keep their identity
LATER_DEFAULTS = {"margin": 0}


def config_dict(cfg) -> dict:
    """A model configuration as the plain dict of a run's identity: every field
    (``dataclasses.asdict``) but those of :data:`LATER_DEFAULTS` at their default."""
    d = dataclasses.asdict(cfg)
    for k, v in LATER_DEFAULTS.items():
        if k in d and d[k] == v:
            del d[k]
    return d


def gate_margin(cfg) -> int:
    """The margin (input pixels per side) that gives a gated seq2seq model as many
    memory columns as the line has backbone columns: half the columns its
    unpadded gate blocks trim, times the backbone's horizontal stride (0
    without gates)."""
    from .backbone import _width_scale, gate_shrink

    shrink = gate_shrink(cfg)
    if shrink % 2:
        raise ValueError(f"hwr.models.registry: the gate blocks trim an odd number of columns ({shrink})")
    return shrink // 2 * _width_scale(cfg)


@dataclass(frozen=True)
class Experiment:
    """One thesis experiment.

    Attributes:
        name: registry name (``"gate_1"``).
        thesis_id: the thesis's run id (``"2022-06-14_seq2seqL_gate_1"``).
        family: ``"seq2seq"`` or ``"ctc"``.
        config: full :class:`ModelConfig` fields as a plain dict.
        thesis_state_count: state count the thesis reports (spec §8).
        thesis_cer: thesis legacy test CER in percent (spec §12), None if not reported.
        thesis_latency_ms: thesis timings {"gpu_bs24", "cpu_bs24", "cpu_bs1"} where reported.
        description: one line for tables.
        architecture: which configuration class and network (a key of
            :data:`ARCHITECTURES`; ``"thesis"`` for every thesis model).
        source: where the model comes from: ``"thesis"`` or a seed project
            (``"seed 001"``).
    """

    name: str
    thesis_id: str
    family: str
    config: dict
    thesis_state_count: int | None
    thesis_cer: float | None
    thesis_latency_ms: dict = field(default_factory=dict)
    description: str = ""
    architecture: str = "thesis"
    source: str = "thesis"

    def model_config(self, **overrides):
        """The config (a :data:`ARCHITECTURES` class) with ``overrides`` applied (unknown names are refused)."""
        cls = ARCHITECTURES[self.architecture].config
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise TypeError(
                f"hwr.models.build({self.name!r}): unknown override(s) {unknown}{did_you_mean(unknown[0], known)}; "
                f"known: {sorted(known)}"
            )
        return cls(**{**self.config, **overrides})


def _ms(gpu=None, cpu24=None, cpu1=None) -> dict:
    return {k: v for k, v in {"gpu_bs24": gpu, "cpu_bs24": cpu24, "cpu_bs1": cpu1}.items() if v is not None}


# name: (thesis id, changes from ModelConfig(), thesis count, thesis CER, thesis latency, description)
G1 = dict(gates=1)  # the one-gate light model most variants start from
_ROWS = {
    "seq2seq_bn": ("2022-06-14_seq2seq", dict(norm="bn", encoder_hidden=128, posenc="none"), 1_782_936, 16.211,
                   _ms(68, 4141, 281), "baseline: ConvNet6 (BN) + BiLSTM encoder + attention"),
    "seq2seq_in": ("2022-06-23_seq2seq_BN2LN", dict(encoder_hidden=128, posenc="none"), 1_779_474, 14.768,
                   _ms(71, 5286, 335), "baseline with IN"),
    "light_no_pe": ("2022-06-16_seq2seqL_seq2seq_no_enc", dict(posenc="none"), 1_384_210, 75.32,
                    {}, "light: no encoder, no positional encoding"),
    "light_bn": ("2022-06-13_seq2seqL_LN2BN", dict(norm="bn"), 1_387_672, 21.511,
                 _ms(50, 3673, 201), "light: PE instead of the encoder, BN"),
    "light_in": ("2022-06-13_seq2seqL_LN_5e-4", dict(), 1_384_210, 19.672,
                 _ms(52, 4975, 248), "light: PE instead of the encoder, IN"),
    "light_gru": ("2022-06-13_seq2seqL_gru", dict(cell="gru"), 1_236_242, 20.994,
                  _ms(63, 4832, 256), "light IN with a GRU decoder"),
    "gate_1": ("2022-06-14_seq2seqL_gate_1", G1, 1_518_354, 15.799, _ms(64, 5076, 266), "light + 1 gate"),
    "gate_2": ("2022-06-14_seq2seqL_gate_2", dict(gates=2), 1_652_498, 18.388, _ms(66, 5317, 278), "light + 2 gates"),
    "gate_3": ("2022-06-14_seq2seqL_gate_3", dict(gates=3), 1_786_642, 18.776, _ms(69, 7237, 285), "light + 3 gates"),
    "dsc_k1": ("2022-06-16_seq2seqL_dsc_k1", dict(G1, dsc=1), 1_014_252, 21.304,
               _ms(67, 5468, 231), "gate_1 with DSC backbone, k = 1"),
    "dsc_k2": ("2022-06-16_seq2seqL_dsc_k2", dict(G1, dsc=2), 1_143_782, 18.773,
               _ms(68, 6225, 263), "gate_1 with DSC backbone, k = 2"),
    "dsc_k3": ("2022-06-15-seq2seqL_dsc_k3", dict(G1, dsc=3), 1_273_312, 17.579,
               _ms(68, 6684, 278), "gate_1 with DSC backbone, k = 3"),
    "dsc_k4": ("2022-06-15-seq2seqL_dsc_k4", dict(G1, dsc=4), 1_402_842, 17.869,
               _ms(69, 7380, 289), "gate_1 with DSC backbone, k = 4"),
    "bb_384": ("2022-06-14_seq2seqL_bb_384", dict(G1, backbone_out=384), 1_880_466, 15.361,
               {}, "gate_1 with backbone out 384"),
    "attn_192": ("2022-06-18_seq2seqL_attn_192", dict(G1, attention=192), 1_485_394, 16.557,
                 {}, "gate_1 with attention 192"),
    "attn_384": ("2022-06-14_seq2seqL_attn_384", dict(G1, attention=384), 1_584_274, 16.113,
                 {}, "gate_1 with attention 384"),
    "attn_512": ("2022-06-14_seq2seqL_attn_512", dict(G1, attention=512), 1_650_194, 16.228,
                 {}, "gate_1 with attention 512"),
    "attn2d_h4": ("2022-06-14_seq2seqL_gate_1_expand_h", dict(G1, expand_h=4, posenc="2d"), 1_518_354, 15.399,
                  _ms(68, 13928, 346), "2D attention, H' = 4"),
    "attn2d_h8": ("2022-06-15_seq2seqL_expand_h_8", dict(G1, expand_h=8, posenc="2d"), 1_518_354, 14.839,
                  _ms(81, 23519, 486), "2D attention, H' = 8"),
    "attn2d_h8_in128": ("2022-06-15_seq2seqL_expand_h_128", dict(G1, expand_h=8, posenc="2d", input_height=128),
                        1_518_354, 15.224, {"gpu_bs14": 86, "cpu_bs24": 42718, "cpu_bs1": 1014},
                        "2D attention, H' = 8 at input height 128"),
    "ctc_baseline": ("CTC baseline", dict(family="ctc", posenc="none"), 1_728_721, None,
                     {}, "ConvNet6 (IN) + BiLSTM 256 + CTC"),
}

_THESIS_MODELS = [Experiment(name, tid, changes.get("family", "seq2seq"), dataclasses.asdict(ModelConfig(**changes)),
                             count, cer, ms, desc)
                  for name, (tid, changes, count, cer, ms, desc) in _ROWS.items()]


@dataclass(frozen=True)
class Architecture:
    """One kind of network: its configuration class and what builds it from a configuration.

    Attributes:
        name: the name a checkpoint records (:mod:`hwr.models.io`).
        config: the configuration dataclass.
        network: ``(config, registry name) -> nn.Module``.
    """

    name: str
    config: type
    network: Callable[..., nn.Module]


def _thesis_network(cfg: ModelConfig, name: str = "") -> nn.Module:
    """The thesis's two families share one configuration: attention or CTC head."""
    return (Seq2Seq if cfg.family == "seq2seq" else CTCModel)(cfg, name)


#: architecture name -> configuration class and network, the one place that pairs them
ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in [
    Architecture("thesis", ModelConfig, _thesis_network),
    Architecture("crnn", CRNNConfig, ResNetCRNN),
    Architecture("projection", ProjectionConfig, ProjectionCTC),
    Architecture("lite", LiteConfig, LiteCRNN),
    Architecture("names", NamesConfig, NamesCRNN),
]}


def architecture_of(cfg) -> str:
    """The :data:`ARCHITECTURES` name of a configuration object."""
    for name, arch in ARCHITECTURES.items():
        if type(cfg) is arch.config:
            return name
    raise TypeError(f"hwr.models.registry: {type(cfg).__name__} is not a model configuration")


def _seed_model(name, source, architecture, config, description) -> Experiment:
    cfg = ARCHITECTURES[architecture].config(**config)
    return Experiment(name, "", cfg.family, dataclasses.asdict(cfg), None, None, {}, description, architecture, source)


# the other seed projects' models (no thesis numbers)
_SEED_MODELS = [
    # input height 64 as the thesis models (their latency input); the book task trains every model at 32
    _seed_model("crnn", "seed 001", "crnn", dict(input_height=64),
                "ResNet CRNN (4 stages of one block, 32-256 channels) + 2 BiLSTM 128 + CTC, CTC shortcut 0.1"),
    _seed_model("crnn_r34", "seed 001", "crnn", dict(widths=(64, 128, 256, 512), blocks=(3, 4, 6, 3), hidden=256,
                                                     input_height=64),
                "the seed's size: ResNet-34 stages + 2 BiLSTM 256 + CTC, CTC shortcut 0.1"),
    # seed 002's menu: the projection, the sequence model and the input normalisation are overrides of `proj`
    _seed_model("proj", "seed 002", "projection", {},
                "4 conv blocks (32-256) + max over rows + 2 BiLSTM 128 + CTC; the projection menu's base"),
    _seed_model("proj_conv", "seed 002", "projection", dict(sequence="conv"),
                "as proj, with three 1-D convolutions instead of the BiLSTMs (no recurrence)"),
    # seed 003's translation of a Kaggle notebook: a fixed 64 x 256 canvas and a 30-output upper-case alphabet
    _seed_model("names_crnn", "seed 003", "names", dict(activation="mish"),
                "fixed 64 x 256 canvas, 3 conv blocks (32-128, Mish) + linear 64 + BiLSTM 512 + CTC over "
                "A-Z - ' space"),
    _seed_model("crnn_lite", "seed 004", "lite", {},
                "spatial transformer + depthwise separable CNN + time dense 128 + 2 BiLSTM 128 + CTC"),
]

#: the registry: every model :func:`build` knows, by name: the thesis's in the thesis's order, then the seed
#: projects'. Each entry names its :data:`ARCHITECTURES` key, which pairs its configuration with its network.
MODELS: dict[str, Experiment] = {e.name: e for e in _THESIS_MODELS + _SEED_MODELS}
#: the thesis's models (a view of :data:`MODELS`)
EXPERIMENTS: dict[str, Experiment] = {n: e for n, e in MODELS.items() if e.source == "thesis"}
#: the other seed projects' models (a view of :data:`MODELS`)
SEED_MODELS: dict[str, Experiment] = {n: e for n, e in MODELS.items() if e.source != "thesis"}


def _dummy_width(model) -> int:
    """An input width that survives every pool and gate of ``model`` (with a margin)."""
    from .backbone import min_input_width

    # the features are called here without the model's margin, so the width must do without it
    return 4 * (min_input_width(model) + 2 * getattr(getattr(model, "config", None), "margin", 0))


def did_you_mean(name: str, known) -> str:
    """`` (did you mean 'gates'?)`` for the known names close to a misspelt one, else ``""``."""
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=3)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def _kind_problem(value, default) -> str | None:
    """Why ``value`` cannot replace a field whose default is ``default`` (None when it can).

    The type is judged by the default's: an override is parsed as a Python
    literal where it parses, so ``-o hidden=abc`` arrives as the string 'abc'.
    """
    if default is None:  # an optional field: any value is the config's to judge
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "must be True or False"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be an integer"
    if isinstance(default, float):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "must be a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "must be a string"
    if isinstance(default, tuple):
        if not isinstance(value, (list, tuple)):
            return f"must be a list like {list(default)}"
        for item in value if default else ():
            problem = _kind_problem(item, default[0])
            if problem:
                return f"each item {problem} (got {item!r})"
    return None


def _range_problem(key: str, value) -> str | None:
    """The range every architecture shares: no size, count, weight or rate is negative, and a dropout
    is a probability below 1 (ModelConfig checks its fields more closely; the others build what they get)."""
    values = value if isinstance(value, (list, tuple)) else [value]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if any(v < 0 for v in numbers):
        return "must be 0 or more"
    if key.endswith("dropout") and any(v >= 1 for v in numbers):
        return "must be a probability in [0, 1)"
    return None


def check_overrides(name: str, overrides: dict) -> None:
    """Refuse model overrides that :func:`build` could not use, before any data is opened or trained on.

    Checks, in this order: the name of each key (close names suggested), the
    type of its value (against the field's default), the configuration's own
    checks (:class:`ModelConfig` ranges, ``posenc`` against ``expand_h``, ...),
    then the ranges all architectures share.

    Raises:
        UnknownNameError: an unknown model or key (a KeyError).
        ConfigError: a value of the wrong type or out of range (a ValueError);
            the message names the key and the problem on one line.
    """
    if name not in MODELS:
        raise UnknownNameError(f"unknown experiment {name!r}{did_you_mean(name, MODELS)}; known: {', '.join(MODELS)}")
    cls = ARCHITECTURES[MODELS[name].architecture].config
    defaults = {f.name: MODELS[name].config.get(f.name, f.default) for f in dataclasses.fields(cls)}
    for key, value in overrides.items():
        if key not in defaults:
            raise UnknownNameError(f"-o {key}={value}: {name} has no setting {key!r}{did_you_mean(key, defaults)}; "
                                   f"settings: {', '.join(sorted(defaults))}")
        problem = _kind_problem(value, defaults[key])
        if problem:
            raise ConfigError(f"-o {key}={value!r}: {problem} ({name} has {key}={defaults[key]!r})")
    try:
        model_config(name, **overrides)
    except (TypeError, ValueError) as e:  # the configuration's own checks
        shown = " ".join(f"-o {k}={v!r}" for k, v in overrides.items())
        raise ConfigError(f"{shown}: {str(e).removeprefix('hwr.models.registry: ')}") from None
    for key, value in overrides.items():
        problem = _range_problem(key, value)
        if problem:
            raise ConfigError(f"-o {key}={value!r}: {problem}")


def build(name: str, **overrides) -> nn.Module:
    """Build a registry experiment as a plain PyTorch module (training mode).

    Args:
        name: a key of :data:`MODELS`.
        **overrides: configuration fields to change (e.g. ``gates=2``).

    Returns:
        A :class:`~hwr.models.seq2seq.Seq2Seq`, :class:`~hwr.models.ctc.CTCModel`
        or :class:`~hwr.models.crnn.ResNetCRNN`
        with attributes ``family``, ``input_height``, ``experiment``, ``config``
        and ``overrides``; weights drawn from torch's global RNG (seed it
        first); 4-D weights in channels_last memory format, the one place
        that decides the format for training, evaluation, recognition and
        the benchmarks (``model.to(memory_format=torch.contiguous_format)``
        undoes it).
    """
    return from_config(model_config(name, **overrides), name, overrides)


def model_config(name: str, **overrides):
    """The full configuration (a :class:`ModelConfig`, or its architecture's class)
    of registry model ``name`` with ``overrides``.

    Raises:
        KeyError: for an unknown model; TypeError for an unknown override.
    """
    if name not in MODELS:
        raise KeyError(f"hwr.models.build: unknown experiment {name!r}; known: {', '.join(MODELS)}")
    return MODELS[name].model_config(**overrides)


def from_config(cfg, name: str = "", overrides: dict | None = None) -> nn.Module:
    """Build the model that ``cfg`` describes, whatever the registry says today.

    This is what a checkpoint is rebuilt with (:mod:`hwr.models.io`): its
    stored configuration, not the registry's current defaults for ``name``.

    Args:
        cfg: every field of the model.
        name: the experiment name to record as ``model.experiment``.
        overrides: the overrides it was asked with, recorded as ``model.overrides``.

    Returns:
        the model, as :func:`build` describes it.
    """
    architecture = architecture_of(cfg)
    model = ARCHITECTURES[architecture].network(cfg, name)
    model.config = cfg
    model.overrides = dict(overrides or {})
    if architecture == "thesis":  # the seed models infer their flex layers' sizes themselves (LineCTC)
        # Fix every flex layer's input size with one dummy pass, then drop the
        # Flex wrappers: what remains is plain nn.Conv2d / nn.LSTM / ... modules.
        flex.shape_inference(model.features, (2, 1, cfg.input_height, _dummy_width(model)))
    # channels_last conv weights make every conv, norm and pool run in NHWC
    # (B x 1 x H x W inputs are already channels-last: no conversion).
    # `hwr bench memory-format` (1 thread, default and channels-last
    # alternating A B B A in one process) measured, for ctc_baseline and
    # gate_1, 8-13 % less CPU time per training step and 14-18 % less per
    # batch-1 inference line (every pair of calls faster); outputs agree
    # within 1e-4. load_state_dict and .to(device) keep the layout.
    model.to(memory_format=torch.channels_last)
    return model.train()


def state_count(model: nn.Module) -> int:
    """Numbers in the saved state, the thesis's way (spec §8).

    All ``state_dict`` values (parameters, BatchNorm running statistics and
    ``num_batches_tracked``) minus the positional-encoding buffers.
    """
    skip = set()
    for prefix, module in model.named_modules():
        if isinstance(module, (PositionalEncoding1d, PositionalEncoding2d)):
            skip |= {f"{prefix}.{b}" if prefix else b for b, _ in module.named_buffers()}
    return sum(v.numel() for k, v in model.state_dict().items() if k not in skip)


def trainable_count(model: nn.Module) -> int:
    """Number of trainable parameters (``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
