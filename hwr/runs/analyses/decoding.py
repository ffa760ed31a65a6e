"""Decoding analyses: CTC beam search and attention beam search at several widths, step limits."""

from __future__ import annotations

import time

import torch

from hwr.codec import EOS
from hwr.decode import transcribe
from hwr.decode.ctc import clip_lengths, ctc_beam, ctc_greedy, has_fast_beam
from hwr.decode.family import FAMILIES
from hwr.runs.analyses.core import _loader, _scores, analyses, test_lines
from hwr.runs.store import RunRecord


@analyses("ctc_decoding")
def ctc_decoding(model, rec: RunRecord, widths=(1, 2, 5, 10, 20, 50), keep: int = 10, batch_size: int = 16) -> dict:
    """Greedy against prefix beam search of a CTC model on the test lines.

    The network runs once (its time per line is ``network_s``); each decoder
    then decodes the same posteriors, so its ``seconds_per_line`` is the
    decoder's alone.

    Returns:
        ``{network_s, lines, backend, decoders: [{decoder, width, cer, wer,
        seconds_per_line}], lines_table: [{id, reference, greedy, beam}]}``
        with the beam of width ``keep`` in ``lines_table``.
    """
    codec = FAMILIES["ctc"].codec
    lines = test_lines(rec)
    posteriors, refs, ids = [], [], []
    network = 0.0
    with torch.no_grad():
        for batch in _loader(model, lines, batch_size):
            t = time.perf_counter()
            lp = model(batch.images).float()
            network += time.perf_counter() - t
            lengths = clip_lengths(model.output_width(batch.widths), lp.shape[0], lp.shape[1])
            posteriors += [lp[i, :lengths[i]].numpy() for i in range(len(lengths))]
            refs += list(batch.texts)
            ids += list(batch.ids)
    decoders, hyps_by = [], {}
    for label, width in [("greedy", 1)] + [("beam", w) for w in widths]:
        t = time.perf_counter()
        if label == "greedy":
            labels = [ctc_greedy(p[None])[0] for p in posteriors]
        else:
            labels = [ctc_beam(p[None], beam=width)[0] for p in posteriors]
        seconds = (time.perf_counter() - t) / max(1, len(posteriors))
        hyps = [codec.decode(lab) for lab in labels]
        hyps_by[(label, width)] = hyps
        decoders.append({"decoder": label, "width": width, **_scores(refs, hyps), "seconds_per_line": seconds})
    beam = hyps_by.get(("beam", keep), hyps_by[("greedy", 1)])
    return {"network_s": network / max(1, len(refs)), "lines": len(refs),
            "backend": "fast-ctc-decode" if has_fast_beam() else "python",
            "decoders": decoders,
            "lines_table": [{"id": i, "reference": r, "greedy": g, "beam": b}
                            for i, r, g, b in zip(ids, refs, hyps_by[("greedy", 1)], beam)]}


@analyses("seq2seq_decoding")
def seq2seq_decoding(model, rec: RunRecord, widths=(2, 5), n: int | None = None, batch_size: int = 16,
                     max_steps: int = 98) -> dict:
    """Greedy against attention beam search of a seq2seq model, and how often
    greedy decoding never emits EOS (it then runs to ``max_steps``).

    Returns:
        ``{lines, no_eos, decoders: [{decoder, width, cer, wer,
        seconds_per_line}], no_eos_ids, lines_table: [{id, reference,
        greedy, beam_<w>...}]}`` (``no_eos``: share of test lines).
    """
    lines = test_lines(rec, n)
    decoders, no_eos_ids, table = [], [], {}
    for label, width in [("greedy", 1)] + [("beam", w) for w in widths]:
        refs, hyps, ids, seconds = [], [], [], 0.0
        with torch.no_grad():
            for batch in _loader(model, lines, batch_size):
                t = time.perf_counter()
                out = transcribe(model, batch.images, batch.widths, beam=None if label == "greedy" else width,
                                 max_steps=max_steps)
                seconds += time.perf_counter() - t
                refs += list(batch.texts)
                hyps += out.texts
                ids += [str(i) for i in batch.ids]
                if label == "greedy":
                    no_eos_ids += [i for i, raw in zip(batch.ids, out.raw) if EOS not in raw]
        decoders.append({"decoder": label, "width": width, **_scores(refs, hyps),
                         "seconds_per_line": seconds / max(1, len(refs))})
        key = "greedy" if label == "greedy" else f"beam_{width}"
        for i, r, h in zip(ids, refs, hyps):
            table.setdefault(i, {"id": i, "reference": r})[key] = h
    return {"lines": len(lines), "no_eos": len(no_eos_ids) / max(1, len(lines)), "no_eos_ids": no_eos_ids,
            "decoders": decoders, "lines_table": list(table.values())}
