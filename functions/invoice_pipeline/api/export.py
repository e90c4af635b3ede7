"""Exports of invoices with their line items, as CSV (one row per line item, the invoice's columns repeated;
an invoice without items gets one row) or XLSX (an "Invoices" sheet and a "Line items" sheet).

The file is written to a spooled temporary file as the batches come from Postgres, so memory stays bounded;
the caller then returns it inline or, when it is too big for a Lambda response, puts it in S3."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

INVOICE_COLUMNS = (
    "document_id", "file", "document_status", "invoice_id", "invoice_seq", "invoice_number", "document_type",
    "vendor_name",
    "vendor_tax_id", "vendor_address", "customer_name", "customer_address", "invoice_date", "due_date",
    "po_number", "currency", "subtotal", "tax", "discount", "total", "amount_due", "validation_status", "issues",
    "engine",
)
ITEM_COLUMNS = ("line_position", "line_description", "line_quantity", "line_unit_price", "line_amount",
                "line_product_code", "line_unit", "line_tax_rate")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# Free text that a spreadsheet would run as a formula (CSV injection). Amounts are never touched: a
# negative amount must stay a number.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = frozenset({"file", "invoice_number", "vendor_name", "vendor_tax_id", "vendor_address",
                           "customer_name", "customer_address", "po_number", "line_description",
                           "line_product_code", "line_unit"})


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # str() would give "0E-7" for 0.0000000
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _safe(column: str, value: str) -> str:
    if column in _TEXT_COLUMNS and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _invoice_values(inv: dict[str, Any]) -> dict[str, Any]:
    return {
        "document_id": inv["document_id"], "file": inv["object_key"], "document_status": inv["status"],
        "invoice_id": inv["invoice_id"], "invoice_seq": inv["seq"], "invoice_number": inv["invoice_number"],
        # Amounts as the document states them: a credit note (381) is told apart by its type, not its sign.
        "document_type": inv.get("document_type"),
        "vendor_name": inv["vendor_name"], "vendor_tax_id": inv["vendor_tax_id"],
        "vendor_address": inv["vendor_address"], "customer_name": inv["customer_name"],
        "customer_address": inv["customer_address"], "invoice_date": inv["invoice_date"],
        "due_date": inv["due_date"], "po_number": inv["po_number"], "currency": inv["currency"],
        "subtotal": inv["subtotal"], "tax": inv["tax"], "discount": inv["discount"], "total": inv["total"],
        "amount_due": inv["amount_due"], "validation_status": inv["validation_status"],
        "issues": ";".join(sorted({str(i.get("code")) for i in inv.get("issues") or [] if isinstance(i, dict)})),
        "engine": inv.get("engine"),  # textract | local | e-invoice: which engine read the invoice
    }


def _item_values(item: dict[str, Any] | None) -> dict[str, Any]:
    if item is None:
        return dict.fromkeys(ITEM_COLUMNS)
    return {"line_position": item["position"], "line_description": item["description"],
            "line_quantity": item["quantity"], "line_unit_price": item["unit_price"], "line_amount": item["amount"],
            "line_product_code": item["product_code"], "line_unit": item.get("unit"),
            "line_tax_rate": item.get("tax_rate")}


def write_csv(batches: Iterable[list[dict[str, Any]]], out: IO[bytes]) -> int:
    """Write the CSV to `out`; returns the number of invoices."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    columns = INVOICE_COLUMNS + ITEM_COLUMNS
    writer.writerow(columns)
    count = 0
    for batch in batches:
        for inv in batch:
            count += 1
            head = _invoice_values(inv)
            for item in inv["line_items"] or [None]:
                row = {**head, **_item_values(item)}
                writer.writerow([_safe(c, _text(row[c])) for c in columns])
    text.flush()
    text.detach()  # leave `out` open for the caller
    return count


def _cell(value: Any) -> Any:
    """Amounts become numbers and dates dates in the spreadsheet; everything else text."""
    if value is None or isinstance(value, (int, Decimal, date)):
        return value
    return str(value)


def write_xlsx(batches: Iterable[list[dict[str, Any]]], out: IO[bytes]) -> int:
    # Imported here: only this export needs openpyxl, and it adds to every cold start.
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    invoices = book.create_sheet("Invoices")
    items = book.create_sheet("Line items")
    invoices.append(list(INVOICE_COLUMNS))
    items.append(["invoice_id", "invoice_number", *ITEM_COLUMNS])
    count = 0
    for batch in batches:
        for inv in batch:
            count += 1
            head = _invoice_values(inv)
            invoices.append([_cell(_safe(c, v) if isinstance(v, str) else v) for c, v in head.items()])
            for item in inv["line_items"]:
                values = _item_values(item)
                items.append([str(inv["invoice_id"]), _cell(inv["invoice_number"]),
                              *(_cell(_safe(c, v) if isinstance(v, str) else v) for c, v in values.items())])
    book.save(out)
    return count


def build(fmt: str, batches: Iterable[list[dict[str, Any]]], *, spool_bytes: int,
          work_dir: str) -> tuple[IO[bytes], int, int]:
    """The export in a temporary file (in memory up to `spool_bytes`), rewound: (file, size, invoices)."""
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=spool_bytes, dir=work_dir)  # noqa: SIM115
    count = write_csv(batches, out) if fmt == "csv" else write_xlsx(batches, out)
    size = out.tell()
    out.seek(0)
    return out, size, count
