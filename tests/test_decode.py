"""CTC and seq2seq decoding on hand-made posteriors (the hwr.decode package)."""

import itertools
import math
import warnings

import numpy as np
import pytest
import torch

from hwr import decode
from hwr.codec import EOS


def logp(rows):
    """Rows of probabilities (T x C) -> log-probabilities, float32."""
    return np.log(np.asarray(rows, dtype=np.float64)).astype(np.float32)


def best_labelling(lp: np.ndarray) -> list[int]:
    """Exhaustive search: sum every path's probability per labelling."""
    scores: dict = {}
    t_len, c = lp.shape
    for path in itertools.product(range(c), repeat=t_len):
        lab, prev = [], None
        for k in path:
            if k != prev and k != 0:
                lab.append(k)
            prev = k
        s = float(sum(lp[t, k] for t, k in enumerate(path)))
        scores[tuple(lab)] = np.logaddexp(scores.get(tuple(lab), -np.inf), s)
    return list(max(scores, key=scores.get))


def random_posteriors(rng, t_max=6, c_max=4):
    t, c = int(rng.integers(1, t_max + 1)), int(rng.integers(2, c_max + 1))
    x = rng.normal(size=(t, c)) * rng.uniform(0.5, 3.0)
    return torch.log_softmax(torch.tensor(x), -1).numpy().astype(np.float32)


B, A, Z = [0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]  # blank, "a"=1, "b"=2


def test_greedy_collapses_repeats_and_drops_blanks():
    lp = logp([A, A, B, A, Z, Z, B, B])[None]
    assert decode.ctc_greedy(lp) == [[1, 1, 2]]
    # probabilities, numpy or torch: only the argmax matters
    assert decode.ctc_greedy(torch.tensor(lp)) == [[1, 1, 2]]
    assert decode.ctc_greedy(np.exp(lp)) == [[1, 1, 2]]


def test_greedy_respects_lengths_per_line():
    lp = np.stack([logp([A, B, Z, Z]), logp([Z, A, A, Z])])
    assert decode.ctc_greedy(lp, lengths=[2, 3]) == [[1], [2, 1]]
    assert decode.ctc_greedy(lp, lengths=torch.tensor([0, 4])) == [[], [2, 1, 2]]
    with pytest.raises(ValueError, match="lengths"):
        decode.ctc_greedy(lp, lengths=[1])


def test_beam_beats_greedy_on_the_classic_example():
    # Best path: blank, blank (0.36). Best labelling: "a" = aa + a_ + _a = 0.64.
    lp = logp([[0.6, 0.4], [0.6, 0.4]])[None]
    assert decode.ctc_greedy(lp) == [[]]
    assert decode.prefix_beam_search(lp[0], beam=10) == [1]
    assert decode.ctc_beam(lp, beam=10, backend="python") == [[1]]
    if decode.has_fast_beam():
        assert decode.ctc_beam(lp, beam=10, backend="fast", cut=0.0) == [[1]]


def test_reference_beam_search_finds_the_best_labelling():
    rng = np.random.default_rng(1)
    for _ in range(60):
        lp = random_posteriors(rng)
        assert decode.prefix_beam_search(lp, beam=100) == best_labelling(lp)


def test_beam_of_one_line_per_length():
    lp = np.stack([logp([A, B, Z]), logp([Z, Z, A])])
    assert decode.ctc_beam(lp, lengths=[1, 3], backend="python") == [[1], [2, 1]]


@pytest.mark.skipif(not decode.has_fast_beam(), reason="fast-ctc-decode not installed")
def test_fast_package_matches_our_reference():
    rng = np.random.default_rng(0)
    for _ in range(150):
        lp = random_posteriors(rng)
        ours = decode.prefix_beam_search(lp, beam=10)
        assert decode.ctc_beam(lp[None], beam=10, backend="fast", cut=0.0) == [ours]
    # with the default cut, on peaked (trained-like) posteriors of the full alphabet
    x = rng.normal(size=(4, 60, 81))
    idx = rng.integers(0, 81, size=(4, 60))
    idx[rng.random((4, 60)) < 0.6] = 0
    x[np.arange(4)[:, None], np.arange(60)[None], idx] += 8
    lp = torch.log_softmax(torch.tensor(x, dtype=torch.float32), -1)
    fast = decode.ctc_beam(lp, beam=10, backend="fast")
    assert fast == [decode.prefix_beam_search(row, beam=10, cut=1e-3) for row in lp]
    assert fast == decode.ctc_beam(lp, beam=10, backend="fast", cut=0.0)


def test_missing_package_falls_back_with_a_warning(monkeypatch):
    monkeypatch.setattr(decode.ctc, "_fast", None)
    lp = logp([[0.6, 0.4], [0.6, 0.4]])[None]
    with pytest.warns(UserWarning, match="fast-ctc-decode"):
        assert decode.ctc_beam(lp) == [[1]]
    with pytest.raises(ImportError, match="fast-ctc-decode"):
        decode.ctc_beam(lp, backend="fast")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decode.ctc_beam(lp, backend="python") == [[1]]


def test_beam_arguments_are_checked():
    lp = logp([A, B])[None]
    with pytest.raises(ValueError, match="cut"):
        decode.ctc_beam(lp, cut=0.5)
    with pytest.raises(ValueError, match="backend"):
        decode.ctc_beam(lp, backend="gpu")
    with pytest.raises(ValueError, match="beam"):
        decode.prefix_beam_search(lp[0], beam=0)


def test_alignment_and_ctc_confidences():
    lp = logp([B, A, A, B, A, Z, Z, B])
    labels = decode.ctc_greedy(lp[None])[0]
    assert labels == [1, 1, 2]
    assert decode.ctc_alignment(lp, labels) == [(1, 3), (4, 5), (5, 7)]
    assert decode.ctc_confidences(lp, labels) == pytest.approx([0.9, 0.9, 0.9], abs=1e-6)
    assert decode.ctc_alignment(lp, []) == []
    with pytest.raises(ValueError, match="no path"):
        decode.ctc_alignment(lp[:3], [1, 1, 2, 2])  # needs 5 frames (blank between the 1s)


def test_seq2seq_greedy_cuts_at_eos_and_raw_keeps_every_step():
    c = 81
    lp = torch.full((2, 5, c), -10.0)
    steps = [[30, 31, EOS, 40, 41], [29, 29, 29, 29, 29]]  # second line never ends
    for b, row in enumerate(steps):
        for t, k in enumerate(row):
            lp[b, t, k] = -0.1
    assert decode.seq2seq_greedy(lp) == [[30, 31], [29] * 5]
    assert decode.seq2seq_raw(lp) == steps
    conf = decode.seq2seq_confidences(lp[0])
    assert len(conf) == 2 and conf[0] == pytest.approx(math.exp(-0.1))
    assert len(decode.seq2seq_confidences(lp[1])) == 5


@pytest.mark.parametrize("name", ["light_in", "light_gru"])
def test_attention_beam_of_one_is_greedy_and_wider_beams_score_higher(name):
    from hwr.decode import seq2seq_beam
    from hwr.models import build

    torch.manual_seed(0)
    model = build(name).eval()
    images = torch.rand(2, 1, 64, 120)
    with torch.no_grad():
        greedy = decode.seq2seq_greedy(model(images, max_steps=8, stop_at_eos=False))
    labels1, conf1 = seq2seq_beam(model, images, beam=1, max_steps=8)
    assert labels1 == greedy and [len(c) for c in conf1] == [len(g) for g in greedy]

    def score(line, i):  # log-probability of a labelling (+ EOS when it ended) under the decoder
        dec, mem = model.decoder, model.encode(images[i : i + 1]).flatten(2)
        keys, values = dec.prepare(mem)
        h, c = dec.initial_state(mem)
        y, total = torch.tensor([0]), 0.0
        for sym in (line + [EOS])[:8]:
            logits, h, c, _ = dec.step(keys, values, y, h, c)
            total += float(torch.log_softmax(logits, -1)[0, sym])
            y = torch.tensor([sym])
        return total

    labels5, _ = seq2seq_beam(model, images, beam=5, max_steps=8)
    with torch.no_grad():
        for i in range(2):
            assert score(labels5[i], i) >= score(greedy[i], i) - 1e-4


def test_family_table_is_the_one_home_of_codec_and_greedy_decoder():
    from hwr.training import losses
    from hwr.training.epoch import train_errors

    ctc, s2s = decode.family_of("ctc"), decode.family_of("seq2seq")
    assert ctc.codec.kind == "ctc" and s2s.codec.kind == "seq2seq"
    assert not hasattr(losses, "_CODECS")  # training encodes with the table's codecs
    # CTC: greedy reads "a" (frames a a blank) then nothing past the length.
    a = ctc.codec.encode("ab")
    lp = torch.full((1, 4, 81), -10.0)
    for t, k in enumerate([a[0], a[0], 0, a[1]]):
        lp[0, t, k] = -0.01
    assert ctc.read(lp, [3]) == ["a"] and ctc.read(lp) == ["ab"]
    assert train_errors("ctc", lp, [3], ["ab"]) == (1, 2)
    # seq2seq: lengths are ignored, the text stops at EOS.
    b = s2s.codec.encode("ba")  # b, a, EOS
    lp = torch.full((1, 4, 81), -10.0)
    for t, k in enumerate(b + [b[0]]):
        lp[0, t, k] = -0.01
    assert s2s.read(lp, [1]) == ["ba"]
    assert train_errors("seq2seq", lp, None, ["ba"]) == (0, 2)


def test_family_of_names_the_model_and_its_claim():
    with pytest.raises(ValueError, match="model Linear has family None"):
        decode.family_of(torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match="family name 'rnn'"):
        decode.family_of("rnn")
