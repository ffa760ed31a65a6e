"""From network outputs to label sequences and texts, for both model families.

* :mod:`hwr.decode.ctc`: best path and prefix beam search over per-frame
  posteriors, forced alignment and per-character confidences;
* :mod:`hwr.decode.seq2seq`: greedy reading of the decoder's step posteriors;
* :mod:`hwr.decode.attention_beam`: beam search through a seq2seq decoder;
* :mod:`hwr.decode.family`: the per-family table (codec, greedy decoder,
  model call) and :func:`transcribe`, the one entry point from a model and a
  batch to texts.
"""

from hwr.decode.attention_beam import seq2seq_beam
from hwr.decode.ctc import (ctc_alignment, ctc_beam, ctc_confidences, ctc_greedy, has_fast_beam,
                            prefix_beam_search)
from hwr.decode.family import FAMILIES, Family, Transcription, family_of, transcribe
from hwr.decode.seq2seq import seq2seq_confidences, seq2seq_greedy, seq2seq_raw

__all__ = ["FAMILIES", "Family", "Transcription", "ctc_alignment", "ctc_beam", "ctc_confidences", "ctc_greedy",
           "family_of", "has_fast_beam", "prefix_beam_search", "seq2seq_beam", "seq2seq_confidences",
           "seq2seq_greedy", "seq2seq_raw", "transcribe"]
