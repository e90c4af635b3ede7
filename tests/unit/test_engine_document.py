"""Reading files into pages: a digital PDF through its text layer (made with fpdf2 in the test), and the
errors the `ExpenseEngine` protocol asks for when a file cannot be read, and the render budget (a page or image
too large is refused before it is rendered or decoded). No OCR runs here."""

from __future__ import annotations

import io
import threading
from typing import Any

import pytest
from fpdf import FPDF
from invoice_local.engine import EngineError, LocalExpenseEngine, budget
from invoice_local.engine.errors import AnalysisCancelled, PageTooLarge
from invoice_local.engine.text_layer import MIN_TEXT_CHARS
from invoice_pipeline.domain.textract import normalize_expense
from PIL import Image


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


def make_pdf_with_drawing(lines: list[tuple[float, float, str]]) -> bytes:
    """One page with text and a drawn rectangle (a logo, a scanned stamp would be an image): not text only."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.rect(20, 30, 60, 20, style="F")
    for x, y, text in lines:
        pdf.text(x, y, text)
    return bytes(pdf.output())


@pytest.fixture
def ocr_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, tuple[int, int]]]:
    """OCR replaced by a recorder of the images it is given (page number, pixel size)."""
    from invoice_local.engine import document, ocr
    from invoice_local.engine.model import Page

    seen: list[tuple[int, tuple[int, int]]] = []

    def fake_recognize(image, number):  # type: ignore[no-untyped-def]
        seen.append((number, image.size))
        return Page(number, float(image.width), float(image.height), [], "ocr")

    monkeypatch.setattr(ocr, "recognize", fake_recognize)
    assert document.ocr is ocr
    return seen


def test_a_page_with_drawings_and_little_text_is_rendered_for_ocr(ocr_calls: list[Any]) -> None:
    engine = LocalExpenseEngine()
    engine.analyze_files([make_pdf_with_drawing([(20, 20, "x" * (MIN_TEXT_CHARS // 2))]), make_pdf([INVOICE])])
    assert [p.source for p in engine.last_pages] == ["ocr", "text"]
    assert ocr_calls == [(1, (1654, 2339))]  # A4 at 200 dpi


def test_a_page_of_text_alone_is_read_from_its_text_layer_however_short(ocr_calls: list[Any]) -> None:
    """Rendering it would show OCR the same letters; a blank page is no words, not an OCR run."""
    engine = LocalExpenseEngine()
    engine.analyze(make_pdf([[(20, 20, "Page 1 of 2")], []]))
    assert [p.source for p in engine.last_pages] == ["text", "text"]
    assert [w.text for w in engine.last_pages[0].words] == ["Page", "1", "of", "2"]
    assert engine.last_pages[1].words == [] and ocr_calls == []


def page_of(width_pt: float, height_pt: float, *, drawing: bool = True) -> bytes:
    """A one-page PDF of that size, with a drawing on it (so that it must be rendered) or blank."""
    pdf = FPDF(unit="pt", format=(width_pt, height_pt))
    pdf.add_page()
    if drawing:
        pdf.rect(10, 10, 50, 50, style="F")
    return bytes(pdf.output())


@pytest.mark.parametrize("drawing", [True, False])
def test_a_page_beyond_the_render_budget_is_refused_before_any_pixel(ocr_calls: list[Any], drawing: bool) -> None:
    """The 424-byte PDF of issue 10 declares a blank 14,400-point page: 40,000 pixels a side at 200 dpi. It is
    refused by its size, as Textract refuses it, whether or not it would need rendering."""
    with pytest.raises(PageTooLarge, match=r"Unsupported document size: page 1 measures 14400 x 14400 points"):
        LocalExpenseEngine().analyze(page_of(14400, 14400, drawing=drawing))
    assert ocr_calls == []


def test_a_large_page_within_the_budget_is_rendered_at_fewer_dots(ocr_calls: list[Any]) -> None:
    LocalExpenseEngine().analyze(page_of(2384, 3370))  # A0: 62 megapixels at 200 dpi
    [(_, (width, height))] = ocr_calls
    assert width * height <= budget.MAX_PIXELS and max(width, height) <= budget.MAX_SIDE_PIXELS
    assert width >= 2384 * budget.MIN_DPI / 72 - 1  # still at least 72 dpi


def png_of(width: int, height: int) -> bytes:
    image = Image.new("L", (width, height), 255)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_an_image_over_textracts_side_limit_is_refused(ocr_calls: list[Any]) -> None:
    with pytest.raises(PageTooLarge, match="image 1 is 10001 x 20 pixels"):
        LocalExpenseEngine().analyze(png_of(10001, 20))
    assert ocr_calls == []


def test_a_large_image_within_the_limit_is_reduced_to_the_budget(ocr_calls: list[Any]) -> None:
    LocalExpenseEngine().analyze(png_of(6000, 5000))
    [(_, (width, height))] = ocr_calls
    assert (width, height) == (3000, 2500)  # reduced by 2: 30 megapixels is over the budget


def test_a_cancelled_analysis_stops_between_pages(ocr_calls: list[Any]) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(AnalysisCancelled, match="Analysis stopped after 1 pages"):
        LocalExpenseEngine().analyze(make_pdf([INVOICE] * 3), cancel=cancel)


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


def test_a_page_handed_out_leaves_pdfium_free_for_other_jobs() -> None:
    """While the caller works on one page (OCR of a scan takes seconds), another job's thread can use PDFium:
    the lock is held only while the page is read."""
    from invoice_local.engine.text_layer import open_pdf, read_pages
    from invoice_pipeline.domain.sniff import PDFIUM_LOCK

    pages = read_pages(open_pdf(make_pdf([INVOICE] * 2)))
    next(pages)
    taken: list[bool] = []

    def use_pdfium() -> None:
        got = PDFIUM_LOCK.acquire(timeout=2)
        taken.append(got)
        if got:
            PDFIUM_LOCK.release()

    other = threading.Thread(target=use_pdfium)
    other.start()
    other.join()
    pages.close()
    assert taken == [True]
