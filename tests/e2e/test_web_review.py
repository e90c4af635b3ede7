"""The review view in a real browser (Debian's headless Chromium, tests/e2e/browser.py) against the deployed stack
(the session's deployment, restored from its snapshot: no second terraform apply).

A reviewer (the local API server's token, as `invoices run` prints it) opens the queue, opens the receipt whose
total and second line Textract misread (its real answer with one digit changed in each), sees the receipt beside
the fields with the box on the total where Textract read it, corrects the total by keyboard and saves (the lines
still do not add up), tabs into the line items and corrects the line's amount (validation passes), approves with
the keyboard, and the invoice leaves the queue, APPROVED through the API. A Factur-X PDF's page is then drawn by
pdf.js; a stale write there is said in words with a Reload button, and a viewer sees it read-only. Screenshots
go to build/e2e/review-*.png."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import requests
from invoice_local.api_server import PDFJS_DIR, ApiServer
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import textract as standin_mod
from invoice_pipeline.api.roles import REVIEWERS

from tests.e2e.browser import Browser, Page
from tests.shared_data import INVOICES_DIR, REPO_ROOT, TEXTRACT_DIR, require, skip_or_fail

SHOTS = REPO_ROOT / "build" / "e2e"
RECEIPT, RESPONSE = "receipt.jpg", "receipt.analyze_expense.json"
WRONG_TOTAL, RIGHT_TOTAL = "1816.46", "1810.46"  # subtotal 1699.96 + tax 110.50 = 1810.46
WRONG_LINE, RIGHT_LINE = "680.99", "689.99"  # the second line: the four lines add up to the subtotal 1699.96
PDF = "EN16931_Einfach.pdf"  # a Factur-X invoice: read from its XML, so it needs no Textract answer


def misread_total() -> list[dict[str, Any]]:
    pages = [json.loads(require(TEXTRACT_DIR / RESPONSE).read_text())]
    pages = copy.deepcopy(pages)
    for doc in pages[0]["ExpenseDocuments"]:
        for field in doc["SummaryFields"]:
            if field["Type"]["Text"] == "TOTAL":
                field["ValueDetection"]["Text"] = f"${WRONG_TOTAL}"
        for field in doc["LineItemGroups"][0]["LineItems"][1]["LineItemExpenseFields"]:
            if field["Type"]["Text"] == "PRICE":
                field["ValueDetection"]["Text"] = f"${WRONG_LINE} S"
    return pages


def js(value: Any) -> str:
    return json.dumps(value)


def highlight_geometry(page: Page) -> dict[str, Any]:
    return page.evaluate("""(() => {
        const img = document.querySelector('#page-view .page-image').getBoundingClientRect();
        const box = document.querySelector('#page-view .highlight');
        const r = box.getBoundingClientRect();
        return {visible: !box.hidden && r.width > 0 && getComputedStyle(box).display !== 'none',
                img: {left: img.left, top: img.top, width: img.width, height: img.height},
                box: {left: r.left, top: r.top, width: r.width, height: r.height}};
    })()""")


@pytest.mark.timeout(900)  # the first test of a session also deploys (minutes on a busy machine)
def test_a_reviewer_corrects_the_total_beside_the_page_and_approves(
        stack: Stack, standin: standin_mod._State, browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    if not (PDFJS_DIR / "pdf.min.mjs").exists():
        skip_or_fail(f"pdf.js is not in {PDFJS_DIR}: run make test (or python -m invoice_local.vendor_pdfjs)")
    receipt = require(TEXTRACT_DIR / RECEIPT).read_bytes()
    standin.engine.add(receipt, misread_total())  # type: ignore[attr-defined]
    stack.upload("incoming/receipt.jpg", receipt)
    stack.upload("incoming/einfach.pdf", require(INVOICES_DIR / PDF).read_bytes())
    assert [e["status"] for e in stack.wait_for_executions(2)] == ["SUCCEEDED", "SUCCEEDED"]

    function = stack.client("lambda").get_function_configuration(FunctionName=stack.function_names["api"])
    for name, value in function["Environment"]["Variables"].items():  # ApiServer writes them into os.environ
        monkeypatch.setenv(name, value)
    with ApiServer(function=function, token_groups=(REVIEWERS,)) as api:
        auth = {"Authorization": f"Bearer {api.token}"}
        page = browser.new_page(f"{api.url}/#token={api.token}")
        page.wait_for("document.body?.dataset.ready === 'true' && !document.querySelector('#app').hidden",
                      "the signed-in page")

        # The queue: the receipt, with why it waits; the Factur-X invoice is COMPLETED and not in it.
        row = "document.querySelector('#queue-table tbody tr')"
        page.wait_for(f"{row}?.textContent.includes('TOTAL_MISMATCH')", "the receipt in the review queue")
        assert page.evaluate("document.querySelectorAll('#queue-table tbody tr').length") == 1
        invoice_id = page.evaluate(f"{row}.dataset.id")
        assert WRONG_TOTAL in page.evaluate(f"{row}.textContent")
        page.screenshot(SHOTS / "review-queue.png")

        # Opened from the keyboard: the receipt beside the fields, focus on the total, the box on its stored bbox.
        page.evaluate(f"{row}.focus()")
        page.press("Enter")
        page.wait_for("document.querySelector('#page-view img.page-image')?.complete && "
                      "!document.querySelector('#page-view .highlight').hidden", "the page image and its highlight")
        assert page.evaluate("document.activeElement.dataset.field") == "total"
        assert page.evaluate("document.activeElement.value") == WRONG_TOTAL
        stored = requests.get(f"{api.url}/invoices/{invoice_id}", headers=auth, timeout=30).json()
        assert stored["claim"]["by"] == "local-user"  # claimed on open
        bbox = stored["invoice"]["provenance"]["fields"]["total"]["bbox"]
        geo = highlight_geometry(page)
        img, box = geo["img"], geo["box"]
        assert geo["visible"] and img["width"] > 300
        assert img["left"] <= box["left"] and box["left"] + box["width"] <= img["left"] + img["width"]
        assert img["top"] <= box["top"] and box["top"] + box["height"] <= img["top"] + img["height"]
        centre_x = (box["left"] + box["width"] / 2 - img["left"]) / img["width"]
        centre_y = (box["top"] + box["height"] / 2 - img["top"]) / img["height"]
        assert abs(centre_x - (bbox["left"] + bbox["width"] / 2)) < 0.01, (centre_x, bbox)
        assert abs(centre_y - (bbox["top"] + bbox["height"] / 2)) < 0.01, (centre_y, bbox)
        assert abs(box["width"] / img["width"] - bbox["width"]) < 0.02
        page.screenshot(SHOTS / "review-invoice.png")

        # Corrected by keyboard, saved with Enter: validation runs again; the lines still do not add up.
        page.evaluate("document.activeElement.select()")
        page.type_text(RIGHT_TOTAL)
        page.press("Enter")
        page.wait_for("document.querySelector('#review-message').textContent.includes('LINE_ITEMS_MISMATCH')",
                      "the saved total and the lines' verdict")
        assert page.evaluate("document.querySelector('#review-verdict').textContent") == "Validation: 1 error"
        assert page.evaluate("document.activeElement.dataset.field") == "total"

        # Tab walks on into the line items' cells (no box is stored for a line: it says so); Esc undoes a cell;
        # the corrected amount is saved with Enter, validation passes, and focus goes to Approve.
        field = "line_items[1].amount"
        for _ in range(12):
            page.press("Tab")
            if page.evaluate("document.activeElement.dataset.field") == field:
                break
        assert page.evaluate("document.activeElement.dataset.field") == field
        assert page.evaluate("document.activeElement.value") == WRONG_LINE
        assert page.evaluate("document.querySelector('#page-view .highlight').hidden")
        assert "no box is stored" in page.evaluate("document.querySelector('#page-source').textContent")
        page.type_text("9")
        page.press("Escape")
        assert page.evaluate("document.activeElement.value") == WRONG_LINE
        page.evaluate("document.activeElement.select()")
        page.type_text(RIGHT_LINE)
        page.press("Enter")
        page.wait_for("document.querySelector('#review-verdict').textContent === 'Validation passes'",
                      "validation to pass after the line's save")
        assert page.evaluate("document.activeElement.id") == "approve"
        assert "Saved" in page.evaluate("document.querySelector('#review-message').textContent")
        stored = requests.get(f"{api.url}/invoices/{invoice_id}", headers=auth, timeout=30).json()
        assert [i["amount"] for i in stored["invoice"]["line_items"]] == ["899.99", RIGHT_LINE, "19.99", "89.99"]
        page.screenshot(SHOTS / "review-saved.png")

        # A (outside a field) approves; the queue is then empty and the invoice APPROVED.
        page.press("a")
        page.wait_for("!document.querySelector('#queue').hidden && "
                      "document.querySelector('#queue-count').textContent === '0'", "the queue without it")
        assert page.evaluate(f"document.querySelector('#queue-table tr[data-id={js(invoice_id)}]')") is None
        after = requests.get(f"{api.url}/invoices/{invoice_id}", headers=auth, timeout=30).json()
        assert after["invoice"]["validation_status"] == "APPROVED" and after["invoice"]["total"] == RIGHT_TOTAL
        assert after["decision"]["by"] == "local-user" and after["claim"] is None
        events = requests.get(f"{api.url}/invoices/{invoice_id}/history", headers=auth, timeout=30).json()["events"]
        assert [(e["action"], e["field"]) for e in events] == [
            ("CLAIM", None), ("EDIT", "total"), ("EDIT", field), ("APPROVE", None)]
        assert (events[2]["old_value"], events[2]["new_value"]) == (WRONG_LINE, RIGHT_LINE)
        # The document list says so too: the pipeline left the document NEEDS_REVIEW, the reviewer approved it.
        docs = requests.get(f"{api.url}/documents", headers=auth, timeout=30).json()["items"]
        receipt_doc = next(d for d in docs if d["key"].endswith("receipt.jpg"))
        assert (receipt_doc["status"], receipt_doc["invoice_status"]) == ("NEEDS_REVIEW", "APPROVED")
        receipt_row = f"document.querySelector('#document-table tr[data-id={js(receipt_doc['id'])}]')"
        page.wait_for(f"{receipt_row}?.querySelector('.status-APPROVED') !== null", "APPROVED in the document list")

        # The PDF: its page drawn by pdf.js into a canvas that is not blank.
        docs = requests.get(f"{api.url}/documents", headers=auth, timeout=30).json()["items"]
        pdf_doc = next(d for d in docs if d["key"].endswith("einfach.pdf"))
        (pdf_invoice,) = requests.get(f"{api.url}/documents/{pdf_doc['id']}/invoice", headers=auth,
                                      timeout=30).json()["invoices"]
        pdf_row = f"document.querySelector('#document-table tr[data-id={js(pdf_doc['id'])}]')"
        page.wait_for(f"!!{pdf_row}", "the PDF in the document list")
        page.evaluate(f"{pdf_row}.click()")
        page.wait_for("!!document.querySelector('#invoices .review-open')", "the PDF's invoice")
        page.evaluate("document.querySelector('#invoices .review-open').click()")
        inked = page.wait_for("""(() => {
            const c = document.querySelector('#page-view canvas.page-image');
            if (!c || !c.width) return 0;
            const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let dark = 0;
            for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] < 384) dark++;
            return dark;
        })()""", "the PDF page drawn by pdf.js")
        assert inked > 2000, inked
        assert pdf_invoice["invoice_number"] in page.evaluate("document.querySelector('#review-title').textContent")
        page.screenshot(SHOTS / "review-pdf.png")

        # A stale write: the invoice changes behind the page (same reviewer, another tab); Enter then gets 412,
        # said in words with a Reload button, which shows the other change.
        url = f"{api.url}/invoices/{pdf_invoice['id']}"
        etag = requests.get(url, headers=auth, timeout=30).headers["ETag"]
        assert requests.patch(url, json={"po_number": "PO-OTHER-TAB"}, timeout=30,
                              headers={**auth, "If-Match": etag}).status_code == 200
        page.evaluate("document.querySelector('#field-po_number').focus()")
        page.type_text("PO-THIS-TAB")
        page.press("Enter")
        page.wait_for("!document.querySelector('#review-reload').hidden", "the stale-write message")
        assert "Someone changed this invoice" in page.evaluate("document.querySelector('#review-message').textContent")
        page.evaluate("document.querySelector('#review-reload').click()")
        page.wait_for("document.querySelector('#field-po_number').value === 'PO-OTHER-TAB'", "the reloaded invoice")
        page.press("Escape")  # out of the field (nothing changed in it)
        page.press("q")  # leaves: the claim is released
        page.wait_for("!document.querySelector('#queue').hidden", "the queue again")
        assert requests.get(url, headers=auth, timeout=30).json()["claim"] is None

        # A viewer sees the same invoice read-only: no claim, no decision buttons, and says why.
        viewer = api.tokens.issue("view-1", **{"cognito:groups": ["viewers"]})
        page = browser.new_page(f"{api.url}/#token={viewer}")
        page.wait_for(f"!!{pdf_row}", "the viewer's document list")
        page.evaluate(f"{pdf_row}.click()")
        page.wait_for("!!document.querySelector('#invoices .review-open')", "the PDF's invoice")
        page.evaluate("document.querySelector('#invoices .review-open').click()")
        page.wait_for("document.querySelector('#review-message').textContent.includes('not change them')",
                      "the read-only notice")
        assert page.evaluate("document.querySelectorAll('#review-lines input').length") > 0
        assert page.evaluate("[...document.querySelectorAll('#review-fields input, #review-lines input')]"
                             ".every(i => i.readOnly)")
        assert page.evaluate("getComputedStyle(document.querySelector('#approve')).display") == "none"
        assert requests.get(url, headers=auth, timeout=30).json()["claim"] is None
    assert browser.console_errors == []
