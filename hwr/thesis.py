"""The thesis's conclusions, as the chapters test them (spec ``thesis.md`` §12).

Numbers per model (state count, legacy test CER, timings) live with the
models in :data:`hwr.models.EXPERIMENTS`; this module holds the claims that
compare models, so a chapter states a claim by its key and never retypes it.
Each claim names the models it compares, the one the thesis found better,
and the chapter that tests it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """One conclusion of the thesis.

    Attributes:
        key: short name (``"encoder"``).
        text: the claim in one sentence.
        better: the model the thesis found better (lower CER).
        other: the model it was compared with.
        chapter: the book chapter that tests it.
    """

    key: str
    text: str
    better: str
    other: str
    chapter: str


CLAIMS = {c.key: c for c in [
    Claim("encoder", "replacing the encoder RNN by positional encoding plus one gate block costs a little "
          "CER (the model with the encoder reads better) and saves time", "seq2seq_in", "gate_1", "ch06_light"),
    Claim("posenc", "without an encoder RNN, the light model needs positional encoding to learn",
          "light_in", "light_no_pe", "ch06_light"),
    Claim("gate", "one gate block in front of the decoder lowers the light model's CER", "gate_1", "light_in",
          "ch06_light"),
    Claim("norm_seq2seq", "instance normalisation beats batch normalisation (seq2seq with encoder)",
          "seq2seq_in", "seq2seq_bn", "ch07_norm"),
    Claim("norm_light", "instance normalisation beats batch normalisation (light model)",
          "light_in", "light_bn", "ch07_norm"),
    Claim("cell", "an LSTM decoder beats a GRU decoder", "light_in", "light_gru", "ch08_cell"),
    Claim("gates", "one gate block beats two", "gate_1", "gate_2", "ch09_gates"),
    Claim("gates3", "one gate block beats three", "gate_1", "gate_3", "ch09_gates"),
    Claim("dsc", "depthwise separable convolutions trade CER for size", "gate_1", "dsc_k1", "ch10_dsc"),
    Claim("width_backbone", "a wider backbone output (384 channels instead of 256) lowers the gated light model's CER",
          "bb_384", "gate_1", "ch11_width"),
    Claim("width_attention", "a wider attention layer does not help: 256 units read better than 512",
          "gate_1", "attn_512", "ch11_width"),
    Claim("attn2d", "2D attention improves CER at a large CPU cost", "attn2d_h8", "gate_1", "ch12_attn2d"),
]}

@dataclass(frozen=True)
class LatencyClaim:
    """A claim about time rather than CER: ``faster``'s forward call takes less time than ``slower``'s.

    It needs no trained model (latency depends on the architecture and the
    input, not the weights), so it is judged on repeated timed calls
    (:func:`hwr.runs.latency.latency_verdict`).
    """

    key: str
    text: str
    faster: str
    slower: str
    chapter: str


LATENCY_CLAIMS = {c.key: c for c in [
    LatencyClaim("encoder_time", "replacing the encoder RNN by positional encoding plus one gate block saves time",
                 "gate_1", "seq2seq_in", "ch06_light"),
    LatencyClaim("attn2d_h4_cost", "2D attention (H' = 4) costs CPU time", "gate_1", "attn2d_h4", "ch12_attn2d"),
    LatencyClaim("attn2d_h8_cost", "2D attention (H' = 8) costs CPU time", "gate_1", "attn2d_h8", "ch12_attn2d"),
]}

#: the thesis's last conclusion, measured per model family rather than as a comparison of two models
SEGMENTATION_CLAIM = "attention maps behave like per-character segmentation maps, spaces excepted"

#: the thesis's conclusions (spec ``thesis.md`` §12): text, the claims that test it, the chapter
CONCLUSIONS = [
    ("The encoder RNN can be replaced by positional encoding plus one gate block, at a small CER cost and a "
     "lower latency", ["posenc", "gate", "encoder"], "ch06_light"),
    ("Instance normalisation beats batch normalisation", ["norm_seq2seq", "norm_light"], "ch07_norm"),
    ("An LSTM decoder beats a GRU decoder", ["cell"], "ch08_cell"),
    ("One gate block beats two or three", ["gates", "gates3"], "ch09_gates"),
    ("Depthwise separable convolutions trade CER for size", ["dsc"], "ch10_dsc"),
    ("2D attention improves CER at a large CPU cost", ["attn2d"], "ch12_attn2d"),
    ("Attention maps behave like per-character segmentation maps, spaces excepted", [], "ch13_segmentation"),
]
