"""The other seed projects' claims, as the chapters of issue 12 test them.

The thesis's own claims live in :mod:`hwr.thesis`; the four CTC seed
projects (``shared/seeds/001-004``) make claims of the same kind ("this
change lowers the error") about their models. Each is a
:class:`hwr.thesis.Claim` whose ``better`` and ``other`` are run labels
(``"crnn"``, ``"crnn (no shortcut)"``), so
:func:`hwr.runs.report.claim_verdict` tests it as it tests the thesis's, and
the seed that made it is named in :data:`SOURCES`.
"""

from __future__ import annotations

from hwr.thesis import Claim

SEED_CLAIMS = {c.key: c for c in [
    # Retsinas et al. report that the shortcut helps; seed 001 found it "not terribly helpful"
    Claim("shortcut", "the auxiliary CTC shortcut (weight 0.1) lowers the ResNet CRNN's CER",
          "crnn", "crnn (no shortcut)", "ch15_crnn"),
    # seed 001 stretches 32 feature columns to 96 steps with an adaptive average pool
    Claim("column_pool", "one frame per feature column (max over rows) reads better than the seed's average pool "
          "stretched to 96 steps", "crnn", "crnn (stretch)", "ch15_crnn"),
    # seed 002's rules of thumb: "concat/LSTM with normalized"; "unnormalized + convolution: faster, lower performance"
    Claim("reshape_norm", "concatenating the feature rows (reshape) works with size- and position-normalised "
          "input: it reads better on normalised lines than on raw ones", "proj (reshape, line norm)",
          "proj (reshape)", "ch16_projection"),
    Claim("reshape_raw", "on unnormalised lines, max-pooling the rows reads better than concatenating them",
          "proj", "proj (reshape)", "ch16_projection"),
    Claim("conv_only", "without a sequence model (convolutions only) the recogniser reads worse",
          "proj", "proj_conv", "ch16_projection"),
    # seed 003: "as expected, we saw better results with the learning rate scheduler"; it trained with Mish
    Claim("cosine", "a cosine learning-rate schedule reads better than a constant rate", "names_crnn",
          "names_crnn (constant lr)", "ch17_names"),
    Claim("mish", "Mish, the activation the seed reports its results with, reads better than ReLU", "names_crnn",
          "names_crnn (relu)", "ch17_names"),
    Claim("batch_32", "batch 32, the seed's reported setting, reads better than batch 64 for the same lines",
          "names_crnn", "names_crnn (batch 64)", "ch17_names"),
    # seed 004: a spatial transformer to straighten slanted words; pretraining on printed words (its mjsynth)
    Claim("stn", "a spatial transformer in front lowers the light CRNN's CER on words", "crnn_lite",
          "crnn_lite (no STN)", "ch18_lite"),
    Claim("pretraining", "pretraining on printed words, then fine-tuning on handwriting, reads better than "
          "training on handwriting alone for the same fine-tuning budget", "crnn_lite (pretrained)", "crnn_lite",
          "ch18_lite"),
]}

#: claim key -> who makes it
SOURCES = {"shortcut": "Retsinas et al. 2024 (seed 001 doubts it)", "column_pool": "seed 001's layer",
           "reshape_norm": "seed 002's rules of thumb", "reshape_raw": "seed 002's rules of thumb",
           "conv_only": "seed 002's rules of thumb", "cosine": "seed 003", "mish": "seed 003",
           "batch_32": "seed 003's reported setting", "stn": "seed 004", "pretraining": "seed 004"}
