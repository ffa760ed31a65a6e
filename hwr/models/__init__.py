"""The book's models (``book/ch02_models``), built from torchmore flex layers.

Public API:

- :func:`build` ``(name, **overrides) -> nn.Module`` for every name in
  :data:`MODELS`, the one registry (name -> :class:`Experiment`); the
  thesis's :data:`EXPERIMENTS` and the other seed projects'
  :data:`SEED_MODELS` are views of it.
- :func:`state_count` (the thesis's count: state_dict minus positional
  encodings) and :func:`trainable_count`.

Modules: :mod:`.norm` (IN), :mod:`.backbone` (ConvNet6, DSC, expand-h),
:mod:`.gate` (GFCN gate), :mod:`.posenc` (1D/2D sinusoids), :mod:`.decoder`
(Bahdanau attention), :mod:`.seq2seq`, :mod:`.ctc`; the seed projects'
CTC models on one base (:mod:`.line_ctc`): :mod:`.crnn` (seed 001's ResNet
CRNN), :mod:`.projection` and :mod:`.sizenorm` (seed 002), :mod:`.names`
(seed 003), :mod:`.lite` (seed 004); :mod:`.registry` (the registry and the
architectures), :mod:`.io` (checkpoints), :mod:`.diagram` (architecture
drawings), :mod:`.report` (count tables), :mod:`.cli` (``hwr models``).
"""

from .registry import EXPERIMENTS, MODELS, SEED_MODELS, Experiment, ModelConfig, build, state_count, trainable_count

__all__ = ["EXPERIMENTS", "MODELS", "SEED_MODELS", "Experiment", "ModelConfig", "build", "state_count", "trainable_count"]
