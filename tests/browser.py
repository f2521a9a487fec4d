"""Opening a page in headless Chromium through the DevTools protocol, for the tests.

Chromium runs with `--remote-debugging-pipe`: the protocol's JSON messages go over
file descriptors 3 (to the browser) and 4 (from it), each ended by a NUL byte, so no
port is opened. Every network request the page makes is recorded from the
`Network.requestWillBeSent` events.
"""

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import List, Optional

# Debian's packages: `chromium` and `chromium-headless-shell`.
BINARIES = ("chromium", "chromium-headless-shell", "chrome-headless-shell", "google-chrome")
_TIMEOUT = 60.0


def find_browser() -> Optional[str]:
    """Returns the path of an installed Chromium, or None."""
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _above_4(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class BrowserError(RuntimeError):
    """The browser did not answer as the protocol says."""


class Browser:
    """One headless Chromium; `open_page` loads a URL in a fresh tab."""

    def __init__(self, binary: str):
        self._profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # The child's ends move above 4 first, so that placing them at 3 and 4 cannot
        # overwrite one with the other.
        to_browser_read, from_browser_write = (
            _above_4(to_browser_read),
            _above_4(from_browser_write),
        )

        def child_fds():
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self._process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile}",
                "--hide-scrollbars",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "about:blank",
            ],
            # Popen closes other descriptors after `preexec_fn` ran: keep 3 and 4.
            pass_fds=(3, 4, to_browser_read, from_browser_write),
            preexec_fn=child_fds,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._next_id = 0
        self._buffer = b""
        self.events: List[dict] = []

    def _send(
        self, method: str, params: Optional[dict] = None, session: Optional[str] = None
    ) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def _receive(self) -> dict:
        deadline = time.monotonic() + _TIMEOUT
        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(remaining, 0))
            if not ready:
                raise BrowserError(f"no message from the browser in {_TIMEOUT:.0f} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("the browser closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _wait_for(self, method: str, session: str) -> dict:
        for index, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(index)
        while True:
            event = self._receive()
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self.events.append(event)

    def open_page(self, url: str, width: int = 1366, height: int = 768) -> "Page":
        """Loads `url` in a new tab of the given window size; returns once it loaded."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self._send("Network.enable", session=session)
        self._send("Page.enable", session=session)
        self._send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.events = [e for e in self.events if e.get("sessionId") != session]
        self._send("Page.navigate", {"url": url}, session=session)
        self._wait_for("Page.loadEventFired", session)
        requests = [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("sessionId") == session and e.get("method") == "Network.requestWillBeSent"
        ]
        return Page(self, session, width, requests)

    def close(self) -> None:
        """Closes the browser; kills it if it does not exit."""
        try:
            self._send("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self._profile, ignore_errors=True)


class Page:
    """A loaded tab: the requests it made, script-free checks, screenshots."""

    def __init__(self, browser: Browser, session: str, width: int, requests: List[str]):
        self._browser = browser
        self._session = session
        self._width = width
        self.requests = requests

    def evaluate(self, expression: str):
        """Returns the JSON value of a JavaScript expression evaluated by DevTools."""
        result = self._browser._send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True},
            session=self._session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: str) -> str:
        """Saves a PNG of the whole page at the page's width; returns `path`."""
        metrics = self._browser._send("Page.getLayoutMetrics", session=self._session)
        height = int(metrics["cssContentSize"]["height"]) + 1
        data = self._browser._send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": self._width, "height": height, "scale": 1},
            },
            session=self._session,
        )["data"]
        with open(path, "wb") as png:
            png.write(base64.b64decode(data))
        return path
