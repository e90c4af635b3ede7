"""Debian's headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no driver,
no port, nothing downloaded. Shared by the browser tests (test_web_browser.py, test_web_review.py)."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.shared_data import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
WAIT = 120.0  # how long to wait for a page condition before giving up (a hang guard, not a measurement)


# --- a minimal DevTools protocol client over --remote-debugging-pipe ----------------------------------------
class DevToolsError(RuntimeError):
    pass


def _high(fd: int) -> int:
    """The descriptor moved to 10 or above, so that putting the pipes on 3 and 4 cannot clobber either."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    """Chromium with the DevTools protocol on file descriptors 3 (commands in) and 4 (replies and events out),
    messages separated by NUL bytes."""

    def __init__(self, profile: Path, log: Path) -> None:
        commands_r, commands_w = (_high(fd) for fd in os.pipe())
        replies_r, replies_w = (_high(fd) for fd in os.pipe())
        args = [str(CHROMIUM), "--headless=new", "--remote-debugging-pipe", f"--user-data-dir={profile}",
                "--no-first-run", "--no-default-browser-check", "--disable-gpu", "--disable-extensions",
                "--disable-dev-shm-usage", "--window-size=1280,1400", "--lang=en-US"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root (CI containers)
        # bash puts the pipes on the descriptors Chromium expects, then becomes Chromium (dash cannot name
        # descriptors above 9; Popen's preexec_fn is unsafe in a process with threads).
        script = f"exec {shlex.join(args)} 3<&{commands_r} 4>&{replies_w}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen(["/bin/bash", "-c", script], pass_fds=(commands_r, replies_w),
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     start_new_session=True)
        os.close(commands_r)
        os.close(replies_w)
        self._out = os.fdopen(commands_w, "wb", buffering=0)
        self._in = os.fdopen(replies_r, "rb", buffering=0)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._cond = threading.Condition()
        self.console_errors: list[str] = []
        self._closed = False
        threading.Thread(target=self._read, name="devtools-reader", daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = self._in.read(65536)
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._replies[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self._event(message)
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _event(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console_errors.append(str(details.get("exception", {}).get("description") or details.get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.console_errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        with self._cond:
            self._next_id += 1
            call_id = self._next_id
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._out.write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + WAIT
        with self._cond:
            while call_id not in self._replies:
                if self._closed:
                    raise DevToolsError(f"the browser went away during {method}")
                if not self._cond.wait(timeout=deadline - time.monotonic()):
                    raise DevToolsError(f"no reply to {method}")
            reply = self._replies.pop(call_id)
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error']}")
        return reply.get("result", {})  # type: ignore[no-any-return]

    def new_page(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session)
        for domain in ("Page.enable", "Runtime.enable"):
            self.send(domain, session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        return page

    def close(self) -> None:
        with contextlib.suppress(DevToolsError, OSError):  # already gone
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self._out, self._in, self._log):
            stream.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def evaluate(self, expression: str) -> Any:
        result = self.browser.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                        "returnByValue": True}, session=self.session)
        if "exceptionDetails" in result:
            raise DevToolsError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str) -> Any:
        """Poll until `expression` is truthy; its value. The page itself polls the API every 2.5 s."""
        deadline = time.monotonic() + WAIT
        error: DevToolsError | None = None
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except DevToolsError as exc:  # the page is still loading (no body yet, context replaced)
                error = exc
                value = None
            if value:
                return value
            time.sleep(0.25)
        state = self.evaluate("document.querySelector('main')?.innerText?.slice(0, 3000)")
        raise AssertionError(f"gave up waiting for {what} (last error: {error}); the page shows:\n{state}")

    def set_files(self, selector: str, paths: list[Path]) -> None:
        root = self.browser.send("DOM.getDocument", session=self.session)["root"]["nodeId"]
        node = self.browser.send("DOM.querySelector", {"nodeId": root, "selector": selector},
                                 session=self.session)["nodeId"]
        self.browser.send("DOM.setFileInputFiles", {"nodeId": node, "files": [str(p) for p in paths]},
                          session=self.session)

    def press(self, key: str, *, code: str | None = None, key_code: int | None = None, text: str | None = None) -> None:
        """One key, as the keyboard sends it (keydown with its text, then keyup) to the focused element."""
        named = {"Enter": ("Enter", 13, "\r"), "Escape": ("Escape", 27, None), "Tab": ("Tab", 9, None)}
        if key in named:
            code, key_code, text = named[key]
        elif len(key) == 1:
            code, key_code, text = code or f"Key{key.upper()}", key_code or ord(key.upper()), text or key
        down: dict[str, Any] = {"type": "keyDown" if text else "rawKeyDown", "key": key, "code": code,
                                "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code}
        if text:
            down["text"] = text
        self.browser.send("Input.dispatchKeyEvent", down, session=self.session)
        self.browser.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "code": code,
                                                     "windowsVirtualKeyCode": key_code}, session=self.session)

    def type_text(self, text: str) -> None:
        """Text typed into the focused field (what an IME or the keyboard would insert)."""
        self.browser.send("Input.insertText", {"text": text}, session=self.session)

    def screenshot(self, path: Path) -> None:
        size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
        shot = self.browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}},
            session=self.session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    """A fresh headless Chromium for one test (skipped, or failed under CI, without Debian's chromium)."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    running = Browser(profile, tmp_path / "chromium.log")
    try:
        yield running
    finally:
        running.close()
        shutil.rmtree(profile, ignore_errors=True)
