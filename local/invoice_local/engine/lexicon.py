"""What printed labels mean, in English, German, French, Dutch, Spanish, Portuguese and Italian.

Labels are compared as token sequences after folding (case, accents, punctuation, "Nr."/"No."/"n°"/"#"
unified), with the noise around them removed: amounts, percentages, currency codes and month names ("Tax 15%
on $ 112.90", "Total EUR", "TOTAL AMOUNT DUE ON August 3, 2014").

Money labels are not listed phrase by phrase: they are composed. A label names a total, a net amount, a tax or
an amount due by the *kinds* of words in it ("Gesamt|betrag", "Rechnungs|summe ohne USt.", "Total TTC",
"BTW-bedrag", "Importe total IVA incluido"), German compounds are split at a known head ("Brutto|summe",
"Steuer|betrag"), and a word naming something else (a discount, a prepayment, a unit price, a quantity) rules
the label out. That composes to invoices nobody listed. Identifiers and dates use phrase lists: their labels
vary less and a wrong guess costs more.

Strength: 3 when every word of the label is understood, 2 when a few unknown words remain ("Total for this
invoice"), 1 for bare, ambiguous words ("Date", "Invoice"): the field finders prefer stronger labels."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from invoice_pipeline.domain.dates import month_from_name
from invoice_pipeline.domain.money import ISO_4217

# Textract types this engine emits for key fields.
INVOICE_ID = "INVOICE_RECEIPT_ID"
INVOICE_DATE = "INVOICE_RECEIPT_DATE"
DUE_DATE = "DUE_DATE"
PO_NUMBER = "PO_NUMBER"
SUBTOTAL = "SUBTOTAL"
TAX = "TAX"
TOTAL = "TOTAL"
AMOUNT_DUE = "AMOUNT_DUE"
DISCOUNT = "DISCOUNT"
VENDOR_VAT = "VENDOR_VAT_NUMBER"

AMOUNT_FIELDS = (SUBTOTAL, TAX, TOTAL, AMOUNT_DUE, DISCOUNT)
DATE_FIELDS = (INVOICE_DATE, DUE_DATE)
ID_FIELDS = (INVOICE_ID, PO_NUMBER, VENDOR_VAT)

_WORDLIKE_CODES = frozenset({"all", "amd", "bam", "bob", "cup", "gel", "lak", "mad", "mop", "pen", "sos", "top", "try"})
_CURRENCY_CODES = frozenset(c.lower() for c in ISO_4217) - _WORDLIKE_CODES
# Articles and prepositions that never change what a label means ("Date de la facture", "Total for this
# invoice", "Gesamtbetrag der Abschläge"). French elisions ("d'échéance") leave single letters.
_FILLER = frozenset({
    "the", "this", "of", "for", "on", "in", "at", "your", "our", "with",
    "der", "die", "das", "des", "dem", "den", "im", "am", "zum", "zur", "vom",
    "de", "du", "la", "le", "les", "d", "l", "en", "par",
    "van", "het", "een", "voor",
    "el", "los", "las", "del", "da", "do", "di", "della", "dello", "o",
    "e", "y", "und", "et", "and", "ed",
})
_NUMBER_MARKERS = frozenset({"no", "nr", "nro", "num", "number", "nummer", "numero", "id", "ref"})


def fold(text: str) -> str:
    """Casefolded, accents stripped, the letters NFKD keeps whole spelled out ("ß" -> "ss")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("æ", "ae").replace("œ", "oe")


_NUMBER_SIGN = re.compile(r"(?<![a-z])n\s*[°º]|№|#")
_NUMERIC_TOKEN = re.compile(r"^[\d.,'/:-]+$")


def tokens(text: str) -> list[str]:
    """A label's meaningful words: folded, punctuation dropped, number signs read as "no", noise removed."""
    folded = _NUMBER_SIGN.sub(" no ", fold(text.replace("№", " no ")))
    raw = re.split(r"[^a-z0-9]+", folded)
    out: list[str] = []
    for token in raw:
        if not token or _NUMERIC_TOKEN.match(token):
            continue
        if token in _CURRENCY_CODES or token in _FILLER:
            continue
        if len(token) >= 3 and token.isalpha() and _is_month(token):
            continue
        if token == "n":
            token = "no"
        if len(token) == 1:
            continue
        out.append(token)
    return out


def _is_month(token: str) -> bool:
    # "TOTAL AMOUNT DUE ON August 3, 2014": a month name is part of a date printed in the label, not a word of it.
    return month_from_name(token) is not None


# --- Money labels -----------------------------------------------------------------------------------------
# Heads: words that make a label name a sum. German and Dutch glue them to a qualifier ("Bruttosumme").
_SUM_HEADS = ("betrag", "summe", "bedrag", "total", "totaal", "totale", "gesamt", "amount", "montant", "importe",
              "importo", "valor", "sum", "totalbetrag", "saldo", "balance", "ttc", "brutto", "gross")
_NET = frozenset({
    "net", "nett", "netto", "excl", "exkl", "excluding", "exclusive", "exclusief", "exclusivo", "ohne", "ht",
    "hors", "sin", "sem", "senza", "zonder", "before", "sub", "subtotal", "subtotaal", "subtotale", "zwischen",
    "zwischensumme", "imponible", "imponibile", "tributavel", "sous", "base", "nettosumme", "nettobetrag",
    "nettowert", "warenwert", "liquido", "taxable",
})
_GROSS = frozenset({
    "incl", "inkl", "including", "inclusive", "inclusief", "incluido", "incluso", "inclus", "inclusa", "incluida",
    "ttc", "brutto", "bruttosumme", "bruttobetrag", "gross", "grand", "con", "com", "end", "endsumme",
    "endbetrag", "gesamtsumme", "gesamtbetrag", "rechnungsbetrag", "rechnungssumme", "totaalbedrag",
})
_TAX = frozenset({
    "tax", "taxes", "vat", "gst", "hst", "pst", "mwst", "ust", "umsatzsteuer", "mehrwertsteuer", "steuer",
    "zzgl", "zuzuglich", "plus",
    "steuerbetrag", "tva", "taxe", "btw", "iva", "imposta", "imposto", "igv", "mva", "moms", "sales",
})
_DUE = frozenset({
    "due", "payable", "zahlbetrag", "zahlen", "zahlender", "payer", "betalen", "pagar", "pagare", "balance",
    "saldo", "openstaand", "restbetrag", "offen", "offener", "pay", "outstanding", "verschuldigd",
})
_DISCOUNT = frozenset({
    "discount", "discounts", "rabatt", "rabatte", "abschlag", "abschlage", "nachlass", "remise", "remises",
    "korting", "descuento", "descuentos", "dto", "sconto", "sconti", "desconto", "descontos", "allowance",
    "allowances", "reduction", "savings",
})
# Words that make a label name something other than the document's sums.
_NOT_A_SUM = frozenset({
    "paid", "bezahlt", "erhalten", "erhaltene", "received", "anzahlung", "anzahlungen", "deposit", "prepaid",
    "vorauszahlung", "previous", "vorheriger", "carried", "ubertrag", "uebertrag", "items", "item",
    # carried to or brought from another page ("A reporter", "Suma y sigue", "Riporto", "Transporte")
    "reporter", "report", "reporte", "riporto", "riportare", "transportar", "transporte", "sigue", "anterior",
    "brought", "forward",
    "positionen", "menge", "qty", "quantity", "quantite", "aantal", "cantidad", "quantita", "quantidade",
    "weight", "gewicht", "poids", "shipping", "versand", "versandkosten", "fracht", "porto", "frais", "envio",
    "spedizione", "verzendkosten", "rounding", "rundung", "change", "tip", "price", "preis", "prijs", "prix",
    "precio", "prezzo", "preco", "rate", "satz", "steuersatz", "unit", "einzelpreis", "stuckpreis",
    "nettopreis", "zuschlag", "zuschlage", "charges", "surcharge", "per", "pro", "hours", "stunden",
    "page", "seite", "id", "nr", "no", "number", "nummer", "numero", "code", "basis", "basisbetrag",
    "kategorie", "category", "art", "prozent", "percent", "registration", "registered", "identification",
    "idnr", "ustid", "ustidnr", "idnummer", "tin", "vatno", "regno", "skonto", "days", "tage", "jours",
    "dagen", "dias", "giorni", "terms", "bedingungen", "conditions",
})
# Net words that name a sum on their own; the others ("excl.", "HT", "ohne") only qualify one.
_NET_ALONE = frozenset({
    "net", "nett", "netto", "subtotal", "subtotaal", "subtotale", "zwischensumme", "zwischen", "nettosumme",
    "nettobetrag", "nettowert", "imponible", "imponibile", "tributavel", "warenwert", "base",
})
# Words that say a sum includes tax. The heads that merely name the document's sum ("Rechnungsbetrag",
# "Gesamtbetrag") are gross too, but give way to an explicit net word ("Rechnungsbetrag netto").
_GROSS_EXPLICIT = frozenset({
    "incl", "inkl", "including", "inclusive", "inclusief", "incluido", "incluso", "inclus", "inclusa", "incluida",
    "ttc", "brutto", "bruttosumme", "bruttobetrag", "gross", "con", "com",
})
# Sums of the item lines only ("Positionssumme"): the subtotal when nothing better is printed.
_LINE_SUMS = frozenset({"positionssumme", "artikelsumme", "warensumme", "positionen", "lines", "line"})
_FREE = frozenset({"rechnung", "rechnungs", "invoice", "facture", "factuur", "factura", "fattura", "fatura",
                   "document", "beleg", "amount", "betrag", "bedrag", "montant", "importe", "importo", "valor",
                   "sum", "summe", "all", "alle", "final", "eur", "usd", "currency", "vos", "uw", "su", "sua",
                   "to", "a", "ihr", "ihre", "insgesamt", "totaal", "total", "totale", "gesamt", "general"})
_HEAD_SUFFIXES = ("betrag", "summe", "bedrag", "steuer", "total", "totaal")


def _split_compound(token: str) -> list[str]:
    """German/Dutch compounds at a known head: "bruttosumme" -> ["brutto", "summe"]. The whole word is kept
    as well, so "zwischensumme" still reads as a net sum."""
    for suffix in _HEAD_SUFFIXES:
        if token.endswith(suffix) and len(token) > len(suffix) + 2:
            prefix = token[: -len(suffix)]
            prefix = prefix[:-1] if prefix.endswith("s") and len(prefix) > 4 else prefix
            return [token, prefix, suffix]
    return [token]


@dataclass(frozen=True)
class LabelMatch:
    field: str
    strength: int  # 3 understood, 2 partly understood, 1 bare and ambiguous


def classify_money(label: str) -> LabelMatch | None:
    """Which sum a label names, if any."""
    words = tokens(label)
    if not words or len(words) > 7:
        return None
    parts = [p for w in words for p in _split_compound(w)]
    part_set = set(parts)
    if part_set & _DISCOUNT:
        return LabelMatch(DISCOUNT, 3 if len(words) <= 3 else 2)
    if part_set & _NOT_A_SUM:
        return None
    has_head = any(p in _SUM_HEADS for p in parts)
    has_net = bool(part_set & _NET)
    has_gross = bool(part_set & _GROSS)
    has_tax = bool(part_set & _TAX)
    has_due = bool(part_set & _DUE) and (has_head or _DUE_PHRASE.search(" ".join(words)) is not None)
    has_lines = bool(part_set & _LINE_SUMS)
    known = _NET | _GROSS | _TAX | _DUE | _FREE | set(_SUM_HEADS) | _LINE_SUMS
    unknown = [w for w in words if not (set(_split_compound(w)) & known)]
    strength = 3 if not unknown else 2 if len(unknown) <= 2 else 0
    if strength == 0:
        return None
    if has_due and not has_tax:
        return LabelMatch(AMOUNT_DUE, strength)
    if has_net and not (has_head or has_tax or part_set & _NET_ALONE):
        return None  # "P.U. HT", "excl.": a qualifier, not a label by itself
    if has_net and not (part_set & _GROSS_EXPLICIT and not has_tax):
        # "Total HT", "Rechnungssumme ohne USt.", "Exclusief BTW", "Subtotal": a sum before tax.
        return LabelMatch(SUBTOTAL, strength)
    if has_tax:
        if has_gross:
            return LabelMatch(TOTAL, strength)  # "Total incl. VAT", "Betrag inkl. MwSt."
        if has_due:
            return LabelMatch(AMOUNT_DUE, strength)
        return LabelMatch(TAX, strength)  # "VAT 21%", "Steuerbetrag", "Total TVA", "BTW-bedrag"
    if has_lines:
        return LabelMatch(SUBTOTAL, 1)
    if has_head:
        # "Incl." alone qualifies a price; it takes a sum word ("Total incl.", "Bruttosumme") to be a total.
        return LabelMatch(TOTAL, strength)
    return None


_DUE_PHRASE = re.compile(
    r"\b(?:amount|balance|total) due\b|\bzu zahlen\b|\bzahlbetrag\b|\ba payer\b|\bte betalen\b|\ba pagar\b"
    r"|\bda pagare\b|\bbalance\b|\bsaldo\b|\bpayable\b|\brestbetrag\b|\boutstanding\b"
    # French "à payer", Spanish "a pagar": the one-letter preposition is gone once tokenized.
    r"|\bpayer\b|\bpagar\b|\bpagare\b"
)


# --- Identifier and date labels ---------------------------------------------------------------------------
def _phrases(*items: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(tokens(item)) for item in items)


_INVOICE_WORDS = ("invoice", "inv", "rechnung", "facture", "factuur", "factura", "fattura", "fatura", "bill",
                  "gutschrift", "creditnota", "avoir", "beleg", "receipt", "quittung", "recibo", "ricevuta")
_ID_PHRASES = _phrases(
    "invoice no", "invoice number", "invoice num", "invoice id", "invoice ref", "inv no", "bill no",
    "bill number", "tax invoice no", "receipt no", "receipt number", "credit note no", "credit note number",
    "document no", "document number",
    "rechnungsnummer", "rechnungsnr", "rechnung nr", "rechnungs nr", "re nr", "belegnummer", "belegnr",
    "beleg nr", "gutschriftsnummer", "gutschrift nr", "rechnungs nummer",
    "facture no", "numero de facture", "no de facture", "numero facture", "avoir no",
    "factuurnummer", "factuurnr", "factuur nr", "factuur nummer", "creditnota nr",
    "factura no", "numero de factura", "no de factura", "num factura", "factura num",
    "fattura no", "numero fattura", "numero della fattura", "fattura nr",
    "fatura no", "numero da fatura", "numero fatura",
)
_ID_BARE = _phrases(*_INVOICE_WORDS[:9], "tax invoice", "credit note", "rechnungskorrektur", "nummer", "number",
                    "numero")
_DATE_PHRASES = _phrases(
    "invoice date", "date of invoice", "date of issue", "issue date", "issued", "issued on", "date issued",
    "billing date", "bill date", "invoice dated", "document date", "receipt date",
    "rechnungsdatum", "belegdatum", "ausstellungsdatum", "rechnungs datum", "datum der rechnung",
    "date de facture", "date de la facture", "date d emission", "date de facturation", "date facture",
    "factuurdatum", "datum factuur", "factuur datum",
    "fecha de factura", "fecha factura", "fecha de emision", "fecha de expedicion",
    "data fattura", "data della fattura", "data emissione", "data documento",
    "data da fatura", "data de emissao", "data emissao", "data fatura",
)
_DATE_BARE = _phrases("date", "datum", "fecha", "data", "dated")
_DUE_PHRASES = _phrases(
    "due date", "due", "due on", "due by", "payment due", "payment due date", "payment due by", "pay by",
    "payable by", "date due", "payment date", "due date for payment",
    "fallig", "fallig am", "fallig bis", "falligkeit", "falligkeitsdatum", "zahlungsziel", "zahlbar bis",
    "zahlungstermin", "zahlbar am", "zahlungsfrist",
    "date d echeance", "echeance", "date limite de paiement", "a payer avant", "payable avant",
    "vervaldatum", "vervaldag", "uiterste betaaldatum", "te betalen voor",
    "fecha de vencimiento", "vencimiento", "fecha vencimiento", "fecha limite de pago",
    "data di scadenza", "scadenza", "data scadenza", "data de vencimento", "vencimento",
)
_PO_PHRASES = _phrases(
    "po", "po no", "po number", "purchase order", "purchase order no", "purchase order number",
    "order no", "order number", "your order", "customer po", "order ref",
    "bestellnummer", "bestellung", "bestell nr", "ihre bestellung", "auftragsnummer", "auftrag nr",
    "bestellnr", "ihre bestellnummer",
    "bon de commande", "commande", "no de commande", "numero de commande", "commande no",
    "inkoopordernummer", "ordernummer", "bestelnummer", "inkooporder", "order nummer",
    "pedido", "numero de pedido", "no pedido", "orden de compra", "pedido no",
    "ordine", "numero ordine", "ordine no", "ordine d acquisto", "ordem de compra", "encomenda",
)
_VAT_PHRASES = _phrases(
    "vat no", "vat number", "vat id", "vat reg no", "vat registration number", "tax id", "vat",
    "ust idnr", "ust id nr", "ust id", "ustid", "ust idnr", "ustidnr", "umsatzsteuer id", "umsatzsteuer idnr",
    "steuernummer", "st nr", "tva intracommunautaire", "no tva", "numero de tva", "tva intracom", "btw nummer",
    "btw nr", "btw", "btw id", "nif", "cif", "nif cif", "partita iva", "codice fiscale", "nipc",
    "gst no", "gstin", "abn", "tin",
)
# Phrases that, added to an identifier or date label, make it about another document.
_OTHER_DOCUMENT = frozenset({
    "order", "bestellung", "bestell", "auftrag", "lieferung", "liefer", "delivery", "lieferschein",
    "commande", "livraison", "pedido", "ordine", "encomenda", "bestelling", "levering", "kunde", "kunden",
    "customer", "client", "klant", "cliente", "account", "konto", "contract", "vertrag", "angebot", "quote",
    "offerte", "ship", "shipping", "versand", "service", "leistung", "period", "zeitraum", "due", "fallig",
    "payment", "zahlung", "zahlbar", "echeance", "vervaldatum", "vencimiento", "scadenza", "vencimento",
    "tax", "vat", "steuer", "tva", "btw", "iva", "reference", "referenz", "dossier", "print", "druck",
})


def _match_phrases(words: list[str], phrases: Iterable[tuple[str, ...]], *, extra: int) -> int | None:
    """Strength 3 for an exact phrase, 2 for a phrase followed or preceded by at most `extra` unknown words
    that do not name another document; None otherwise."""
    best: int | None = None
    for phrase in phrases:
        if not phrase:
            continue
        n = len(phrase)
        if words == list(phrase):
            return 3
        if extra and len(words) <= n + extra:
            for start in range(0, len(words) - n + 1):
                if tuple(words[start:start + n]) == phrase:
                    rest = words[:start] + words[start + n:]
                    if not (set(rest) & _OTHER_DOCUMENT):
                        best = 2
    return best


def classify_label(label: str) -> list[LabelMatch]:
    """Every field a label can name, strongest first. A label may name two ("Invoice" is the number's bare
    label; "Date" the invoice date's)."""
    words = tokens(label)
    found: list[LabelMatch] = []
    if not words or len(words) > 8:
        return found
    money = classify_money(label)
    if money is not None:
        found.append(money)
    due = _match_phrases(words, _DUE_PHRASES, extra=1)
    if due is not None:
        found.append(LabelMatch(DUE_DATE, due))
    date = _match_phrases(words, _DATE_PHRASES, extra=1)
    if date is None and due is None and _match_phrases(words, _DATE_BARE, extra=0):
        date = 1
    if date is not None:
        found.append(LabelMatch(INVOICE_DATE, date))
    number = _match_phrases(words, _ID_PHRASES, extra=1)
    if number is None and _match_phrases(words, _ID_BARE, extra=0):
        number = 1
    if number is None and _is_title_number(words):
        number = 2
    if number is None and is_number_label(words):
        number = 3
    if number is not None and date is None:
        found.append(LabelMatch(INVOICE_ID, number))
    po = _match_phrases(words, _PO_PHRASES, extra=1)
    if po is not None and number is None and date is None:
        found.append(LabelMatch(PO_NUMBER, po))
    vat = _match_phrases(words, _VAT_PHRASES, extra=0)
    if vat is not None and money is None:
        found.append(LabelMatch(VENDOR_VAT, vat))
    return sorted(found, key=lambda m: -m.strength)


# What a document-number label is made of, in any order and language: a word naming the document ("Beleg",
# "avoir", "nota di credito", "factura rectificativa") and a number marker ("Nr.", "n.º", "Réf.", "Nummer"),
# or one compound of both ("Creditnotanummer", "Belegnr"). Composed, like the money labels, so "Nº abono",
# "Numero nota di credito" and "Réf. facture" need no phrase of their own.
_DOCUMENT_WORDS = frozenset({
    "invoice", "inv", "bill", "receipt", "document", "doc", "credit", "note", "debit",
    "rechnung", "rechnungs", "re", "beleg", "gutschrift", "gutschrifts", "quittung", "dokument", "storno",
    "facture", "avoir", "piece", "factuur", "creditnota", "creditfactuur", "nota", "factura", "abono",
    "rectificativa", "documento", "recibo", "fattura", "credito", "ricevuta", "fatura",
})
_NUMBER_WORDS = frozenset({*_NUMBER_MARKERS, "nro", "numer", "ref", "reference", "referentie", "referencia",
                           "riferimento", "referenz"})
_NUMBER_SUFFIXES = ("nummer", "nr", "no")


def is_number_label(words: list[str]) -> bool:
    """A label made only of document words and number markers, with at least one of each."""
    if not words or len(words) > 5:
        return False
    has_document = has_marker = False
    for word in words:
        if word in _DOCUMENT_WORDS:
            has_document = True
        elif word in _NUMBER_WORDS:
            has_marker = True
        elif any(word.endswith(s) and word[: -len(s)].rstrip("s") in _DOCUMENT_WORDS for s in _NUMBER_SUFFIXES):
            has_document = has_marker = True
        else:
            return False
    return has_document and has_marker


def _is_title_number(words: list[str]) -> bool:
    """A document title ending in a number marker: "Handelsrechnung (380) Nr.", "Rechnung des Versicherers
    Nr.", "Tax Invoice No.": an invoice word, at most three other words, none naming another document."""
    if len(words) < 2 or len(words) > 6 or words[-1] not in _NUMBER_MARKERS:
        return False
    body = words[:-1]
    if set(body) & _OTHER_DOCUMENT:
        return False
    return any(is_invoice_word(w) for w in body)


def is_invoice_word(token: str) -> bool:
    """"Rechnung", "Handelsrechnung", "Invoice", "Factuur"...: the words a document title is made of."""
    folded = fold(token).strip(".:")
    return folded in _TITLE_WORDS or any(folded.endswith(w) for w in ("rechnung", "gutschrift", "invoice"))


_TITLE_WORDS = frozenset({
    "invoice", "rechnung", "facture", "factuur", "factura", "fattura", "fatura", "gutschrift", "creditnota",
    "avoir", "receipt", "quittung", "recibo", "ricevuta", "bill", "rechnungskorrektur", "storno",
    "credit", "note", "tax", "proforma", "retail", "invoices", "rectificativa", "creditfactuur",
})
# Words between a title word and its number marker that show the number is another document's.
OTHER_DOCUMENT_WORDS = _OTHER_DOCUMENT
# Words that introduce the issue date right after an invoice number ("Nr. 4711 vom 05.03.2018").
DATE_INTRODUCERS = frozenset({"vom", "dated", "date", "du", "van", "del", "de", "dd", "datum", "of", "from"})
NUMBER_MARKERS = _NUMBER_MARKERS


# --- Parties ----------------------------------------------------------------------------------------------
def _heading_set(*items: str) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(tokens(item)) for item in items)


SELLER_HEADINGS = _heading_set(
    "seller", "supplier", "vendor", "from", "sold by", "issued by", "bill from", "service provider", "provider",
    "remit to", "biller", "merchant",
    "verkaufer", "lieferant", "rechnungssteller", "leistungserbringer", "auftragnehmer", "absender",
    "fournisseur", "vendeur", "emetteur", "prestataire", "expediteur",
    "leverancier", "verkoper", "afzender",
    "proveedor", "vendedor", "emisor", "emitente", "fornecedor", "prestador",
    "fornitore", "venditore", "cedente", "cedente prestatore", "mittente",
)
BUYER_HEADINGS = _heading_set(
    "bill to", "billed to", "billing address", "invoice to", "invoiced to", "sold to", "customer", "client",
    "buyer", "purchaser", "recipient", "to", "bill to address", "customer address",
    "kunde", "rechnungsempfanger", "kaufer", "leistungsempfanger", "kaufer leistungsempfanger",
    "rechnungsadresse", "empfanger", "auftraggeber",
    "facturer a", "adresse de facturation", "destinataire", "acheteur",
    "factuuradres", "klant", "factureren aan", "factuur aan", "afnemer", "koper", "rechnung an",
    "cliente", "facturar a", "destinatario", "comprador", "fatturare a", "committente",
    "cessionario", "cessionario committente", "adquirente",
)
SHIP_HEADINGS = _heading_set(
    "ship to", "shipping address", "deliver to", "delivery address", "lieferadresse", "lieferanschrift",
    "warenempfanger", "adresse de livraison", "livrer a", "afleveradres", "leveringsadres",
    "direccion de envio", "enviar a", "indirizzo di spedizione", "spedire a", "morada de entrega",
)
NAME_LABELS = _heading_set(
    "name", "company", "company name", "firma", "firmenname", "raison sociale", "societe", "naam",
    "bedrijfsnaam", "nombre", "razon social", "empresa", "nome", "ragione sociale", "denominazione",
)
ACCOUNT_HOLDER_LABELS = _heading_set(
    "account name", "account holder", "beneficiary", "payee", "pay to", "payable to", "make checks payable to",
    "make all checks payable to", "checks payable to", "cheques payable to", "make cheques payable to",
    "kontoinhaber", "kontoname", "begunstigter", "zahlungsempfanger",
    "titulaire du compte", "titulaire", "beneficiaire", "rekeninghouder", "ten name van",
    "titular", "titular de la cuenta", "beneficiario", "intestatario", "intestato a", "titular da conta",
)
# Lines of the legal footer: the company they describe is printed right above or beside them.
REGISTER_WORDS = frozenset({
    "hrb", "hra", "registergericht", "handelsregister", "amtsgericht", "geschaftsfuhrer", "geschaftsfuhrung",
    "vorstand", "siret", "siren", "rcs", "capital", "siege", "kvk", "handelsregisternummer", "company",
    "registered", "registration", "cif", "nif", "rea", "iban", "ustid", "vat", "steuernummer", "tva", "btw",
    "kbo", "ondernemingsnummer", "partita",
})
# Headings of bank details: never a company's name, though a legal footer line (IBAN) follows them.
BANK_WORDS = frozenset({
    "bank", "banks", "bankverbindung", "bankdaten", "banque", "bancaires", "coordonnees", "bankgegevens",
    "banco", "bancarios", "banca", "bancarie", "coordinate", "bancarias", "dados", "iban", "bic", "swift",
})
LEGAL_FORMS = re.compile(
    r"(?<![\w])(gmbh|ag|kg|ohg|gbr|e\.\s?k|e\.\s?v|ug|mbh|se|b\.\s?v|n\.\s?v|bv|nv|vof|ltd|limited|llc|llp|"
    r"inc|corp|corporation|plc|co\.|company|s\.\s?a\.?|sa|sarl|s\.a\.r\.l|sas|sasu|eurl|s\.\s?l\.?|sl|"
    r"s\.\s?p\.\s?a|spa|srl|s\.r\.l|lda|ltda|pvt|oy|ab|as|aps|a/s|kft|sp\.\s?z\s?o\.\s?o|a\.\s?g)(?![\w])",
    re.IGNORECASE,
)
CURRENCY_LABELS = _heading_set(
    "currency", "wahrung", "devise", "monnaie", "valuta", "moneda", "divisa", "moeda", "invoice currency",
    "rechnungswahrung",
)
# Currency names written out ("All charges and prices are in US Dollars").
CURRENCY_NAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), code) for pattern, code in (
        (r"\bus ?dollars?\b|\bu\.s\. dollars?\b", "USD"), (r"\beuros?\b", "EUR"),
        (r"\bpounds? sterling\b|\bbritish pounds?\b", "GBP"), (r"\bswiss francs?\b|\bschweizer franken\b", "CHF"),
        (r"\bindian rupees?\b|\brupees?\b", "INR"), (r"\bcanadian dollars?\b", "CAD"),
        (r"\baustralian dollars?\b", "AUD"), (r"\bzloty\b|\bzlotych\b", "PLN"),
    )
)


def heading_of(text: str, headings: frozenset[tuple[str, ...]]) -> bool:
    return tuple(tokens(text)) in headings


def starts_with_heading(text: str, headings: frozenset[tuple[str, ...]]) -> int:
    """How many leading tokens of `text` form one of `headings` (0: none). Longest wins."""
    words = tokens(text)
    best = 0
    for n in range(1, min(len(words), 6) + 1):
        if tuple(words[:n]) in headings:
            best = n
    return best


# --- Table columns ----------------------------------------------------------------------------------------
DESCRIPTION, QUANTITY, UNIT_PRICE, AMOUNT, PRODUCT_CODE, TAX_RATE, POSITION, UNIT = (
    "description", "quantity", "unit_price", "amount", "product_code", "tax_rate", "position", "unit",
)
_COLUMN_WORDS: dict[str, frozenset[str]] = {
    DESCRIPTION: frozenset({
        "description", "item", "items", "article", "articles", "artikel", "bezeichnung", "beschreibung",
        "leistung", "produkt", "product", "products", "title", "designation", "libelle", "omschrijving",
        "descripcion", "concepto", "descricao", "descrizione", "articolo", "service", "services", "details",
        "particulars", "artikelbezeichnung", "leistungsbeschreibung", "prestation", "produit", "dienst",
        "producto", "prodotto", "servicio", "servizio", "detail", "goods", "waren", "articulo", "artigo",
        "designacao",
    }),
    QUANTITY: frozenset({
        "qty", "quantity", "menge", "anzahl", "qte", "quantite", "nombre", "aantal", "cantidad", "cant",
        "quantidade", "qtd", "quantita", "qta", "units", "hours", "hrs", "stk", "stuck", "pcs", "nb",
    }),
    UNIT_PRICE: frozenset({
        "price", "rate", "einzelpreis", "preis", "epreis", "vk", "nettopreis", "stuckpreis", "prix", "pu",
        "prijs", "stukprijs", "precio", "preco", "prezzo", "unitario", "unitaire", "unit", "tarif",
        "listenpreis", "bruttopreis",
    }),
    AMOUNT: frozenset({
        "amount", "total", "betrag", "gesamt", "gesamtpreis", "zeilenbetrag", "nettobetrag", "summe",
        "montant", "bedrag", "totaal", "importe", "valor", "importo", "totale", "subtotal", "line", "gesamtbetrag",
        "bruttobetrag", "positionsbetrag", "ext", "extended", "net", "netto", "montante",
    }),
    PRODUCT_CODE: frozenset({
        "code", "sku", "artnr", "artikelnummer", "artikelnr", "ref", "reference", "referenz", "codigo",
        "codice", "ean", "gtin", "part", "partnr", "itemno", "nr", "no",
    }),
    TAX_RATE: frozenset({"tax", "vat", "mwst", "ust", "steuersatz", "tva", "btw", "iva", "taxes", "gst",
                         "steuer", "taxe", "percent"}),
    POSITION: frozenset({"pos", "position", "posten", "lfd", "line", "no", "nr", "#"}),
}


def column_kind(text: str) -> str | None:
    """The column a table header cell names, or None. The words are checked as a whole cell ("Unit Price",
    "Prijs per stuk", "Art-Nr") so one generic word ("Total") is read in its context."""
    # "P.U. HT" and "Art-Nr." are abbreviations: read them with their dots and hyphens removed as well.
    joined = tokens(re.sub(r"(?<=\w)[.\-](?=\w)", "", text.replace(". ", " ")).replace(".", ""))
    words = [p for w in [*tokens(text), *joined] for p in _split_compound(w)] or [fold(text).strip()]
    word_set = set(words)
    if not word_set:
        return None
    if word_set & {"unit", "einzelpreis", "stuckpreis", "stukprijs", "unitario", "unitaire", "pu", "epreis",
                   "rate", "nettopreis", "bruttopreis", "listenpreis", "vk"}:
        return UNIT_PRICE
    if len(words) >= 2 and word_set & _COLUMN_WORDS[UNIT_PRICE] and word_set & {"per", "stuk", "each", "ea"}:
        return UNIT_PRICE
    if word_set & {"incl", "inkl", "including", "inclusief", "ttc", "excl", "exkl", "exclusief", "ht", "brutto"} \
            and word_set & (_COLUMN_WORDS[UNIT_PRICE] | _COLUMN_WORDS[AMOUNT]):
        return AMOUNT  # "Prijs incl. BTW", "Montant HT": a line's price with its tax qualifier is its amount
    if word_set & _COLUMN_WORDS[TAX_RATE] and not word_set & _COLUMN_WORDS[AMOUNT] - {"net", "netto"}:
        return TAX_RATE
    if word_set & {"artnr", "artikelnummer", "artikelnr", "sku", "ean", "gtin", "code", "codigo", "codice"}:
        return PRODUCT_CODE
    if "art" in word_set and ({"nr", "no"} & word_set):
        return PRODUCT_CODE
    scores = {kind: len(word_set & vocabulary) for kind, vocabulary in _COLUMN_WORDS.items()}
    best = max(scores, key=lambda k: scores[k])
    if scores[best] == 0:
        return None
    if best == POSITION and len(words) > 2:
        return None
    return best
