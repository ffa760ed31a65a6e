"""Benchmark: how long each shipped model takes to read a line, in headless Chromium on the page
"Read a line" (onnxruntime-web, WebAssembly) and in Python on the CPU (hwr.recognize), side by side
on the same shipped test lines. Prints figures; asserts nothing but that both read the same text.

    .venv/bin/python tests/bench_reader.py [--reads 5] [--lines 00,02,03]

Each line is read ``--reads`` times per model after one warm-up read (the first read in the browser
also compiles the WebAssembly); the median is printed, preprocessing included on both sides. Python
runs on one thread, as the book's runs do. The site is the page's own HTML with the real models/
(tests/test_reader_page.py builds the same minimal site with tiny models).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from browser import Chromium, find_chromium, install_hint, serve  # noqa: E402
from test_reader_page import WAIT, page_html  # noqa: E402

from hwr.paths import BOOK  # noqa: E402
from hwr.recognize import recognize_image  # noqa: E402
from hwr.ship import load_shipped, shipped_names  # noqa: E402
from hwr.ship.store import shipped_dir  # noqa: E402
from hwr.ship.web import stage_reader  # noqa: E402
from ship_fixtures import grey  # noqa: E402


def browser_ms(tab, path: Path, model: str) -> tuple[str, float]:
    """One read of ``path`` through the page's file input: (text, milliseconds the page reports)."""
    tab.evaluate(f"document.getElementById('hwr-model').value = {model!r}; window.hwrReader.lastResult = null")
    doc = tab.call("DOM.getDocument")
    node = tab.call("DOM.querySelector", nodeId=doc["root"]["nodeId"], selector="#hwr-upload")
    tab.call("DOM.setFileInputFiles", files=[str(path)], nodeId=node["nodeId"])
    result = tab.evaluate(WAIT % path.name, promise=True)
    if not result or "error" in result:
        raise RuntimeError(f"{model} {path.name}: the page did not read it ({result})")
    # the same file again is not a change event: clear the input for the next read
    tab.evaluate("document.getElementById('hwr-upload').value = ''")
    return result["text"], float(result["ms"])


def python_ms(model, path: Path) -> tuple[str, float]:
    start = time.perf_counter()
    text = recognize_image(model, grey(path)).text
    return text, 1000 * (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=5)
    parser.add_argument("--lines", default="00,02,03", help="shipped test lines (models/lines/NN.png)")
    args = parser.parse_args()
    if not find_chromium():
        print(f"chromium is not installed ({install_hint()})", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    lines = [shipped_dir() / "lines" / f"{n}.png" for n in args.lines.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        stage_reader(site)
        (site / "book").mkdir()
        (site / "book" / "read_a_line.html").write_text(page_html(), encoding="utf-8")
        (site / "hwr.css").write_text((BOOK / "_static" / "hwr.css").read_text())
        with serve(site) as base, Chromium() as browser:
            tab = browser.open(f"{base}/book/read_a_line.html", 1280)
            tab.evaluate("window.hwrReader.ready", promise=True)
            print(f"{'model':<14} {'line':<8} {'px':>5}  {'browser ms':>10}  {'Python ms':>9}  same text")
            for name in shipped_names():
                model = load_shipped(name).model
                for path in lines:
                    browser_ms(tab, path, name), python_ms(model, path)  # warm-up
                    web = [browser_ms(tab, path, name) for _ in range(args.reads)]
                    py = [python_ms(model, path) for _ in range(args.reads)]
                    width = grey(path).shape[1]
                    print(f"{name:<14} {path.name:<8} {width:>5}  {statistics.median(t for _, t in web):>10.0f}  "
                          f"{statistics.median(t for _, t in py):>9.0f}  {'yes' if web[0][0] == py[0][0] else 'NO'}",
                          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
