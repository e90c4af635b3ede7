"""What only a structured invoice states (migration 0005), stored by Persist and served by the API, against a
real Postgres: a real e-invoice (the shared corpus' corrected invoice, 384, with negative amounts and
allowances) next to a real Textract response, which states none of it."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

from invoice_pipeline.adapters import db, repository
from invoice_pipeline.domain.einvoice import read_einvoice
from invoice_pipeline.domain.textract import normalize_expense
from invoice_pipeline.domain.validation import validate_document

from tests.integration.test_api_routes import (
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    call,
    insert_document,
)
from tests.shared_data import INVOICES_DIR, TEXTRACT_DIR, require


def _persist(key: str, document: dict) -> str:
    doc_id = insert_document(key=key)
    result = validate_document(document, today=date(2026, 1, 1))
    repository.persist_invoices(doc_id, document, status=result.status, issues=result.to_dict()["issues"],
                                execution_arn=None)
    return str(doc_id)


def test_persist_stores_the_einvoice_fields_and_the_api_serves_them(api: str) -> None:
    einvoice = read_einvoice(require(INVOICES_DIR / "EN16931_Rechnungskorrektur.pdf").read_bytes())
    ocr = normalize_expense([json.loads(require(TEXTRACT_DIR / "default_invoice_1.analyze_expense.json")
                                        .read_text(encoding="utf-8"))])
    read = einvoice["invoices"][0]
    e_doc, ocr_doc = _persist("incoming/korrektur.pdf", einvoice), _persist("incoming/ocr.png", ocr)

    with db.transaction() as con:
        stored = db.rows(con, "SELECT document_type, delivery_date, prepaid, total, allowances_charges,"
                              " tax_breakdown, payment FROM invoices WHERE document_id = :d", d=e_doc)[0]
        lines = db.rows(con, "SELECT unit, tax_rate FROM line_items l JOIN invoices i ON i.id = l.invoice_id"
                             " WHERE i.document_id = :d ORDER BY position", d=e_doc)
        blank = db.rows(con, "SELECT document_type, delivery_date, prepaid, allowances_charges, tax_breakdown,"
                             " payment FROM invoices WHERE document_id = :d", d=ocr_doc)[0]
        blank_lines = db.rows(con, "SELECT unit, tax_rate FROM line_items l JOIN invoices i ON i.id = l.invoice_id"
                                   " WHERE i.document_id = :d", d=ocr_doc)
    # As the document states them: a corrected invoice's negative total stays negative.
    assert stored["document_type"] == "384" and stored["total"] == Decimal(read["total"]) < 0
    assert stored["delivery_date"].isoformat() == read["delivery_date"]
    assert stored["prepaid"] == Decimal(read["prepaid"])
    assert stored["allowances_charges"] == read["allowances_charges"] and len(stored["allowances_charges"]) == 4
    assert stored["tax_breakdown"] == read["tax_breakdown"] and stored["payment"] == read["payment"]
    assert [(r["unit"], r["tax_rate"]) for r in lines] == [
        (item["unit"], Decimal(item["tax_rate"])) for item in read["line_items"]]
    # An OCR engine states none of it: null, not an empty list or a guessed 380.
    assert set(blank.values()) == {None} and blank_lines and {(r["unit"], r["tax_rate"]) for r in blank_lines} == {
        (None, None)}

    served = call("GET", f"/documents/{e_doc}/invoice").json()["invoices"][0]
    assert (served["engine"], served["document_type"]) == ("e-invoice", "384")
    assert served["total"] == read["total"] and served["prepaid"] == read["prepaid"]
    assert served["allowances_charges"] == read["allowances_charges"]
    assert served["tax_breakdown"] == read["tax_breakdown"] and served["payment"] == read["payment"]
    assert [(i["unit"], i["tax_rate"]) for i in served["line_items"]] == [
        (item["unit"], item["tax_rate"]) for item in read["line_items"]]
    plain = call("GET", f"/documents/{ocr_doc}/invoice").json()["invoices"][0]
    assert plain["engine"] == "textract" and plain["document_type"] is None and plain["payment"] is None

    listed = {item["id"]: item for item in call("GET", "/documents").json()["items"]}
    assert (listed[e_doc]["engine"], listed[e_doc]["document_type"]) == ("e-invoice", "384")
    assert (listed[ocr_doc]["engine"], listed[ocr_doc]["document_type"]) == ("textract", None)

    exported = list(csv.DictReader(io.StringIO(call("GET", "/invoices/export", query={"format": "csv"})
                                               .content.decode("utf-8"))))
    mine = [row for row in exported if row["document_id"] == e_doc]
    assert {(row["engine"], row["document_type"], row["total"]) for row in mine} == {
        ("e-invoice", "384", read["total"])}
    assert [row["line_unit"] for row in mine] == [item["unit"] for item in read["line_items"]]
    assert {row["engine"] for row in exported if row["document_id"] == ocr_doc} == {"textract"}
