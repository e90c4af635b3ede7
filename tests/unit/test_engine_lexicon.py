"""What the local engine's label lexicon makes of printed labels, in the seven languages it covers."""

from __future__ import annotations

import pytest
from invoice_local.engine import lexicon as lx


@pytest.mark.parametrize(
    ("label", "field"),
    [
        ("Total", lx.TOTAL), ("Grand Total", lx.TOTAL), ("Total EUR", lx.TOTAL), ("Invoice total:", lx.TOTAL),
        ("Total incl. VAT", lx.TOTAL), ("Gesamtbetrag", lx.TOTAL), ("Bruttosumme", lx.TOTAL),
        ("Rechnungsbetrag", lx.TOTAL), ("Endbetrag inkl. MwSt.", lx.TOTAL), ("Total TTC :", lx.TOTAL),
        ("Montant total", lx.TOTAL), ("Totaal", lx.TOTAL), ("Totaalbedrag incl. BTW", lx.TOTAL),
        ("Importe total", lx.TOTAL), ("Totale fattura", lx.TOTAL), ("Valor total", lx.TOTAL),
        ("Total for this invoice", lx.TOTAL),
        ("Subtotal", lx.SUBTOTAL), ("Sub-Total:", lx.SUBTOTAL), ("Net amount", lx.SUBTOTAL),
        ("Zwischensumme", lx.SUBTOTAL), ("Nettobetrag", lx.SUBTOTAL), ("Rechnungssumme ohne USt.", lx.SUBTOTAL),
        ("Total HT", lx.SUBTOTAL), ("Sous-total", lx.SUBTOTAL), ("Subtotaal", lx.SUBTOTAL),
        ("Exclusief BTW", lx.SUBTOTAL), ("Base imponible", lx.SUBTOTAL), ("Imponibile", lx.SUBTOTAL),
        ("Total sem IVA", lx.SUBTOTAL),
        ("Tax", lx.TAX), ("VAT 20%", lx.TAX), ("Tax 15% on $ 112.90", lx.TAX), ("Sales tax", lx.TAX),
        ("MwSt. 19%", lx.TAX), ("Umsatzsteuer", lx.TAX), ("Steuerbetrag", lx.TAX), ("TVA 20 % :", lx.TAX),
        ("Montant TVA", lx.TAX), ("BTW 21%", lx.TAX), ("IVA 21%", lx.TAX), ("Imposta", lx.TAX),
        ("Amount due", lx.AMOUNT_DUE), ("Balance Due:", lx.AMOUNT_DUE), ("TOTAL AMOUNT DUE ON August 3, 2014",
                                                                         lx.AMOUNT_DUE),
        ("Zahlbetrag", lx.AMOUNT_DUE), ("Net à payer", lx.AMOUNT_DUE), ("Te betalen", lx.AMOUNT_DUE),
        ("Total a pagar", lx.AMOUNT_DUE),
        ("Discount", lx.DISCOUNT), ("Rabatt", lx.DISCOUNT), ("Gesamtbetrag der Abschläge", lx.DISCOUNT),
        ("Remise", lx.DISCOUNT), ("Korting", lx.DISCOUNT), ("Descuento", lx.DISCOUNT),
    ],
)
def test_money_labels(label: str, field: str) -> None:
    match = lx.classify_money(label)
    assert match is not None and match.field == field, (label, match)


@pytest.mark.parametrize(
    "label",
    [
        "Gesamtbetrag der Zuschläge", "Erhaltene Anzahlungen", "Amount paid", "Unit price", "Quantity",
        "Total items", "USt-IdNr.", "Incl.", "Payment terms", "Nettopreis", "Steuersatz", "Page total weight",
    ],
)
def test_not_money_labels(label: str) -> None:
    assert lx.classify_money(label) is None


@pytest.mark.parametrize(
    ("label", "field", "strength"),
    [
        ("Invoice No.", lx.INVOICE_ID, 3), ("Invoice #", lx.INVOICE_ID, 3), ("Invoice Number:", lx.INVOICE_ID, 3),
        ("Rechnungsnummer", lx.INVOICE_ID, 3), ("Rechnungsnr.", lx.INVOICE_ID, 3), ("Facture n°", lx.INVOICE_ID, 3),
        ("Factuurnummer:", lx.INVOICE_ID, 3), ("Número de factura", lx.INVOICE_ID, 3),
        ("Numero fattura", lx.INVOICE_ID, 3), ("Fatura nº", lx.INVOICE_ID, 3),
        ("Handelsrechnung (380) Nr.", lx.INVOICE_ID, 2), ("Rechnung des Versicherers Nr.", lx.INVOICE_ID, 2),
        ("Invoice", lx.INVOICE_ID, 1),
        ("Invoice Date:", lx.INVOICE_DATE, 3), ("Rechnungsdatum", lx.INVOICE_DATE, 3),
        ("Date de facture", lx.INVOICE_DATE, 3), ("Factuurdatum:", lx.INVOICE_DATE, 3),
        ("Fecha de factura", lx.INVOICE_DATE, 3), ("Data fattura", lx.INVOICE_DATE, 3),
        ("Data de emissão", lx.INVOICE_DATE, 3), ("Date:", lx.INVOICE_DATE, 1),
        ("Due Date:", lx.DUE_DATE, 3), ("Fälligkeitsdatum", lx.DUE_DATE, 3), ("Date d'échéance", lx.DUE_DATE, 3),
        ("Vervaldatum", lx.DUE_DATE, 3), ("Fecha de vencimiento", lx.DUE_DATE, 3),
        ("Data di scadenza", lx.DUE_DATE, 3), ("Zahlungsziel", lx.DUE_DATE, 3),
        ("PO Number:", lx.PO_NUMBER, 3), ("Purchase Order", lx.PO_NUMBER, 3), ("Bestellnummer", lx.PO_NUMBER, 3),
        ("Bon de commande", lx.PO_NUMBER, 3), ("Número de pedido", lx.PO_NUMBER, 3),
    ],
)
def test_field_labels(label: str, field: str, strength: int) -> None:
    matches = lx.classify_label(label)
    assert matches and matches[0].field == field and matches[0].strength == strength, (label, matches)


@pytest.mark.parametrize(
    "label",
    ["Order Date", "Liefer- und Leistungsdatum", "Rechnung gemäß Bestellung Nr.", "Kundennummer", "Invoice Summary",
     "Numéro de dossier"],
)
def test_labels_of_other_things(label: str) -> None:
    fields = {m.field for m in lx.classify_label(label)}
    assert not fields & {lx.INVOICE_ID, lx.INVOICE_DATE, lx.DUE_DATE}, (label, fields)


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Description", lx.DESCRIPTION), ("Item", lx.DESCRIPTION), ("Beschreibung", lx.DESCRIPTION),
        ("Désignation", lx.DESCRIPTION), ("Omschrijving", lx.DESCRIPTION), ("Descripción", lx.DESCRIPTION),
        ("Descrizione", lx.DESCRIPTION), ("Artikel", lx.DESCRIPTION),
        ("Qty", lx.QUANTITY), ("Menge", lx.QUANTITY), ("Quantité", lx.QUANTITY), ("Aantal", lx.QUANTITY),
        ("Cantidad", lx.QUANTITY), ("Quantità", lx.QUANTITY),
        ("Unit Price", lx.UNIT_PRICE), ("Rate", lx.UNIT_PRICE), ("Einzelpreis", lx.UNIT_PRICE),
        ("P.U. HT", lx.UNIT_PRICE), ("Prix unitaire", lx.UNIT_PRICE), ("Prijs per stuk", lx.UNIT_PRICE),
        ("Precio unitario", lx.UNIT_PRICE), ("Prezzo unitario", lx.UNIT_PRICE),
        ("Amount", lx.AMOUNT), ("Gesamtpreis", lx.AMOUNT), ("Zeilenbetrag", lx.AMOUNT), ("Montant HT", lx.AMOUNT),
        ("Bedrag", lx.AMOUNT), ("Prijs incl. BTW", lx.AMOUNT), ("Importe", lx.AMOUNT), ("Importo", lx.AMOUNT),
        ("Steuersatz", lx.TAX_RATE), ("VAT", lx.TAX_RATE), ("Art-Nr.", lx.PRODUCT_CODE), ("SKU", lx.PRODUCT_CODE),
    ],
)
def test_column_headers(header: str, kind: str) -> None:
    assert lx.column_kind(header) == kind


def test_tokens_drop_noise() -> None:
    assert lx.tokens("TOTAL AMOUNT DUE ON August 3, 2014 (USD)") == ["total", "amount", "due"]
    assert lx.tokens("Facture n° :") == ["facture", "no"]
    assert lx.tokens("Rechnungs-Nr.") == ["rechnungs", "nr"]
