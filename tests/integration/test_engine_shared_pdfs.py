"""The local engine on real invoices from ../shared/data/invoices: its response goes through the one shared
parser to schema-valid invoices carrying the labelled values (read from labels.jsonl, never written here),
it serves the emulated AnalyzeExpense API, and it never reads the e-invoice XML a hybrid PDF embeds."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import boto3
import pypdfium2 as pdfium
import pytest
from invoice_local.deployment import REGION
from invoice_local.emulation import textract as textract_standin
from invoice_local.engine import LocalExpenseEngine
from invoice_pipeline.domain.sniff import EINVOICE_ATTACHMENT_NAMES, PDFIUM_LOCK
from invoice_pipeline.domain.textract import normalize_expense
from jsonschema import Draft202012Validator

from tests.shared_data import INVOICES_DIR, REPO_ROOT, require

SCHEMA = json.loads((REPO_ROOT / "schemas" / "invoice.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
# A few documents of each kind: an English and a Dutch invoice2data sample, a French one, and hybrid
# e-invoices (German, one of them a credit correction with negative sums).
FILES = ["AzureInterior.pdf", "coolblue1.pdf", "NetpresseInvoice.pdf", "EN16931_Einfach.pdf",
         "EN16931_Rechnungskorrektur.pdf"]


def labels() -> dict[str, dict[str, Any]]:
    path = require(INVOICES_DIR / "labels.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {row["file"]: row for row in rows}


@pytest.fixture(scope="module")
def engine() -> LocalExpenseEngine:
    return LocalExpenseEngine()


@pytest.mark.parametrize("name", FILES)
def test_engine_output_normalizes_to_the_labelled_invoice(engine: LocalExpenseEngine, name: str) -> None:
    label = labels()[name]
    content = require(INVOICES_DIR / name).read_bytes()
    document = normalize_expense(engine.analyze(content, bucket="shared", key=name), engine="local")
    errors = list(VALIDATOR.iter_errors(document))
    assert not errors, [e.message for e in errors[:5]]
    assert document["engine"] == "local" and len(document["invoices"]) == 1
    invoice = document["invoices"][0]
    assert Decimal(invoice["total"]) == Decimal(label["total"])
    assert invoice["invoice_date"] == label["issue_date"]
    assert invoice["currency"] == label["currency"]
    assert invoice["invoice_number"].lstrip("#") == label["invoice_number"].lstrip("#")
    assert all(p.source == "text" for p in engine.last_pages)


def _without_attachments(content: bytes) -> bytes:
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(content)
        try:
            names = [pdf.get_attachment(i).get_name() for i in range(pdf.count_attachments())]
            assert any(n.casefold() in {a.casefold() for a in EINVOICE_ATTACHMENT_NAMES} for n in names)
            for index in reversed(range(pdf.count_attachments())):
                pdf.del_attachment(index)
            buffer = io.BytesIO()
            pdf.save(buffer)
            return buffer.getvalue()
        finally:
            pdf.close()


def test_the_embedded_e_invoice_xml_is_never_read(engine: LocalExpenseEngine) -> None:
    """A hybrid PDF reads the same with its Factur-X/ZUGFeRD XML removed: the engine reads the page only."""
    content = require(INVOICES_DIR / "EN16931_Einfach.pdf").read_bytes()
    with_xml = normalize_expense(engine.analyze(content), engine="local")
    without_xml = normalize_expense(engine.analyze(_without_attachments(content)), engine="local")
    assert with_xml == without_xml


def test_the_engine_behind_the_emulated_textract_api(aws_env: None) -> None:
    content = require(INVOICES_DIR / "coolblue1.pdf").read_bytes()
    textract_standin.configure(engine=LocalExpenseEngine())
    client = boto3.client("textract", region_name=REGION)
    response = client.analyze_expense(Document={"Bytes": content})
    invoice = normalize_expense([response], engine="local")["invoices"][0]
    assert Decimal(invoice["total"]) == Decimal(labels()["coolblue1.pdf"]["total"])
    with pytest.raises(client.exceptions.UnsupportedDocumentException):
        client.analyze_expense(Document={"Bytes": b"not a document"})
