"""The vendor where both a legal and a trading name are printed: the trading name (trading_name.py,
parties.py), and the generator's layouts that print both (samples/varied.py)."""

from __future__ import annotations

import pytest
from fpdf import FPDF
from invoice_local.engine import LocalExpenseEngine
from invoice_local.engine.trading_name import read_statement
from invoice_local.samples.seeds import TUNING
from invoice_local.samples.varied import build
from invoice_pipeline.domain.textract import normalize_expense


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Acme Ltd trading as Widgets", ("Widgets", "Acme Ltd")),
        ("Acme Ltd t/a Widgets", ("Widgets", "Acme Ltd")),
        ("Widgets — a brand of Acme GmbH", ("Widgets", "Acme GmbH")),
        ("Widgets is a trading name of Acme Ltd.", ("Widgets", "Acme Ltd")),
        ("Widgets ist eine Marke der Acme GmbH", ("Widgets", "Acme GmbH")),
        ("Acme B.V. h.o.d.n. Widgets", ("Widgets", "Acme B.V.")),
        ("Widgets est une marque de Acme SAS", ("Widgets", "Acme SAS")),
        ("Acme S.L., nombre comercial Widgets", ("Widgets", "Acme S.L.")),
        ("Widgets è un marchio di Acme S.r.l.", ("Widgets", "Acme S.r.l.")),
        ("Bill to: Acme Ltd", None),
        ("Acme Ltd trading as", None),
        ("Thank you for trading with us over the last twelve months of this year", None),
    ],
)
def test_statements_of_a_trading_name(text: str, expected: tuple[str, str] | None) -> None:
    assert read_statement(text) == expected


Line = tuple[float, float, str, float]  # x mm, y mm, text, font size


def _pdf(lines: list[Line]) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    for x, y, text, size in lines:
        pdf.set_font("helvetica", size=size)
        pdf.text(x, y, text)
    return bytes(pdf.output())


BODY: list[Line] = [
    (140, 40, "Invoice No: W-5531", 9), (140, 46, "Date: 2024-02-29", 9),
    (20, 60, "Bill To:", 9), (20, 66, "Contoso Pty Ltd", 9), (20, 72, "12 Harbour St", 9),
    (20, 100, "Description", 9), (110, 100, "Qty", 9), (135, 100, "Unit Price", 9), (175, 100, "Amount", 9),
    (20, 108, "Blue widgets", 9), (112, 108, "3", 9), (137, 108, "GBP 12.50", 9), (175, 108, "GBP 37.50", 9),
    (135, 140, "Net total", 9), (175, 140, "GBP 37.50", 9),
    (135, 147, "VAT 20%", 9), (175, 147, "GBP 7.50", 9),
    (135, 154, "Amount due", 9), (175, 154, "GBP 45.00", 9),
]
FOOTER: list[Line] = [(20, 275, "Acme Components Ltd", 7), (20, 279, "Registered in England No. 01234567", 7),
                      (110, 275, "Account holder: Acme Components Ltd", 7)]


def _vendor(lines: list[Line]) -> str:
    response = LocalExpenseEngine().analyze(_pdf(lines), bucket="b", key="k.pdf")
    name: str = normalize_expense(response, engine="local")["invoices"][0]["vendor"]["name"]
    return name


def test_a_stated_trading_name_is_the_vendor() -> None:
    header: list[Line] = [(20, 20, "Acme Components Ltd", 12), (20, 26, "Acme Components Ltd trading as Brightwave", 8)]
    assert _vendor(header + BODY + FOOTER) == "Brightwave"


def test_a_logo_over_a_legal_footer_is_the_vendor() -> None:
    assert _vendor([(20, 22, "Brightwave", 24), *BODY, *FOOTER]) == "Brightwave"


def test_without_a_trading_name_the_legal_name_stays() -> None:
    assert _vendor([(20, 20, "Acme Components Ltd", 12), *BODY, *FOOTER]) == "Acme Components Ltd"


def test_a_customer_trading_name_does_not_rename_the_vendor() -> None:
    body = [line if line[2] != "Contoso Pty Ltd" else (20, 66, "Contoso Pty Ltd t/a Harbourside", 9) for line in BODY]
    assert _vendor([(20, 20, "Acme Components Ltd", 12), *body, *FOOTER]) == "Acme Components Ltd"


def test_generator_labels_the_trading_name_as_the_vendor() -> None:
    docs = [build(seed) for seed in TUNING[:60]]
    trading = [d for d in docs if d.vendor.trading]
    assert {d.layout["trading"] for d in trading} == {"top", "footer", "logo"}
    for doc in trading:
        assert doc.label()["vendor"] == doc.vendor.trading
        assert doc.vendor.brand.lower() not in doc.vendor.trading.lower()
    assert all(d.label()["vendor"] == d.vendor.legal for d in docs if not d.vendor.trading)
