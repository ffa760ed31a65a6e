"""Attention maps measured as character segmentation: constructed cases with known answers."""

import numpy as np
import pytest

from hwr.confusions import alignment
from hwr.segmentation import boxes_at_input, score_line, summarize

# five characters, each 8 input pixels wide; memory columns every 4 pixels (centres 2, 6, 10, ...)
TEXT = "ab cd"
BOXES = np.array([[i * 8, i * 8 + 8] for i in range(5)], dtype=float)
CENTRES = np.arange(10) * 4 + 2.0


def one_hot_map(columns_per_step):
    att = np.zeros((len(columns_per_step) + 1, len(CENTRES)))
    for step, col in enumerate(columns_per_step):
        att[step, col] = 1.0
    att[-1, -1] = 1.0  # the EOS step
    return att


def test_a_map_on_each_box_scores_everything():
    att = one_hot_map([2 * i for i in range(5)])  # column 2i is centred at 8i + 2: inside box i
    rows = score_line(att, CENTRES, BOXES, TEXT, TEXT)
    s = summarize(rows)
    assert s["chars"] == {"n": 4, "hit": 1.0, "mass": 1.0, "distance_median": 2.0, "offset_median": -2.0}
    assert s["spaces"]["n"] == 1 and s["spaces"]["hit"] == 1.0


def test_a_map_shifted_by_one_character_scores_nothing():
    att = one_hot_map([2 * i + 2 for i in range(4)] + [0])  # each step looks at the next box (the last at the first)
    s = summarize(score_line(att, CENTRES, BOXES, TEXT, TEXT))
    assert s["chars"]["hit"] == 0.0 and s["chars"]["mass"] == 0.0 and s["spaces"]["hit"] == 0.0
    assert s["chars"]["distance_median"] >= 6.0 and s["chars"]["offset_median"] == 6.0  # one box to the right


def test_spread_attention_puts_part_of_the_mass_in_the_box():
    att = np.full((6, len(CENTRES)), 0.1)  # uniform over ten columns, two per box
    s = summarize(score_line(att, CENTRES, BOXES, TEXT, TEXT))
    assert s["chars"]["mass"] == pytest.approx(0.2)


def test_only_aligned_characters_are_scored():
    att = one_hot_map([0, 2, 4, 6])  # decoded "ab c": the "d" was deleted
    rows = score_line(att, CENTRES, BOXES, TEXT, "ab c")
    assert [r["char"] for r in rows] == ["a", "b", " ", "c"] and all(r["hit"] for r in rows)
    assert alignment("abc", "xbc") == [(0, 0), (1, 1), (2, 2)]
    assert alignment("abc", "ac") == [(0, 0), (1, None), (2, 1)]


def test_two_dimensional_maps_are_summed_over_rows():
    att = one_hot_map([2 * i for i in range(5)])
    two_d = np.stack([att / 2, att / 2], axis=1)  # S x 2 x W'
    assert summarize(score_line(two_d, CENTRES, BOXES, TEXT, TEXT))["chars"]["hit"] == 1.0


def test_boxes_follow_the_preprocessing():
    from hwr.preprocess import PAD_LEFT_RIGHT, prepare

    raw = np.full((40, 200), 255, np.uint8)
    boxes = boxes_at_input(np.array([[0, 100], [100, 200]]), 40, 200, 32)
    width = prepare(raw, 32).shape[1]
    assert boxes[0, 0] == pytest.approx(PAD_LEFT_RIGHT * width / (200 + 2 * PAD_LEFT_RIGHT))
    assert boxes[1, 1] == pytest.approx((200 + PAD_LEFT_RIGHT) * width / (200 + 2 * PAD_LEFT_RIGHT))


def test_column_centres_account_for_pooling_and_gates():
    from hwr.models import build

    plain, gated = build("light_in", input_height=32), build("gate_1", input_height=32)
    assert plain.column_centres(3).tolist() == [2.0, 6.0, 10.0]  # pools of width 2 x 2
    assert gated.column_centres(1).tolist() == [(4 + 0.5) * 4]  # a 1 x 9 gate: centre 4 columns right


def test_mismatched_boxes_are_refused():
    with pytest.raises(ValueError, match="boxes"):
        score_line(np.ones((2, 10)), CENTRES, BOXES[:2], TEXT, TEXT)


def test_reference_maps_best_and_uniform():
    from hwr.segmentation import reference_maps

    boxes = np.array([[0, 10], [10, 20], [20, 30], [30, 32]], float)  # the last box holds no column centre
    centres = np.array([5.0, 15.0, 25.0, 35.0])
    rows = reference_maps(boxes, "abcd", centres)
    assert [r["best_hit"] for r in rows] == [True, True, True, False]
    # uniform reader over [0, 32): positions 4, 12, 20, 28 -> nearest centres 5, 15, 15 or 25, 25
    assert rows[0]["uniform_hit"] and rows[1]["uniform_hit"] and not rows[3]["uniform_hit"]
    assert reference_maps(np.zeros((0, 2)), "", centres) == []
    with pytest.raises(ValueError):
        reference_maps(boxes, "abc", centres)


def test_ink_rows_are_the_rows_with_dark_pixels_inside_the_box():
    from hwr.segmentation import ink_rows

    image = np.ones((32, 40), dtype=np.float32)
    image[10:21, 5:9] = 0.0  # the character
    image[2:4, 30:35] = 0.0  # a neighbour outside the box
    assert ink_rows(image, (4.5, 9.2)) == (10, 21)
    assert ink_rows(image, (12, 20)) is None  # no ink in those columns


def test_vertical_scores_compare_the_attended_rows_with_the_ink():
    from hwr.segmentation import score_rows

    image = np.ones((32, 40), dtype=np.float32)
    image[10:21, 5:9] = 0.0  # "a": ink on rows 10-20, attention rows 1 and 2 of 4 (8-16, 16-24)
    image[0:6, 20:24] = 0.0  # "b": ink on rows 0-5, attention row 0
    boxes = np.array([[5, 9], [20, 24]])
    att = np.zeros((3, 4, 10))
    att[0, 1, 2] = 1.0  # step 0 looks at row 1: inside a's ink
    att[1, 3, 6] = 1.0  # step 1 looks at row 3: below b's ink
    rows = score_rows(att, image, boxes, "ab", "ab")
    assert [r["char"] for r in rows] == ["a", "b"]
    assert rows[0] == {"char": "a", "mass": 1.0, "cover": 0.5, "hit": True, "centre": 1.5 / 4}
    assert rows[1]["mass"] == 0.0 and rows[1]["cover"] == 0.25 and not rows[1]["hit"] and rows[1]["centre"] == 3.5 / 4
    with pytest.raises(ValueError, match="2D attention"):
        score_rows(att.sum(axis=1), image, boxes, "ab", "ab")
