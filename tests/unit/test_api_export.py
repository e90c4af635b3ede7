"""The export writers, on rows shaped like the export query's."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from invoice_pipeline.api import export
from openpyxl import load_workbook


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "document_id": uuid.uuid4(), "object_key": "incoming/a.pdf", "status": "COMPLETED",
        "invoice_id": uuid.uuid4(), "seq": 0, "invoice_number": "INV-1", "vendor_name": "ACME",
        "vendor_address": None, "vendor_tax_id": None, "customer_name": None, "customer_address": None,
        "invoice_date": date(2024, 1, 31), "due_date": None, "po_number": None, "currency": "EUR",
        "subtotal": Decimal("0.0000000"), "tax": None, "discount": None, "total": Decimal("1E+3"),
        "amount_due": Decimal("-12.50"), "validation_status": "COMPLETED", "issues": [],
        "line_items": [{"position": 0, "description": "@SUM(A1)", "quantity": Decimal("2"),
                        "unit_price": Decimal("500"), "amount": Decimal("1000"), "product_code": None}],
    }
    return {**base, **overrides}


def test_csv_writes_plain_decimals_and_neutralizes_formulas() -> None:
    out = io.BytesIO()
    assert export.write_csv([[row()]], out) == 1
    (line,) = list(csv.DictReader(io.StringIO(out.getvalue().decode())))
    assert line["subtotal"] == "0.0000000"  # not 0E-7
    assert line["total"] == "1000"  # not 1E+3
    assert line["amount_due"] == "-12.50"
    assert line["line_description"] == "'@SUM(A1)"
    assert line["invoice_date"] == "2024-01-31"
    assert list(line) == [*export.INVOICE_COLUMNS, *export.ITEM_COLUMNS]


def test_build_spools_and_rewinds() -> None:
    out, size, count = export.build("csv", [[row(), row()], [row()]], spool_bytes=10, work_dir="/tmp")
    with out:
        assert count == 3 and size == len(out.read())


def test_xlsx_types() -> None:
    out, _size, _count = export.build("xlsx", [[row()]], spool_bytes=1 << 20, work_dir="/tmp")
    with out:
        book = load_workbook(io.BytesIO(out.read()))
    header, values = list(book["Invoices"].values)
    record = dict(zip(header, values, strict=True))
    assert record["total"] == 1000 and record["invoice_number"] == "INV-1"
    assert record["document_id"] and isinstance(record["document_id"], str)
    (_, item) = list(book["Line items"].values)
    assert item[3] == "'@SUM(A1)"
