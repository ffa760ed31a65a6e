"""The book's models (``book/ch02_models``), built from torchmore flex layers.

Public API:

- :func:`build` ``(name, **overrides) -> nn.Module`` for every name in
  :data:`MODELS`: the thesis's :data:`EXPERIMENTS` and the other seed
  projects' :data:`SEED_MODELS` (dicts of :class:`Experiment`).
- :func:`state_count` (the thesis's count: state_dict minus positional
  encodings) and :func:`trainable_count`.

Modules: :mod:`.norm` (IN), :mod:`.backbone` (ConvNet6, DSC, expand-h),
:mod:`.gate` (GFCN gate), :mod:`.posenc` (1D/2D sinusoids), :mod:`.decoder`
(Bahdanau attention), :mod:`.seq2seq`, :mod:`.ctc`, :mod:`.crnn` (seed 001's
ResNet CRNN), :mod:`.registry`,
:mod:`.diagram` (architecture drawings), :mod:`.report` (count tables),
:mod:`.cli` (``hwr experiments``).
"""

from .registry import EXPERIMENTS, MODELS, SEED_MODELS, Experiment, ModelConfig, build, state_count, trainable_count

__all__ = ["EXPERIMENTS", "MODELS", "SEED_MODELS", "Experiment", "ModelConfig", "build", "state_count", "trainable_count"]
