"""hwr.datasets.writers: the writer (cluster) of each test line, read without
decoding images, and its use by the hierarchical bootstrap."""

import json

import numpy as np
import pytest

from data_fixtures import write_gt_txt, write_iam, write_pair
from hwr import paths, stats
from hwr.datasets import open_dataset
from hwr.datasets.writers import font_families, line_writers

FONTS = [{"name": "caveat-400", "package": "@fontsource/caveat"},
         {"name": "caveat-500", "package": "@fontsource/caveat"},
         {"name": "kalam-400", "package": "@fontsource/kalam"}]


def write_synth_set(root, writers):
    """A synthetic-layout set: test lines with boxes.json naming their font
    (None: no ``writer`` key), and a manifest listing the fonts."""
    for k, font in enumerate(writers):
        write_pair(root / "test", f"test-{k:05d}", "ab")
        boxes = {"chars": [[0, 3], [3, 6]], "chars_unwarped": [[0, 3], [3, 6]]}
        if font is not None:
            boxes["writer"] = font
        (root / "test" / f"test-{k:05d}.boxes.json").write_text(json.dumps(boxes))
    write_pair(root / "train", "train-00000", "cd")
    (root / "manifest.json").write_text(json.dumps({"format": "hwr-synth-lines", "fonts": FONTS}))
    return root


def test_synthetic_lines_are_labelled_by_font_family(tmp_path):
    root = write_synth_set(tmp_path / "set", ["caveat-400", "kalam-400", "caveat-500", None, "other-font-400"])
    got = line_writers(root, "test")
    assert got == {"test-00000": "caveat", "test-00001": "kalam", "test-00002": "caveat",
                   "test-00003": "test-00003",  # no writer recorded: its own cluster
                   "test-00004": "other-font-400"}  # a font the manifest does not list: its name
    assert line_writers(root, "test", ids=["test-00001"]) == {"test-00001": "kalam"}
    # an opened dataset and a "synth:<preset>" source read the same files
    assert line_writers(open_dataset(root, "test"), "test") == got
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "mini").symlink_to(root)
    old, paths.SYNTH = paths.SYNTH, tmp_path / "synth"
    try:
        assert line_writers("synth:mini") == got
        with pytest.raises(FileNotFoundError, match="no synthetic preset .absent."):
            line_writers("synth:absent")
    finally:
        paths.SYNTH = old
    assert font_families({"fonts": FONTS}) == {"caveat-400": "caveat", "caveat-500": "caveat", "kalam-400": "kalam"}


def test_iam_lines_are_labelled_by_writer_id_else_form(tmp_path):
    root = write_iam(tmp_path / "iam")
    assert line_writers(root, "test") == {"b02-010-00": "form b02-010"}  # fixture XML has no writer-id
    xml = root / "xml" / "a01-000u.xml"
    xml.write_text(xml.read_text(encoding="iso-8859-1").replace('<form id="a01-000u"',
                                                                 '<form id="a01-000u" writer-id="000"'),
                   encoding="iso-8859-1")
    assert line_writers(root, "train") == {"a01-000u-00": "writer 000", "a01-000u-01": "writer 000"}
    ascii_root = write_iam(tmp_path / "iam-ascii", text_source="ascii")
    (ascii_root / "ascii" / "forms.txt").write_text("#--- forms ---\nb02-010 042 2 prt 7 5 52 36\n")
    assert line_writers(ascii_root, "test") == {"b02-010-00": "writer 042"}


def test_layouts_without_writers_give_each_line_its_own(tmp_path):
    root = write_gt_txt(tmp_path / "gt")
    assert line_writers(root, "test") == {"l4": "l4", "l5": "l5"}
    assert line_writers(root, "test", ids=["l5"]) == {"l5": "l5"}


def test_writers_from_a_dataset_feed_the_hierarchical_interval(tmp_path):
    fonts = [f"{fam}-400" for fam in ("caveat", "kalam")] * 20
    root = write_synth_set(tmp_path / "set", fonts)
    labels = line_writers(root, "test")
    rng = np.random.default_rng(0)
    rows = [{"id": i, "reference": "x" * 20, "hypothesis": "", "distance": int(rng.integers(0, 5))}
            for i in labels]
    s = stats.summarize([rows], writers=labels)
    assert s.n_writers == 2 and s.hierarchical.low <= s.mean <= s.hierarchical.high


def test_a_preset_not_on_disk_is_labelled_from_the_generators_plan(tmp_path, monkeypatch):
    from hwr import paths
    from hwr.datasets import writers as W
    from hwr.synth import config as synth_config
    from hwr.synth.dataset import generate

    tiny = synth_config.SynthConfig(seed=2, train=2, valid=2, test=6)
    monkeypatch.setitem(synth_config.PRESETS, "tiny-writers", tiny)
    monkeypatch.setattr(paths, "SYNTH", tmp_path)
    planned = W.line_writers("synth:tiny-writers", "test")  # nothing rendered yet
    assert not (tmp_path / "tiny-writers").exists() and len(planned) == 6
    generate(tiny, tmp_path / "tiny-writers", workers=1, progress=False)
    assert W.line_writers("synth:tiny-writers", "test") == planned  # the rendered boxes name the same fonts


def test_a_runs_prediction_rows_carry_writers_so_every_verdict_counts_them():
    from hwr.runs import report
    from hwr.runs.store import RunStore

    store = RunStore(paths.ROOT / "results" / "book" / "runs")
    rec = next(r for r in store.records() if r.spec.data == "synth:phrases")
    rows = report.prediction_rows(rec)
    assert len({r["writer"] for r in rows}) == 8  # the test split's font families
    summary = stats.summarize([rows], n_resamples=200)
    assert summary.n_writers == 8 and stats.summarize([[{k: v for k, v in r.items() if k != "writer"}
                                                        for r in rows]], n_resamples=200).n_writers is None
