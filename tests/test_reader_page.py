"""The page "Read a line" in headless Chromium, offline: onnxruntime-web and the shipped models served
from the build, the same input tensor as Python for the same image, the same transcription as the
Python model through the upload path and the test-line menu, and a drawn stroke that gets read.

The site is minimal (a few seconds, no book build): the page's own HTML from book/read_a_line.md in a
bare document, its style sheet, and what hwr.book.site stages for it (hwr.ship.web.stage_reader),
with two tiny untrained models shipped into a temporary models/ (tests/ship_fixtures.py): the checks
compare the browser with Python on the same weights. The latencies are printed, never asserted.
"""

import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hwr.paths import BOOK
from hwr.preprocess import prepare

sys.path.insert(0, str(Path(__file__).parent))
from browser import Chromium, find_chromium, install_hint, serve  # noqa: E402
from ship_fixtures import TEXTS, grey, ship_tiny, text_line  # noqa: E402

OFFLINE = ("net::ERR_NAME_NOT_RESOLVED", "net::ERR_INTERNET_DISCONNECTED")


def page_html() -> str:
    """The page's raw HTML block, in a bare document with the book's style sheet."""
    source = (BOOK / "read_a_line.md").read_text()
    block = re.search(r"```\{raw\} html\n(.*?)```", source, re.S).group(1)
    return (f'<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f'<link rel="icon" href="data:,"><link rel="stylesheet" href="../hwr.css"></head><body><main>{block}</main></body></html>')


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not find_chromium():
        pytest.skip(f"chromium is not installed ({install_hint()})")
    from hwr.ship.web import stage_reader

    tmp = tmp_path_factory.mktemp("reader")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HWR_MODELS", str(tmp / "models"))
        ship_tiny(tmp / "models", tmp / "runs")
        site = tmp / "site"
        stage_reader(site)
        (site / "book").mkdir()
        (site / "book" / "read_a_line.html").write_text(page_html(), encoding="utf-8")
        (site / "hwr.css").write_text((BOOK / "_static" / "hwr.css").read_text())
        # images the page must prepare exactly as Python does: shrunk, enlarged, colour with
        # transparency, light ink on dark
        text_line(TEXTS[0]).resize((400, 70)).save(tmp / "big.png")
        text_line(TEXTS[1]).resize((60, 10)).save(tmp / "small.png")
        rgba = np.zeros((24, 120, 4), np.uint8)
        rgba[..., 0] = 40
        rgba[..., 3] = 255 - np.asarray(text_line("rgba 7").resize((120, 24)))
        from PIL import Image

        Image.fromarray(rgba, "RGBA").save(tmp / "alpha.png")
        Image.fromarray(255 - np.asarray(text_line(TEXTS[2]))).save(tmp / "dark.png")
        yield tmp


WAIT = """(async (source) => {
  for (let i = 0; i < 600; i++) {
    const r = window.hwrReader.lastResult;
    if (r && (r.source === source || r.error)) return r;
    await new Promise(ok => setTimeout(ok, 100));
  }
  return null;
})(%r)"""


def upload(tab, path: Path, model: str) -> dict:
    """Read ``path`` through the page's file input with ``model`` selected."""
    tab.evaluate(f"document.getElementById('hwr-model').value = {model!r}; window.hwrReader.lastResult = null")
    doc = tab.call("DOM.getDocument")
    node = tab.call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#hwr-upload")
    tab.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node["nodeId"])
    return tab.evaluate(WAIT % path.name, promise=True)


def python_read(name: str, path: Path):
    from hwr.recognize import recognize_image
    from hwr.ship import load_shipped

    model = load_shipped(name).model
    start = time.perf_counter()
    text = recognize_image(model, grey(path)).text
    return text, 1000 * (time.perf_counter() - start), model.input_height


def test_the_page_reads_lines_offline_as_python_does(site, monkeypatch):
    monkeypatch.setenv("HWR_MODELS", str(site / "models"))
    with serve(site / "site") as base, Chromium() as browser:
        tab = browser.open(f"{base}/book/read_a_line.html", 1280)
        tab.evaluate("window.hwrReader.ready", promise=True)
        assert tab.evaluate("document.querySelectorAll('#hwr-model option').length") == 2
        about = tab.evaluate("document.getElementById('hwr-about').textContent")
        assert "synthetic lines" in about and "test CER 25.0 %" in about  # from the shipped record
        for name in ("tiny-ctc", "tiny-attention"):
            for image in ["big.png", "small.png", "alpha.png", "dark.png", "models/lines/00.png"]:
                path = site / image
                result = upload(tab, path, name)
                assert result and "error" not in result, (name, image, result)
                text, python_ms, height = python_read(name, path)
                assert result["text"] == text, (name, image)
                sent = np.array(tab.evaluate("Array.from(window.hwrReader.lastInput.data)"), np.float32)
                expected = prepare(grey(path) if np.median(grey(path)) >= 128 else 255 - grey(path), height)
                assert sent.size == expected.size and np.array_equal(sent, expected.ravel()), (name, image)
                print(f"\n{name} {image} ({expected.shape[1]} px): {text!r}; browser {result['ms']:.0f} ms, "
                      f"Python CPU {python_ms:.0f} ms")
            assert text, "the Python model read nothing: the comparison would check nothing"
        # a test line from the menu, then a stroke on the pad (mouse) and one on a phone (touch)
        tab.evaluate("window.hwrReader.lastResult = null; document.querySelector('#hwr-lines button').click()")
        assert tab.evaluate(WAIT % "00.png", promise=True)["text"] == python_read("tiny-attention",
                                                                                  site / "models/lines/00.png")[0]
        draw(tab, "mouse")
        drawn = tab.evaluate(WAIT % "drawing", promise=True)
        assert drawn and "error" not in drawn and tab.evaluate("document.getElementById('hwr-text').textContent")
        errors = [e for e in tab.errors if not any(code in e for code in OFFLINE)]
        assert not errors, errors
        phone = browser.open(f"{base}/book/read_a_line.html", 390)
        phone.evaluate("window.hwrReader.ready", promise=True)
        draw(phone, "touch")
        assert phone.evaluate(WAIT % "drawing", promise=True)["text"] is not None
        wide = phone.evaluate("[...document.querySelectorAll('#hwr-reader *')].filter(e => "
                              "e.getBoundingClientRect().right > innerWidth + 1).map(e => e.id || e.tagName)")
        assert not wide, f"on a phone these stick out of the screen: {wide}"
        assert phone.evaluate("document.documentElement.scrollWidth") <= 391, "the page scrolls sideways on a phone"


def draw(tab, kind: str) -> None:
    """A zigzag across the pad, with the mouse or a finger."""
    tab.evaluate("window.hwrReader.lastResult = null")
    box = tab.evaluate("(() => { const r = document.getElementById('hwr-pad').getBoundingClientRect(); "
                       "return [r.left, r.top, r.width, r.height]; })()")
    left, top, width, height = box
    points = [(left + width * (0.1 + 0.02 * k), top + height * (0.3 if k % 2 else 0.7)) for k in range(30)]
    if kind == "mouse":
        for event, (x, y) in [("mousePressed", points[0]), *[("mouseMoved", p) for p in points[1:]],
                              ("mouseReleased", points[-1])]:
            tab.call("Input.dispatchMouseEvent", type=event, x=x, y=y, button="left", clickCount=1,
                     buttons=0 if event == "mouseReleased" else 1)
    else:
        tab.call("Input.dispatchTouchEvent", type="touchStart", touchPoints=[{"x": points[0][0], "y": points[0][1]}])
        for x, y in points[1:]:
            tab.call("Input.dispatchTouchEvent", type="touchMove", touchPoints=[{"x": x, "y": y}])
        tab.call("Input.dispatchTouchEvent", type="touchEnd", touchPoints=[])
