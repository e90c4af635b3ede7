"""The e-invoice fields on the API's side: the engine names match the pipeline's one definition, a stored row
becomes the Invoice's new fields (null for an OCR engine's), and the export carries engine and document type."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Any, get_args

from invoice_pipeline.api import export
from invoice_pipeline.api.invoice_fields import structured_fields
from invoice_pipeline.api.models import Engine, Invoice
from invoice_pipeline.domain.textract import ENGINES


def test_the_api_names_the_pipelines_engines() -> None:
    assert get_args(Engine) == ENGINES


def _row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": uuid.uuid4(), "seq": 0, "invoice_number": "RK-1", "vendor_name": "Lieferant GmbH",
        "vendor_address": None, "vendor_tax_id": None, "customer_name": None, "customer_address": None,
        "invoice_date": date(2018, 9, 16), "due_date": None, "po_number": None, "currency": "EUR",
        "subtotal": Decimal("-7.39"), "tax": Decimal("-1.40"), "discount": None, "total": Decimal("-8.79"),
        "amount_due": Decimal("-8.79"), "validation_status": "COMPLETED", "issues": [], "confidence": {},
        "provenance": {"engine": "e-invoice", "pages": [], "fields": {}}, "document_type": "384",
        "delivery_date": date(2018, 8, 5), "prepaid": Decimal("0.00"),
        "allowances_charges": [{"charge": False, "amount": "1.00", "reason": "Rabatt"}],
        "tax_breakdown": [{"category": "S", "rate": "19.00", "taxable_amount": "-7.39", "tax_amount": "-1.40"}],
        "payment": {"iban": "DE02120300000000202051", "means_code": "58"},
    }
    return {**base, **overrides}


def _invoice(row: dict[str, Any]) -> Invoice:
    amounts = {k: format(row[k], "f") if row[k] is not None else None
               for k in ("subtotal", "tax", "discount", "total", "amount_due")}
    return Invoice(
        id=row["id"], seq=0, invoice_number=row["invoice_number"], vendor={"name": row["vendor_name"], "address": None},
        customer={"name": None, "address": None}, invoice_date=row["invoice_date"], due_date=None, po_number=None,
        currency="EUR", **amounts, validation_status="COMPLETED", issues=[], confidence={},
        provenance=row["provenance"], line_items=[], **structured_fields(row))


def test_an_einvoice_row_serves_its_fields() -> None:
    served = _invoice(_row()).model_dump(mode="json")
    assert served["engine"] == "e-invoice" and served["document_type"] == "384"
    assert served["delivery_date"] == "2018-08-05" and served["prepaid"] == "0.00"
    assert served["allowances_charges"][0]["charge"] is False and served["allowances_charges"][0]["amount"] == "1.00"
    assert served["tax_breakdown"][0]["taxable_amount"] == "-7.39" and served["payment"]["means_code"] == "58"
    assert served["total"] == "-8.79"  # as the document states it


def test_an_ocr_row_serves_nulls() -> None:
    row = _row(provenance={"engine": "local", "pages": [1], "fields": {}}, document_type=None, delivery_date=None,
               prepaid=None, allowances_charges=None, tax_breakdown=None, payment=None)
    served = _invoice(row).model_dump(mode="json")
    assert served["engine"] == "local"
    assert [served[k] for k in ("document_type", "delivery_date", "prepaid", "allowances_charges", "tax_breakdown",
                                "payment")] == [None] * 6


def test_a_row_stored_before_the_engine_was_recorded_serves_null() -> None:
    assert structured_fields(_row(provenance={}))["engine"] is None


def test_the_export_carries_engine_document_type_and_line_unit() -> None:
    row = {"document_id": uuid.uuid4(), "object_key": "incoming/k.pdf", "status": "COMPLETED",
           "invoice_id": uuid.uuid4(), "seq": 0, "invoice_number": "RK-1", "vendor_name": "L", "vendor_address": None,
           "vendor_tax_id": None, "customer_name": None, "customer_address": None, "invoice_date": None,
           "due_date": None, "po_number": None, "currency": "EUR", "subtotal": None, "tax": None, "discount": None,
           "total": Decimal("-8.79"), "amount_due": None, "validation_status": "COMPLETED", "issues": [],
           "engine": "e-invoice", "document_type": "384",
           "line_items": [{"position": 0, "description": "Trennblätter", "quantity": Decimal("-1"),
                           "unit_price": Decimal("9.90"), "amount": Decimal("-9.90"), "product_code": None,
                           "unit": "H87", "tax_rate": Decimal("19.00")}]}
    out = io.BytesIO()
    export.write_csv([[row]], out)
    (line,) = csv.DictReader(io.StringIO(out.getvalue().decode()))
    assert (line["engine"], line["document_type"], line["total"]) == ("e-invoice", "384", "-8.79")
    assert (line["line_unit"], line["line_tax_rate"], line["line_amount"]) == ("H87", "19.00", "-9.90")
