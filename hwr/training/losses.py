"""Training losses of the two model families and one training step.

Seq2seq (thesis spec §9): per-position negative log-likelihood over the text
plus EOS, averaged per line, then over the batch. The decoder runs only as
many steps as the longest target of the batch (not the 98 of evaluation).

CTC: ``nn.CTCLoss`` with blank 0 and ``zero_infinity=True`` (a line too long
for its frames contributes nothing instead of an infinite loss); the input
length of each line is ``model.output_width(widths)``, so the padding frames
of a batch are not scored. A CTC model with a ``shortcut_weight``
(:mod:`hwr.models.crnn`) adds its shortcut head's CTC loss, so weighted,
while training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hwr.codec import EOS, UnknownCharacterError
from hwr.decode import family_of


def encode_texts(texts: list[str], family: str, ids: list[str] | None = None) -> list[list[int]]:
    """Label sequences for ``texts`` (seq2seq ones end with EOS).

    Raises:
        UnknownCharacterError: naming the line id whose text is outside the alphabet.
    """
    codec = family_of(family).codec
    out = []
    for i, text in enumerate(texts):
        try:
            out.append(codec.encode(text))
        except UnknownCharacterError as e:
            where = f"line {ids[i]!r}" if ids else f"line {i} of the batch"
            raise UnknownCharacterError(f"{where}: {e} (normalise the dataset's texts)") from None
    return out


def seq2seq_targets(texts: list[str], pad_to: int | None = None, ids=None) -> tuple[torch.Tensor, torch.Tensor]:
    """EOS-padded targets B x T and their lengths B (text + EOS).

    Args:
        texts: B transcriptions.
        pad_to: pad to this many steps (e.g. 98); default: the longest target.
    """
    labels = encode_texts(texts, "seq2seq", ids)
    lengths = torch.tensor([len(x) for x in labels], dtype=torch.long)
    steps = int(lengths.max()) if pad_to is None else pad_to
    if steps < int(lengths.max()):
        raise ValueError(f"pad_to={pad_to} is shorter than the longest target ({int(lengths.max())} steps)")
    targets = torch.full((len(labels), steps), EOS, dtype=torch.long)
    for i, x in enumerate(labels):
        targets[i, : len(x)] = torch.tensor(x, dtype=torch.long)
    return targets, lengths


def seq2seq_loss(log_probs: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Masked NLL: mean over the first ``lengths[b]`` steps of each line, then over lines.

    Args:
        log_probs: B x S x C log-softmax outputs, S >= max(lengths).
        targets: B x T labels (T >= max(lengths)).
        lengths: B target lengths (text + EOS).
    """
    steps = int(lengths.max())
    if log_probs.shape[1] < steps:
        raise ValueError(f"the decoder ran {log_probs.shape[1]} steps, the targets need {steps}")
    lengths = lengths.to(log_probs.device)
    lp = log_probs[:, :steps]
    nll = -lp.gather(2, targets[:, :steps].to(log_probs.device).unsqueeze(2)).squeeze(2)  # B x S
    mask = torch.arange(steps, device=log_probs.device)[None, :] < lengths[:, None]
    return ((nll * mask).sum(1) / lengths).mean()


def ctc_loss(log_probs: torch.Tensor, frames: torch.Tensor, texts: list[str], ids=None) -> torch.Tensor:
    """CTC loss (blank 0, zero_infinity, mean over lines of loss / target length).

    Args:
        log_probs: B x L x C log-softmax outputs.
        frames: B valid frames per line (``model.output_width(widths)``).
        texts: B transcriptions.
    """
    labels = encode_texts(texts, "ctc", ids)
    target_lengths = torch.tensor([len(x) for x in labels], dtype=torch.long)
    flat = torch.tensor([c for x in labels for c in x], dtype=torch.long)
    frames = frames.to("cpu").clamp(1, log_probs.shape[1])
    return F.ctc_loss(log_probs.transpose(0, 1), flat, frames, target_lengths,
                      blank=0, reduction="mean", zero_infinity=True)


def batch_loss(model, batch, device, teacher_forcing: float = 0.8, target_steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward one batch and its loss.

    Args:
        model: a built model (``family`` "seq2seq" or "ctc"), or a wrapper
            with it as ``module`` (DistributedDataParallel).
        batch: :class:`hwr.preprocess.Batch` (images B x 1 x H x W, widths B, texts, ids).
        target_steps: seq2seq only, pad targets to this many decoder steps
            (the naive benchmark uses 98); default: the longest target.

    Returns:
        (loss scalar, log_probs B x S x C, frames B: valid output positions per
        line, for CTC decoding; for seq2seq the target lengths).
    """
    # B x 1 x H x W is channels-last and contiguous at once: the weights'
    # layout (hwr.models.build) decides the format, the input needs none.
    images = batch.images.to(device, non_blocking=True)
    inner = getattr(model, "module", model)  # the model inside a DistributedDataParallel wrapper
    family = family_of(inner).name
    if family == "seq2seq":
        targets, lengths = seq2seq_targets(batch.texts, target_steps, batch.ids)
        log_probs = model(images, targets=targets.to(device), teacher_forcing=teacher_forcing)
        return seq2seq_loss(log_probs, targets, lengths), log_probs, lengths
    weight = getattr(inner, "shortcut_weight", 0.0) if model.training else 0.0
    if weight:  # ctc with an auxiliary CTC shortcut head (hwr.models.crnn): trained beside, dropped at inference
        log_probs, shortcut = model(images, shortcut=True)
    else:
        log_probs = model(images)  # ctc
    frames = inner.output_width(batch.widths).clamp(1, log_probs.shape[1])
    loss = ctc_loss(log_probs, frames, batch.texts, batch.ids)
    if weight:
        loss = loss + weight * ctc_loss(shortcut, frames, batch.texts, batch.ids)
    return loss, log_probs, frames


class AuxCTC(torch.nn.Module):
    """A training-only CTC head on a seq2seq model's memory (joint CTC-attention).

    Kim, Hori and Watanabe (2017) add a CTC loss on the encoder's output to
    the attention loss: every memory column must then say which character
    it shows, which gives the attention something to align with early in
    training. The head is a 1 x 1 convolution from the memory's channels to
    the 81 classes, applied to the memory before positional encoding (for a
    2D model, averaged over its rows first). It belongs to the training run,
    not to the model: the model's state dict, its parameter count and its
    inference are exactly the thesis architecture's, and the head's weights
    are kept in the run's checkpoints only so that a resumed run continues
    with them.

    Args:
        model: a built seq2seq model (:class:`hwr.models.seq2seq.Seq2Seq`).
        weight: the CTC loss's weight beside the attention loss.
    """

    def __init__(self, model, weight: float):
        super().__init__()
        if family_of(model).name != "seq2seq":
            raise ValueError(f"aux_ctc: an auxiliary CTC head needs a seq2seq model, not a "
                             f"{family_of(model).name} one ({getattr(model, 'experiment', '')})")
        cfg = model.config
        channels = 2 * cfg.encoder_hidden if cfg.encoder_hidden else cfg.backbone_out
        self.model, self.weight = model, float(weight)
        self.head = torch.nn.Conv1d(channels, family_of("ctc").codec.num_classes, 1)
        self.last_loss, self.last_infeasible = 0.0, 0

    def batch_loss(self, batch, device, teacher_forcing: float = 0.8, target_steps: int | None = None):
        """:func:`batch_loss` of the model plus ``weight`` x the head's CTC loss.

        Lines whose label needs more frames than the memory has columns
        (CTC needs one frame per character and one more between repeated
        characters) cannot be scored by CTC: they add no auxiliary loss, and
        their count is kept in :attr:`last_infeasible` (the history's
        ``aux_infeasible`` column), rather than hidden by ``zero_infinity``.
        """
        images = batch.images.to(device, non_blocking=True)
        targets, lengths = seq2seq_targets(batch.texts, target_steps, batch.ids)
        m = self.model
        features = m.features(m.pad(images))  # B x C x H' x W', before positional encoding
        memory = m.posenc(features) if m.posenc is not None else features
        b, c, h, w = memory.shape
        log_probs, _ = m.decoder(memory.reshape(b, c, h * w), targets.to(device), teacher_forcing)
        loss = seq2seq_loss(log_probs, targets, lengths)
        columns = features.mean(2) if h > 1 else features[:, :, 0]  # B x C x W'
        ctc_lp = self.head(columns).transpose(1, 2).log_softmax(-1)  # B x W' x 81
        frames = m.output_width(batch.widths).clamp(1, ctc_lp.shape[1])
        labels = encode_texts(batch.texts, "ctc", batch.ids)
        need = torch.tensor([len(x) + sum(a == b for a, b in zip(x, x[1:])) for x in labels])
        ok = need <= frames.cpu()
        self.last_infeasible = int((~ok).sum())
        if ok.any():
            keep = ok.nonzero().flatten().tolist()
            aux = ctc_loss(ctc_lp[keep], frames[keep], [batch.texts[i] for i in keep])
            # mean over the feasible lines, scaled to a mean over the batch
            aux = aux * (len(keep) / len(labels))
        else:
            aux = ctc_lp.sum() * 0.0
        self.last_loss = float(aux.detach())
        return loss + self.weight * aux, log_probs, lengths
