"""Which language an invoice is written in, from the words an OCR engine read on it (field labels, values,
line-item descriptions), for what the language settles that the text alone does not: the order of day and month
in 03/04/2025 (dates.py `date_order`).

Only the seven languages the engines read are told apart (English, German, French, Dutch, Spanish, Italian,
Portuguese). Each has a list of invoice words; a word listed for two languages ("total", "iva", "data") is
dropped from both, so every hit points at one language. The guess is the language with the most distinct words
found, and only when it has at least two of them and strictly more than any other: an invoice that mixes a
French label into an English layout stays undecided rather than French."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

__all__ = ["DAY_FIRST_LANGUAGES", "guess_language"]

# Languages whose numeric dates are always day first (the other one, English, writes both orders).
DAY_FIRST_LANGUAGES = frozenset({"de", "fr", "nl", "es", "it", "pt"})

# Accents and case folded; words of invoices, not of any one layout.
_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("invoice", "date", "due", "amount", "subtotal", "tax", "bill", "ship", "payment", "description",
           "quantity", "qty", "price", "unit", "number", "customer", "order", "terms", "balance", "the", "and",
           "of", "to", "from", "please", "thank", "you", "sold", "account", "delivery", "charges", "discount",
           "credit", "note", "shipping", "remit", "reference", "item", "items", "rate", "per"),
    "de": ("rechnung", "rechnungsnummer", "rechnungsdatum", "datum", "betrag", "gesamtbetrag", "summe", "netto",
           "brutto", "mwst", "ust", "menge", "einzelpreis", "kundennummer", "lieferdatum", "zahlbar", "bis",
           "fallig", "und", "der", "die", "das", "fur", "zahlungsziel", "steuer", "bestellnummer", "beleg",
           "lieferschein", "bankverbindung", "kontoinhaber", "gesamt", "endbetrag", "bezeichnung", "anzahl",
           "lieferung", "leistung", "zwischensumme", "rabatt", "versandkosten", "gutschrift", "ansprechpartner",
           "bitte", "uberweisen", "tage", "ohne", "abzug", "stuck", "artikel"),
    "fr": ("facture", "date", "montant", "ht", "ttc", "tva", "quantite", "qte", "prix", "unitaire", "designation",
           "echeance", "paiement", "reglement", "du", "le", "les", "et", "avoir", "commande", "livraison",
           "titulaire", "compte", "payer", "conditions", "fournisseur", "remise", "frais", "port", "libelle",
           "sous", "jours", "reste", "emission", "facturation", "adresse", "destinataire", "banque", "sur"),
    "nl": ("factuur", "factuurnummer", "factuurdatum", "datum", "bedrag", "totaal", "btw", "aantal", "prijs",
           "omschrijving", "klantnummer", "vervaldatum", "betaling", "het", "en", "van", "voor", "te", "betalen",
           "levering", "leverdatum", "rekeninghouder", "subtotaal", "excl", "incl", "stuksprijs", "korting",
           "verzendkosten", "leverancier", "klant", "afleveradres", "leveradres", "dagen", "binnen", "creditnota",
           "ordernummer", "bestelnummer", "vervaldag", "tenaamstelling"),
    "es": ("factura", "fecha", "importe", "iva", "cantidad", "precio", "descripcion", "cliente", "vencimiento",
           "pago", "numero", "del", "el", "y", "imponible", "unitario", "pedido", "entrega", "titular",
           "cuenta", "forma", "proveedor", "descuento", "gastos", "envio", "dias", "emision", "abono", "rectificativa",
           "concepto", "cobro"),
    "it": ("fattura", "data", "importo", "totale", "iva", "quantita", "prezzo", "descrizione", "cliente",
           "scadenza", "pagamento", "numero", "di", "del", "della", "il", "imponibile", "unitario", "ordine",
           "consegna", "intestatario", "conto", "pagare", "fornitore", "sconto", "spese", "spedizione", "giorni",
           "emissione", "credito", "nota", "destinazione", "codice"),
    "pt": ("fatura", "factura", "data", "valor", "iva", "quantidade", "preco", "descricao", "cliente",
           "vencimento", "pagamento", "numero", "do", "da", "o", "unitario", "encomenda", "entrega", "titular",
           "conta", "contribuinte", "nif", "fornecedor", "desconto", "portes", "envio", "dias", "emissao",
           "credito", "nota", "morada", "pagar", "liquido", "codigo"),
}


def _distinct(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    counts = Counter(w for listed in words.values() for w in set(listed))
    return {w: lang for lang, listed in words.items() for w in listed if counts[w] == 1}


_LANGUAGE_OF: dict[str, str] = _distinct(_WORDS)
_TOKEN = re.compile(r"[^\W\d_]+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("ß", "ss")


def guess_language(texts: Iterable[str | None]) -> str | None:
    """"en", "de", "fr", "nl", "es", "it" or "pt", or None when the words do not clearly point at one."""
    seen: dict[str, set[str]] = {}
    for text in texts:
        if not text:
            continue
        for token in _TOKEN.findall(_fold(text)):
            language = _LANGUAGE_OF.get(token)
            if language is not None:
                seen.setdefault(language, set()).add(token)
    ranked = sorted(((len(words), language) for language, words in seen.items()), reverse=True)
    if not ranked or ranked[0][0] < 2 or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
        return None
    return ranked[0][1]
