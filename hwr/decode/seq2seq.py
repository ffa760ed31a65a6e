"""Seq2seq (attention) decoding of the step posteriors the decoder emitted.

Seq2seq models emit ``B x S x C`` log-probabilities, one row per decoder
step. :func:`seq2seq_greedy` cuts the argmax labels at the first EOS (what the
text is); :func:`seq2seq_raw` keeps every step (what the thesis's legacy CER
scores); :func:`seq2seq_confidences` gives each emitted symbol's probability
at its step. Beam search needs the model, not its outputs: it is in
:mod:`hwr.decode.attention_beam`.
"""

from __future__ import annotations

import numpy as np
import torch

from hwr.codec import EOS


def seq2seq_raw(log_probs) -> list[list[int]]:
    """Argmax label of every decoder step (B x S x C -> B lists of S labels),
    EOS and whatever follows it included: the input of the legacy CER."""
    lp = log_probs if isinstance(log_probs, torch.Tensor) else torch.as_tensor(np.asarray(log_probs))
    return lp.argmax(dim=-1).cpu().tolist()


def seq2seq_greedy(log_probs) -> list[list[int]]:
    """Argmax labels per line, cut before the first EOS (B x S x C -> labels)."""
    out = []
    for row in seq2seq_raw(log_probs):
        out.append(row[: row.index(EOS)] if EOS in row else row)
    return out


def seq2seq_confidences(log_probs, length: int | None = None) -> list[float]:
    """Per emitted symbol of one line (S x C log-probs), the probability of
    the argmax at that step; ``length`` symbols (default: up to the first EOS)."""
    lp = log_probs if isinstance(log_probs, torch.Tensor) else torch.as_tensor(np.asarray(log_probs))
    best, arg = lp.max(dim=-1)
    if length is None:
        labels = arg.tolist()
        length = labels.index(EOS) if EOS in labels else len(labels)
    return best[:length].exp().tolist()
