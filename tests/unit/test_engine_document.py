"""Reading files into pages: a digital PDF through its text layer (made with fpdf2 in the test), and the
errors the `ExpenseEngine` protocol asks for when a file cannot be read. No OCR runs here."""

from __future__ import annotations

import pytest
from fpdf import FPDF
from invoice_local.engine import EngineError, LocalExpenseEngine
from invoice_local.engine.text_layer import MIN_TEXT_CHARS
from invoice_pipeline.domain.textract import normalize_expense


def make_pdf(pages: list[list[tuple[float, float, str]]], *, size: float = 11) -> bytes:
    """A PDF with real text: each page a list of (x mm, y mm, text)."""
    pdf = FPDF()
    for lines in pages:
        pdf.add_page()
        pdf.set_font("helvetica", size=size)
        for x, y, text in lines:
            pdf.text(x, y, text)
    return bytes(pdf.output())


INVOICE = [
    (20, 20, "Northwind Traders Ltd"), (140, 40, "Invoice No: NW-5531"), (140, 47, "Date: 2024-02-29"),
    (20, 60, "Bill To:"), (20, 66, "Contoso Pty"), (20, 72, "12 Harbour St"),
    (20, 100, "Description"), (110, 100, "Qty"), (135, 100, "Unit Price"), (175, 100, "Amount"),
    (20, 108, "Blue widgets"), (112, 108, "3"), (137, 108, "GBP 12.50"), (175, 108, "GBP 37.50"),
    (20, 115, "Red widgets"), (112, 115, "1"), (137, 115, "GBP 12.50"), (175, 115, "GBP 12.50"),
    (135, 140, "Net total"), (175, 140, "GBP 50.00"),
    (135, 147, "VAT 20%"), (175, 147, "GBP 10.00"),
    (135, 154, "Amount due"), (175, 154, "GBP 60.00"),
]


def test_a_digital_pdf_is_read_from_its_text_layer() -> None:
    engine = LocalExpenseEngine()
    response = engine.analyze(make_pdf([INVOICE]), bucket="b", key="k.pdf")
    assert [p.source for p in engine.last_pages] == ["text"]
    page = engine.last_pages[0]
    assert (round(page.width), round(page.height)) == (595, 842)  # A4 in points
    assert "Northwind" in [w.text for w in page.words]
    invoice = normalize_expense(response, engine="local")["invoices"][0]
    assert invoice["invoice_number"] == "NW-5531"
    assert invoice["invoice_date"] == "2024-02-29"
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["amount_due"]) == (
        "50.00", "10.00", "60.00", "60.00")
    assert invoice["currency"] == "GBP"
    assert invoice["vendor"]["name"] == "Northwind Traders Ltd"
    assert invoice["customer"]["name"] == "Contoso Pty"
    assert [i["description"] for i in invoice["line_items"]] == ["Blue widgets", "Red widgets"]


def test_word_boxes_are_in_page_ratios() -> None:
    response = LocalExpenseEngine().analyze(make_pdf([INVOICE]))
    fields = response[0]["ExpenseDocuments"][0]["SummaryFields"]
    number = next(f for f in fields if f["Type"]["Text"] == "INVOICE_RECEIPT_ID")
    box = number["ValueDetection"]["Geometry"]["BoundingBox"]
    # "NW-5531" is printed about 40 mm down an A4 page (297 mm) and right of its middle.
    assert 0.10 < box["Top"] < 0.14 and 0.6 < box["Left"] < 0.9


def test_several_files_are_consecutive_pages() -> None:
    engine = LocalExpenseEngine()
    lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit."
    first = make_pdf([[(20, 20, "Invoice No: P-1"), (20, 30, lorem)]])
    second = make_pdf([[(120, 200, "Total"), (170, 200, "EUR 5,00"), (20, 30, lorem)]])
    response = engine.analyze_files([first, second])
    assert response[0]["DocumentMetadata"]["Pages"] == 2
    assert [p.source for p in engine.last_pages] == ["text", "text"]
    invoice = normalize_expense(response, engine="local")["invoices"][0]
    assert (invoice["invoice_number"], invoice["total"]) == ("P-1", "5.00")
    assert invoice["provenance"]["pages"] == [1, 2]


def test_a_page_without_enough_text_is_rendered_for_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    from invoice_local.engine import document, ocr
    from invoice_local.engine.model import Page

    seen: list[tuple[int, tuple[int, int]]] = []

    def fake_recognize(image, number):  # type: ignore[no-untyped-def]
        seen.append((number, image.size))
        return Page(number, float(image.width), float(image.height), [], "ocr")

    monkeypatch.setattr(ocr, "recognize", fake_recognize)
    assert document.ocr is ocr
    engine = LocalExpenseEngine()
    engine.analyze(make_pdf([[(20, 20, "x" * (MIN_TEXT_CHARS // 2))], INVOICE]))
    assert [p.source for p in engine.last_pages] == ["ocr", "text"]
    assert seen == [(1, (1654, 2339))]  # A4 at 200 dpi


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"hello, this is not an invoice", "plain text"),
        (b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF", "cannot be read"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "cannot be read"),
    ],
)
def test_unreadable_input_raises_engine_error(content: bytes, message: str) -> None:
    with pytest.raises(EngineError, match=message):
        LocalExpenseEngine().analyze(content, bucket="b", key="k")
