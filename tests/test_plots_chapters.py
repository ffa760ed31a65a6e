"""Figures and tables of the thesis chapters (decoding, attention, normalisation), on made-up data."""

import editdistance
import matplotlib
import numpy as np
import pandas as pd
import pytest

from hwr.confusions import kind_rates
from hwr.plots import attention, decoding
from hwr.plots import norm as norm_plots
from hwr.runs import report


def test_kind_rates_add_up_to_the_cer():
    rows = [{"reference": "hello world", "hypothesis": "helo wurld!"}, {"reference": "abc", "hypothesis": ""}]
    rates = kind_rates(rows)
    cer = sum(editdistance.eval(r["reference"], r["hypothesis"]) for r in rows) / 14
    assert sum(rates.values()) == pytest.approx(cer)
    assert rates["deletion"] == pytest.approx(4 / 14) and rates["insertion"] == pytest.approx(1 / 14)


def test_decoded_rows_score_each_decoder():
    table = [{"id": 1, "reference": "abc", "greedy": "abd", "beam": "abc"}]
    assert report.decoded_rows(table, "greedy")[0]["distance"] == 1
    assert report.decoded_rows(table, "beam")[0] == {"id": "1", "reference": "abc", "hypothesis": "abc",
                                                      "distance": 0}


def test_decoding_figures_draw():
    frame = pd.DataFrame([{"label": "m", "seed": s, "decoder": d, "width": w, "cer": 0.2 - w / 1000,
                           "seconds_per_line": 1e-4 * w} for s in (0, 1)
                          for d, w in [("greedy", 1), ("beam", 2), ("beam", 10)]])
    fig = decoding.beam_widths(frame)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
    assert len(decoding.line_error_ecdf(pd.DataFrame({"label": ["a", "b"] * 5, "cer": np.linspace(0, 2, 10)})).axes) == 1
    kinds = pd.DataFrame([{"label": m, "kind": k, "rate": 0.1} for m in "ab"
                          for k in ("substitution", "deletion", "insertion")])
    assert decoding.error_kinds(kinds).axes[0].get_xlim()[1] >= 30


def test_attention_figures_label_each_step():
    image = np.zeros((32, 120), np.uint8)
    att = np.eye(4, 15)
    fig = attention.attention_steps(image, att, "abc")
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert labels == ["a", "b", "c", "EOS"]
    two_d = attention.attention_gallery([{"image": image, "attention": np.ones((3, 4, 15)), "decoded": "a b",
                                          "title": "x"}] * 2)
    assert [t.get_text() for t in two_d.axes[2].get_yticklabels()] == ["a", "␣", "b"]


def test_norm_figures_draw():
    frame = pd.DataFrame([{"label": m, "seed": s, "condition": c, "cer": 0.5}
                          for m in ("bn", "in") for s in (0, 1) for c in ("1 sorted", "32 mixed")])
    assert len(norm_plots.conditions(frame).axes) == 1
    rng = np.random.default_rng(0)
    fig = norm_plots.line_statistics(rng.normal(size=(20, 4)), rng.uniform(size=(20, 4)), np.zeros(4), np.ones(4))
    assert len(fig.axes) == 2 and fig.axes[0].get_legend() is not None
    assert norm_plots.line_statistics(rng.normal(size=(5, 4)), rng.uniform(size=(5, 4))).axes[0].get_legend() is None


def test_latency_table_gives_ratios_here_and_in_the_thesis():
    frame = pd.DataFrame([{"model": "seq2seq_in", "ms_1": 100.0, "thesis_ms_1": 335},
                          {"model": "gate_1", "ms_1": 50.0, "thesis_ms_1": 266}])
    t = report.latency_table(frame, "seq2seq_in", [1])
    assert t.loc["gate_1", "bs 1 ×"] == "0.50" and t.loc["gate_1", "thesis bs 1 ×"] == f"{266 / 335:.2f}"
    assert t.loc["seq2seq_in", "bs 1 ms"] == "100"


def test_every_claim_names_registered_models():
    from hwr.models import EXPERIMENTS
    from hwr.thesis import CLAIMS

    for c in CLAIMS.values():
        assert c.better in EXPERIMENTS and c.other in EXPERIMENTS and c.better != c.other
        assert EXPERIMENTS[c.better].thesis_cer < EXPERIMENTS[c.other].thesis_cer or c.key == "encoder"


def test_gate_figures_place_each_block_at_its_columns():
    from hwr.plots import gates

    image = np.zeros((32, 400), np.uint8)
    maps = [np.random.default_rng(0).random((16, 50)), np.random.default_rng(1).random((16, 42))]
    centres = [4 + 8 * np.arange(50, dtype=np.float32) + 32, 4 + 8 * np.arange(42, dtype=np.float32) + 64]
    fig = gates.gate_maps(image, maps, centres, title="t")
    heat = fig.axes[1].images[0]
    left, right, _, _ = heat.get_extent()
    assert left == pytest.approx(centres[0][0] - 4) and right == pytest.approx(centres[0][-1] + 4)
    assert fig.axes[2].images[0].get_extent()[0] == pytest.approx(centres[1][0] - 4)
    assert len(fig.axes) == 4  # image, two blocks, colour bar
    frame = pd.DataFrame([{"label": m, "block": b, "value": v, "share": 0.1} for m in ("gate_1", "gate_2")
                          for b in range(1, 3) for v in np.linspace(0.05, 0.95, 10)])
    assert len(gates.gate_histograms(frame).axes) == 2


def test_cer_against_a_count_draws_here_and_thesis_panels():
    from hwr.plots.runs import cer_against

    frame = pd.DataFrame([{"label": f"gate_{g}", "gates": g, "cer": 0.5 + g / 100 + s / 1000}
                          for g in (0, 1, 2, 3) for s in range(3)])
    fig = cer_against(frame, "gates", "gate blocks", thesis={0: 19.7, 1: 15.8, 2: 18.4, 3: 18.8})
    assert len(fig.axes) == 2
    assert list(fig.axes[0].get_xticks()) == [0, 1, 2, 3]
    mean_line = fig.axes[0].lines[0]
    assert mean_line.get_ydata()[1] == pytest.approx(100 * (0.51 + 0.001))
    assert len(cer_against(frame, "gates", "gate blocks").axes) == 1


def test_two_d_attention_frames_and_animation():
    image = np.full((32, 320), 200, np.uint8)
    att = np.zeros((5, 4, 80), np.float32)
    for k in range(5):
        att[k, 1, 10 * k] = 1.0  # step k looks at column 10 k, row 1
    centres = 2 + 4 * np.arange(80, dtype=np.float32)
    fig = attention.attention_frames(image, att, "abcd", centres, max_frames=6, columns=3)
    drawn = [ax for ax in fig.axes if ax.images]
    # the book's style puts titles on the left (style.apply in another test may have run first)
    title = lambda ax: ax.get_title() or ax.get_title("left")  # noqa: E731
    assert len(drawn) == 5 and title(drawn[-1]) == "5: EOS, peak 100 %"
    left, right, _, _ = drawn[0].images[1].get_extent()
    assert left == pytest.approx(0) and right == pytest.approx(320)
    # opacity follows each frame's own largest weight: the looked-at cell opaque, the rest transparent
    alpha = drawn[0].images[1].get_array()[..., 3]
    assert alpha[1, 0] == pytest.approx(0.85) and alpha.sum() == pytest.approx(0.85)
    # a step that looks everywhere at once is an even wash, and its title says how flat it is
    flat = attention.attention_frames(image, np.full((1, 4, 80), 1 / 320, np.float32), "a", centres)
    ax = [a for a in flat.axes if a.images][0]
    assert np.allclose(ax.images[1].get_array()[..., 3], 0.85) and title(ax) == "1: a, peak 0 %"
    gif = attention.attention_animation(image, att, "abcd", centres, max_frames=5)
    assert gif[:6] in (b"GIF87a", b"GIF89a")
    from PIL import Image
    import io

    assert Image.open(io.BytesIO(gif)).n_frames == 5


def test_segmentation_figures_mark_hits_and_misses():
    from hwr.plots import segmentation as seg

    image = np.full((32, 240), 220, np.uint8)
    boxes = np.array([[0, 40], [40, 80], [80, 120]], np.float32)
    centres = 4 + 8 * np.arange(30, dtype=np.float32)
    att = np.zeros((4, 30), np.float32)
    att[0, 2], att[1, 7], att[2, 2] = 1, 1, 1  # a: in box 0 (hit), b: in box 1 (hit), c: in box 0 (miss)
    fig = seg.boxes_and_peaks(image, att, boxes, centres, "abc", "abc")
    colours = [line.get_color() for line in fig.axes[0].lines]
    assert colours == [seg.HIT, seg.HIT, seg.MISS]
    frame = pd.DataFrame({"label": ["m1"] * 4 + ["m2"] * 4, "offset": [-3, 0, 2, 9] * 2,
                          "space": [False, False, False, True] * 2})
    assert len(seg.measure_distributions(frame, char_width=6).axes) == 2
    runs = pd.DataFrame({"label": ["a", "b"], "family": ["1D", "2D"], "hit": [0.2, 0.3], "cer": [0.7, 0.6]})
    assert len(seg.hit_against_cer(runs).axes[0].collections) == 2


def test_accuracy_bars_draw_one_bar_per_model_and_way_of_scoring():
    from hwr.plots.accuracy import accuracy_bars

    frame = pd.DataFrame([{"label": lab, "seed": s, "measure": m, "accuracy": 0.1 * (s + 1)}
                          for lab in ("a", "b") for s in range(3) for m in ("correct", "seed's")])
    fig = accuracy_bars(frame)
    bars = [p for p in fig.axes[0].patches]
    assert len(bars) == 4 and sorted(round(b.get_width(), 6) for b in bars) == [20.0] * 4


def test_a_title_too_long_for_its_figure_is_cut_so_the_figure_keeps_its_width():
    """A bbox-tight figure widens to hold a title that runs past it, and the page then shrinks all its
    text: an untrained model's rambling decoding as a title drew a figure's text at 5 px on a phone."""
    import io

    from hwr.plots.labels import fit
    from hwr.plots.lines import line_gallery

    assert fit("short", 7.0, 11) == "short"
    cut = fit("x" * 500, 7.0, 11)
    assert cut.endswith("\u2026") and len(cut) == int(7.0 * 72 / (0.6 * 11))
    image = np.full((32, 400), 255, np.uint8)

    def width(title):
        buf = io.BytesIO()
        line_gallery([image], [title]).savefig(buf, format="svg", bbox_inches="tight")
        return float(buf.getvalue().split(b'viewBox="0 0 ')[1].split(b" ")[0])

    assert width("a rambling decoding " * 30) <= width("short") + 1
