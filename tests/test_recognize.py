"""hwr recognize: any image file in, text out; bad files reported, not fatal."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from hwr.cli import main
from hwr.recognize import ImageError, frame_centres, read_line_image, recognize_image


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from hwr.models import build

    torch.manual_seed(0)
    model = build("light_in")
    path = tmp_path_factory.mktemp("ckpt") / "light.pt"
    torch.save({"model": model.state_dict(), "experiment": "light_in", "overrides": {}}, path)
    return path


def line_png(path, mode="L", size=(90, 22)):
    rng = np.random.default_rng(0)
    arr = np.full(size[::-1], 255, np.uint8)
    arr[6:16, 5:80] = (rng.random((10, 75)) * 120).astype(np.uint8)
    im = Image.fromarray(arr)
    if mode == "RGBA":  # ink opaque, ground transparent black: must become white
        rgba = np.zeros(size[::-1] + (4,), np.uint8)
        rgba[..., 3] = 255 - arr
        im = Image.fromarray(rgba, "RGBA")
    elif mode != "L":
        im = im.convert(mode)
    im.save(path)
    return path


def test_read_line_image_formats(tmp_path):
    grey = read_line_image(line_png(tmp_path / "a.png"))
    assert grey.dtype == np.uint8 and grey.shape == (22, 90)
    assert np.array_equal(read_line_image(line_png(tmp_path / "b.png", "RGB")), grey)
    rgba = read_line_image(line_png(tmp_path / "c.png", "RGBA"))
    # black ink with alpha = darkness over a transparent ground: composited on white = the grey line
    assert np.abs(rgba.astype(int) - grey).max() <= 1
    with pytest.raises(ImageError, match="no such file"):
        read_line_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(ImageError, match="bad.png"):
        read_line_image(tmp_path / "bad.png")


def test_recognize_image_and_inversion(checkpoint):
    from hwr.training import load_model

    model = load_model(checkpoint)
    img = np.full((20, 70), 255, np.uint8)
    img[5:15, 5:60] = 0
    rec = recognize_image(model, img, confidences=True, attention=True)
    assert rec.image.shape[0] == model.input_height and not rec.inverted
    assert len(rec.confidences) == len(rec.text)
    assert all(0 < p <= 1 for p in rec.confidences)
    assert rec.attention.shape[1] == int(model.output_width(torch.tensor([rec.image.shape[1]]))[0])
    inv = recognize_image(model, 255 - img)
    assert inv.inverted and inv.text == rec.text


def test_frame_centres_cover_the_line(checkpoint):
    from hwr.training import load_model

    model = load_model(checkpoint)
    c = frame_centres(model, 400, 100)
    assert c[0] == pytest.approx(2) and c[-1] == pytest.approx(398)


def test_recognize_command(tmp_path, checkpoint, capsys):
    good = line_png(tmp_path / "line.png")
    jpg = line_png(tmp_path / "line.jpg", "RGB", size=(120, 30))
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    rc = main(["recognize", str(good), str(tmp_path / "missing.png"), str(tmp_path / "bad.png"), str(jpg),
               "--model", str(checkpoint), "--confidences", "--attention-out", str(tmp_path / "att"),
               "--device", "cpu"])
    out, err = capsys.readouterr()
    assert rc == 1  # two files failed, the others were still transcribed
    assert out.count(f"{good}\t") == 1 and out.count(f"{jpg}\t") == 1
    assert "missing.png: no such file" in err and "bad.png: cannot read" in err
    assert (tmp_path / "att" / "line.attention.png").stat().st_size > 1000
    rc = main(["recognize", str(good), "--model", str(checkpoint), "--json", "--confidences", "--device", "cpu"])
    row = json.loads(capsys.readouterr().out.strip())
    assert rc == 0 and row["file"] == str(good) and len(row["confidences"]) == len(row["text"])
