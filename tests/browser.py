"""A headless Chromium driven through its DevTools protocol, without extra packages.

Used by ``tests/test_browser.py`` to open the built book the way a reader does.
The protocol travels over a websocket; tornado (already installed with
ipykernel, which the book needs) provides the client, so no browser-automation
package or downloaded browser is needed: Debian's ``chromium`` is enough.

    with Chromium() as browser, serve(html_dir) as base:
        page = browser.open(base + "/book/ch01_data.html", width=1280)
        page.errors, page.evaluate("document.title"), page.screenshot(path)
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-port=0",
         # offline, as a reader on a train: every host but this machine fails to resolve
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"]


def find_chromium() -> str | None:
    """The chromium executable on PATH (Debian names it ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` over HTTP on a free local port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports failures itself
        pass


class Page:
    """One tab: protocol commands, and the errors it reported while loading."""

    def __init__(self, loop, ws):
        self._loop, self._ws, self._id = loop, ws, 0
        self.errors: list[str] = []

    def _run(self, coro):
        return self._loop.run_until_complete(coro)

    async def _call(self, method: str, **params):
        self._id += 1
        await self._ws.write_message(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(await self._ws.read_message())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._event(msg)

    def _event(self, msg: dict) -> None:
        method, p = msg.get("method"), msg.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                     for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.errors.append("exception: " + p["exceptionDetails"].get("text", "")
                               + " " + str(p["exceptionDetails"].get("exception", {}).get("description", "")))
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.errors.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")

    async def _wait(self, event: str, timeout: float):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg = json.loads(await asyncio.wait_for(self._ws.read_message(), end - time.monotonic()))
            self._event(msg)
            if msg.get("method") == event:
                return msg
        raise TimeoutError(event)

    def call(self, method: str, **params):
        return self._run(self._call(method, **params))

    def navigate(self, url: str, width: int, height: int = 900, timeout: float = 30):
        mobile = width < 600
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=2 if mobile else 1, mobile=mobile)
        self.errors.clear()
        self.call("Page.navigate", url=url)
        self._run(self._wait("Page.loadEventFired", timeout))
        # let late scripts (MathJax, the theme) run and report their errors
        self.evaluate("new Promise(r => setTimeout(r, 500))", promise=True)

    def evaluate(self, expression: str, promise: bool = False):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=promise)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression[:60]}: {res['exceptionDetails']}")
        return res.get("result", {}).get("value")

    def screenshot(self, path: Path, max_height: int = 16000) -> Path:
        """A full-page PNG: the viewport is stretched to the page's height for
        the capture (capturing beyond the viewport shifts sticky layouts)."""
        width = self.evaluate("window.innerWidth")
        height = min(self.evaluate("document.documentElement.scrollHeight"), max_height)
        mobile = width < 600
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=2 if mobile else 1, mobile=mobile)
        self.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 200)))", promise=True)
        shot = self.call("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Chromium:
    """A headless chromium process with one tab (a context manager)."""

    def __init__(self, executable: str | None = None):
        self.executable = executable or find_chromium()
        if not self.executable:
            raise FileNotFoundError("chromium: not found on PATH")

    def __enter__(self) -> "Chromium":
        self._profile = tempfile.mkdtemp(prefix="hwr-chromium-")
        self._proc = subprocess.Popen([self.executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        port_file = Path(self._profile) / "DevToolsActivePort"
        end = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self._proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"chromium did not start: {self._proc.stderr.read()[-2000:]}")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
        target = json.loads(urllib.request.urlopen(req, timeout=10).read())
        from tornado.websocket import websocket_connect

        async def connect():  # tornado binds the connection to the running loop
            return await websocket_connect(target["webSocketDebuggerUrl"], max_message_size=512 * 2**20)

        self._loop = asyncio.new_event_loop()
        ws = self._loop.run_until_complete(connect())
        self.page = Page(self._loop, ws)
        for domain in ("Page", "Runtime", "Log"):
            self.page.call(f"{domain}.enable")
        return self

    def open(self, url: str, width: int) -> Page:
        self.page.navigate(url, width)
        return self.page

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            self._loop.close()
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        shutil.rmtree(self._profile, ignore_errors=True)


def install_hint() -> str:
    return "apt-get install -y chromium" if os.path.exists("/etc/debian_version") else "install chromium"
