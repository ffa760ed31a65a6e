"""The smoke book as a reader sees it: every page opened in headless Chromium.

Opens the smoke book that ``test_book.py`` executed and built (the shared
``smoke_book`` fixture; built here through ``hwr run`` when run alone), each
page at 1280 px (desktop) and 390 px (phone), and fails on:

- a console error or uncaught exception (requests to other hosts excepted: the
  browser runs offline, every other host unresolvable);
- an equation that did not render (raw TeX left on the page: MathJax must come
  from the build, not a CDN);
- an image that did not load, a figure that a click does not open full size, or
  a figure whose alt text is its file name instead of its caption's first sentence;
- an image that is not a numbered, captioned figure; a figure wider than the
  column (cut off instead of scaled down);
- text in an SVG figure smaller than :data:`MIN_TEXT_PX` as shown (9 px on a
  desktop, 7 px on a phone, where a tap opens the figure full size);
- output text that looks like a progress bar, a warning or a machine path;
- at 1280 px, a table wider than the content column;
- a page wider than the window (at 390 px: text a reader must pan to read);
- at 390 px, a table whose first four columns (model, the book's CER, the
  thesis's, ...) do not fit on the screen without scrolling.

Screenshots of every page at both widths are kept in ``_build/screens/`` (the
CI artefacts). Chromium is Debian's ``chromium`` package: ``.ci/run`` and
``make test`` install it when missing; without it this test is skipped.
"""

import re
import sys
from pathlib import Path

import pytest

from hwr.book.chapters import chapters
from hwr.paths import BUILD, ROOT

sys.path.insert(0, str(Path(__file__).parent))
import bounded  # noqa: E402
from browser import Chromium, find_chromium, install_hint, serve  # noqa: E402

pytestmark = pytest.mark.slow

WIDTHS = {"desktop": 1280, "phone": 390}
#: the smallest text a figure may show, in CSS px: on a desktop figures are at full size; on a phone a wide
#: figure (hwr.plots.style.WIDE) shrinks to about half, and a tap opens it full size
MIN_TEXT_PX = {"desktop": 9, "phone": 7}
SCREENS = BUILD / "screens"
OFFLINE = ("net::ERR_NAME_NOT_RESOLVED", "net::ERR_INTERNET_DISCONNECTED", "net::ERR_CONNECTION_REFUSED",
           "net::ERR_ADDRESS_UNREACHABLE", "net::ERR_PROXY_CONNECTION_FAILED")
NOISE = re.compile(r"\d+%\|[█▉▊▋▌▍▎▏ #]*\||\bit/s\]|Warning\b|(?<![\w.])/(?:root|home|tmp|work|usr|var|opt|Users)/")

CHECKS = r"""(async () => {
  // wait for MathJax to typeset (it is served from the build); a page without it keeps its raw TeX
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  const maths = [...document.querySelectorAll(".math")];
  const raw = maths.filter(m => !m.querySelector("mjx-container") && !m.matches("mjx-container"))
                   .map(m => m.innerText.slice(0, 60));
  const main = document.querySelector("main") || document.querySelector(".bd-article") || document.body;
  const column = (document.querySelector(".bd-article") || main).getBoundingClientRect().width;
  const broken = [...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.src);
  const unlinked = [...document.querySelectorAll("figure img")].filter(i => !i.closest("a")).map(i => i.src);
  // a figure's alt text describes it (its caption's first sentence), never its file name
  const nameless = [...document.querySelectorAll("figure img")].filter(i => /\.(svg|png|gif|jpe?g)$/i.test(i.alt))
                                                               .map(i => i.alt);
  const outputs = [...document.querySelectorAll(".cell_output, .output")].map(o => o.innerText);
  // a table overflows when it is wider than the column, or than any box it sits in (which then scrolls)
  const hidden = t => { for (let e = t; e && e !== main; e = e.parentElement)
      if (e.scrollWidth > e.clientWidth + 1) return e.scrollWidth - e.clientWidth; return 0; };
  // how far a table's first four columns (model, the book's CER, the thesis's, ...) reach past what is
  // on screen without scrolling
  const firstFour = t => { const row = t.querySelector("thead tr") || t.querySelector("tr");
      if (!row || !row.children.length) return 0;
      let box = t; while (box.parentElement && box !== main && box.scrollWidth <= box.clientWidth + 1) box = box.parentElement;
      const cell = row.children[Math.min(4, row.children.length) - 1];
      return Math.round(cell.getBoundingClientRect().right - Math.min(box.getBoundingClientRect().right, innerWidth)); };
  const tables = [...document.querySelectorAll(".bd-article table")].map(t => ({
      width: Math.round(t.getBoundingClientRect().width), hidden: hidden(t), firstFour: firstFour(t),
      caption: (t.querySelector("caption") || {innerText: t.innerText.slice(0, 60)}).innerText}));
  // every image is a figure with a number and a caption
  const uncaptioned = [...document.querySelectorAll(".bd-article img")]
      .filter(i => !(i.closest("figure") && i.closest("figure").querySelector(".caption-number")))
      .map(i => i.src.split("/").pop());
  // a figure is scaled down to the column, never cut off or wider than it
  const right = (document.querySelector(".bd-article") || main).getBoundingClientRect().right;
  const cropped = [...document.querySelectorAll(".bd-article figure img")]
      .filter(i => i.getBoundingClientRect().right > Math.min(right, innerWidth) + 1).map(i => i.src.split("/").pop());
  // the smallest text of each SVG figure as shown: matplotlib draws glyphs as paths scaled by
  // scale(s -s) with s = the font size in pt / 100, in a viewBox measured in pt
  const text = [];
  for (const img of document.querySelectorAll(".bd-article figure img")) {
    if (!/\.svg$/i.test(img.src)) continue;
    const svg = await (await fetch(img.src)).text();
    const box = svg.match(/viewBox="[-\d.]+ [-\d.]+ ([\d.]+) /);
    const sizes = [...svg.matchAll(/scale\(([\d.]+) -([\d.]+)\)/g)].filter(m => m[1] === m[2]).map(m => 100 * m[1]);
    if (box && sizes.length) text.push({number: img.closest("figure").querySelector(".caption-number")?.innerText,
        px: Math.min(...sizes) * img.getBoundingClientRect().width / box[1]});
  }
  // a value glued as text shows Markdown literally: code names must be glued as Markdown ({glue:md})
  const literal = [...document.querySelectorAll(".pasted-text")].map(e => e.innerText).filter(t => t.includes("`"));
  // on a phone the page must not scroll sideways (text a reader would have to pan to read)
  const page = document.documentElement.scrollWidth;
  return {column: Math.round(column), broken, unlinked, nameless, outputs, tables, literal, page, raw, maths: maths.length,
          uncaptioned, cropped, text};
})()"""


def _external(error: str, base: str) -> bool:
    return any(code in error for code in OFFLINE) and base not in error


@pytest.fixture(scope="module")
def book(smoke_book):
    """The smoke book as ``test_book.py`` executed and built it, or built here when that did not run."""
    if not find_chromium():
        pytest.skip(f"chromium is not installed and could not be installed ({install_hint()})")
    tmp, env = smoke_book
    html = tmp / "_build" / "html"
    executed = all((tmp / "results" / "smoke" / c.stem / "run.json").exists() for c in chapters())
    if not (executed and (html / "index.html").exists()):
        proc = bounded.run([sys.executable, "-m", "hwr.cli", "run", "--profile", "smoke"], timeout=3600, cwd=ROOT,
                           env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return html


def test_pages_in_a_real_browser(book):
    pages = sorted(p.relative_to(book).as_posix() for p in (book / "book").glob("*.html"))
    assert pages, f"no pages in {book}"
    problems, rendered, measured = [], 0, 0
    with serve(book) as base, Chromium() as browser:
        for page in pages:
            for label, width in WIDTHS.items():
                tab = browser.open(f"{base}/{page}", width)
                where = f"{page} at {width} px"
                problems += [f"{where}: {e}" for e in tab.errors if not _external(e, base)]
                found = tab.evaluate(CHECKS, promise=True)
                problems += [f"{where}: an equation did not render: {t!r}" for t in found["raw"]]
                rendered += found["maths"] - len(found["raw"])
                problems += [f"{where}: image did not load: {src}" for src in found["broken"]]
                problems += [f"{where}: figure cannot be opened full size: {src}" for src in found["unlinked"]]
                problems += [f"{where}: a figure's alt text is its file name: {alt}" for alt in found["nameless"]]
                problems += [f"{where}: Markdown shown literally in a glued value: {t!r}" for t in found["literal"]]
                problems += [f"{where}: an image without a number and caption: {src}" for src in found["uncaptioned"]]
                problems += [f"{where}: a figure wider than the column, not scaled down: {src}" for src in found["cropped"]]
                problems += [f"{where}: {t['number'] or 'a figure'} has text {t['px']:.1f} px high (at least "
                             f"{MIN_TEXT_PX[label]} px at this width)" for t in found["text"] if t["px"] < MIN_TEXT_PX[label]]
                measured += len(found["text"])
                for text in found["outputs"]:
                    m = NOISE.search(text)
                    if m:
                        problems.append(f"{where}: noise in an output ({m.group(0)!r}): {text[:120]!r}")
                if found["page"] > width + 1:
                    problems.append(f"{where}: the page is {found['page']} px wide and scrolls sideways")
                if label == "phone":
                    problems += [f"{where}: the first four columns of table {t['caption']!r} need "
                                 f"{t['firstFour']} px of scrolling" for t in found["tables"] if t["firstFour"] > 1]
                if label == "desktop":
                    problems += [f"{where}: table {t['caption']!r} is {t['width']} px wide, the column "
                                 f"{found['column']} px, and {t['hidden']} px of it need scrolling"
                                 for t in found["tables"] if t["width"] > found["column"] + 1 or t["hidden"]]
                tab.screenshot(SCREENS / f"{Path(page).stem}-{label}.png")
    assert not problems, "\n".join(problems)
    assert rendered > 0, "no page had an equation to render: the MathJax check checked nothing"
    assert measured > 0, "no SVG figure had text to measure: the text-size check checked nothing"
