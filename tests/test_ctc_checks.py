"""Seed 003's CTC NaNs (hwr.training.ctc_checks): an impossible label poisons a step; the guards keep it finite."""

import torch

from hwr.models import build
from hwr.training.ctc_checks import infeasible, min_frames, nan_cases


def test_an_alignment_needs_a_blank_between_equal_neighbours():
    assert min_frames([1, 2, 3]) == 3 and min_frames([5, 5, 5]) == 5 and min_frames([]) == 0
    assert infeasible([[1, 1], [1, 2]], [2, 2]) == [True, False]


def test_an_impossible_label_makes_the_weights_nan_and_each_guard_prevents_it():
    torch.manual_seed(0)
    model = build("names_crnn", hidden=16, widths=(4, 8, 8), dense=8)  # small: the mechanism, not the size
    images = torch.rand(4, 1, 64, 200)
    frames = model.output_width(torch.full((4,), 200))
    labels = [[55, 56, 57], [60, 61], [70, 71, 72, 73], [58]]
    rows = {(r["case"], r["guard"]): r for r in nan_cases(model, images, labels, frames, too_long=[55] * 40)}
    assert all(r["outputs finite after the step"] for k, r in rows.items() if k[0] == "every label fits")
    poisoned = rows[("one label longer than its frames", "none")]
    assert poisoned["infinite lines"] == 1 and poisoned["loss"] == float("inf")
    assert not poisoned["weights finite"] and not poisoned["outputs finite after the step"]
    for guard in ("zero_infinity=True", "lengths checked, line left out"):
        row = rows[("one label longer than its frames", guard)]
        assert row["weights finite"] and row["outputs finite after the step"], guard
    assert rows[("one label longer than its frames", "lengths checked, line left out")]["lines"] == 3
