"""The web page in a real browser (Debian's headless Chromium), against the whole local stack: sign in with
the local API server's token, upload a sample invoice through the presigned POST, watch it reach COMPLETED in
the live list, open the invoice view and check its total. A screenshot is saved to build/e2e/.

The stack runs in this process: a real Postgres, the AWS emulation as a server on 127.0.0.1 (the browser has
to reach S3 for the upload, which moto's in-process mode cannot offer), the pipeline deployed into it with the
real state machine and handlers, recorded Textract responses standing in for Textract, and the local API
server. The browser is driven over the DevTools protocol on a pipe (tests/e2e/browser.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import CHROMIUM, WAIT, Browser
from tests.shared_data import REPO_ROOT, TEXTRACT_DIR, require, skip_or_fail

SCREENSHOT = REPO_ROOT / "build" / "e2e" / "web_browser.png"
SAMPLE = "receipt.jpg"  # COMPLETED in the pipeline, total 1810.46 USD (see README's demo table)
RESPONSE = "receipt.analyze_expense.json"
EXPECTED_TOTAL = "1810.46 USD"
ANALYSIS_SECONDS = 6.0  # longer than the page's 2.5 s polling interval


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
