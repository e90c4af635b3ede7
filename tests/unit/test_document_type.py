"""The OCR engines' document type (domain/document_type.py): "381" from a credit-note title, null otherwise, on
real Textract responses from ../shared/data/textract (as they are, and with their title or number label changed
to a credit note's), and on the local engine's own output. And the sign convention in validation: a credit
note's amounts, positive as most print them or negative, complete without an issue."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest
from invoice_pipeline.domain.document_type import CREDIT_NOTE, is_credit_note_title
from invoice_pipeline.domain.textract import normalize_expense
from invoice_pipeline.domain.validation import validate_document
from invoice_pipeline.schemas import validate_against

from tests.shared_data import TEXTRACT_DIR, require


def _response(name: str) -> dict[str, Any]:
    return json.loads(require(TEXTRACT_DIR / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("title", [
    "CREDIT NOTE", "Credit note no.: CN-2024-001", "Credit Memo #4711", "Avoir", "AVOIR N° AV-12",
    "Facture d’avoir n° 2024-77", "Creditnota 2024/17", "Creditfactuur", "Nota di credito 45/2024",
    "Nota de crédito Nº 000123", "NOTA DE CREDITO", "Note de crédit",
])
def test_credit_note_titles(title: str) -> None:
    assert is_credit_note_title(title)


@pytest.mark.parametrize("text", [
    "INVOICE", "Invoice No:", "Gutschrift", "Gutschrift (Selbst ausgestellte Rechnung) (389) Nr. 471102",
    "Rechnungskorrektur (384) Nr. RK21012345", "Avoir un compte client", "Credit note applied to invoice 12",
    "Credit notes", "Credited amount", "Avoirs et remises", "Please see our credit note policy",
])
def test_other_lines_are_not_credit_note_titles(text: str) -> None:
    assert not is_credit_note_title(text)


@pytest.mark.parametrize("name", sorted(p.name for p in TEXTRACT_DIR.glob("*.json")) or ["missing"])
def test_no_shared_textract_response_is_taken_for_a_credit_note(name: str) -> None:
    """None of them is one: every invoice gets document_type null (never a guessed 380), schema-valid."""
    response = _response(name)
    if "ExpenseDocuments" not in response:
        pytest.skip(f"{name} is not an expense response")
    pages = [response]
    if name.startswith("gessies_receipt"):  # the two NextToken pages of one job
        pages = [_response("gessies_receipt.get_expense_analysis.page1.json"),
                 _response("gessies_receipt.get_expense_analysis.page2.json")]
    document = normalize_expense(pages)
    validate_against("invoice", document)
    assert document["invoices"] and all(inv["document_type"] is None for inv in document["invoices"])


def test_a_credit_note_title_in_textracts_line_blocks() -> None:
    """The real two-page response with its printed title ("INVOICE", a LINE block on both pages) made a credit
    note's: one invoice, type 381, and its provenance names the title it came from."""
    response = copy.deepcopy(_response("multipage_invoice.get_expense_analysis.json"))
    for expense in response["ExpenseDocuments"]:
        for block in expense["Blocks"]:
            if block["BlockType"] == "LINE" and block["Text"] == "INVOICE":
                block["Text"] = "CREDIT NOTE"
    (invoice,) = normalize_expense([response])["invoices"]
    assert invoice["document_type"] == CREDIT_NOTE
    assert invoice["provenance"]["fields"]["document_type"]["raw"] == "CREDIT NOTE"
    assert invoice["provenance"]["fields"]["document_type"]["page"] == 1


def test_a_title_on_a_later_page_only_does_not_count() -> None:
    """The title is the first page's: a line on page 2 alone (a reprinted header, a note) is not enough."""
    response = copy.deepcopy(_response("multipage_invoice.get_expense_analysis.json"))
    changed = 0
    for expense in response["ExpenseDocuments"]:
        for block in expense["Blocks"]:
            if block["BlockType"] == "LINE" and block["Text"] == "INVOICE" and block.get("Page") == 2:
                block["Text"] = "CREDIT NOTE"
                changed += 1
    assert changed
    (invoice,) = normalize_expense([response])["invoices"]
    assert invoice["document_type"] is None


def test_a_credit_note_label_on_the_number_without_blocks() -> None:
    """A response without Blocks (default_invoice_1): the invoice number's label carries the title."""
    response = copy.deepcopy(_response("default_invoice_1.analyze_expense.json"))
    for field in response["ExpenseDocuments"][0]["SummaryFields"]:
        if field["Type"]["Text"] == "INVOICE_RECEIPT_ID":
            field["LabelDetection"]["Text"] = "CREDIT MEMO #"
    (invoice,) = normalize_expense([response])["invoices"]
    assert invoice["document_type"] == CREDIT_NOTE and invoice["invoice_number"] == "123PQR456"


def test_the_local_engine_reads_a_credit_note_by_its_numbers_label() -> None:
    """The local engine returns no LINE blocks; the label it gives the number carries the title."""
    from invoice_local.engine import LocalExpenseEngine

    from tests.einvoice_samples import picture

    engine = LocalExpenseEngine()

    def read(*lines: str) -> dict[str, Any]:
        pages = engine.analyze(picture("Holzwerk Berger GmbH", *lines, "Total: 119.00 EUR"),
                                             bucket="b", key="k.pdf")
        invoice: dict[str, Any] = normalize_expense(pages, engine="local")["invoices"][0]
        return invoice

    credit = read("CREDIT NOTE", "Credit note no.: CN-1001", "Date: 2025-03-14")
    assert (credit["document_type"], credit["invoice_number"]) == (CREDIT_NOTE, "CN-1001")
    assert read("INVOICE", "Invoice no.: 1001", "Date: 2025-03-14")["document_type"] is None


def _credit_note(sign: str) -> dict[str, Any]:
    def amount(value: str) -> str:
        return f"{sign}{value}"

    return {
        "schema_version": "1", "engine": "local", "page_count": 1,
        "invoices": [{
            "vendor": {"name": "Holzwerk Berger GmbH", "address": None, "tax_id": None},
            "customer": {"name": None, "address": None, "tax_id": None},
            "invoice_number": "CN-1001", "invoice_date": "2025-03-14", "due_date": None, "po_number": None,
            "currency": "EUR", "subtotal": amount("100.00"), "tax": amount("19.00"), "discount": None,
            "total": amount("119.00"), "amount_due": amount("119.00"), "document_type": CREDIT_NOTE,
            "line_items": [
                {"description": "Returned chair", "quantity": "1", "unit_price": amount("70.00"),
                 "amount": amount("70.00"), "product_code": None},
                {"description": "Returned lamp", "quantity": "2", "unit_price": amount("15.00"),
                 "amount": amount("30.00"), "product_code": None},
            ],
            "confidence": {}, "alternatives": {},
            "provenance": {"engine": "local", "pages": [1], "fields": {}},
        }],
    }


@pytest.mark.parametrize("sign", ["", "-"], ids=["positive-as-most-print-them", "negative"])
def test_a_credit_notes_amounts_as_stated_validate_without_issue(sign: str) -> None:
    result = validate_document(_credit_note(sign), today=date(2025, 3, 20))
    assert result.status.value == "COMPLETED" and result.issues == []
