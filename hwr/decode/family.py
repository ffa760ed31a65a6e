"""What differs between the two model families, in one table.

A model's ``family`` attribute is ``"ctc"`` or ``"seq2seq"``. Everything that
depends on it at inference and in the trainer's running CER lives in one
:class:`Family` per family, in :data:`FAMILIES`:

* ``codec``: the label alphabet (CTC: blank 0; seq2seq: SOS/EOS), one
  :class:`~hwr.codec.Codec` instance shared by everything that encodes or
  decodes texts (training targets, evaluation, recognition);
* ``greedy``: the greedy decoder of the network's outputs
  (:func:`~hwr.decode.ctc.ctc_greedy`, :func:`~hwr.decode.seq2seq.seq2seq_greedy`);
* ``run``: a model call plus decoding into a :class:`Transcription`
  (what :func:`transcribe` dispatches to).

The training losses of the two families are in :mod:`hwr.training.losses`,
which reads its codec from here: training depends on decoding, never the
reverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from hwr.codec import Codec
from hwr.decode.attention_beam import seq2seq_beam
from hwr.decode.ctc import clip_lengths, ctc_beam, ctc_confidences, ctc_greedy
from hwr.decode.seq2seq import seq2seq_confidences, seq2seq_greedy, seq2seq_raw


@dataclass
class Transcription:
    """What :func:`transcribe` returns for a batch of B lines.

    Attributes:
        labels: per line, the decoded labels (no blank, no EOS).
        texts: per line, the decoded text.
        raw: seq2seq only, the argmax of every step run (legacy CER input).
        confidences: per line and character, when asked for.
        attention: seq2seq with ``attention=True``: B x S x N (or B x S x H' x W').
        log_probs: the network output (B x L x C or B x S x C), on the CPU.
        lengths: CTC only, frames per line.
    """

    labels: list[list[int]]
    texts: list[str]
    raw: list[list[int]] | None = None
    confidences: list[list[float]] | None = None
    attention: torch.Tensor | None = None
    log_probs: torch.Tensor | None = None
    lengths: list[int] | None = field(default=None)


@dataclass(frozen=True)
class Family:
    """One model family's codec, greedy decoder and model-to-text call.

    Attributes:
        name: ``"ctc"`` or ``"seq2seq"``.
        codec: the family's label alphabet.
        greedy: ``(log_probs B x L x C, lengths B or None) -> B label lists``;
            seq2seq ignores ``lengths`` (it cuts at the first EOS).
        run: ``(model, images, widths, beam, max_steps, stop_at_eos,
            confidences, attention) -> Transcription``.
    """

    name: str
    codec: Codec
    greedy: Callable
    run: Callable

    def read(self, log_probs, lengths=None) -> list[str]:
        """The greedy texts of a batch of network outputs (B x L x C -> B strings)."""
        return self.codec.decode_batch(self.greedy(log_probs, lengths))


def _run_ctc(model, images, widths, beam, max_steps, stop_at_eos, confidences, attention) -> Transcription:
    codec = FAMILIES["ctc"].codec
    lp = model(images).float().cpu()  # B x L x C
    if widths is None:
        widths = torch.full((images.size(0),), images.size(-1), dtype=torch.long)
    lengths = clip_lengths(model.output_width(widths.to(images.device)).cpu(), lp.size(0), lp.size(1))
    labels = ctc_beam(lp, lengths, beam=beam) if beam and beam > 1 else ctc_greedy(lp, lengths)
    conf = [ctc_confidences(lp[i, :n], labels[i]) for i, n in enumerate(lengths)] if confidences else None
    return Transcription(labels, codec.decode_batch(labels), None, conf, None, lp, lengths)


def _run_seq2seq(model, images, widths, beam, max_steps, stop_at_eos, confidences, attention) -> Transcription:
    codec = FAMILIES["seq2seq"].codec
    if beam and beam > 1:  # no raw step sequence (legacy CER) and no attention maps

        labels, conf = seq2seq_beam(model, images, beam=beam, max_steps=max_steps)
        return Transcription(labels, codec.decode_batch(labels), None, conf if confidences else None)
    out = model(images, max_steps=max_steps, stop_at_eos=stop_at_eos, return_attention=attention)
    lp, att = (out if isinstance(out, tuple) else (out, None))
    lp = lp.float().cpu()  # B x S x C
    labels = seq2seq_greedy(lp)
    conf = [seq2seq_confidences(lp[i], len(lab)) for i, lab in enumerate(labels)] if confidences else None
    att = att.float().cpu() if (attention and att is not None) else None
    return Transcription(labels, codec.decode_batch(labels), seq2seq_raw(lp), conf, att, lp, None)


FAMILIES: dict[str, Family] = {
    "ctc": Family("ctc", Codec("ctc"), ctc_greedy, _run_ctc),
    "seq2seq": Family("seq2seq", Codec("seq2seq"), lambda log_probs, lengths=None: seq2seq_greedy(log_probs),
                      _run_seq2seq),
}


def family_of(model_or_name) -> Family:
    """The :class:`Family` of a built model (its ``family`` attribute) or of a family name.

    Raises:
        ValueError: naming the model's class and the family it claims.
    """
    if isinstance(model_or_name, str):
        name, what = model_or_name, "family name"
    else:
        name, what = getattr(model_or_name, "family", None), f"model {type(model_or_name).__name__} has family"
    if name not in FAMILIES:
        raise ValueError(f"hwr.decode: {what} {name!r}; expected 'ctc' or 'seq2seq'")
    return FAMILIES[name]


@torch.no_grad()
def transcribe(
    model,
    images: torch.Tensor,
    widths: torch.Tensor | None = None,
    beam: int | None = None,
    max_steps: int = 98,
    stop_at_eos: bool = True,
    confidences: bool = False,
    attention: bool = False,
) -> Transcription:
    """Run ``model`` on a batch and decode it; the evaluator, the trainer's
    validation and ``hwr recognize`` all go through it.

    Args:
        model: a built model (``family`` "ctc" or "seq2seq"), in eval mode
            (the caller's business: the trainer restores its own mode).
        images: B x 1 x H x W on the model's device.
        widths: B unpadded widths (CTC: frames past ``output_width`` are
            ignored); None = the full width.
        beam: beam width; None or 1 = greedy. CTC: prefix beam search
            (:func:`~hwr.decode.ctc.ctc_beam`); seq2seq:
            :func:`~hwr.decode.attention_beam.seq2seq_beam`, which gives no
            ``raw`` steps and no attention.
        max_steps: seq2seq step limit (thesis 98).
        stop_at_eos: seq2seq: stop once every line emitted EOS; False runs all
            ``max_steps`` (exact legacy CER, thesis timing).
        confidences: also compute per-character confidences.
        attention: seq2seq: also return the attention maps.
    """
    return family_of(model).run(model, images, widths, beam, max_steps, stop_at_eos, confidences, attention)
