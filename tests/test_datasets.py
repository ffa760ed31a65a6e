"""Every dataset layout on tiny fabricated fixtures, and every bad input."""

import logging

import numpy as np
import pytest

from data_fixtures import (IAM_LINES, LINES, line_image, write_gt_txt, write_gt_txt_flat, write_iam,
                           write_pair, write_parquet, write_synth)
from hwr.codec import CHARSET
from hwr.datasets import DatasetError, LineDataset, detect_layout, open_dataset
from hwr.datasets.export import export_gt_txt


def _check_split(ds, split, ids_prefix=""):
    expected = LINES[split]
    assert isinstance(ds, LineDataset) and len(ds) == len(expected)
    assert ds.ids == [ids_prefix + i for i, _ in expected]
    assert ds.texts == [t for _, t in expected]
    for k, (_, text) in enumerate(expected):
        item = ds[k]
        assert item.image.dtype == np.uint8 and item.image.shape == line_image(text).shape
        assert np.array_equal(item.image, line_image(text)) and item.text == text
    assert ds.sizes() == [line_image(t).shape for _, t in expected]


# --- png + gt.txt -----------------------------------------------------------

def test_gt_txt_split_folders(tmp_path):
    root = write_gt_txt(tmp_path / "d")
    assert detect_layout(root) == "gt-txt"
    for split in LINES:
        _check_split(open_dataset(root, split), split)
    # "validation" finds valid/; split=None reads everything, ids keep the subfolder
    assert open_dataset(root, "validation").ids == ["l3"]
    assert len(open_dataset(root, None)) == 6 and "train/l0" in open_dataset(root, None).ids
    assert open_dataset(root, "train")[0].boxes is None
    assert open_dataset(root, "train")[-1].id == "l2"


def test_gt_txt_flat_with_lists(tmp_path):
    root = write_gt_txt_flat(tmp_path / "d")
    for split in LINES:
        _check_split(open_dataset(root, split), split)


def test_synth_layout_with_boxes(tmp_path):
    root = write_synth(tmp_path / "s")
    assert detect_layout(root) == "synth"
    ds = open_dataset(root, "train")
    _check_split(ds, "train")
    assert ds.name == "synth:fixture"
    item = ds[0]
    assert item.boxes.shape == (len(item.text), 2) and item.boxes[1].tolist() == [8, 14]


def test_boxes_dropped_when_normalisation_changes_text(tmp_path):
    root = tmp_path / "s"
    write_pair(root / "train", "q", "\u201cquoted\u201d", boxes=True)  # curly quotes -> '"'
    ds = open_dataset(root, "train")
    assert ds.texts == ['"quoted"'] and ds[0].boxes is None
    assert ds.report.mapped == {"\u201c": 1, "\u201d": 1}


def test_synth_source_resolves_through_hwr_synth(tmp_path, monkeypatch):
    import sys
    import types

    root = write_synth(tmp_path / "s")
    fake = types.ModuleType("hwr.synth")
    fake.dataset_path = lambda preset="default", build=True, progress=True: root if preset == "smoke" else None
    monkeypatch.setitem(sys.modules, "hwr.synth", fake)
    ds = open_dataset("synth:smoke", "valid")
    assert ds.name == "synth:smoke" and ds.ids == ["l3"]


# --- IAM --------------------------------------------------------------------

@pytest.mark.parametrize("text_source", ["xml", "ascii"])
def test_iam(tmp_path, text_source):
    root = write_iam(tmp_path / "iam", text_source)
    assert detect_layout(root) == "iam"
    train = open_dataset(root, "train")
    assert train.ids == ["a01-000u-00", "a01-000u-01"]  # the "err" line is kept
    assert train.texts == [IAM_LINES[i][0] for i in train.ids]
    assert train[1].image.shape == line_image(IAM_LINES["a01-000u-01"][0]).shape
    # entities decoded (&amp; &quot; &#39;), or "|" turned into spaces
    assert open_dataset(root, "valid").texts == ['Peers is to be made at a meeting & "so" it\'s']
    assert open_dataset(root, "test").texts == ["is 42 (forty-two)?"]


def test_iam_split_folder_options(tmp_path):
    root = write_iam(tmp_path / "iam", split_dir="iam-b")
    assert open_dataset(root, "test").ids == ["b02-010-00"]  # default: <root>/iam-b
    other = tmp_path / "my-split"
    other.mkdir()
    (other / "train.txt").write_text("a01-000u\n")  # a form id stands for its lines
    assert open_dataset(root, "train", splits=other).ids == ["a01-000u-00", "a01-000u-01", "a01-000u-02"]


def test_iam_missing_split_file_and_folder(tmp_path):
    root = write_iam(tmp_path / "iam")
    (root / "splits" / "test.txt").unlink()
    with pytest.raises(DatasetError, match=r"splits/test\.txt: split file not found"):
        open_dataset(root, "test")
    with pytest.raises(DatasetError, match="nowhere: split folder not found"):
        open_dataset(root, "train", splits="nowhere")
    root2 = write_iam(tmp_path / "iam2", split_dir="odd")
    with pytest.raises(DatasetError, match="no IAM-B split folder"):
        open_dataset(root2, "train")


def test_iam_missing_image_and_xml(tmp_path):
    root = write_iam(tmp_path / "iam")
    (root / "lines" / "a01" / "a01-000u" / "a01-000u-01.png").unlink()
    with pytest.raises(DatasetError, match="no image for line 'a01-000u-01'"):
        open_dataset(root, "train")
    ds = open_dataset(root, "train", bad="skip")
    assert ds.ids == ["a01-000u-00"] and ds.report.dropped == {"missing image": 1}
    (root / "xml" / "b02-010.xml").unlink()
    with pytest.raises(DatasetError, match=r"b02-010\.xml not found"):
        open_dataset(root, "test")


# --- Parquet ----------------------------------------------------------------

@pytest.mark.parametrize("struct_images", [False, True])
def test_parquet(tmp_path, struct_images):
    root = write_parquet(tmp_path / "pq", struct_images)
    assert detect_layout(root) == "parquet"
    for split in LINES:
        ds = open_dataset(root, split)
        assert ds.texts == [t for _, t in LINES[split]]
        assert np.array_equal(ds[0].image, line_image(LINES[split][0][1]))
        assert ds.sizes()[0] == line_image(LINES[split][0][1]).shape
    assert open_dataset(root, "validation").ids == ["validation-00000-of-00001:0"]
    one_file = next((root / "data").glob("test-*.parquet"))
    assert len(open_dataset(one_file, "test")) == 2


def test_parquet_errors(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = write_parquet(tmp_path / "pq")
    with pytest.raises(DatasetError, match="no Parquet file for split 'extra'"):
        open_dataset(root, "extra")
    pq.write_table(pa.table({"img": [b"x"], "text": ["a"]}), root / "other-0.parquet")
    with pytest.raises(DatasetError, match=r"other-0\.parquet: missing column\(s\) \['image'\]"):
        open_dataset(root, "other")


# --- bad inputs ---------------------------------------------------------------

def test_missing_path(tmp_path):
    with pytest.raises(DatasetError, match="nothing: dataset path not found"):
        open_dataset(tmp_path / "nothing", "train")


def test_unrecognised_layout(tmp_path):
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DatasetError, match="not a recognised dataset layout"):
        open_dataset(tmp_path, "train")


def test_missing_split(tmp_path):
    root = write_gt_txt(tmp_path / "d")
    with pytest.raises(DatasetError, match=r"no split 'extra'.*extra\.txt"):
        open_dataset(root, "extra")


def test_unreadable_and_empty_image(tmp_path):
    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l0.png").write_bytes(b"garbage")
    (root / "train" / "l1.png").write_bytes(b"")
    ds = open_dataset(root, "train")  # listing reads no pixels
    with pytest.raises(DatasetError, match=r"l0\.png: cannot read image"):
        ds[0]
    with pytest.raises(DatasetError, match=r"l1\.png: cannot read image"):
        ds[1]


def test_empty_transcription(tmp_path, caplog):
    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l1.gt.txt").write_text("  \n")
    with pytest.raises(DatasetError, match=r"l1\.png: empty transcription"):
        open_dataset(root, "train")
    with caplog.at_level(logging.WARNING):
        ds = open_dataset(root, "train", bad="skip")
    assert ds.ids == ["l0", "l2"] and ds.report.dropped == {"empty transcription": 1}
    assert "l1.png" in caplog.text and "empty transcription: 1" in ds.report.summary()


def test_unknown_characters_error_vs_skip(tmp_path):
    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l2.gt.txt").write_text("caf\u00e9 \u4e2d\u6587 ok\n")  # é maps to e; 中文 is unknown
    with pytest.raises(DatasetError, match=r"l2\.png: character '中'"):
        open_dataset(root, "train")
    ds = open_dataset(root, "train", unknown="skip")
    assert ds.texts[2] == "cafe ok" and set(ds.texts[2]) <= CHARSET
    assert ds.report.skipped == {"\u4e2d": 1, "\u6587": 1} and ds.report.mapped == {"\u00e9": 1}
    ds = open_dataset(root, "train", bad="skip")  # or leave the whole line out, counted
    assert ds.ids == ["l0", "l1"] and ds.report.dropped == {"unknown character": 1}


def test_missing_transcription_and_missing_image(tmp_path):
    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l0.gt.txt").unlink()
    with pytest.raises(DatasetError, match=r"l0\.png: no transcription file l0\.gt\.txt"):
        open_dataset(root, "train")
    (root / "train" / "l1.png").unlink()
    with pytest.raises(DatasetError, match=r"l1\.gt\.txt: no image file l1\.png"):
        open_dataset(root, "train")
    ds = open_dataset(root, "train", bad="skip")
    assert ds.ids == ["l2"] and ds.report.dropped == {"missing transcription": 1, "missing image": 1}
    flat = write_gt_txt_flat(tmp_path / "f")
    (flat / "l4.png").unlink()
    with pytest.raises(DatasetError, match="no image file l4.png"):
        open_dataset(flat, "test")


def test_bad_options(tmp_path):
    root = write_gt_txt(tmp_path / "d")
    with pytest.raises(ValueError, match="unknown must be"):
        open_dataset(root, "train", unknown="ignore")
    with pytest.raises(ValueError, match="layout must be"):
        open_dataset(root, "train", layout="hdf5")


# --- export -----------------------------------------------------------------

def test_export_round_trip(tmp_path):
    src = open_dataset(write_synth(tmp_path / "s"), "test")
    result = export_gt_txt(src, tmp_path / "out")
    assert result == {"written": 2, "skipped": []}
    back = open_dataset(tmp_path / "out", None)
    assert back.ids == src.ids and back.texts == src.texts
    assert np.array_equal(back[0].image, src[0].image) and np.array_equal(back[0].boxes, src[0].boxes)


def test_export_iam_ids_and_bad_lines(tmp_path):
    src = open_dataset(write_iam(tmp_path / "iam"), "train")
    (tmp_path / "iam" / "lines" / "a01" / "a01-000u" / "a01-000u-00.png").write_bytes(b"bad")
    result = export_gt_txt(src, tmp_path / "out")
    assert result["written"] == 1 and "a01-000u-00.png" in result["skipped"][0][0]
    assert (tmp_path / "out" / "a01-000u-01.gt.txt").read_text() == IAM_LINES["a01-000u-01"][0] + "\n"


# --- CLI --------------------------------------------------------------------

def test_cli_stats_and_export(tmp_path, capsys):
    from hwr.cli import main

    root = write_iam(tmp_path / "iam", "ascii")
    assert main(["data", "stats", str(root), "--split", "train", "--json"]) == 0
    import json

    stats = json.loads(capsys.readouterr().out)
    assert stats["lines"] == 2 and stats["width"]["max"] == line_image(IAM_LINES["a01-000u-00"][0]).shape[1]
    assert stats["too_long_for_decoder"]["lines"] == 0
    assert main(["data", "stats", str(root), "--split", "test"]) == 0
    assert "chars_per_line" in capsys.readouterr().out
    assert main(["data", "export", str(root), "--split", "valid", "--out", str(tmp_path / "o")]) == 0
    assert open_dataset(tmp_path / "o", None).texts == [IAM_LINES["a01-000u-02"][0]]
    assert main(["data", "stats", str(tmp_path / "missing")]) == 2
    assert "missing: dataset path not found" in capsys.readouterr().err


def test_cli_synth(tmp_path, capsys):
    from hwr.cli import main

    out = tmp_path / "tiny"
    assert main(["data", "synth", "--preset", "smoke", "--out", str(out), "--seed", "5", "--train", "3",
                 "--valid", "1", "--test", "1", "--workers", "1", "--quiet"]) == 0
    assert len(open_dataset(out, "train")) == 3 and len(open_dataset(out, "test")) == 1
    assert "synthetic dataset ready" in capsys.readouterr().out
    assert main(["data", "synth", "--seed", "5"]) == 2
    assert "give --out" in capsys.readouterr().err
    assert main(["data", "synth", "--preset", "big", "--out", str(tmp_path)]) == 2
    assert "hwr data: error: unknown preset 'big'" in capsys.readouterr().err


def test_subset_view(tmp_path):
    ds = open_dataset(write_gt_txt(tmp_path / "d"), "train")
    sub = ds.subset([2, 0])
    assert sub.ids == ["l2", "l0"] and sub.texts == [ds.texts[2], ds.texts[0]] and len(sub) == 2
    assert sub[0].id == "l2" and sub.sizes() == [ds.sizes()[2], ds.sizes()[0]]
    with pytest.raises(IndexError):
        sub[2]
