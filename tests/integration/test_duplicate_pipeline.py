"""Issue 12's proof of the duplicate-invoice control, on the deployed stack with the local engine as Textract: a
real PDF invoice and a PNG rendering of its first page (other bytes, so Register's same-content check does not
apply; the PNG goes through OCR, the PDF through its text layer) give one invoice and one POSSIBLE_DUPLICATE
linked to it, shown by GET /documents/{id}/invoice.

The document: AmazonWebServices.pdf, the first in the data set's order whose 200 dpi rendering the local engine
reads with the PDF's number, total and seller. Of nine tried, six do (AmazonWebServices, coolblue1, coolblue2,
NetpresseInvoice, FlipkartInvoice, SammyMaystoneLinesTest); on three the scan loses a field the control needs,
which is the OCR's limit and not the control's: AzureInterior's seller comes out as "azure" (the logo), and
QualityHosting's and EN16931_Einfach's total is not found."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import textract as standin_mod
from invoice_local.engine import LocalExpenseEngine
from invoice_pipeline.adapters import db, repository
from invoice_pipeline.domain.duplicates import ISSUE_CODE
from invoice_pipeline.domain.sniff import PDFIUM_LOCK

from tests.integration.test_api_routes import api_fixture, call  # noqa: F401 - registers the `api` fixture
from tests.shared_data import INVOICES_DIR, require

SOURCE = "AmazonWebServices.pdf"
DPI = 200  # what the local engine renders a scanned PDF at, and a common scanner setting


def first_page_png(pdf: bytes) -> bytes:
    with PDFIUM_LOCK:
        document = pdfium.PdfDocument(pdf)
        try:
            image = document[0].render(scale=DPI / 72).to_pil()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.timeout(600)
def test_a_pdf_and_a_png_of_its_first_page_are_one_invoice_and_one_possible_duplicate(
        stack: Stack, api: str, standin: standin_mod._State) -> None:
    pdf = require(INVOICES_DIR / SOURCE).read_bytes()
    png = first_page_png(pdf)
    # The local engine reads both here, before the upload, and the stand-in answers with what it read: the same
    # as configuring it as the stand-in's engine, except that the OCR's seconds (a minute on a busy 2-core
    # machine) are not spent inside the deployment's 12 s analysis timeout.
    engine = LocalExpenseEngine()
    for content, read_by in ((pdf, "text"), (png, "ocr")):
        standin.engine.add(content, engine.analyze(content))  # type: ignore[attr-defined]
        assert [page.source for page in engine.last_pages] == [read_by]
    stack.upload("incoming/aws.pdf", pdf)
    (first,) = stack.wait_for_executions(1)
    stack.upload("incoming/aws-scan.png", png)
    _, second = stack.wait_for_executions(2)
    assert first["status"] == second["status"] == "SUCCEEDED"

    with db.transaction() as con:
        ids = db.rows(con, "SELECT id FROM documents")
    docs = {d.object_key: d for d in (repository.get_document(row["id"]) for row in ids)}
    original, scan = docs["incoming/aws.pdf"], docs["incoming/aws-scan.png"]
    assert original.sha256 != scan.sha256 and scan.status != "DUPLICATE"
    assert original.status == "COMPLETED", repository.invoices_for(original.id)[0]["issues"]
    assert scan.status == "NEEDS_REVIEW"

    body = call("GET", f"/documents/{scan.id}/invoice").json()
    (invoice,) = body["invoices"]
    (earlier,) = repository.invoices_for(original.id)
    assert invoice["validation_status"] == "NEEDS_REVIEW"
    assert invoice["duplicate_of"] == {"invoice_id": str(earlier["id"]), "document_id": str(original.id),
                                       "tier": "strong", "review": None}
    assert [i["code"] for i in invoice["issues"] if i["code"] == ISSUE_CODE] == [ISSUE_CODE]
    assert call("GET", f"/documents/{original.id}/invoice").json()["invoices"][0]["duplicate_of"] is None
