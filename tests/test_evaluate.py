"""hwr.evaluation: the one evaluation loop, on stand-in and tiny real models."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from data_fixtures import write_gt_txt
from hwr import metrics
from hwr.codec import EOS, Codec
from hwr.evaluation import evaluate, read_predictions
from hwr.preprocess import Batch


class ColumnCTC(nn.Module):
    """Stand-in CTC model: frame t is one-hot on class round(100 * pixel[0, t])."""

    family = "ctc"
    input_height = 4

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def output_width(self, widths):
        return torch.as_tensor(widths)

    def forward(self, images):
        labels = (images[:, 0, 0, :] * 100).round().long()  # B x W
        return torch.log_softmax(torch.nn.functional.one_hot(labels, 81).float() * 20, -1)


class ColumnSeq2Seq(ColumnCTC):
    """Stand-in seq2seq model: step t emits round(100 * pixel[0, t]); records its call arguments."""

    family = "seq2seq"

    def __init__(self):
        super().__init__()
        self.calls = []

    def forward(self, images, max_steps=98, stop_at_eos=True, return_attention=False):
        self.calls.append({"max_steps": max_steps, "stop_at_eos": stop_at_eos})
        lp = super().forward(images)[:, :max_steps]
        if stop_at_eos:  # stop after the step where every line has emitted EOS
            ended = (lp.argmax(-1) == EOS).cumsum(1) > 0
            last = int(ended.all(0).float().argmax()) if bool(ended.all(0).any()) else lp.size(1) - 1
            lp = lp[:, : last + 1]
        return (lp, None) if return_attention else lp


def column_batch(rows, texts, ids):
    """A Batch whose image columns encode the label sequences ``rows``."""
    width = max(len(r) for r in rows)
    images = torch.zeros(len(rows), 1, 4, width)
    for b, r in enumerate(rows):
        images[b, 0, :, : len(r)] = torch.tensor(r, dtype=torch.float32) / 100
    return Batch(images, torch.tensor([len(r) for r in rows]), list(texts), list(ids))


def loader_of(batches):
    return torch.utils.data.DataLoader(batches, batch_size=None, collate_fn=lambda b: b)


def ctc_rows(text):
    """Labels with a blank between symbols, so the greedy decoding gives text back."""
    out = []
    for k in Codec("ctc").encode(text):
        out += [k, 0]
    return out


def test_ctc_predictions_and_metrics(tmp_path):
    hyps = ["hello world", "an apple", "cat"]
    refs = ["hello world", "an appel", "dog"]
    batches = [column_batch([ctc_rows(h) for h in hyps[:2]], refs[:2], ["a", "b"]),
               column_batch([ctc_rows(hyps[2])], refs[2:], ["c"])]
    model = ColumnCTC().train()
    m, preds = evaluate(model, loader_of(batches), progress=False,
                        out=[tmp_path / "p.csv", tmp_path / "p.jsonl"])
    assert model.training  # mode restored
    assert [p["hypothesis"] for p in preds] == hyps
    assert [p["id"] for p in preds] == ["a", "b", "c"]
    assert [p["distance"] for p in preds] == [metrics.edit_distance(r, h) for r, h in zip(refs, hyps)]
    assert m["cer"] == pytest.approx(metrics.cer(refs, hyps))
    assert m["wer"] == pytest.approx(metrics.wer(refs, hyps))
    assert m["lines"] == 3 and m["skipped"] == 0 and "legacy_cer" not in m
    assert m["decoding"] == "greedy" and m["seconds"] > 0
    assert read_predictions(tmp_path / "p.csv") == preds
    assert read_predictions(tmp_path / "p.jsonl") == preds
    m_beam, preds_beam = evaluate(model, loader_of(batches), beam=10, progress=False, max_lines=2)
    assert m_beam["decoding"] == "beam10" and m_beam["lines"] == 2
    assert [p["hypothesis"] for p in preds_beam] == hyps[:2]


def test_seq2seq_legacy_cer_uses_every_step():
    codec = Codec("seq2seq")
    refs = ["abcdef", "xy"]
    # line 0 stops too early and emits garbage after its EOS: the legacy CER
    # must see that garbage (it scores len(ref) + 1 raw steps)
    rows = [codec.encode("abc") + [40, 41, 42, 43], codec.encode("xy") + [EOS] * 4]
    batch = column_batch(rows, refs, ["0", "1"])
    model = ColumnSeq2Seq().eval()
    m, preds = evaluate(model, loader_of([batch]), progress=False)
    assert [p["hypothesis"] for p in preds] == ["abc", "xy"]
    assert model.calls[-1] == {"max_steps": 98, "stop_at_eos": False}
    assert m["legacy_cer"] == pytest.approx(metrics.legacy_cer(refs, rows))
    assert m["cer"] == pytest.approx(metrics.cer(refs, ["abc", "xy"]))
    m2, _ = evaluate(model, loader_of([batch]), progress=False, legacy=False)
    assert model.calls[-1]["stop_at_eos"] is True and "legacy_cer" not in m2
    assert m2["cer"] == m["cer"]


def tiny_lines(n=3):
    from hwr.datasets import LineItem, MemoryDataset

    rng = np.random.default_rng(0)
    texts = ["a b", "cd", "efg h"][:n]
    items = [LineItem(f"l{i}", (rng.random((24, 60 + 20 * i)) * 255).astype(np.uint8), t) for i, t in enumerate(texts)]
    return MemoryDataset(items)


@pytest.mark.parametrize("name", ["ctc_baseline", "light_in"])
def test_tiny_real_model_on_a_dataset(name):
    from hwr.models import build

    torch.manual_seed(0)
    model = build(name)
    data = tiny_lines()
    m, preds = evaluate(model, data, batch_size=2, progress=False, max_steps=12)
    assert m["lines"] == 3 and [p["id"] for p in preds] == ["l0", "l1", "l2"]
    assert [p["reference"] for p in preds] == data.texts
    dist = sum(p["distance"] for p in preds)
    assert m["cer"] == pytest.approx(dist / sum(len(t) for t in data.texts))
    assert ("legacy_cer" in m) == (model.family == "seq2seq")
    m2, _ = evaluate(model, data, batch_size=2, progress=False, max_lines=1, fixed_width=200, max_steps=12)
    assert m2["lines"] == 1
    m3, preds3 = evaluate(model, data, batch_size=3, progress=False, beam=3, max_steps=12)
    assert m3["decoding"] == "beam3" and "legacy_cer" not in m3 and len(preds3) == 3


def test_eval_command(tmp_path, capsys):
    from hwr.cli import main
    from hwr.models import build

    rng = np.random.default_rng(0)
    write_gt_txt(tmp_path / "data", {"test": [(f"x{i}", text, (rng.random((20, 50)) * 255).astype(np.uint8))
                                              for i, text in enumerate(["ab c", "de"])]})
    torch.manual_seed(0)
    model = build("ctc_baseline")
    ckpt = tmp_path / "m.pt"
    torch.save({"model": model.state_dict(), "experiment": "ctc_baseline", "overrides": {}}, ckpt)
    rc = main(["eval", "--model", str(ckpt), "--data", str(tmp_path / "data"), "--split", "test",
               "--out", str(tmp_path / "out"), "--beam", "10", "--fixed-width", "thesis", "--quiet", "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0 and "CER" in out and "WER" in out
    rows = read_predictions(tmp_path / "out" / "predictions.csv")
    assert [r["reference"] for r in rows] == ["ab c", "de"]
    info = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert info["lines"] == 2 and info["fixed_width"] == 1408 and info["decoding"] == "beam10"
    assert main(["eval", "--model", str(tmp_path / "missing.pt"), "--data", str(tmp_path / "data")]) == 2


def test_references_changed_by_normalisation_are_counted_and_reported(tmp_path, capsys):
    from hwr.cli import main
    from hwr.models import build

    rng = np.random.default_rng(0)
    texts = ["caf\u00e9 \u201cab\u201d", "de \u2014 f", "ok \U0001F600", "plain"]  # é, quotes, dash mapped; emoji removed
    write_gt_txt(tmp_path / "data", {"test": [(f"x{i}", t, (rng.random((20, 50)) * 255).astype(np.uint8))
                                              for i, t in enumerate(texts)]})
    torch.manual_seed(0)
    ckpt = tmp_path / "m.pt"
    torch.save({"model": build("ctc_baseline").state_dict(), "experiment": "ctc_baseline", "overrides": {}}, ckpt)
    rc = main(["eval", "--model", str(ckpt), "--data", str(tmp_path / "data"), "--split", "test", "--unknown", "skip",
               "--out", str(tmp_path / "out"), "--quiet", "--device", "cpu"])
    out = capsys.readouterr().out
    assert rc == 0 and "3 references differ from their files after normalisation" in out
    info = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert info["references_changed"] == 3
    assert info["normalisation"]["removed"] == {"\U0001F600": 1}
    assert set(info["normalisation"]["mapped"]) == {"\u00e9", "\u201c", "\u201d", "\u2014"}
