"""Key fields, parties and the response shape of the local engine, on pages built from word boxes in the
test, read back through the one shared parser (normalize_expense) and checked against the invoice schema."""

from __future__ import annotations

import json
from typing import Any

from invoice_local.engine import LocalExpenseEngine
from invoice_local.engine import lexicon as lx
from invoice_local.engine.fields import find_candidates, select
from invoice_local.engine.layout import build_layout
from invoice_local.engine.model import Page
from invoice_pipeline.domain.textract import normalize_expense
from jsonschema import Draft202012Validator

from tests.shared_data import REPO_ROOT
from tests.unit.test_engine_layout import make_page

SCHEMA = json.loads((REPO_ROOT / "schemas" / "invoice.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


def analyze(*pages: Page) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    response = LocalExpenseEngine().analyze_pages(list(pages))
    document = normalize_expense(response, engine="local")
    errors = list(VALIDATOR.iter_errors(document))
    assert not errors, [e.message for e in errors[:5]]
    return response, document


def only_invoice(*pages: Page) -> dict[str, Any]:
    _, document = analyze(*pages)
    assert len(document["invoices"]) == 1
    invoice: dict[str, Any] = document["invoices"][0]
    return invoice


ENGLISH = [
    (40, [(50, "ACME Corporation Ltd")]),
    (60, [(50, "1 Main Street, Springfield")]),
    (100, [(50, "Bill To:"), (350, "Invoice No: INV-2024-001")]),
    (115, [(50, "Globex Inc."), (350, "Invoice Date"), (450, "Due Date")]),
    (130, [(50, "5 Side Road"), (350, "03/15/2024"), (450, "04/14/2024")]),
    (200, [(50, "Description"), (300, "Qty"), (360, "Unit Price"), (480, "Amount")]),
    (220, [(50, "Consulting hours"), (305, "10"), (365, "$ 8.00"), (480, "$ 80.00")]),
    (240, [(50, "Travel expenses"), (305, "1"), (365, "$ 20.00"), (480, "$ 20.00")]),
    (300, [(360, "Subtotal"), (480, "$ 100.00")]),
    (315, [(360, "VAT 20%"), (480, "$ 20.00")]),
    (330, [(360, "Total"), (480, "$ 120.00")]),
]


def test_english_invoice_end_to_end() -> None:
    page = make_page(ENGLISH)
    # A letterhead is set larger than the body text.
    page.words = [w if w.box.top != 40 else type(w)(w.text, type(w.box)(w.box.left, 36, w.box.right, 52))
                  for w in page.words]
    invoice = only_invoice(page)
    assert invoice["invoice_number"] == "INV-2024-001"
    assert invoice["invoice_date"] == "2024-03-15"
    assert invoice["due_date"] == "2024-04-14"
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("100.00", "20.00", "120.00")
    assert invoice["currency"] == "USD"
    assert invoice["vendor"]["name"] == "ACME Corporation Ltd"
    assert invoice["customer"]["name"] == "Globex Inc."
    items = invoice["line_items"]
    assert [(i["description"], i["quantity"], i["unit_price"], i["amount"]) for i in items] == [
        ("Consulting hours", "10", "8.00", "80.00"), ("Travel expenses", "1", "20.00", "20.00"),
    ]
    assert invoice["provenance"]["engine"] == "local"


def test_german_invoice_with_seller_section_and_title_number() -> None:
    page = make_page([
        (50, [(50, "Rechnung Nr. 2024-17 vom 05.03.2024")]),
        (90, [(50, "Verkäufer")]),
        (105, [(50, "Name:"), (200, "Muster Handel GmbH")]),
        (120, [(50, "Anschrift:"), (200, "Hauptstraße 1")]),
        (135, [(200, "DE 80333 München")]),
        (170, [(50, "Käufer")]),
        (185, [(50, "Name:"), (200, "Kunde AG")]),
        (250, [(50, "Pos"), (80, "Beschreibung"), (300, "Menge"), (360, "Einzelpreis"), (470, "Gesamtpreis")]),
        (270, [(50, "1"), (80, "Schrauben M4"), (305, "100"), (365, "0,50"), (480, "50,00 €")]),
        (285, [(50, "2"), (80, "Muttern M4"), (305, "100"), (365, "0,50"), (480, "50,00 €")]),
        (330, [(300, "Zwischensumme"), (480, "100,00 €")]),
        (345, [(300, "MwSt. 19 %"), (480, "19,00 €")]),
        (360, [(300, "Gesamtbetrag"), (480, "119,00 €")]),
        (380, [(50, "Zahlbar innerhalb 30 Tagen netto bis 04.04.2024, 2% Skonto bis 15.03.2024")]),
    ])
    invoice = only_invoice(page)
    assert invoice["invoice_number"] == "2024-17"
    assert invoice["invoice_date"] == "2024-03-05"
    assert invoice["due_date"] is None  # a sentence, not a labelled due date
    assert (invoice["subtotal"], invoice["tax"], invoice["total"], invoice["currency"]) == (
        "100.00", "19.00", "119.00", "EUR")
    assert invoice["vendor"]["name"] == "Muster Handel GmbH"
    assert invoice["vendor"]["address"] == "Hauptstraße 1\nDE 80333 München"
    assert invoice["customer"]["name"] == "Kunde AG"
    assert len(invoice["line_items"]) == 2


def test_french_labels_inline_and_right() -> None:
    invoice = only_invoice(make_page([
        (50, [(300, "Facture n° F-2022-88")]),
        (65, [(50, "Date : 28/11/2022")]),
        (300, [(350, "Total HT :"), (480, "46,68 €")]),
        (315, [(350, "TVA 20% :"), (480, "9,34 €")]),
        (330, [(350, "Total TTC :"), (480, "56,02 €")]),
    ]))
    assert invoice["invoice_number"] == "F-2022-88"
    assert invoice["invoice_date"] == "2022-11-28"
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("46.68", "9.34", "56.02")


def test_sums_that_add_up_win_over_labels() -> None:
    # "Subtotaal" here is the gross sum of the lines; only "Exclusief BTW" + BTW gives the total.
    invoice = only_invoice(make_page([
        (300, [(50, "Exclusief BTW"), (150, "€ 593,36"), (380, "Subtotaal"), (480, "€ 717,97")]),
        (315, [(50, "BTW 21%"), (150, "€ 124,61")]),
        (330, [(380, "Totaal"), (480, "€ 717,97")]),
    ]))
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("593.36", "124.61", "717.97")


def test_amount_due_stands_in_for_a_total_that_does_not_add_up() -> None:
    invoice = only_invoice(make_page([
        (300, [(300, "Rechnungssumme ohne USt."), (480, "380,00")]),
        (315, [(300, "Steuerbetrag"), (480, "0,00")]),
        (330, [(300, "Bruttosumme"), (480, "30080")]),  # an OCR misreading of 380,00
        (345, [(300, "Zahlbetrag"), (480, "380,00")]),
    ]))
    assert invoice["total"] == "380.00"
    assert invoice["amount_due"] == "380.00"


def test_a_value_right_of_a_label_stops_at_the_next_label() -> None:
    layout = build_layout(make_page([(100, [(50, "Invoice Date:"), (200, "Due Date:"), (350, "01.02.2024")])]))
    chosen = select(find_candidates([layout]))
    assert chosen[lx.DUE_DATE].candidate.value.text == "01.02.2024"
    assert lx.INVOICE_DATE not in chosen


def test_a_sentence_under_a_label_is_not_its_value() -> None:
    layout = build_layout(make_page([
        (100, [(50, "Beschreibung"), (400, "Fälligkeit")]),
        (115, [(50, "Zahlbar innerhalb 30 Tagen netto bis 04.04.2018, 3% Skonto bis 15.03.2018")]),
    ]))
    assert lx.DUE_DATE not in select(find_candidates([layout]))


def test_a_value_under_its_label_in_a_column() -> None:
    layout = build_layout(make_page([
        (100, [(50, "Beschreibung"), (400, "Fälligkeit")]),
        (115, [(50, "Den Betrag überweisen Sie bitte bis zum 21.11.2018."), (400, "21.11.2018")]),
    ]))
    chosen = select(find_candidates([layout]))
    assert chosen[lx.DUE_DATE].candidate.value.text == "21.11.2018"


def test_a_date_inside_a_label_is_not_an_amount() -> None:
    invoice = only_invoice(make_page([(100, [(50, "TOTAL AMOUNT DUE ON August 3 , 2014"), (400, "$4.11")])]))
    assert invoice["amount_due"] == "4.11" and invoice["total"] == "4.11"


def test_currency_from_a_currency_label_without_symbols() -> None:
    invoice = only_invoice(make_page([
        (100, [(50, "Währung:"), (200, "CHF")]),
        (300, [(300, "Total"), (480, "1'234.50")]),
    ]))
    assert invoice["currency"] == "CHF" and invoice["total"] == "1234.50"


def test_pages_with_different_invoice_numbers_are_different_invoices() -> None:
    first = make_page([(50, [(50, "Invoice No: A-1")]), (300, [(300, "Total"), (480, "$ 10.00")])], number=1)
    second = make_page([(50, [(50, "Invoice No: A-2")]), (300, [(300, "Total"), (480, "$ 20.00")])], number=2)
    continued = make_page([(300, [(300, "Page 2")])], number=3)
    _, document = analyze(first, second, continued)
    invoices = document["invoices"]
    assert [i["invoice_number"] for i in invoices] == ["A-1", "A-2"]
    assert [i["total"] for i in invoices] == ["10.00", "20.00"]
    assert invoices[1]["provenance"]["pages"] == [2] and document["page_count"] == 3


def test_response_shape_matches_textract() -> None:
    response, _ = analyze(make_page(ENGLISH))
    assert len(response) == 1
    page = response[0]
    assert page["DocumentMetadata"] == {"Pages": 1}
    document = page["ExpenseDocuments"][0]
    assert document["ExpenseIndex"] == 1
    fields = document["SummaryFields"] + [
        f for group in document["LineItemGroups"] for item in group["LineItems"] for f in item["LineItemExpenseFields"]
    ]
    types = {f["Type"]["Text"] for f in fields}
    assert {"INVOICE_RECEIPT_ID", "TOTAL", "VENDOR_NAME", "ITEM", "PRICE", "EXPENSE_ROW"} <= types
    for field in fields:
        assert 0 <= field["Type"]["Confidence"] <= 100 and field["PageNumber"] == 1
        for part in ("ValueDetection", "LabelDetection"):
            if part not in field:
                continue
            box = field[part]["Geometry"]["BoundingBox"]
            assert all(0 <= box[k] <= 1 for k in ("Left", "Top", "Width", "Height"))
            assert len(field[part]["Geometry"]["Polygon"]) == 4
            assert 0 <= field[part]["Confidence"] <= 100
    total = next(f for f in document["SummaryFields"] if f["Type"]["Text"] == "TOTAL")
    assert total["ValueDetection"]["Text"] == "$ 120.00" and total["LabelDetection"]["Text"] == "Total"
    assert total["Currency"]["Code"] == "USD"
    vendor_group = [f for f in document["SummaryFields"] if f.get("GroupProperties")]
    assert any(f["GroupProperties"][0]["Types"] == ["VENDOR"] for f in vendor_group)


def test_an_empty_page_gives_an_empty_invoice() -> None:
    _, document = analyze(Page(1, 595, 842, []))
    assert document["page_count"] == 1
    assert all(document["invoices"][0][k] is None for k in ("total", "invoice_number", "currency"))


def test_spanish_italian_and_portuguese_invoices() -> None:
    spanish = only_invoice(make_page([
        (50, [(300, "Factura Nº: A-2024-5")]),
        (65, [(300, "Fecha de factura: 15/03/2024")]),
        (80, [(300, "Fecha de vencimiento: 15/04/2024")]),
        (300, [(330, "Base imponible"), (480, "100,00 €")]),
        (315, [(330, "IVA 21%"), (480, "21,00 €")]),
        (330, [(330, "Total factura"), (480, "121,00 €")]),
    ]))
    assert (spanish["invoice_number"], spanish["invoice_date"], spanish["due_date"]) == (
        "A-2024-5", "2024-03-15", "2024-04-15")
    assert (spanish["subtotal"], spanish["tax"], spanish["total"]) == ("100.00", "21.00", "121.00")

    italian = only_invoice(make_page([
        (50, [(300, "Fattura n. 12/2024")]),
        (65, [(300, "Data fattura"), (420, "15/03/2024")]),
        (80, [(300, "Scadenza"), (420, "15/04/2024")]),
        (300, [(330, "Imponibile"), (480, "100,00")]),
        (315, [(330, "IVA 22%"), (480, "22,00")]),
        (330, [(330, "Totale documento"), (480, "EUR 122,00")]),
    ]))
    assert (italian["invoice_number"], italian["invoice_date"], italian["due_date"]) == (
        "12/2024", "2024-03-15", "2024-04-15")
    assert (italian["subtotal"], italian["tax"], italian["total"], italian["currency"]) == (
        "100.00", "22.00", "122.00", "EUR")

    portuguese = only_invoice(make_page([
        (50, [(300, "Fatura Nº FT 2024/31")]),
        (65, [(300, "Data de emissão: 15-03-2024")]),
        (300, [(330, "Valor sem IVA"), (480, "100,00 €")]),
        (315, [(330, "IVA 23%"), (480, "23,00 €")]),
        (330, [(330, "Total a pagar"), (480, "123,00 €")]),
    ]))
    assert (portuguese["invoice_number"], portuguese["invoice_date"]) == ("FT 2024/31", "2024-03-15")
    assert (portuguese["subtotal"], portuguese["tax"], portuguese["total"], portuguese["amount_due"]) == (
        "100.00", "23.00", "123.00", "123.00")
