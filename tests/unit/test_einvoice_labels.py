"""Every e-invoice of ../shared/data/invoices read by the e-invoice reader matches its labels.jsonl row exactly, on
every labelled field, line items included; every other labelled document is refused as not an e-invoice.

Which rows are e-invoices is the data's own statement (the README: e-invoice rows carry document_type_code), not
a list of names here; the reader has to find them by their bytes. Values are compared as the exact strings the
labels hold ("473.00" is not "473.0"), because an e-invoice's data is exact."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from invoice_pipeline.domain.einvoice import read_einvoice
from invoice_pipeline.domain.sniff import PDF, sniff_media_type
from invoice_pipeline.domain.validation import validate_document
from invoice_pipeline.errors import NotAnEInvoice

from tests.shared_data import INVOICES_DIR, skip_or_fail

LABELS = INVOICES_DIR / "labels.jsonl"
LINE_FIELDS = ("description", "quantity", "unit_price", "amount")


def _rows() -> list[dict[str, Any]]:
    if not LABELS.is_file():
        return []
    return [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]


ROWS = _rows()
EINVOICE_ROWS = [row for row in ROWS if "document_type_code" in row]
OTHER_ROWS = [row for row in ROWS if "document_type_code" not in row]


def _require_labels() -> None:
    if not ROWS:
        skip_or_fail(f"labelled invoices not found at {LABELS} (expected ../shared/data beside the repository)")


def predicted(invoice: dict[str, Any]) -> dict[str, Any]:
    """The normalized invoice's values under the labels' names."""
    return {
        "vendor": invoice["vendor"]["name"],
        "invoice_number": invoice["invoice_number"],
        "issue_date": invoice["invoice_date"],
        "due_date": invoice["due_date"],
        "currency": invoice["currency"],
        "subtotal": invoice["subtotal"],
        "tax": invoice["tax"],
        "total": invoice["total"],
        "n_line_items": len(invoice["line_items"]),
        "document_type_code": invoice.get("document_type"),
        "line_items": [{key: line[key] for key in LINE_FIELDS} for line in invoice["line_items"]],
    }


def mismatches(row: dict[str, Any], invoice: dict[str, Any]) -> list[str]:
    values = predicted(invoice)
    out = []
    for field, expected in row.items():
        if field in ("file", "source"):
            continue
        assert field in values, f"labels field {field!r} has no counterpart in the normalized invoice"
        if values[field] != expected:
            out.append(f"{field}: expected {expected!r}, read {values[field]!r}")
    return out


@pytest.mark.parametrize("row", EINVOICE_ROWS or [None], ids=lambda r: r["file"] if r else "labels-missing")
def test_every_labelled_einvoice_matches_its_labels(row: dict[str, Any] | None) -> None:
    _require_labels()
    assert row is not None
    document = read_einvoice((INVOICES_DIR / row["file"]).read_bytes())
    assert document["engine"] == "e-invoice" and len(document["invoices"]) == 1
    invoice = document["invoices"][0]
    assert mismatches(row, invoice) == []
    provenance = invoice["provenance"]
    assert provenance["engine"] == "e-invoice" and provenance["format"] and provenance["profile"]
    # Each one passes its XSD and shows its own number and total: nothing for a reviewer.
    assert provenance["findings"] == []


def test_the_labels_hold_einvoices_and_other_documents() -> None:
    """Guards the parametrization above against an empty selection (a renamed labels field would silently
    leave nothing to compare)."""
    _require_labels()
    assert len(EINVOICE_ROWS) >= 20 and OTHER_ROWS
    assert sum(len(row.get("line_items") or []) for row in EINVOICE_ROWS) >= 50


def test_no_other_labelled_document_is_taken_for_an_einvoice() -> None:
    _require_labels()
    for row in OTHER_ROWS:
        path = INVOICES_DIR / row["file"]
        with pytest.raises(NotAnEInvoice):
            read_einvoice(path.read_bytes())


def test_the_einvoices_complete_validation() -> None:
    """Read and validated as the pipeline will: the XML is exact, so nothing but the data's own quirks can send
    one to review, and none of the corpus has an error (a warning, e.g. an amount due above the total after a
    negative prepayment, is the XML's statement and stays a warning)."""
    _require_labels()
    statuses = {}
    for row in EINVOICE_ROWS:
        document = read_einvoice((INVOICES_DIR / row["file"]).read_bytes())
        result = validate_document(document, today=date(2026, 1, 1))
        statuses[row["file"]] = (result.status.value, [i.code for i in result.issues if i.severity == "error"])
    assert {name: s for name, s in statuses.items() if s[0] != "COMPLETED"} == {}


def test_bare_xml_reads_as_the_pdf_it_came_from() -> None:
    """The XML uploaded on its own (an XRechnung is sent that way) gives the same invoice as the hybrid PDF."""
    _require_labels()
    import pypdfium2 as pdfium

    for row in EINVOICE_ROWS[:3] + [r for r in EINVOICE_ROWS if r["file"].startswith("XRECHNUNG")][:1]:
        path: Path = INVOICES_DIR / row["file"]
        assert sniff_media_type(path.read_bytes()[:1024]) == PDF
        pdf = pdfium.PdfDocument(str(path))
        try:
            xml = next(
                bytes(a.get_data()) for a in (pdf.get_attachment(i) for i in range(pdf.count_attachments()))
                if a.get_name().casefold() in ("factur-x.xml", "xrechnung.xml", "zugferd-invoice.xml")
            )
        finally:
            pdf.close()
        from_pdf = read_einvoice(path.read_bytes())["invoices"][0]
        from_xml = read_einvoice(xml)
        assert from_xml["page_count"] == 0
        bare = from_xml["invoices"][0]
        assert {k: v for k, v in bare.items() if k != "provenance"} == {
            k: v for k, v in from_pdf.items() if k != "provenance"
        }
        assert bare["provenance"]["attachment"] is None and mismatches(row, bare) == []
