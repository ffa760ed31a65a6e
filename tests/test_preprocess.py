"""Preprocessing, collation, bucketing and the loader's handling of bad lines."""

import logging

import numpy as np
import pytest
import torch

from data_fixtures import line_image, write_gt_txt
from hwr.datasets import LineItem, MemoryDataset, open_dataset
from hwr.datasets.sampler import BucketBatchSampler, padding_fraction
from hwr.preprocess import BadItem, Batch, collate, make_loader, prepare, prepared_width


def test_prepare_shape_and_range():
    img = np.full((32, 100), 255, np.uint8)
    img[10:20, 40:60] = 0
    out = prepare(img)
    # padded: 32 + 32 = 64 high, 100 + 64 = 164 wide; scale 64 / 64 = 1
    assert out.shape == (64, 164) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0
    # white padding: the 16 top rows and 32 left columns stay 1.0
    assert np.all(out[:16] == 1.0) and np.all(out[:, :32] == 1.0)
    assert np.all(out[16 + 10 : 16 + 20, 32 + 41 : 32 + 59] == 0.0)


def test_prepare_keeps_aspect():
    # 96 x 286 -> padded 128 x 350 -> height 64: width 350 / 2 = 175
    out = prepare(np.full((96, 286), 200, np.uint8))
    assert out.shape == (64, 175) == (64, prepared_width(96, 286))
    assert prepare(np.full((96, 286), 200, np.uint8), height=128).shape == (128, 350)
    assert np.allclose(out[32, 87], 200 / 255)


def test_prepare_rejects_bad_input():
    with pytest.raises(ValueError, match="empty"):
        prepare(np.zeros((0, 5), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        prepare(np.zeros((5, 5), np.float32))
    assert prepare(np.full((4, 4, 3), 255, np.uint8)).shape[0] == 64  # RGB -> grey


def test_collate_edge_replication():
    a = np.tile(np.linspace(0, 1, 5, dtype=np.float32), (3, 1))  # last column = 1.0
    b = np.zeros((3, 2), np.float32)
    b[:, -1] = 0.5
    batch = collate([(a, "aa", "1"), (b, "b", "2")])
    assert isinstance(batch, Batch) and batch.images.shape == (2, 1, 3, 5)
    assert batch.widths.tolist() == [5, 2] and batch.texts == ["aa", "b"] and batch.ids == ["1", "2"]
    assert torch.all(batch.images[1, 0, :, 2:] == 0.5)  # columns 2..4 copy column 1
    fixed = collate([(a, "aa", "1"), (b, "b", "2")], fixed_width=8)
    assert fixed.images.shape == (2, 1, 3, 8) and torch.all(fixed.images[0, 0, :, 5:] == 1.0)


def test_collate_wider_than_fixed_width_is_kept(caplog):
    with caplog.at_level(logging.WARNING):
        batch = collate([(np.ones((3, 10), np.float32), "a", "wide")], fixed_width=4)
    assert batch.images.shape[-1] == 10 and "wide" in caplog.text


def test_collate_moves_bad_items_aside():
    bad = BadItem(3, "x.png", "broken")
    batch = collate([bad, (np.ones((3, 2), np.float32), "a", "1")])
    assert len(batch) == 1 and batch.skipped == [bad]
    assert len(collate([bad])) == 0


def test_sampler_deterministic_and_complete():
    widths = np.random.default_rng(0).integers(50, 1500, size=203)
    s1, s2 = BucketBatchSampler(widths, 8, seed=3, pool=5), BucketBatchSampler(widths, 8, seed=3, pool=5)
    e0, e1 = list(s1), list(s1)
    assert e0 == list(s2) and e1 == list(s2)  # same seed, same order epoch after epoch
    assert e0 != e1  # a new order each epoch
    assert sorted(i for b in e0 for i in b) == list(range(203))
    assert len(s1) == len(e0) == 26  # 5 full pools of 40 -> 25 batches, 3 left -> 1
    s1.set_epoch(1)
    assert list(s1) == e1  # resuming at an epoch reproduces it
    assert list(BucketBatchSampler(widths, 8, seed=4, pool=5)) != e0
    dropped = BucketBatchSampler(widths, 8, seed=3, pool=5, drop_last=True)
    assert len(dropped) == len(list(dropped)) == 25


def test_bucketing_reduces_padding():
    widths = np.random.default_rng(1).integers(100, 1500, size=640)
    bucketed = BucketBatchSampler(widths, 32, seed=0).batches(0)
    random = np.random.default_rng(0).permutation(640).reshape(-1, 32)
    pb, pr = padding_fraction(widths, bucketed), padding_fraction(widths, random)
    assert pb < 0.1 < 0.3 < pr  # measured: 4.0 % vs 45 %


def _items(n=5):
    texts = ["ab", "a longer line", "x", "mid size", "another one"][:n]
    return [LineItem(str(k), line_image(t), t, None, f"line{k}.png") for k, t in enumerate(texts)]


def test_make_loader_eval_keeps_order():
    ds = MemoryDataset(_items())
    batches = list(make_loader(ds, batch_size=2, train=False, fixed_width=300))
    assert [b.ids for b in batches] == [["0", "1"], ["2", "3"], ["4"]]
    assert all(b.images.shape[-2:] == (64, 300) for b in batches)
    assert batches[0].widths[0] == prepared_width(20, line_image("ab").shape[1])


def test_make_loader_train_deterministic():
    ds = MemoryDataset(_items())
    order = lambda loader: [b.ids for b in loader]  # noqa: E731
    l1, l2 = make_loader(ds, 2, train=True, seed=7), make_loader(ds, 2, train=True, seed=7)
    assert order(l1) == order(l2)
    assert sorted(i for b in order(l1) for i in b) == [str(k) for k in range(5)]


class _Broken(MemoryDataset):
    def __getitem__(self, i):
        if i == 1:
            raise OSError("line1.png: cannot read image")
        return super().__getitem__(i)


def test_bad_item_skipped_with_count(caplog):
    loader = make_loader(_Broken(_items()), batch_size=2, train=False)
    with caplog.at_level(logging.WARNING):
        ids = [i for b in loader for i in b.ids]
    assert ids == ["0", "2", "3", "4"]
    assert len(loader.bad_items) == 1 and loader.bad_items[0].source == "line1.png"
    assert "line1.png" in caplog.text and "1 bad lines so far" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        list(loader)  # a second epoch: counted again, warned about once only
    assert len(loader.bad_items) == 1 and loader.skipped_total == 2 and "line1.png" not in caplog.text


def test_unreadable_file_skipped_in_a_real_dataset(tmp_path, caplog):
    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l1.png").write_bytes(b"not a png")
    ds = open_dataset(root, "train")
    assert ds.sizes()[1] == (0, 0)  # header unreadable: warned, not fatal
    loader = make_loader(ds, batch_size=2, train=True)
    with caplog.at_level(logging.WARNING):
        ids = sorted(i for b in loader for i in b.ids)
    assert ids == ["l0", "l2"] and len(loader.bad_items) == 1
    assert "l1.png" in loader.bad_items[0].error and "l1.png" in caplog.text


def test_padding_comparison_favours_buckets():
    from hwr.datasets.sampler import padding_comparison

    widths = np.random.default_rng(1).integers(200, 1400, size=400)
    pad = padding_comparison(widths, batch_size=16, seed=0)
    assert 0 <= pad["bucketed"] < pad["random"] / 3


def test_a_batch_narrower_than_the_model_needs_is_padded_to_its_minimum_width():
    from hwr.preprocess import collate

    items = [(np.ones((32, 20), np.float32), "a", "x"), (np.ones((32, 30), np.float32), "ab", "y")]
    batch = collate(items, min_width=104)
    assert batch.images.shape[-1] == 104 and batch.widths.tolist() == [20, 30]
    assert collate(items, min_width=10).images.shape[-1] == 30  # a wide enough batch keeps its width


def test_three_gate_blocks_read_a_one_word_line(tmp_path):
    """gate_3 trims 24 feature columns: a short word at height 32 is narrower than that
    unless the loader pads it to the model's minimum width."""
    from data_fixtures import write_gt_txt
    from hwr.datasets import open_dataset
    from hwr.evaluation import evaluate
    from hwr.models import build

    root = write_gt_txt(tmp_path, {"test": [("w0", "it"), ("w1", "a")]})
    model = build("gate_3", input_height=32, hidden=16, attention=16, embedding=8)
    metrics, _ = evaluate(model, open_dataset(str(root), "test"), batch_size=2, progress=False, legacy=False)
    assert metrics["lines"] == 2


def test_receptive_field_adds_each_kernel_at_its_stride():
    from torch import nn

    from hwr.models import build
    from hwr.models.backbone import receptive_field

    assert receptive_field(nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3))) == 1 + 2 + 1 + 2 * 2
    light, gate = (receptive_field(build(n, input_height=32).features) for n in ("light_in", "gate_1"))
    assert gate - light == 8 * 4  # one gate block: 8 more feature columns of 4 input columns each
    assert receptive_field(build("seq2seq_in").features) is None  # the encoder LSTM sees the whole line
