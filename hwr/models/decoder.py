"""Bahdanau (additive) attention decoder, thesis spec §6.

Bahdanau, Cho and Bengio, "Neural machine translation by jointly learning to
align and translate", ICLR 2015. Per step t, with memory E (B x C x N, N = W'
or H' x W') and keys U = conv1x1(E) computed once:

    v = Linear(h_{t-1});  e = conv1x1(tanh(U + v));  alpha = softmax_N(e)
    context = sum_n alpha_n E_n
    h_t = Cell([embedding(y_{t-1}); context], h_{t-1})
    logits_t = Linear(Dropout(h_t))

No padding mask (the thesis attends over every position). The next input is
the ground truth with probability ``teacher_forcing`` (one draw per step for
the whole batch) in training, else the argmax.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hwr.codec import EOS, NUM_CLASSES, SOS

CELLS = ("lstm", "gru")


class AttentionDecoder(nn.Module):
    """Greedy / teacher-forced attention decoder.

    Args:
        context: C, channels of the memory.
        hidden: recurrent state size (thesis 256).
        attention: A, size of the additive attention (thesis 256).
        embedding: size of the symbol embedding (thesis 64).
        cell: ``"lstm"`` or ``"gru"``.
        dropout: dropout before the output layer (thesis 0.15).
        query_dropout: dropout on v = Linear(h) (later thesis runs; default off).
        input_dropout: dropout on the cell input (later thesis runs; default off).
        classes: output symbols (81).
    """

    def __init__(
        self,
        context: int = 256,
        hidden: int = 256,
        attention: int = 256,
        embedding: int = 64,
        cell: str = "lstm",
        dropout: float = 0.15,
        query_dropout: float = 0.0,
        input_dropout: float = 0.0,
        classes: int = NUM_CLASSES,
    ):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"hwr.models.decoder: cell must be one of {CELLS}, got {cell!r}")
        self.cell_kind = cell
        self.hidden = hidden
        self.embed = nn.Embedding(classes, embedding)
        self.key = nn.Conv1d(context, attention, 1)  # U = key(E), once per line
        self.query = nn.Linear(hidden, attention)  # v = query(h_{t-1})
        self.score = nn.Conv1d(attention, 1, 1)  # e = score(tanh(U + v))
        cell_cls = nn.LSTMCell if cell == "lstm" else nn.GRUCell
        self.cell = cell_cls(embedding + context, hidden)
        self.dropout = nn.Dropout(dropout)
        self.query_dropout = nn.Dropout(query_dropout)
        self.input_dropout = nn.Dropout(input_dropout)
        self.out = nn.Linear(hidden, classes)

    def prepare(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-line constants: keys U = conv1x1(E) (B x N x A) and values E (B x N x C)."""
        keys = self.key(memory).transpose(1, 2).contiguous()  # computed once, not per step
        values = memory.transpose(1, 2).contiguous()
        return keys, values

    def initial_state(self, memory: torch.Tensor):
        """h0 (and c0 for an LSTM) = 0: (B x hidden, B x hidden or None)."""
        b = memory.size(0)
        h = memory.new_zeros(b, self.hidden)
        return h, (memory.new_zeros(b, self.hidden) if self.cell_kind == "lstm" else None)

    def step(self, keys, values, y, h, c):
        """One decoder step for R rows (beam search reuses it).

        Args:
            keys: R x N x A, values: R x N x C (from :meth:`prepare`).
            y: R previous symbols; h, c: R x hidden states (c None for a GRU).

        Returns:
            (logits R x classes, h, c, attention R x N).
        """
        v = self.query_dropout(self.query(h))  # R x A
        w_score = self.score.weight.view(1, -1)  # 1 x A
        e = F.linear(torch.tanh(keys + v[:, None, :]), w_score, self.score.bias)  # R x N x 1
        alpha = torch.softmax(e.squeeze(2), dim=1)  # R x N
        context = torch.bmm(alpha[:, None, :], values).squeeze(1)  # R x C
        x = self.input_dropout(torch.cat([self.embed(y), context], dim=1))
        if c is None:
            h = self.cell(x, h)
        else:
            h, c = self.cell(x, (h, c))
        return self.out(self.dropout(h)), h, c, alpha

    def forward(
        self,
        memory: torch.Tensor,
        targets: torch.Tensor | None = None,
        teacher_forcing: float = 0.8,
        max_steps: int = 98,
        stop_at_eos: bool = True,
        return_attention: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decode.

        Args:
            memory: B x C x N.
            targets: B x T labels (text + EOS, EOS-padded) or None. When given,
                the decoder runs exactly T steps; in training mode the input
                of step t+1 is ``targets[:, t]`` with probability
                ``teacher_forcing`` (one draw per step), else the argmax; in
                eval mode always the argmax (so a validation loss can be taken).
            teacher_forcing: probability of feeding the ground truth (training).
            max_steps: step limit without targets (thesis 98).
            stop_at_eos: without targets, stop once every line has emitted
                EOS; False runs all ``max_steps`` (the thesis's timing).
            return_attention: also return the attention weights.

        Returns:
            (log_probs B x S x classes, attention B x S x N or None).
        """
        b = memory.size(0)
        keys, values = self.prepare(memory)
        if targets is not None:
            steps = targets.size(1)
            ratio = teacher_forcing if self.training else 0.0
            # One draw per step for the whole batch, all drawn up front (one RNG call).
            forced = (torch.rand(steps) < ratio).tolist() if ratio > 0 else [False] * steps
            stop = False
        else:
            steps, forced, stop = max_steps, [False] * max_steps, stop_at_eos
        h, c = self.initial_state(memory)
        y = torch.full((b,), SOS, dtype=torch.long, device=memory.device)
        done = torch.zeros(b, dtype=torch.bool, device=memory.device)
        logits, alphas = [], []
        for t in range(steps):
            z, h, c, alpha = self.step(keys, values, y, h, c)
            logits.append(z)
            if return_attention:
                alphas.append(alpha)
            y = targets[:, t] if forced[t] else z.argmax(dim=1)
            if stop:
                done |= y == EOS
                if bool(done.all()):
                    break
        log_probs = torch.log_softmax(torch.stack(logits, dim=1), dim=-1)
        attention = torch.stack(alphas, dim=1) if return_attention else None
        return log_probs, attention
