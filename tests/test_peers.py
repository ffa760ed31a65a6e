"""The peers comparison's parts that need neither kraken nor Tesseract (hwr/peers).

Box files, training logs read into curves, the tools' outputs read back and
scored, the run-store choice of the book's models, and the records the appendix
reads. The tools themselves are exercised by ``bash peers/compare.sh --profile
smoke``, not here (CI has neither).
"""

import json
import struct
import sys
import zlib

import pytest

from hwr.metrics import cer, wer
from hwr.peers import boxes, logs, outputs, records, report
from hwr.peers.book import train_command
from hwr.peers.choose import best_models
from hwr.peers.process import run_logged, shown
from hwr.paths import ROOT


def png(path, width, height):
    """A valid grey PNG of the given size (only its header matters to the box writer)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff" * width for _ in range(height))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------- boxes
def test_box_lines_one_box_per_grapheme_over_the_whole_line():
    rows = boxes.box_lines("e\u0301t a\n", 120, 40)  # e + combining acute: one grapheme after NFC
    assert rows == ["\u00e9 0 0 120 40 0", "t 0 0 120 40 0", "  0 0 120 40 0", "a 0 0 120 40 0", "\t 0 0 120 40 0"]


def test_box_lines_refuses_an_empty_line():
    with pytest.raises(ValueError):
        boxes.box_lines("  \n", 10, 10)


def test_write_boxes_links_images_and_skips_lines_without_text(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    png(src / "a.png", 33, 17)
    (src / "a.gt.txt").write_text("hi there\n")
    png(src / "b.png", 10, 10)  # no transcription
    written, skipped = boxes.write_boxes(str(tmp_path / "out"), [str(src / "a.png"), str(src / "b.png")])
    assert written == 1 and len(skipped) == 1 and "b.png" in skipped[0]
    box = (tmp_path / "out" / "a.box").read_text().splitlines()
    assert box[0] == "h 0 0 33 17 0" and box[-1] == "\t 0 0 33 17 0" and len(box) == len("hi there") + 1
    assert (tmp_path / "out" / "a.png").resolve() == (src / "a.png").resolve()
    assert boxes.image_size(str(src / "a.png")) == (33, 17)


# ---------------------------------------------------------------- logs
KETOS_LOG = "\n".join([
    "0.000\t$ ketos train ...",
    "5.100\tGPU available: False",
    '6.200\tPEERS {"event": "start", "parameters": 4017726, "trainable": 4017726}',
    "30.0\t│ stage 0/∞ ━━━━━━━━ 15/15 0:00:20 • 0:00:00 0.71it/s val_accuracy: 0.000",
    '40.000\tPEERS {"event": "validation", "seconds": 33.5, "lines": 240, "epoch": 0, "val_cer": 1.0, "val_wer": 1.0}',
    '70.000\tPEERS {"event": "validation", "seconds": 64.25, "lines": 480, "epoch": 1, "val_cer": 0.75, "val_wer": 0.9}',
    '71.000\tPEERS {"event": "end", "seconds": 64.3, "lines": 480, "epochs": 2}',
    '72.000\tPEERS {"event": "validation", "seconds": 6',  # a line cut short
])


def test_ketos_curve_and_summary():
    assert logs.ketos_curve(KETOS_LOG) == [
        {"seconds": 33.5, "lines": 240, "cer": 1.0, "curve": "validation"},
        {"seconds": 64.25, "lines": 480, "cer": 0.75, "curve": "validation"}]
    assert logs.ketos_summary(KETOS_LOG) == {"parameters": 4017726, "lines": 480, "seconds": 64.3, "epochs": 2}


LSTM_LOG = "\n".join([
    "0.001\tNum outputs,weights in Series:",
    "0.001\tTotal weights = 160",
    "0.002\t  Lfx192:192, 221952",
    "0.002\tTotal weights = 376929",
    "0.003\tBuilt network:[1,36,0,1[C3,3Ft16]Fc65] from request [1,36,0,1 Ct3,3,16 O1c65]",
    "4.100\tAt iteration 98/100/100, Mean rms=6.498000%, delta=26.780000%, BCER train=99.852000%, "
    "BWER train=100.000000%, skip ratio=0.000000%,  New best BCER = 99.852000 wrote checkpoint.",
    "",
    "8.000\tAt iteration 191/200/201, Mean rms=6.4%, delta=25.2%, BCER train=80.000000%, BWER train=97.000000%, "
    "skip ratio=0.5%,  New best BCER = 80.000000 wrote checkpoint.",
    "9.500\tAt iteration 191, stage 0, BCER eval=75.5, BWER eval=96",
])


def test_lstmtraining_curve_has_training_and_eval_points():
    assert logs.lstmtraining_curve(LSTM_LOG) == [
        {"seconds": 4.1, "lines": 100, "cer": pytest.approx(0.99852), "curve": "training"},
        {"seconds": 8.0, "lines": 200, "cer": pytest.approx(0.80), "curve": "training"},
        {"seconds": 9.5, "lines": 200, "cer": pytest.approx(0.755), "curve": "validation"}]


def test_lstmtraining_summary_takes_the_whole_networks_weights_and_the_last_report():
    s = logs.lstmtraining_summary(LSTM_LOG)
    assert s["parameters"] == 376929 and s["network"].startswith("[1,36,0,1[C3,3")
    assert (s["lines"], s["iterations"], s["seconds"]) == (200, 191, 8.0)


def test_timed_lines_keep_the_last_time_for_untimed_lines():
    assert logs.timed_lines("1.5\ta\nplain\n2\tb\tc") == [(1.5, "a"), (1.5, "plain"), (2.0, "b\tc")]


# ---------------------------------------------------------------- outputs and scores
def test_tesseract_pages_are_separated_by_form_feeds():
    assert outputs.tesseract_pages("one line\n\fVa)\n\f\fIn the\n", 4) == ["one line", "Va)", "", "In the"]
    assert outputs.tesseract_pages("\f\f", 3) == ["", "", ""]  # nothing recognised at all
    assert outputs.tesseract_pages("a\n\fb\n\f", 2) == ["a", "b"]  # a trailing separator as well
    with pytest.raises(ValueError, match="2 pages for 3 images"):
        outputs.tesseract_pages("a\fb", 3)


def test_kraken_and_hwr_outputs_are_matched_by_file_name(tmp_path):
    images = [tmp_path / "test-00000.png", tmp_path / "test-00001.png"]
    (tmp_path / "test-00001.kraken.txt").write_text("hello  world\n")
    assert outputs.kraken_outputs(images, tmp_path) == ["", "hello  world"]
    jsonl = '{"file": "/x/test-00001.png", "text": "b"}\nnoise\n{"file": "test-00000.png", "text": "a "}\n'
    assert outputs.hwr_outputs(images, jsonl) == ["a", "b"]


def test_score_uses_hwr_metrics():
    refs, hyps = ["the cat", "a dog"], ["the cot", ""]
    metrics, rows = outputs.score(["1", "2"], refs, hyps)
    assert metrics["cer"] == pytest.approx(cer(refs, hyps)) == pytest.approx(6 / 12)
    assert metrics["wer"] == pytest.approx(wer(refs, hyps)) and metrics["empty"] == 1
    assert [r["distance"] for r in rows] == [1, 5]
    with pytest.raises(ValueError):
        outputs.score(["1"], refs, hyps)


def test_references_are_read_from_the_gt_files(tmp_path):
    (tmp_path / "x.gt.txt").write_text("e\u0301te\n")
    assert outputs.read_references([tmp_path / "x.png"]) == ["\u00e9te"]


# ---------------------------------------------------------------- commands
def test_shown_commands_leave_out_the_checkout_and_the_interpreter():
    text = shown([sys.executable, "-m", "hwr.cli", ROOT / "peers" / "data", "a b"])
    assert text == ".venv/bin/python -m hwr.cli peers/data 'a b'" and str(ROOT) not in text


def test_train_command_spells_out_every_setting():
    from hwr.runs.spec import RunSpec

    spec = RunSpec("ctc_baseline", "synth:phrases", 0, overrides={"input_height": 32},
                   train={"minutes": 10, "val_width": None, "compile": False, "lr": 0.001})
    cmd = [str(c) for c in train_command(spec, ROOT / "out", 2)]
    assert cmd[cmd.index("--minutes") + 1] == "10" and cmd[cmd.index("--val-width") + 1] == "none"
    assert "--no-compile" in cmd and cmd[-2:] == ["-o", "input_height=32"] and cmd[cmd.index("--threads") + 1] == "2"


def test_run_logged_stops_a_command_at_its_budget(tmp_path):
    code = "import time; print('ready', flush=True); time.sleep(60)"
    done = run_logged([sys.executable, "-c", code], tmp_path / "log.txt", budget_s=1.0, grace_s=5)
    assert done.stopped and done.seconds < 30
    lines = logs.timed_lines((tmp_path / "log.txt").read_text())
    assert [line for _, line in lines][1] == "ready"


# ---------------------------------------------------------------- the book's models
def _stored_run(root, name, spec, family, cer):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "spec.json").write_text(json.dumps({"spec": spec.to_dict(), "identity": {"model": {"family": family}}}))
    (folder / "test.json").write_text(json.dumps({"cer": cer}))


def test_best_models_averages_seeds_on_the_book_task_only(tmp_path):
    from hwr.runs.study import profile_task, task_spec

    task = profile_task("book")
    for seed, c in enumerate([0.30, 0.20]):  # mean 0.25
        _stored_run(tmp_path, f"a{seed}", task_spec(task, "ctc_baseline", seed), "ctc", c)
    for seed, c in enumerate([0.10, 0.50]):  # a lucky seed, but a mean of 0.30
        _stored_run(tmp_path, f"b{seed}", task_spec(task, "gate_1", seed), "seq2seq", c)
        _stored_run(tmp_path, f"c{seed}", task_spec(task, "crnn", seed), "ctc", c)
    # a lower CER off the task (twice the budget) does not count
    _stored_run(tmp_path, "d0", task_spec(task, "proj_conv", 0, train={"minutes": 20}), "ctc", 0.01)
    best = best_models(tmp_path)
    assert best["ctc"].experiment == "ctc_baseline" and best["ctc"].test_cer == pytest.approx(0.25)
    assert best["ctc"].seeds == 2 and sorted(best["ctc"].test_cers) == [0.20, 0.30]
    assert best["seq2seq"].experiment == "gate_1"


# ---------------------------------------------------------------- records and the appendix
def _record(system, kind, cer_value, lines_per_s=None):
    return {"system": system, "label": system.upper(), "short": system.title(), "kind": kind, "budget_minutes": 10, "threads": 2,
            "data": "synth:phrases", "parameters": 1000,
            "training": {"lines": 5000, "seconds": 600, "lines_per_s": lines_per_s} if lines_per_s else {},
            "test": {"cer": cer_value, "wer": 0.5, "lines": 2, "latency_s": 0.01},
            "hardware": {"cores": 2, "cpu": "CPU"}, "load_average": {"before": [0.1, 0, 0]}}


@pytest.fixture
def peers_results(tmp_path, monkeypatch):
    monkeypatch.setenv("HWR_PEERS_RESULTS", str(tmp_path))
    return tmp_path


def test_records_round_trip_in_table_order(peers_results):
    curve = [{"seconds": 60, "lines": 100, "cer": 0.9, "curve": "validation"},
             {"seconds": 90, "lines": 200, "cer": 0.8, "curve": "training"}]
    preds = [{"id": "1", "reference": "ab", "hypothesis": "ab", "distance": 0},
             {"id": "2", "reference": "cd", "hypothesis": "c", "distance": 1}]
    records.write("p", _record("hwr-ctc", "hwr", 0.25, 50.0), curve, preds)
    records.write("p", _record("kraken-default", "kraken", 0.75, 5.0), curve, preds)
    got = records.read("p")
    assert [r["system"] for r in got] == ["kraken-default", "hwr-ctc"]  # records.ORDER, not file names
    frame = records.curves("p", got)
    assert list(frame["label"].unique()) == ["Kraken-Default", "Kraken-Default, training error", "Hwr-Ctc",
                                             "Hwr-Ctc, training error"]
    assert frame["minutes"].tolist()[:2] == [1.0, 1.5] and set(frame["kind"]) == {"validation", "training"}
    import matplotlib

    matplotlib.use("Agg")
    from hwr.peers.figure import curves_figure

    fig = curves_figure(frame)
    assert len(fig.axes[0].lines) == 4  # two systems, a validation and a training curve each
    assert not matplotlib.pyplot.get_fignums()  # closed: a glued figure is not shown a second time
    table = report.table("p", got)
    assert table.loc["HWR-CTC", "CER %"] == pytest.approx(25.0) and len(table) == 2
    text = report.discussion("p", got)
    assert "25.00 %" in text and "75.00 %" in text and "5.0 lines/s" in text


def test_no_records_say_so(peers_results):
    assert records.read("book") == []
    assert report.table("book", []).empty and report.provenance([]).empty
    assert "no records" in report.discussion("book", [])


def test_discussion_says_when_a_system_output_nothing():
    silent = _record("kraken-default", "kraken", 1.0, 4.0)
    silent["test"]["empty"] = silent["test"]["lines"]
    silent["training"]["epochs"] = 1
    talking = _record("hwr-ctc", "hwr", 0.25, 50.0) | {"test": {"cer": 0.25, "wer": 0.5, "lines": 2, "empty": 1}}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(report, "_difference", lambda profile, peer, ours: "-75 points")
        text = report.discussion("p", [silent, talking])
    assert "KRAKEN-DEFAULT output nothing on all 2 test lines" in text and "(1 epoch)" in text
    assert "HWR-CTC output nothing" not in text
