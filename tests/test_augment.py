"""Training-time augmentation (hwr.augment): same shape, reproducible per (seed, pass, line), and off by default."""

import numpy as np
import pytest

from hwr.augment import Augmenter
from hwr.preprocess import PreparedLines, make_loader
from hwr.training.config import TrainConfig


def _line(h=32, w=120):
    img = np.ones((h, w), dtype=np.float32) * 0.95
    img[10:22, 20:100:7] = 0.1  # vertical strokes
    img[15:17, 20:100] = 0.1
    return img


def test_an_augmented_line_keeps_its_shape_and_range():
    x = _line()
    out = Augmenter(1.0, seed=0)(x, index=3, epoch=0)
    assert out.shape == x.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.abs(out - x).mean() > 0.01  # it changed the line
    assert np.array_equal(Augmenter(0.0)(x, index=3, epoch=0), x)


def test_the_draw_depends_on_seed_pass_and_line_only():
    x = _line()
    a, b = Augmenter(1.0, seed=0), Augmenter(1.0, seed=0)
    assert np.array_equal(a(x, 5, 2), b(x, 5, 2))  # a resumed run draws the same
    assert not np.array_equal(a(x, 5, 2), a(x, 5, 3))  # another pass, another draw
    assert not np.array_equal(a(x, 5, 2), a(x, 6, 2))
    assert not np.array_equal(a(x, 5, 2), Augmenter(1.0, seed=1)(x, 5, 2))


class _Items:
    """A tiny dataset of uint8 lines, as hwr.datasets gives them."""

    def __init__(self, n=6):
        from types import SimpleNamespace

        self.items = [SimpleNamespace(image=(_line(40, 100 + 10 * i) * 255).astype(np.uint8), text=f"l{i}", id=str(i))
                      for i in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def test_the_training_loader_augments_each_pass_differently_and_reproducibly():
    data = _Items()
    plain = PreparedLines(data, 32)
    aug = PreparedLines(data, 32, augment=Augmenter(1.0, seed=0))
    first = aug[2][0]
    aug.set_epoch(1)
    second = aug[2][0]
    assert first.shape == plain[2][0].shape == second.shape and not np.array_equal(first, second)
    aug.set_epoch(0)
    assert np.array_equal(aug[2][0], first)
    loader = make_loader(data, 2, train=True, height=32, augment=Augmenter(1.0, seed=0))
    assert sum(b.images.shape[0] for b in loader) == len(data)


def test_augmentation_is_refused_where_it_could_not_follow_the_pass():
    with pytest.raises(ValueError, match="workers=0"):
        make_loader(_Items(), 2, train=True, height=32, workers=2, augment=Augmenter(1.0))
    with pytest.raises(ValueError, match="augment"):
        TrainConfig(augment=1.0, workers=2)


def test_augmentation_off_leaves_a_runs_identity_as_it_was():
    assert "augment" not in TrainConfig().to_dict()
    assert TrainConfig(augment=1.0).to_dict()["augment"] == 1.0


def test_a_run_trains_on_augmented_lines_and_records_the_setting(tmp_path):
    from data_fixtures import write_gt_txt

    from hwr.runs.execute import execute
    from hwr.runs.spec import RunSpec
    from hwr.runs.store import RunStore

    data = str(write_gt_txt(tmp_path / "data"))
    spec = RunSpec("ctc_baseline", data, 0, overrides=dict(ctc_hidden=16, input_height=64),
                   train=dict(epochs=2, batch_size=2, val_subset=None, augment=1.0))
    plain = RunSpec("ctc_baseline", data, 0, overrides=dict(ctc_hidden=16, input_height=64),
                    train=dict(epochs=2, batch_size=2, val_subset=None))
    assert spec.run_id != plain.run_id and spec.identity()["train"]["augment"] == 1.0
    execute(spec, tmp_path / "runs", log=False)
    rec = RunStore(tmp_path / "runs").load(spec)
    assert len(rec.history) == 2 and rec.test["lines"] > 0
