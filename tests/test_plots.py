"""The book's figures and page helpers: one style, legible sizes, quiet pages."""

import warnings

import matplotlib
import pytest

from hwr.book import page
from hwr.plots import length_histogram, line_gallery, rate_comparison, style


def test_style_sets_fonts_for_the_column():
    style.apply()
    assert matplotlib.rcParams["xtick.labelsize"] == 11 and matplotlib.rcParams["svg.fonttype"] == "path"
    fig = rate_comparison(["'.'", "digits"], [1.0, 3.0], [2.0, 4.0])
    assert fig.get_size_inches()[0] == style.WIDTH
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["'.'", "digits"]
    fig = length_histogram([30, 40, 50], 42.2, 10.3)
    assert "3 lines" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_gallery_titles_are_body_text_size():
    import numpy as np

    fig = line_gallery([np.full((20, 200), 255, np.uint8), np.full((30, 100), 0, np.uint8)], ["one", "two"])
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["one", "two"]
    assert fig.axes[0]._left_title.get_fontsize() == 13


def test_family_diagram_is_one_narrow_panel():
    pytest.importorskip("torch")
    from hwr.models import diagram

    fig = diagram.draw_family("gate_1")
    assert len(fig.axes) == 1 and fig.get_size_inches()[0] == pytest.approx(3.6)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "gate block x 1" in texts and "B x 256 x 1 x (W/4 - 8)" in texts
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= 10


def test_records_and_warnings_go_to_the_run_log(tmp_path, monkeypatch, capsys):
    log = tmp_path / "run" / "log.txt"
    monkeypatch.setenv("HWR_RUN_LOG", str(log))
    with page.records("long work"):
        print("progress 50%")
    page.start(svg=False)
    try:
        warnings.warn("something odd")
    finally:
        import logging

        logging.captureWarnings(False)
        for h in list(logging.getLogger("py.warnings").handlers):
            if getattr(h, "_hwr_log", False):
                logging.getLogger("py.warnings").removeHandler(h)
                h.close()
    text = log.read_text()
    assert text.startswith("== long work\nprogress 50%\n== long work: done in ")
    assert "warning:" in text and "something odd" in text
    assert capsys.readouterr().out == ""


def test_a_gallery_in_two_columns_is_half_as_tall():
    import numpy as np

    from hwr.plots.lines import line_gallery

    words = [np.full((32, 100), 200, np.uint8)] * 6
    one = line_gallery(words, [f"w{i}" for i in range(6)])
    two = line_gallery(words, [f"w{i}" for i in range(6)], columns=2)
    assert two.get_figheight() < 0.6 * one.get_figheight()
    assert len(two.axes) == 6


def test_labels_of_close_points_do_not_overprint():
    import matplotlib.pyplot as plt

    from hwr.plots.labels import place_labels

    fig, ax = plt.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    notes = place_labels(ax, [5, 5.05, 5.1], [5, 5.05, 5.0], ["proj (reshape, line norm)", "proj (reshape, window norm)",
                                                             "proj (sum)"])
    renderer = fig.canvas.get_renderer()
    boxes = [n.get_window_extent(renderer) for n in notes]
    assert [n.get_text() for n in notes] == ["proj (reshape, line norm)", "proj (reshape, window norm)", "proj (sum)"]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)
