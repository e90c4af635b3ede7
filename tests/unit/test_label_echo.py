"""A label echoed inside a Textract value ("Invoice #1258" as INVOICE_RECEIPT_ID) is not part of the value:
the real default_invoice_1 response from ../shared/data, its values rewritten the way Textract returns them
on such invoices, and the stripping rule on its own."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from invoice_pipeline.domain.label_echo import strip_label_echo
from invoice_pipeline.domain.textract import normalize_expense

from tests.conftest import load_textract

DEFAULT_INVOICE = "default_invoice_1.analyze_expense.json"


def _summary(response: dict[str, Any], type_: str) -> dict[str, Any]:
    fields = [f for f in response["ExpenseDocuments"][0]["SummaryFields"] if f["Type"]["Text"] == type_]
    assert len(fields) == 1, type_
    return fields[0]


def test_invoice_number_repeating_its_label() -> None:
    response = copy.deepcopy(load_textract(DEFAULT_INVOICE))
    number = _summary(response, "INVOICE_RECEIPT_ID")
    original = number["ValueDetection"]["Text"]
    assert normalize_expense([response])["invoices"][0]["invoice_number"] == original
    number["LabelDetection"]["Text"] = "Invoice #"
    number["ValueDetection"]["Text"] = f"Invoice #{original}"
    invoice = normalize_expense([response])["invoices"][0]
    assert invoice["invoice_number"] == original
    # The raw text stays in the provenance, as Textract returned it.
    assert invoice["provenance"]["fields"]["invoice_number"]["raw"] == f"Invoice #{original}"


def test_echo_without_a_detected_label_and_on_other_fields() -> None:
    response = copy.deepcopy(load_textract(DEFAULT_INVOICE))
    number = _summary(response, "INVOICE_RECEIPT_ID")
    original = number["ValueDetection"]["Text"]
    del number["LabelDetection"]
    number["ValueDetection"]["Text"] = f"Invoice No. {original}"
    total = _summary(response, "TOTAL")
    expected_total = normalize_expense([copy.deepcopy(load_textract(DEFAULT_INVOICE))])["invoices"][0]["total"]
    total["ValueDetection"]["Text"] = f"{total['LabelDetection']['Text']}: {total['ValueDetection']['Text']}"
    invoice = normalize_expense([response])["invoices"][0]
    assert invoice["invoice_number"] == original
    assert invoice["total"] == expected_total


@pytest.mark.parametrize(
    ("value", "label", "identifier", "expected"),
    [
        ("Invoice #1258", "Invoice #", True, "1258"),
        ("INVOICE # 1258", "invoice", True, "1258"),
        ("Rechnung Nr. 4711", None, True, "4711"),
        ("Facture n° F-12", None, True, "F-12"),
        ("Total: $50.00", "Total:", False, "$50.00"),
        ("Bill To: ACME Ltd", "Bill To:", False, "ACME Ltd"),
        # Kept: a series that is part of the number, a value glued to its label, nothing left after the label.
        ("INV 50089", None, True, "INV 50089"),
        ("RE 1001", None, True, "RE 1001"),
        ("RE-2024-1", "RE", True, "RE-2024-1"),
        ("Invoice #", "Invoice #", True, "Invoice #"),
        ("1258", "Invoice #", True, "1258"),
        (None, "Invoice #", True, None),
    ],
)
def test_strip_label_echo(value: str | None, label: str | None, identifier: bool, expected: str | None) -> None:
    assert strip_label_echo(value, label, identifier=identifier) == expected
