"""Shipped models (hwr.ship): ship a run, load it by name with its checksum checked, read a line with
`hwr recognize --model NAME`, export to ONNX and agree with PyTorch; and every model actually shipped
in models/ loads and reads the shipped test lines."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hwr.cli import main
from hwr.errors import CheckpointError, HwrError
from hwr.preprocess import prepare

sys.path.insert(0, str(Path(__file__).parent))
from ship_fixtures import TEXTS, grey, make_run, ship_tiny, text_line  # noqa: E402

#: PyTorch and onnxruntime, both float32, differ by rounding only: the largest log-probability
#: difference seen on these models is about 5e-6; 1e-3 leaves room for other CPUs' kernels
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shipped")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HWR_MODELS", str(tmp / "models"))
        ship_tiny(tmp / "models", tmp / "runs")
        yield tmp


def test_ship_writes_weights_and_record(shipped):
    from hwr.ship import read_record, shipped_names

    assert shipped_names() == ["tiny-attention", "tiny-ctc"]
    record = read_record("tiny-ctc")
    assert record["experiment"] == "ctc_baseline" and record["family"] == "ctc"
    assert record["run_id"] == "ctc_baseline-s0-0000000000" and record["test"]["cer"] == 0.25
    assert record["parameters"] > 1_000_000 and record["dtype"] == "float32"
    assert record["bytes"] == (shipped / "models" / "tiny-ctc" / "model.pt").stat().st_size


def test_shipped_model_loads_with_the_run_weights(shipped):
    from hwr.models.io import load_model
    from hwr.ship import load_shipped

    ours = load_shipped("tiny-attention").model
    original = load_model(shipped / "runs" / "tiny-attention")
    for (k, a), (_, b) in zip(ours.state_dict().items(), original.state_dict().items()):
        assert torch.equal(a, b), k


def test_a_changed_weights_file_fails_its_checksum(tmp_path, monkeypatch):
    from hwr.ship import load_shipped, ship_run

    monkeypatch.setenv("HWR_MODELS", str(tmp_path / "models"))
    ship_run(make_run(tmp_path / "run", "ctc_baseline", {"input_height": 32}), "damaged")
    weights = tmp_path / "models" / "damaged" / "model.pt"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_shipped("damaged")
    with pytest.raises(HwrError, match="no shipped model 'absent'.*damaged"):
        load_shipped("absent")
    with pytest.raises(HwrError, match="already shipped"):
        ship_run(tmp_path / "run", "damaged")
    with pytest.raises(HwrError, match="lower case"):
        ship_run(tmp_path / "run", "Best CTC")


def test_float16_weights_halve_the_file_and_run_in_float32(tmp_path, monkeypatch):
    from hwr.ship import load_shipped, read_record, ship_run
    from hwr.models.io import load_model

    monkeypatch.setenv("HWR_MODELS", str(tmp_path / "models"))
    run = make_run(tmp_path / "run", "ctc_baseline", {"input_height": 32})
    ship_run(run, "full")
    ship_run(run, "half", dtype="float16")
    assert read_record("half")["bytes"] < 0.55 * read_record("full")["bytes"]
    half = load_shipped("half").model
    assert all(p.dtype == torch.float32 for p in half.parameters())
    x = torch.from_numpy(prepare(np.asarray(text_line(TEXTS[0])), 32))[None, None]
    diff = (half(x) - load_model(run)(x)).abs().max().item()
    print(f"\nfloat16 weights: max |log-prob difference| {diff:.2e} (untrained ctc_baseline)")
    assert 0 < diff < 0.1


def test_recognize_by_shipped_name(shipped, tmp_path, capsys):
    from hwr.recognize import recognize_image
    from hwr.ship import load_shipped

    image = tmp_path / "line.png"
    text_line(TEXTS[1]).save(image)
    assert main(["recognize", str(image), "--model", "tiny-ctc"]) == 0
    out = capsys.readouterr().out.strip().split("\t")
    expected = recognize_image(load_shipped("tiny-ctc").model, grey(image)).text
    assert out == [str(image), expected] and expected


def test_an_alias_names_a_role_after_a_shipped_model(shipped, tmp_path, capsys, monkeypatch):
    from hwr.ship import aliases, load_shipped, read_record, resolve, set_alias, shipped_names

    models = tmp_path / "models"
    shutil.copytree(shipped / "models", models)
    monkeypatch.setenv("HWR_MODELS", str(models))
    assert aliases() == {} and resolve("best-ctc") == "best-ctc"
    assert main(["ship", "alias", "best-ctc", "tiny-ctc"]) == 0
    assert aliases() == {"best-ctc": "tiny-ctc"} and resolve("best-ctc") == "tiny-ctc"
    assert shipped_names() == ["tiny-attention", "tiny-ctc"]  # an alias is no model of its own
    assert read_record("best-ctc") == read_record("tiny-ctc") and load_shipped("best-ctc").name == "tiny-ctc"
    image = tmp_path / "line.png"
    text_line(TEXTS[1]).save(image)
    capsys.readouterr()
    assert main(["recognize", str(image), "--model", "best-ctc"]) == 0
    by_alias = capsys.readouterr().out
    assert main(["recognize", str(image), "--model", "tiny-ctc"]) == 0
    assert capsys.readouterr().out == by_alias
    # moving the role to another model; refusing a name taken by a model, an unknown model, a bad name
    set_alias("best-ctc", "tiny-attention")
    assert resolve("best-ctc") == "tiny-attention"
    for alias, name, message in [("tiny-ctc", "tiny-attention", "has that name already"),
                                 ("best-x", "absent", "no shipped model 'absent'"), ("Best", "tiny-ctc", "lower case")]:
        with pytest.raises(HwrError, match=message):
            set_alias(alias, name)
    assert main(["ship", "list"]) == 0 and "best-ctc\t-> tiny-attention" in capsys.readouterr().out
    # the page opens on the model of the first role, and shows every model's roles
    from hwr.ship.web import stage_models

    index = stage_models(tmp_path / "site")
    assert [(m["name"], m["roles"]) for m in index["models"]] == [("tiny-attention", ["best-ctc"]), ("tiny-ctc", [])]


@pytest.mark.parametrize("name", ["tiny-ctc", "tiny-attention"])
def test_onnx_export_agrees_with_pytorch(shipped, name):
    from hwr.ship import load_shipped
    from hwr.ship.onnx_export import OnnxReader, compare, export_shipped

    folder = export_shipped(name, shipped / "onnx")
    spec = json.loads((folder / "model.json").read_text())
    model = load_shipped(name).model
    assert spec["record"]["name"] == name and spec["input_height"] == model.input_height
    reader = OnnxReader(folder, spec["family"], spec["hidden"])
    lines = [prepare(grey(shipped / "models" / "lines" / f"{i:02d}.png"), model.input_height) for i in range(3)]
    agreement = compare(model, reader, lines)
    print(f"\n{name}: PyTorch vs ONNX, {agreement.same_text}/{agreement.lines} same texts, "
          f"max |log-prob difference| {agreement.max_abs_diff:.2e}")
    assert agreement.same_text == agreement.lines and all(a for a, _ in agreement.texts)
    assert agreement.max_abs_diff < TOLERANCE


def test_every_model_shipped_in_models_reads_a_rendered_line(monkeypatch):
    """The real shipped models (none before the sweep's runs are shipped: then nothing to check)."""
    monkeypatch.delenv("HWR_MODELS", raising=False)  # the repository's models/, not a fixture's
    from hwr.metrics import cer
    from hwr.recognize import read_line_image, recognize_image
    from hwr.ship import load_shipped, shipped_names
    from hwr.ship.lines import lines_dir, read_lines

    names, lines = shipped_names(), read_lines()
    if not names:
        pytest.skip("no model is shipped in models/ yet")
    assert lines, "models are shipped without test lines (hwr ship lines DATA)"
    for name in names:
        shipped = load_shipped(name)
        texts = [recognize_image(shipped.model, read_line_image(lines_dir() / row["file"])).text for row in lines]
        score = cer([row["text"] for row in lines], texts)
        # a trained model reads the book's lines: its shipped test CER is far under one half
        assert score < max(0.5, 3 * shipped.record["test"]["cer"]), (name, texts)


def test_the_committed_aliases_name_shipped_models_of_their_role(monkeypatch):
    """models/aliases.json: best-ctc names a shipped CTC model, best-attention a shipped attention model."""
    monkeypatch.delenv("HWR_MODELS", raising=False)
    from hwr.ship import aliases, read_record, shipped_names

    table = aliases()
    if not shipped_names():
        pytest.skip("no model is shipped in models/ yet")
    assert {"best-ctc", "best-attention"} <= set(table), table
    for alias, name in table.items():
        assert name in shipped_names(), (alias, name)
    assert read_record("best-ctc")["family"] == "ctc" and read_record("best-attention")["family"] == "seq2seq"
