"""GET /invoices/export: CSV and XLSX built from Postgres, inline when small, through S3 when not."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from invoice_pipeline.adapters import queries
from openpyxl import load_workbook

from tests.integration.test_api_routes import (
    T0,
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    call,
    insert_completed,
    insert_document,
    invoice,
)


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_csv_has_one_row_per_line_item_with_exact_amounts(api: str) -> None:
    insert_completed(key="incoming/a.pdf", created_at=T0,
                     invoices=[invoice(number="A-1", total="1234.50", items=3)])
    insert_completed(key="incoming/b.pdf", created_at=T0 + timedelta(hours=1),
                     invoices=[invoice(number="B-1", total="0.10", items=0)])
    insert_document(key="incoming/failed.pdf", status="FAILED", error=("CorruptDocument", "x"))
    reply = call("GET", "/invoices/export")
    assert reply.status == 200, reply
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert reply.headers["content-disposition"].startswith('attachment; filename="invoices-')
    rows = _rows(reply.content)
    # Newest document first; an invoice without line items still has its row; FAILED documents have none.
    assert [(r["invoice_number"], r["line_position"]) for r in rows] == [("B-1", ""), ("A-1", "0"), ("A-1", "1"),
                                                                         ("A-1", "2")]
    assert rows[0]["total"] == "0.10" and rows[1]["total"] == "1234.50"
    assert rows[1]["line_amount"] == "50.00" and rows[1]["line_description"] == "Item 0"
    assert rows[1]["file"] == "incoming/a.pdf" and rows[1]["document_status"] == "COMPLETED"
    assert rows[1]["vendor_name"] == "ACME GmbH" and rows[1]["currency"] == "EUR"


def test_csv_cells_cannot_become_spreadsheet_formulas(api: str) -> None:
    insert_completed(invoices=[invoice(vendor="=HYPERLINK(\"http://evil\")", number="+1", total="-5.00")])
    (row, _) = _rows(call("GET", "/invoices/export").content)
    assert row["vendor_name"] == "'=HYPERLINK(\"http://evil\")"
    assert row["invoice_number"] == "'+1"
    assert row["total"] == "-5.00"  # amounts stay numbers


def test_issue_codes_are_listed(api: str) -> None:
    insert_completed(status="NEEDS_REVIEW", issues=[
        {"code": "MISSING_VENDOR", "severity": "error", "invoice_index": 0, "field": None, "message": "m"},
        {"code": "LOW_CONFIDENCE", "severity": "warning", "invoice_index": None, "field": None, "message": "m"}])
    (row, _) = _rows(call("GET", "/invoices/export").content)
    assert row["issues"] == "LOW_CONFIDENCE;MISSING_VENDOR"
    assert row["validation_status"] == "NEEDS_REVIEW"


def test_xlsx_has_invoices_and_line_items_sheets(api: str) -> None:
    insert_completed(invoices=[invoice(number="X-1", total="99.99", items=2, invoice_date="2024-02-15")])
    reply = call("GET", "/invoices/export", query={"format": "xlsx"})
    assert reply.status == 200, reply
    assert reply.raw["isBase64Encoded"] is True
    assert reply.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(reply.content))
    assert book.sheetnames == ["Invoices", "Line items"]
    header, row = list(book["Invoices"].values)
    values = dict(zip(header, row, strict=True))
    assert values["invoice_number"] == "X-1"
    assert Decimal(str(values["total"])) == Decimal("99.99")
    assert values["invoice_date"].date().isoformat() == "2024-02-15"
    items = list(book["Line items"].values)
    assert len(items) == 3 and items[1][1] == "X-1"


def test_export_batches_walk_every_invoice_once(api: str) -> None:
    # Several invoices share their document's timestamp: the keyset's tie-breaker must not lose any.
    for i in range(3):
        insert_completed(key=f"incoming/{i}.pdf", created_at=T0 + timedelta(minutes=i % 2),
                         invoices=[invoice(number=f"{i}-{j}", items=j) for j in range(3)])
    batches = list(queries.export_batches(queries.DocumentFilter(), batch=2))
    numbers = [inv["invoice_number"] for batch in batches for inv in batch]
    assert sorted(numbers) == sorted(f"{i}-{j}" for i in range(3) for j in range(3))
    assert len(batches) == 5
    assert [len(inv["line_items"]) for batch in batches for inv in batch if inv["invoice_number"] == "1-2"] == [2]


@pytest.fixture
def results_bucket(api: str, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> str:
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="invoices-test-results")
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", "300")  # so that a handful of rows is "too big"
    return "invoices-test-results"


def test_a_large_export_goes_to_s3_behind_a_303(results_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    insert_completed(invoices=[invoice(items=5)])
    reply = call("GET", "/invoices/export")
    assert reply.status == 303, reply
    link = reply.json()
    assert reply.headers["location"] == link["url"]
    assert link["format"] == "csv" and link["expires_in"] == 900
    parts = urlsplit(link["url"])
    key = parts.path.split(f"/{results_bucket}/", 1)[-1] if results_bucket in parts.path else parts.path[1:]
    assert key.startswith("exports/") and key.endswith(".csv")
    assert "attachment" in parse_qs(parts.query)["response-content-disposition"][0]
    stored = boto3.client("s3", region_name="us-east-1").get_object(Bucket=results_bucket, Key=key)["Body"].read()
    assert link["size_bytes"] == len(stored)
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", "5000000")
    assert stored == call("GET", "/invoices/export").content  # the same file, only delivered differently


def test_delivery_link_always_answers_200_with_the_link(results_bucket: str) -> None:
    insert_completed()
    reply = call("GET", "/invoices/export", query={"format": "xlsx", "delivery": "link"})
    assert reply.status == 200, reply
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["format"] == "xlsx" and ".xlsx" in reply.json()["url"]
