"""Bad input on the data side (issue 7): each case gives one clear error that
names the file, or the correct reading; nothing is deleted or overwritten."""

import ast
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_fixtures import (IAM_LINES, LINES, line_image, png_bytes, write_gt_txt, write_gt_txt_flat, write_iam,
                           write_parquet)
from hwr.codec import Codec, UnknownCharacterError
from hwr.datasets import DatasetError, Skipped, open_dataset
from hwr.datasets.base import read_grey
from hwr.datasets.export import export_gt_txt
from hwr.errors import HwrError
from hwr.synth.dataset import OutputFolderError, refuse_foreign_folder


def _table(path: Path, rows: list[dict]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    cols["image"] = pa.array([png_bytes(line_image(t)) for t in cols["text"]], pa.binary())
    pq.write_table(pa.table(cols), path)
    return path


def _snapshot(root: Path) -> dict:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- 1. one Parquet file is one split ----------------------------------------------

def test_single_parquet_file_gives_only_the_split_its_name_says(tmp_path):
    root = write_parquet(tmp_path / "pq")
    train = next((root / "data").glob("train-*.parquet"))
    assert open_dataset(train, "train").texts == [t for _, t in LINES["train"]]
    for split in ("valid", "test"):
        with pytest.raises(DatasetError, match=rf"^{train}: cannot give split '{split}'.*its name says it holds "
                                               r"'train'"):
            open_dataset(train, split)
    valid = next((root / "data").glob("validation-*.parquet"))
    assert open_dataset(valid, "valid").texts == [LINES["valid"][0][1]]  # validation- names valid
    with pytest.raises(DatasetError, match="holds 'valid'"):
        open_dataset(valid, "train")


def test_a_split_folder_holding_other_splits_files_is_refused(tmp_path):
    root = write_parquet(tmp_path / "pq")
    mixed = root / "test"
    mixed.mkdir()
    for f in (root / "data").glob("*.parquet"):  # train-, validation- and test-*.parquet all inside test/
        f.rename(mixed / f.name)
    with pytest.raises(DatasetError, match=r"a train file inside a folder named 'test'"):
        open_dataset(mixed, "test")  # it scored all three splits as the test
    for f in mixed.glob("*.parquet"):  # files named for no split take their folder's
        f.rename(mixed / f.name.replace("train-", "part-a-").replace("validation-", "part-b-"))
    assert len(open_dataset(mixed, "test")) == sum(len(v) for v in LINES.values())


def test_single_parquet_file_named_for_no_split(tmp_path):
    f = _table(tmp_path / "lines.parquet", [{"text": "ab"}, {"text": "cd"}])
    with pytest.raises(DatasetError, match=rf"^{f}: cannot give split 'train'.*names no split"):
        open_dataset(f, "train")
    assert open_dataset(f, None).texts == ["ab", "cd"]  # every row, asked for explicitly


def test_parquet_split_column_is_read(tmp_path):
    rows = [{"text": "one", "split": "train"}, {"text": "two", "split": "Validation"},
            {"text": "three", "split": "test"}, {"text": "four", "split": "train"}]
    f = _table(tmp_path / "all.parquet", rows)
    assert open_dataset(f, "train").texts == ["one", "four"]
    assert open_dataset(f, "valid").texts == ["two"] and open_dataset(f, "test").texts == ["three"]
    assert open_dataset(f, "train").ids == ["all:0", "all:3"]  # row numbers of the file
    assert len(open_dataset(f, None)) == 4
    with pytest.raises(DatasetError, match=rf"^{f}: no row of split 'extra' in column 'split'"):
        open_dataset(f, "extra")
    # a folder whose files are not named by split falls back to their split column
    assert open_dataset(tmp_path, "test").texts == ["three"]


def test_parquet_ids_stay_unique_across_files_with_one_stem(tmp_path):
    _table(tmp_path / "pq" / "train" / "0.parquet", [{"text": "ab"}])
    _table(tmp_path / "pq" / "test" / "0.parquet", [{"text": "cd"}])
    assert open_dataset(tmp_path / "pq", None).ids == ["test/0:0", "train/0:0"]
    assert open_dataset(tmp_path / "pq", "train").ids == ["0:0"]



def test_empty_splits_are_refused(tmp_path):
    f = _table(tmp_path / "pq" / "all.parquet", [{"text": "one", "split": "train"}])
    with pytest.raises(DatasetError, match=rf"^{tmp_path / 'pq'}: split 'test' holds no rows"):
        open_dataset(tmp_path / "pq", "test")  # a folder: the split column leaves nothing
    with pytest.raises(DatasetError, match=rf"^{f}: no row of split 'test'"):
        open_dataset(f, "test")
    root = write_iam(tmp_path / "iam")
    (root / "splits" / "test.txt").write_text("# nothing yet\n")
    with pytest.raises(DatasetError, match=rf"^{root / 'splits' / 'test.txt'}: split 'test' lists no lines"):
        open_dataset(root, "test")
    write_gt_txt(tmp_path / "d")
    (tmp_path / "d" / "valid" / "l3.gt.txt").write_text("\n")
    ds = open_dataset(tmp_path / "d", "valid", bad="skip")  # all left out: empty, but says why
    assert len(ds) == 0 and [s.reason for s in ds.skipped] == ["empty transcription"]

# --- 2. duplicates -----------------------------------------------------------------

def test_split_list_with_an_entry_twice(tmp_path):
    root = write_gt_txt_flat(tmp_path / "d")
    (root / "train.txt").write_text("l0\nl1\n./l0.png\nl2\nl2.png\n")
    with pytest.raises(DatasetError, match=rf"^{root / 'train.txt'}: line id\(s\) listed more than once: "
                                           r"'l0', 'l2' "):
        open_dataset(root, "train")
    ds = open_dataset(root, "train", bad="skip")  # first occurrence kept, the others listed
    assert ds.ids == ["l0", "l1", "l2"]
    assert [s.source for s in ds.skipped] == [str(root / "l0.png"), str(root / "l2.png")]
    assert all("occurs twice" in s.reason for s in ds.skipped) and ds.report.dropped == {"duplicate id": 2}


def test_iam_split_file_with_a_line_twice(tmp_path):
    root = write_iam(tmp_path / "iam")
    (root / "splits" / "train.txt").write_text("a01-000u-00\na01-000u\n")  # the form holds -00 again
    with pytest.raises(DatasetError, match=rf"^{root / 'splits' / 'train.txt'}: .*'a01-000u-00'"):
        open_dataset(root, "train")
    ds = open_dataset(root, "train", bad="skip")
    assert ds.ids == ["a01-000u-00", "a01-000u-01", "a01-000u-02"] and len(ds.skipped) == 1


def test_parquet_duplicate_ids(tmp_path):
    f = _table(tmp_path / "train.parquet", [{"id": "a", "text": "x"}, {"id": "b", "text": "y"},
                                            {"id": "a", "text": "z"}])
    with pytest.raises(DatasetError, match=rf"^{f}: line id\(s\) listed more than once: 'a' "):
        open_dataset(f, "train")
    ds = open_dataset(f, "train", bad="skip")
    assert ds.ids == ["a", "b"] and ds.texts == ["x", "y"]
    assert ds.skipped == [Skipped(f"{f}#row2", f"line id 'a' occurs twice (first in {f}#row0)")]


@pytest.mark.parametrize("listed", [False, True])
def test_two_images_for_one_line(tmp_path, listed):
    root = (write_gt_txt_flat if listed else write_gt_txt)(tmp_path / "d")
    folder = root if listed else root / "train"
    Image.fromarray(line_image("other")).save(folder / "l1.jpg")
    pattern = rf"^{folder / 'l1.jpg'}: 2 images for one line: l1.jpg and l1.png in {folder}"
    with pytest.raises(DatasetError, match=pattern):
        open_dataset(root, "train")
    ds = open_dataset(root, "train", bad="skip")
    assert ds.ids == ["l0", "l2"] and ds.report.dropped == {"two images": 1}
    assert ds.skipped[0].source == str(folder / "l1.jpg") and "l1.png" in ds.skipped[0].reason


# --- 3. IAM lines.txt with more than nine fields ----------------------------------

def test_iam_lines_txt_row_with_ten_fields(tmp_path):
    root = write_iam(tmp_path / "iam", "ascii")
    path = root / "ascii" / "lines.txt"
    rows = path.read_text().splitlines()
    n = next(k for k, r in enumerate(rows, 1) if r.startswith("a01-000u-01 "))
    rows[n - 1] = rows[n - 1].replace("nominating|any", "nominating any")  # a space inside the text field
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DatasetError, match=rf"^{path}:{n}: expected 9 fields .*got 10"):
        open_dataset(root, "train")
    assert open_dataset(root, "valid").texts == [IAM_LINES["a01-000u-02"][0]]  # other lines still read
    ds = open_dataset(root, "train", bad="skip")
    assert ds.ids == ["a01-000u-00"] and ds.skipped[0].source == f"{path}:{n}"
    # a form id in a split still reaches the malformed line, so it is reported, not lost
    (root / "splits" / "train.txt").write_text("a01-000u\n")
    with pytest.raises(DatasetError, match=rf"{path}:{n}"):
        open_dataset(root, "train")



def test_iam_lines_txt_id_given_twice(tmp_path):
    root = write_iam(tmp_path / "iam", "ascii")
    path = root / "ascii" / "lines.txt"
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows + ["b02-010-00 ok 1 1 1 1 1 1 other|text"]) + "\n")
    with pytest.raises(DatasetError, match=rf"^{path}:{len(rows) + 1}: line id 'b02-010-00' given twice "
                                           rf"\(first on row {len(rows)}\)"):
        open_dataset(root, "test")

# --- 4. byte-order marks -----------------------------------------------------------

def test_bom_is_stripped_everywhere(tmp_path):
    root = write_gt_txt_flat(tmp_path / "d")
    (root / "l0.gt.txt").write_text("\ufeffA move to stop\n", encoding="utf-8")
    (root / "train.txt").write_text("\ufeffl0\nl1\n", encoding="utf-8")
    ds = open_dataset(root, "train")
    assert ds.ids == ["l0", "l1"] and ds.texts[0] == "A move to stop"
    assert not ds.report.skipped and not ds.report.mapped

    iam = write_iam(tmp_path / "iam", "ascii")
    lines = iam / "ascii" / "lines.txt"
    lines.write_text("\ufeff" + lines.read_text(), encoding="utf-8")
    split = iam / "splits" / "test.txt"
    split.write_text("\ufeff" + split.read_text(), encoding="utf-8")
    assert open_dataset(iam, "test").texts == [IAM_LINES["b02-010-00"][0]]

    f = _table(tmp_path / "test.parquet", [{"text": "\ufeffis 42"}])
    ds = open_dataset(f, "test", unknown="error")
    assert ds.texts == ["is 42"] and not ds.report


# --- 5. float TIFFs ------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1.0, 255.0])
def test_float_tiff_is_read_as_grey(tmp_path, scale):
    grey = line_image("ab c")
    path = tmp_path / "line.tif"
    Image.fromarray((grey / 255.0 * scale).astype(np.float32), mode="F").save(path)
    assert Image.open(path).mode == "F"
    assert np.array_equal(read_grey(path, str(path)), grey)


@pytest.mark.parametrize("bad, why", [(np.nan, "NaN or infinite"), (-1.0, r"span -1\.\.1;"),
                                      (300.0, r"span 0\.\.300;")])
def test_float_tiff_out_of_range_is_refused(tmp_path, bad, why):
    arr = np.ones((10, 20), np.float32)
    arr[0, 0] = 0.0
    arr[5, 5] = bad
    path = tmp_path / "line.tif"
    Image.fromarray(arr, mode="F").save(path)
    with pytest.raises(DatasetError, match=rf"^{path}: float image .*{why}"):
        read_grey(path, str(path))


# --- 6. hwr data synth --out only replaces its own folders --------------------------

def _own_dataset(root: Path) -> Path:
    write_gt_txt(root)
    (root / "manifest.json").write_text(json.dumps({"format": "hwr-synth-lines", "generator_version": 1,
                                                    "config": {"seed": 0}}))
    (root / "build.json").write_text("{}")
    return root


@pytest.mark.parametrize("case", ["foreign manifest", "not json", "notes beside", "notes in a split"])
def test_synth_refuses_folders_it_did_not_make(tmp_path, capsys, case):
    from hwr.cli import main

    out = tmp_path / "mine"
    if case in ("foreign manifest", "not json"):
        write_gt_txt(out)
        (out / "manifest.json").write_text('{"name": "my data"}' if case == "foreign manifest" else "{oops")
        why = "not a synthetic dataset made by this generator"
    else:
        _own_dataset(out)
        (out / ("notes.txt" if case == "notes beside" else "train/notes.txt")).write_text("keep me")
        why = "files the generator did not write .*notes.txt"
    before = _snapshot(out)
    with pytest.raises(OutputFolderError, match=rf"^{out}: .*{why}.*nothing was deleted"):
        refuse_foreign_folder(out)
    assert main(["data", "synth", "--preset", "smoke", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "refusing to replace it" in err[0]
    assert _snapshot(out) == before and not list(tmp_path.glob(".mine.*"))  # nothing deleted, nothing left


def test_synth_may_replace_its_own_or_an_empty_folder(tmp_path):
    refuse_foreign_folder(_own_dataset(tmp_path / "own"))  # no error
    (tmp_path / "empty").mkdir()
    refuse_foreign_folder(tmp_path / "empty")
    refuse_foreign_folder(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputFolderError, match="is not a folder"):
        refuse_foreign_folder(tmp_path / "file")
    assert issubclass(OutputFolderError, HwrError) and issubclass(OutputFolderError, FileExistsError)


# --- 7. export must not overlap its source -------------------------------------------

@pytest.mark.parametrize("where", ["inside", "same", "holds"])
def test_export_refuses_an_overlapping_output(tmp_path, capsys, where):
    from hwr.cli import main

    src = write_gt_txt(tmp_path / "data" / "src")
    out = {"inside": src / "train", "same": src, "holds": tmp_path / "data"}[where]
    before = _snapshot(tmp_path)
    assert main(["data", "export", str(src), "--split", "train", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{out}: output folder" in err[0] and str(src) in err[0]
    with pytest.raises(DatasetError, match=rf"^{out}: output folder"):
        export_gt_txt(open_dataset(src, "train"), out)
    assert _snapshot(tmp_path) == before  # not one file written or changed
    assert main(["data", "export", str(src), "--split", "train", "--out", str(tmp_path / "elsewhere")]) == 0


# --- 8. skipped lines are listed with file and cause --------------------------------

def test_skipped_lines_listed_at_listing_and_at_read(tmp_path, caplog):
    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l1.gt.txt").write_text("\n")
    (root / "train" / "l2.png").write_bytes(b"not an image")
    with caplog.at_level(logging.WARNING):
        ds = open_dataset(root, "train", bad="skip")
    assert ds.ids == ["l0", "l2"]
    assert ds.skipped == [Skipped(str(root / "train" / "l1.png"), "empty transcription")]
    for _ in range(2):  # found only when read: raised naming the file, listed once
        with pytest.raises(DatasetError, match=rf"^{root / 'train' / 'l2.png'}: cannot read image"):
            ds[1]
    assert len(ds.skipped) == 2 and ds.skipped[1].source == str(root / "train" / "l2.png")
    assert ds.skipped[1].reason.startswith("cannot read image")
    assert ds.report.dropped == {"empty transcription": 1, "unreadable image": 1}
    sub = ds.subset([1, 0])  # a subset shares its parent's list
    assert sub.skipped is ds.skipped and sub[1].id == "l0"
    ds.record_skip("elsewhere.png", "vanished")
    ds.record_skip("elsewhere.png", "vanished")
    assert ds.skipped[-1] == Skipped("elsewhere.png", "vanished") and len(ds.skipped) == 3


def test_bad_error_lists_nothing_and_raises(tmp_path):
    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l2.png").write_bytes(b"not an image")
    ds = open_dataset(root, "train")
    with pytest.raises(DatasetError, match="l2.png: cannot read image"):
        ds[2]
    assert ds.skipped == [] and ds.bad == "error"


def test_loader_failures_land_in_the_list(tmp_path):
    from hwr.preprocess import make_loader

    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l0.png").write_bytes(b"")
    ds = open_dataset(root, "train", bad="skip")
    loader = make_loader(ds, 2, train=False)
    assert sum(len(b) for b in loader) == 2
    assert [s.source for s in ds.skipped] == [str(root / "train" / "l0.png")]


# --- 9. errors are HwrErrors: one line, exit 2 ---------------------------------------

def test_errors_are_hwr_errors(tmp_path, capsys):
    from hwr.cli import main

    assert issubclass(DatasetError, HwrError) and issubclass(DatasetError, ValueError)
    with pytest.raises(HwrError):
        Codec().encode("caf\u00e9")
    assert issubclass(UnknownCharacterError, ValueError)
    root = write_gt_txt(tmp_path / "d")
    (root / "train" / "l0.gt.txt").write_text("\u4e2d\n")
    assert main(["data", "stats", str(root), "--split", "train"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "l0.png: character '中'" in err[0]


# --- 10. base and views import one way ----------------------------------------------

def test_datasets_base_does_not_import_views():
    import hwr.datasets.base as base
    import hwr.datasets.views as views

    def imported(module) -> set[str]:
        tree = ast.parse(Path(module.__file__).read_text())
        return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}

    assert "hwr.datasets.views" not in imported(base)
    assert "hwr.datasets.base" in imported(views)
    from hwr.datasets import SubsetDataset

    assert SubsetDataset.__module__ == "hwr.datasets.base"



@pytest.mark.parametrize("orientation, turn", [(6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270),
                                               (3, Image.Transpose.ROTATE_180)])
def test_a_phone_jpeg_is_read_the_way_it_is_displayed(tmp_path, orientation, turn):
    from hwr.datasets.base import ORIENTATION, header_size

    shown = np.full((40, 200), 255, np.uint8)
    shown[:, :30] = 0  # ink at the start of the line
    stored = Image.fromarray(shown).transpose(turn)  # the pixels as the sensor wrote them
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    path = tmp_path / "phone.jpg"
    stored.save(path, exif=exif, quality=95)
    grey = read_grey(path, "phone.jpg")
    assert grey.shape == (40, 200) and header_size(path) == (40, 200)
    assert grey[:, :25].mean() < 40 and grey[:, 40:].mean() > 215  # ink on the left, paper on the right


def test_export_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    from hwr.cli import main

    src = write_gt_txt(tmp_path / "src")
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["data", "export", str(src), "--split", "train", "--out", str(out)]) == 2
    assert "not empty (notes.txt)" in capsys.readouterr().err and (out / "notes.txt").read_text() == "mine"
    assert main(["data", "export", str(src), "--split", "train", "--out", str(tmp_path / "first")]) == 0
    assert main(["data", "export", str(src), "--split", "valid", "--out", str(tmp_path / "first")]) == 2  # no merge
    assert len(list((tmp_path / "first").glob("*.gt.txt"))) == len(LINES["train"])


def test_synth_through_a_link_replaces_the_target_and_cleans_a_killed_builds_leftovers(tmp_path):
    import os
    import subprocess

    from hwr.synth.config import SynthConfig
    from hwr.synth.dataset import generate

    target, link = tmp_path / "store" / "syn", tmp_path / "link_syn"
    target.parent.mkdir()
    link.symlink_to(target, target_is_directory=True)
    proc = subprocess.Popen(["true"])  # a PID that has exited
    proc.wait()
    dead = proc.pid
    leftover = target.parent / f".syn.tmp-{dead}"
    (leftover / "train").mkdir(parents=True)
    (leftover / "train" / "x.png").write_bytes(b"4 MB of a killed build")
    cfg = SynthConfig(seed=1, train=2, valid=1, test=1)
    for _ in range(2):  # the second build replaces the first, through the link
        generate(cfg, link, workers=1, progress=False)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (target / "manifest.json").exists() and not leftover.exists()
    assert sorted(p.name for p in tmp_path.rglob(".*")) == []  # no .tmp-PID or .old-PID left anywhere
