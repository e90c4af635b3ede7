"""The web page in a real browser (Debian's headless Chromium), against the whole local stack: sign in with
the local API server's token, upload a sample invoice through the presigned POST, watch it reach COMPLETED in
the live list, open the invoice view and check its total. A screenshot is saved to build/e2e/.

The stack runs in this process: a real Postgres, the AWS emulation as a server on 127.0.0.1 (the browser has
to reach S3 for the upload, which moto's in-process mode cannot offer), the pipeline deployed into it with the
real state machine and handlers, recorded Textract responses standing in for Textract, and the local API
server. The browser is driven over the DevTools protocol on a pipe (--remote-debugging-pipe): no driver,
no port, nothing downloaded."""

from __future__ import annotations

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

from tests.shared_data import REPO_ROOT, TEXTRACT_DIR, require, skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = REPO_ROOT / "build" / "e2e" / "web_browser.png"
SAMPLE = "receipt.jpg"  # COMPLETED in the pipeline, total 1810.46 USD (see README's demo table)
RESPONSE = "receipt.analyze_expense.json"
EXPECTED_TOTAL = "1810.46 USD"
ANALYSIS_SECONDS = 6.0  # longer than the page's 2.5 s polling interval
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

    def screenshot(self, path: Path) -> None:
        import base64

        size = self.browser.send("Page.getLayoutMetrics", session=self.session)["cssContentSize"]
        shot = self.browser.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}},
            session=self.session)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


# --- the stack -----------------------------------------------------------------------------------------------
@pytest.fixture
def local_stack(stack: Any) -> Iterator[dict[str, Any]]:
    """The session's deployment (terraform apply to the emulation, tests/pipeline_fixtures.py) with recorded
    Textract answers, and the local API server."""
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    content = require(TEXTRACT_DIR / SAMPLE).read_bytes()
    pages = [json.loads(require(TEXTRACT_DIR / RESPONSE).read_text())]

    from invoice_local.api_server import ApiServer
    from invoice_local.emulation import textract as standin

    engine = standin.RecordedResponses()
    engine.add(content, pages)
    # Textract "takes" a few seconds, so that the live list has an in-progress status to show first.
    standin.configure(engine=engine, faults=standin.Faults(job_seconds=ANALYSIS_SECONDS))
    api_function = stack.client("lambda").get_function_configuration(FunctionName=stack.function_names["api"])
    with ApiServer(function=api_function) as api:
        yield {"api": api, "stack": stack, "emulation": stack.endpoint, "sample": TEXTRACT_DIR / SAMPLE}


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    running = Browser(profile, tmp_path / "chromium.log")
    try:
        yield running
    finally:
        running.close()
        shutil.rmtree(profile, ignore_errors=True)


def test_sign_in_upload_watch_completed_and_check_the_total(local_stack: dict[str, Any], browser: Browser) -> None:
    api = local_stack["api"]
    page = browser.new_page(f"{api.url}/")
    page.wait_for("document.body?.dataset.ready === 'true'", "the page to start")
    assert page.evaluate("!document.querySelector('#signin').hidden"), "the sign-in form should show first"

    # Sign in with the token the local API server printed.
    page.evaluate(f"document.querySelector('#token-input').value = {json.dumps(api.token)}")
    page.evaluate("document.querySelector('#signin-button').click()")
    page.wait_for("!document.querySelector('#app').hidden", "the signed-in view")

    # Upload: POST /documents for a presigned form, then the file straight to the emulation's S3.
    page.set_files("#file-input", [local_stack["sample"]])
    key = page.wait_for("document.querySelector('#uploads li[data-key]')?.dataset.key", "the upload ticket")
    assert key.startswith("incoming/") and key.endswith("/receipt.jpg")
    page.wait_for("document.querySelector('#uploads progress')?.value === 100", "the upload to finish")

    # The live list shows the document moving through the pipeline until it is COMPLETED.
    row = f"document.querySelector('#document-table tbody tr[data-key={json.dumps(key)}]')"
    seen: list[str] = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        status = page.evaluate(f"{row}?.dataset.status || null")
        if status and (not seen or seen[-1] != status):
            seen.append(status)
        if status in ("COMPLETED", "NEEDS_REVIEW", "FAILED", "DUPLICATE"):
            break
        time.sleep(0.2)
    print(f"statuses seen in the live list: {seen}")
    assert seen and seen[-1] == "COMPLETED", f"statuses seen in the list: {seen}"
    assert "ANALYZING" in seen, f"the list never showed the document in progress: {seen}"
    assert page.evaluate(f"{row}.querySelector('.status').textContent") == "COMPLETED"

    # The invoice view: line items, no errors, and the total.
    page.evaluate(f"{row}.click()")
    total = page.wait_for("document.querySelector('#invoices .invoice-total')?.textContent", "the invoice view")
    assert total == EXPECTED_TOTAL
    assert page.evaluate("document.querySelector('#detail').dataset.status") == "COMPLETED"
    assert page.evaluate("document.querySelectorAll('#invoices .line-items tbody tr').length") == 4
    # RECEIVED, QUEUED, ANALYZING, PARSING, VALIDATING, COMPLETED
    assert page.evaluate("document.querySelectorAll('#timeline li').length") == 6
    assert page.evaluate("document.querySelector('#upload li .upload-status')?.textContent") == "COMPLETED"
    page.evaluate("document.querySelector('#detail').scrollIntoView()")
    page.screenshot(SCREENSHOT)
    print(f"screenshot: {SCREENSHOT}")
    assert SCREENSHOT.stat().st_size > 10_000
    assert browser.console_errors == []
