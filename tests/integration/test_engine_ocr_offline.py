"""The local engine's OCR runs with the network cut: rapidocr's models come from its wheel and nothing is
downloaded. Images are drawn with Pillow in the test, so what OCR must find is known exactly."""

from __future__ import annotations

import io
import socket
from pathlib import Path
from typing import Any

import pytest
from invoice_local.engine import LocalExpenseEngine, ocr
from invoice_pipeline.domain.textract import normalize_expense
from PIL import Image, ImageDraw, ImageFont


def _cut_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every way out of the process (sockets, name lookups, urllib, requests) fails and is recorded."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args[1:3] if len(args) > 1 else args))
        raise OSError("network access is disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def _page(lines: list[str], size: tuple[int, int] = (1100, 800)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=34)
    for index, text in enumerate(lines):
        draw.text((60, 60 + index * 70), text, fill="black", font=font)
    return image


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def fresh_ocr(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The network cut *before* the recogniser is built, so building it (model loading) is covered too."""
    attempts = _cut_network(monkeypatch)
    monkeypatch.setattr(ocr, "_ENGINE", None)
    return attempts


def test_models_ship_inside_the_wheel() -> None:
    import rapidocr

    package = Path(rapidocr.__file__).resolve().parent
    for path in ocr.model_paths().values():
        assert path.is_file() and package in path.parents


def test_ocr_reads_an_invoice_image_offline(fresh_ocr: list[str]) -> None:
    image = _page([
        "ACME Supplies GmbH",
        "Rechnung Nr. 4711",
        "Rechnungsdatum: 05.03.2024",
        "Zwischensumme       100,00 EUR",
        "MwSt. 19%              19,00 EUR",
        "Gesamtbetrag         119,00 EUR",
    ])
    engine = LocalExpenseEngine()
    response = engine.analyze(_png(image), bucket="b", key="k.png")
    page = engine.last_pages[0]
    text = " ".join(w.text for w in page.words)
    for expected in ("ACME", "4711", "05.03.2024", "119,00"):
        assert expected in text, text
    assert page.source == "ocr" and all(0 < w.confidence <= 100 for w in page.words)
    invoice = normalize_expense(response, engine="local")["invoices"][0]
    assert invoice["invoice_number"] == "4711"
    assert invoice["invoice_date"] == "2024-03-05"
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["currency"]) == (
        "100.00", "19.00", "119.00", "EUR")
    assert fresh_ocr == [], f"the OCR tried to reach the network: {fresh_ocr}"


def test_a_multipage_tiff_is_read_page_by_page(fresh_ocr: list[str]) -> None:
    first = _page(["Invoice No: A-100", "Total   10.00 USD"], size=(1000, 760))
    second = _page(["Invoice No: A-200", "Total   20.00 USD"], size=(1000, 760))
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=[second], compression="tiff_deflate")
    engine = LocalExpenseEngine()
    document = normalize_expense(engine.analyze(buffer.getvalue()), engine="local")
    assert [p.source for p in engine.last_pages] == ["ocr", "ocr"]
    assert [(i["invoice_number"], i["total"]) for i in document["invoices"]] == [("A-100", "10.00"),
                                                                                  ("A-200", "20.00")]
    assert fresh_ocr == []
