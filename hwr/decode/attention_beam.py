"""Beam search for the attention (seq2seq) models.

The thesis decodes greedily: each step feeds back its argmax. A beam search
keeps the ``beam`` most probable label prefixes instead (score: sum of the
log-probabilities of their symbols, no length normalisation), extends each
by every symbol, and stops when every kept prefix has emitted EOS or after
``max_steps``. With ``beam=1`` it is exactly the greedy decoder, which the
tests check against the model's own forward pass.

Each step is :meth:`hwr.models.decoder.AttentionDecoder.step`, the one the
greedy decoder runs, so the two cannot drift apart; the beam only reorders
the recurrent state between steps.
"""

from __future__ import annotations

import torch

from hwr.codec import EOS, SOS


@torch.no_grad()
def seq2seq_beam(model, images: torch.Tensor, beam: int = 5, max_steps: int = 98):
    """Beam search decoding of a seq2seq model.

    Args:
        model: a :class:`hwr.models.seq2seq.Seq2Seq` (``encode`` and
            ``decoder``), in eval mode.
        images: B x 1 x H x W.
        beam: prefixes kept per line.
        max_steps: step limit (thesis 98).

    Returns:
        ``(labels, confidences)``: per line the best labelling (no EOS) and,
        per symbol, its probability at the step it was emitted.
    """
    if beam < 1:
        raise ValueError(f"hwr.decode.attention_beam: beam must be >= 1, got {beam}")
    dec = model.decoder
    memory = model.encode(images)
    b, ch, hh, ww = memory.shape
    memory = memory.reshape(b, ch, hh * ww)
    k = beam
    keys, values = (x.repeat_interleave(k, 0) for x in dec.prepare(memory))  # BK x N x A, BK x N x C
    h, c = dec.initial_state(memory.repeat_interleave(k, 0))
    y = torch.full((b * k,), SOS, dtype=torch.long, device=memory.device)
    # Only the first copy of each line is alive at the start (the others are
    # identical and would fill the beam with duplicates).
    scores = memory.new_full((b, k), float("-inf"))
    scores[:, 0] = 0.0
    done = torch.zeros(b, k, dtype=torch.bool, device=memory.device)
    tokens = torch.zeros(b, k, 0, dtype=torch.long, device=memory.device)
    token_lp = memory.new_zeros(b, k, 0)
    for _ in range(max_steps):
        logits, h, c, _ = dec.step(keys, values, y, h, c)
        lp = torch.log_softmax(logits, dim=-1)
        v = lp.size(1)
        lp = lp.view(b, k, v)
        # A finished prefix only continues with EOS at no cost, so it keeps its score.
        frozen = torch.full((v,), float("-inf"), device=lp.device)
        frozen[EOS] = 0.0
        lp = torch.where(done[:, :, None], frozen, lp)
        cand = (scores[:, :, None] + lp).view(b, k * v)
        scores, idx = cand.topk(k, dim=1)
        parent, sym = idx // v, idx % v
        rows = (parent + torch.arange(b, device=lp.device)[:, None] * k).view(-1)
        h = h[rows]
        c = c[rows] if c is not None else None
        chosen = lp.gather(1, parent[:, :, None].expand(b, k, v)).gather(2, sym[:, :, None])
        tokens = torch.cat([tokens.gather(1, parent[:, :, None].expand_as(tokens)), sym[:, :, None]], 2)
        token_lp = torch.cat([token_lp.gather(1, parent[:, :, None].expand_as(token_lp)), chosen], 2)
        done = done.gather(1, parent) | (sym == EOS)
        y = sym.view(-1)
        # Scores only fall as prefixes grow: once every line's best prefix has
        # ended, no live prefix can overtake it.
        if bool(done[:, 0].all()):
            break
    labels, confidences = [], []
    for line, lps in zip(tokens[:, 0].tolist(), token_lp[:, 0].exp().tolist()):
        n = line.index(EOS) if EOS in line else len(line)
        labels.append(line[:n])
        confidences.append(lps[:n])
    return labels, confidences
