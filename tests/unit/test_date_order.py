"""Day/month order of ambiguous dates (03/04/2025): the document's other dates, then its language, then its
currency (dates.py `date_order`, language.py `guess_language`), and the normalizer applying it."""

from __future__ import annotations

from typing import Any

import pytest
from invoice_pipeline.domain.dates import date_order, infer_day_first
from invoice_pipeline.domain.language import guess_language
from invoice_pipeline.domain.textract import normalize_expense

from tests.conftest import load_textract

DEFAULT_INVOICE = "default_invoice_1.analyze_expense.json"


@pytest.mark.parametrize(
    ("texts", "language"),
    [
        (["Date de facture", "Échéance", "Total TTC", "Montant HT", "Désignation"], "fr"),
        (["Rechnungsdatum", "Fällig am", "Gesamtbetrag", "Menge", "Einzelpreis"], "de"),
        (["Data fattura", "Scadenza", "Totale", "Imponibile", "Descrizione"], "it"),
        (["Fecha de factura", "Vencimiento", "Importe", "Base imponible", "Cantidad"], "es"),
        (["Factuurdatum", "Vervaldatum", "Totaal", "Bedrag", "Omschrijving"], "nl"),
        (["Data da fatura", "Vencimento", "Valor", "Quantidade", "Descrição"], "pt"),
        (["Invoice Date", "Due Date", "Amount Due", "Subtotal", "Quantity"], "en"),
        (["Total", "IVA"], None),  # words of several languages tell nothing
        (["Facture", "Invoice"], None),  # one word each: a tie
        ([], None),
    ],
)
def test_language_is_guessed_from_invoice_words(texts: list[str], language: str | None) -> None:
    assert guess_language(texts) == language


@pytest.mark.parametrize(
    ("dates", "others", "language", "currency", "expected"),
    [
        (["03/04/2025"], [], "fr", None, True),  # a French invoice: day first
        (["03/04/2025"], [], "fr", "USD", True),  # ... even billed in dollars
        (["03/04/2025"], [], "de", "USD", True),
        (["03/04/2025"], [], "en", "USD", False),  # a US invoice: month first
        (["03/04/2025"], [], "en", "GBP", True),  # a UK one: day first
        (["03/04/2025"], [], None, None, None),  # nothing tells: parse_date's own convention
        (["03/04/2025", "25/03/2025"], [], "en", "USD", True),  # an unambiguous date wins over everything
        (["03/04/2025", "04/13/2025"], [], "fr", "EUR", False),
        (["03/04/2025"], ["Lieferdatum 28.03.2025"], "en", "USD", True),  # any other date on the page
        (["03/04/2025"], ["Tel. 12.34.56"], "en", "USD", False),  # not a date: no evidence
        (["03/04/2025", "25/03/2025", "04/13/2025"], [], "it", None, True),  # contradictions: the language
    ],
)
def test_date_order(dates: list[str], others: list[str], language: str | None, currency: str | None,
                    expected: bool | None) -> None:
    assert date_order(dates, others, language=language, currency=currency) is expected


def test_only_real_calendar_dates_are_evidence() -> None:
    assert infer_day_first(["31/02/2025"]) is None  # no 31 February, no 2 of month 31
    assert infer_day_first(["30/01/2025"]) is True
    assert infer_day_first(["Livraison du 02/03/2025 au 15/03/2025"]) is True  # every date in a text counts


def _relabelled(labels: dict[str, str], values: dict[str, str]) -> dict[str, Any]:
    """The recorded US invoice with its printed labels replaced (by label text) and some values set (by type)."""
    response = load_textract(DEFAULT_INVOICE)
    document = response["ExpenseDocuments"][0]
    line_fields = [f for group in document["LineItemGroups"] for line in group["LineItems"]
                   for f in line["LineItemExpenseFields"]]
    for item in [*document["SummaryFields"], *line_fields]:
        label = item.get("LabelDetection", {}).get("Text")
        if label in labels:
            item["LabelDetection"]["Text"] = labels[label]
        if item["Type"]["Text"] in values:
            item["ValueDetection"]["Text"] = values[item["Type"]["Text"]]
    return response


# Every label the recorded invoice prints, as a French invoice prints it.
FRENCH = {"SHIP TO": "Livrer à", "Due Date:": "Échéance :", "DATE": "Date de facture", "INVOICE #": "Facture n°",
          "VAT ID:": "N° TVA :", "P.O. #": "Bon de commande", "Payment Terms:": "Conditions de paiement :",
          "Phone#": "Tél.", "Total": "Montant HT", "Tax": "TVA", "Grand Total": "Total TTC",
          "Description": "Désignation", "Quantity": "Quantité", "Unit Price": "Prix unitaire", "Amount": "Montant"}
AMBIGUOUS = {"INVOICE_RECEIPT_DATE": "03/04/2025", "DUE_DATE": "03/05/2025", "PAYMENT_TERMS": "30 jours"}


def test_french_invoice_in_dollars_reads_its_ambiguous_dates_day_first() -> None:
    # The recorded invoice bills in "$", which alone would read 03/04 month first.
    response = _relabelled(FRENCH, AMBIGUOUS)
    invoice = normalize_expense([response])["invoices"][0]
    assert invoice["currency"] == "USD"
    assert (invoice["invoice_date"], invoice["due_date"]) == ("2025-04-03", "2025-05-03")


def test_the_same_dates_under_english_labels_in_dollars_are_month_first() -> None:
    response = _relabelled({}, AMBIGUOUS)
    invoice = normalize_expense([response])["invoices"][0]
    assert (invoice["invoice_date"], invoice["due_date"]) == ("2025-03-04", "2025-03-05")


def test_an_unambiguous_date_outranks_the_french_labels() -> None:
    response = _relabelled(FRENCH, {**AMBIGUOUS, "DUE_DATE": "03/31/2025"})
    invoice = normalize_expense([response])["invoices"][0]
    assert (invoice["invoice_date"], invoice["due_date"]) == ("2025-03-04", "2025-03-31")
