"""Textract expense analysis (AnalyzeExpense, or every NextToken page of GetExpenseAnalysis) to the normalized
document of schemas/invoice.schema.json.

Three decisions shape this module:
- Which ExpenseDocuments form one invoice. Textract emits one ExpenseDocument per invoice *or per page*, so
  documents are grouped: the same invoice number continues an invoice; a document without a number continues
  the previous one only while that one has no total yet, starts on a later page and names no other vendor.
- Which value wins when a field is seen more than once (see `_resolve`). Candidates with the same value support
  each other; distinct values compete on, in order: Textract type tier (VENDOR_NAME before a NAME in the
  vendor group), label quality ("Grand Total" before "Total" before "Subtotal"), confidence to one decimal,
  number of supporting candidates, and position (totals: later page, lower on the page; everything else:
  first page, higher up). The losers go to `alternatives[field]` and the winner's confidence is multiplied by
  its share of the competing confidence.
- Currency: Textract's own Currency code when present, else inferred from the symbols and codes printed with
  the amounts, flagged `provenance.currency_inferred` and given a lower confidence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from invoice_pipeline.domain.dates import date_order, parse_date
from invoice_pipeline.domain.document_type import mark_document_types
from invoice_pipeline.domain.label_echo import strip_label_echo
from invoice_pipeline.domain.language import guess_language
from invoice_pipeline.domain.money import (
    ISO_4217,
    find_currency,
    format_amount,
    infer_decimal_separator,
    parse_amount,
)
from invoice_pipeline.errors import ParseError, TextractJobFailed

__all__ = ["ENGINES", "SCHEMA_VERSION", "check_expense_response", "normalize_expense", "summarize"]

SCHEMA_VERSION = "1"
ENGINES = ("textract", "local", "e-invoice")
MAX_TEXT = 2000  # schema maxLength of every text field
MAX_SUMMARY_INVOICES = 25  # keeps `summarize` far below the 256 KB Step Functions state limit
INFERRED_CURRENCY_CONFIDENCE = 0.6  # a symbol printed next to amounts, not Textract's classifier
SHARED_SYMBOL_CONFIDENCE = 0.4  # "$", "kr", "¥": several currencies use them

# The document's own dates: the first evidence of their day/month order (dates.py `date_order`).
_DATE_TYPES = frozenset({"INVOICE_RECEIPT_DATE", "DUE_DATE"})
# Textract types whose values are money: the texts that reveal currency and decimal separator.
_MONEY_TYPES = frozenset({
    "SUBTOTAL", "TAX", "TOTAL", "AMOUNT_DUE", "AMOUNT_PAID", "DISCOUNT", "PRIOR_BALANCE", "SERVICE_CHARGE",
    "SHIPPING_HANDLING_CHARGE", "GRATUITY", "PRICE", "UNIT_PRICE",
})
# ITEM -> description, QUANTITY, UNIT_PRICE, PRICE -> amount, PRODUCT_CODE; EXPENSE_ROW is the whole row's text.
_LINE_ITEM_TYPES = frozenset({"ITEM", "QUANTITY", "UNIT_PRICE", "PRICE", "PRODUCT_CODE"})


# --- Reading Textract --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    """One SummaryField or LineItemExpenseField, flattened."""

    type: str
    label: str | None
    text: str | None
    confidence: float  # 0..1: Type confidence times value confidence
    page: int | None
    bbox: dict[str, float] | None
    groups: frozenset[str]
    currency: str | None
    currency_confidence: float | None

    @property
    def top(self) -> float | None:
        return self.bbox["top"] if self.bbox else None

    def identity(self) -> tuple[Any, ...]:
        bbox = tuple(sorted(self.bbox.items())) if self.bbox else None
        return (self.type, self.label, self.text, self.page, bbox, tuple(sorted(self.groups)))


@dataclass
class _Expense:
    """One ExpenseDocument, possibly assembled from several NextToken pages."""

    order: tuple[int, int]
    index: int | None
    summary: list[_Field] = field(default_factory=list)
    line_items: list[list[_Field]] = field(default_factory=list)
    _seen: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def add_summary(self, item: _Field, response: int) -> None:
        if self._remember(("summary", item.identity()), response):
            self.summary.append(item)

    def add_line_item(self, group: Any, fields: list[_Field], response: int) -> None:
        if fields and self._remember(("line", group, tuple(f.identity() for f in fields)), response):
            self.line_items.append(fields)

    def _remember(self, key: tuple[Any, ...], response: int) -> bool:
        # A fragment repeated on a later result page is the same printed field sent twice. Within one page
        # identical fragments are kept: two "Coffee 2.50" rows without geometry are two coffees.
        first = self._seen.setdefault(key, response)
        return first == response

    def pages(self) -> set[int]:
        fields = [*self.summary, *(f for line in self.line_items for f in line)]
        return {f.page for f in fields if f.page is not None}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _read_field(raw: Any) -> _Field | None:
    raw = _dict(raw)
    type_ = _dict(raw.get("Type"))
    type_text = _text(type_.get("Text"))
    if not type_text:
        return None
    value = _dict(raw.get("ValueDetection"))
    label = _dict(raw.get("LabelDetection"))
    confidences = [
        c for c in (_number(type_.get("Confidence")), _number(value.get("Confidence"))) if c is not None
    ]
    confidence = 0.5
    if confidences:
        confidence = 1.0
        for c in confidences:
            confidence *= min(max(c, 0.0), 100.0) / 100
    page = raw.get("PageNumber")
    currency = _dict(raw.get("Currency"))
    code = _text(currency.get("Code"))
    code = code.strip().upper() if code else None
    currency_confidence = _number(currency.get("Confidence"))
    groups = frozenset(
        t for g in _list(raw.get("GroupProperties"))
        for t in _list(_dict(g).get("Types")) if isinstance(t, str)
    )
    return _Field(
        type=type_text.strip().upper(),
        label=_text(label.get("Text")),
        text=_text(value.get("Text")),
        confidence=confidence,
        page=page if isinstance(page, int) and not isinstance(page, bool) and page >= 1 else None,
        bbox=_bbox(value.get("Geometry")),
        groups=groups,
        currency=code if code in ISO_4217 else None,
        currency_confidence=currency_confidence / 100 if currency_confidence is not None else None,
    )


def _bbox(geometry: Any) -> dict[str, float] | None:
    box = _dict(_dict(geometry).get("BoundingBox"))
    values = {key.lower(): _number(box.get(key)) for key in ("Left", "Top", "Width", "Height")}
    if any(v is None for v in values.values()):
        return None
    return {k: v for k, v in values.items() if v is not None}


def check_expense_response(response: Any, *, where: str = "response") -> None:
    """Raise unless `response` is an AnalyzeExpense or a finished GetExpenseAnalysis response."""
    if not isinstance(response, dict):
        raise ParseError(f"{where}: not a Textract expense response (a JSON object was expected)")
    status = response.get("JobStatus")
    if status == "FAILED":
        reason = response.get("StatusMessage") or "no reason given"
        raise TextractJobFailed(f"{where}: the job failed: {reason}")
    if status == "IN_PROGRESS":
        raise ParseError(f"{where}: the expense analysis job is still in progress")
    if not isinstance(response.get("ExpenseDocuments"), list):
        raise ParseError(f"{where}: not a Textract expense response (no ExpenseDocuments list)")


def _collect(responses: Sequence[dict[str, Any]]) -> list[_Expense]:
    by_key: dict[Any, _Expense] = {}
    sequence = 0
    for response_number, response in enumerate(responses):
        for raw in _list(response.get("ExpenseDocuments")):
            if not isinstance(raw, dict):
                continue
            sequence += 1
            raw_index = raw.get("ExpenseIndex")
            index = raw_index if isinstance(raw_index, int) and not isinstance(raw_index, bool) else None
            index = index if index is not None and index >= 0 else None
            # The ExpenseIndex is job-wide: the same index on two result pages is one document continued.
            key: Any = ("index", index) if index is not None else ("sequence", sequence)
            if key not in by_key:
                by_key[key] = _Expense(order=(index if index is not None else 10**9, sequence), index=index)
            expense = by_key[key]
            for raw_field in _list(raw.get("SummaryFields")):
                parsed = _read_field(raw_field)
                if parsed is not None:
                    expense.add_summary(parsed, response_number)
            for group_position, group in enumerate(_list(raw.get("LineItemGroups"))):
                group = _dict(group)
                group_key = group.get("LineItemGroupIndex", group_position)
                for line in _list(group.get("LineItems")):
                    fields = [_read_field(f) for f in _list(_dict(line).get("LineItemExpenseFields"))]
                    expense.add_line_item(group_key, [f for f in fields if f is not None], response_number)
    return sorted(by_key.values(), key=lambda e: e.order)


# --- Cleaning values ---------------------------------------------------------------------------------------
def _clean(text: str | None, *, multiline: bool = False) -> str | None:
    """Trimmed text; lines without a letter or digit (OCR'd rules and hyphens) are dropped."""
    if not text:
        return None
    lines = [re.sub(r"\s+", " ", line).strip() for line in unicodedata.normalize("NFC", text).splitlines()]
    lines = [line for line in lines if re.search(r"\w", line)]
    if not lines:
        return None
    return _clip(("\n" if multiline else " ").join(lines))


def _clip(text: str | None) -> str | None:
    return text[:MAX_TEXT] if text is not None else None


def _clean_id(text: str | None) -> str | None:
    cleaned = _clean(text)
    if cleaned is None:
        return None
    cleaned = cleaned.lstrip("#:№ ").rstrip(".,;: ")
    return cleaned or None


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _text_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", _fold(text))


# --- Label quality ----------------------------------------------------------------------------------------
def _words(*fragments: str) -> re.Pattern[str]:
    return re.compile("|".join(rf"(?<![a-z]){f}" for f in fragments))


_TOTAL_STRONG = _words(
    r"grand ?total", r"total (?:amount )?due", r"amount due", r"balance due", r"total amount",
    r"invoice total", r"(?:total|amount) payable", r"(?:total )?to pay", r"gesamt", r"rechnungsbetrag",
    r"endbetrag", r"zu zahlen", r"zahlbetrag", r"ttc", r"a payer", r"montant total", r"totaal",
    r"te betalen", r"importe total", r"total a pagar", r"totale", r"incl", r"inkl",
)
_TOTAL_WEAK = _words(
    r"sub", r"net", r"excl", r"before", r"without", r"ohne", r"ht(?![a-z])", r"tax", r"vat", r"mwst", r"ust",
    r"tva", r"iva", r"btw", r"gst", r"items?(?![a-z])", r"qty", r"quantity", r"change", r"tip", r"tend",
    r"paid", r"previous", r"carried", r"forward", r"saving", r"saved", r"discount", r"rabatt",
)
_SUBTOTAL_STRONG = _words(
    r"sub", r"net", r"excl", r"before tax", r"ht(?![a-z])", r"zwischensumme", r"sous", r"base imponible",
)
_SUBTOTAL_WEAK = _words(r"grand", r"due", r"incl", r"inkl", r"ttc", r"balance", r"payable")
_TAX_STRONG = _words(r"total (?:tax|vat|gst)", r"(?:tax|vat|gst) total", r"summe (?:mwst|ust)")
_TAX_WEAK = _words(r"sub", r"grand", r"due", r"excl", r"incl", r"inkl")
_NUMBER_STRONG = _words(r"invoice", r"rechnung", r"facture", r"factuur", r"factura", r"fattura", r"fatura")
_NUMBER_WEAK = _words(
    r"order", r"customer", r"client", r"kunde", r"account", r"konto", r"p\.? ?o(?![a-z])", r"tax", r"vat",
    r"phone", r"tel", r"delivery", r"liefer",
)
_INVOICE_DATE_STRONG = _words(
    r"invoice date", r"date of invoice", r"rechnungsdatum", r"date de (?:la )?facture", r"factuurdatum",
    r"fecha de (?:la )?factura", r"data (?:della )?fattura", r"data da fatura", r"issue", r"ausstellung",
)
_INVOICE_DATE_WEAK = _words(
    r"due", r"fallig", r"faellig", r"echeance", r"vervaldatum", r"vencimiento", r"scadenza", r"order",
    r"ship", r"deliver", r"liefer", r"livraison", r"service", r"leistung", r"period", r"print",
)
_DUE_DATE_STRONG = _words(
    r"due", r"fallig", r"faellig", r"zahlbar", r"echeance", r"vervaldatum", r"vencimiento", r"scadenza",
    r"payment",
)
_DUE_DATE_WEAK = _words(r"invoice date", r"order", r"ship", r"deliver", r"issue")
_NAME_WEAK = _words(r"attn", r"attention", r"c/o", r"contact", r"z\. ?hd", r"ansprechpartner")
_BILLING_STRONG = _words(r"bill", r"sold", r"invoice to", r"rechnungsadresse", r"factur")
_BILLING_WEAK = _words(r"ship", r"deliver", r"liefer", r"livraison", r"envoi", r"entrega")

_LABEL_RULES: dict[str, tuple[re.Pattern[str] | None, re.Pattern[str] | None]] = {
    "total": (_TOTAL_STRONG, _TOTAL_WEAK),
    "amount_due": (_TOTAL_STRONG, _TOTAL_WEAK),
    "subtotal": (_SUBTOTAL_STRONG, _SUBTOTAL_WEAK),
    "tax": (_TAX_STRONG, _TAX_WEAK),
    "invoice_number": (_NUMBER_STRONG, _NUMBER_WEAK),
    "invoice_date": (_INVOICE_DATE_STRONG, _INVOICE_DATE_WEAK),
    "due_date": (_DUE_DATE_STRONG, _DUE_DATE_WEAK),
    "vendor.name": (None, _NAME_WEAK),
    "customer.name": (None, _NAME_WEAK),
    "customer.address": (_BILLING_STRONG, _BILLING_WEAK),
}


def _label_rank(field_name: str, label: str | None) -> int:
    """2 for a label that names the field precisely, 1 for a plain or missing label, 0 for one that names
    something else (a TOTAL labelled "Subtotal", a customer NAME labelled "Attn:")."""
    strong, weak = _LABEL_RULES.get(field_name, (None, None))
    if not label:
        return 1
    folded = _fold(label)
    if strong is not None and strong.search(folded):
        return 2
    if weak is not None and weak.search(folded):
        return 0
    return 1


# --- Field specifications ----------------------------------------------------------------------------------
_TEXT, _MULTILINE, _ID, _AMOUNT, _DATE = "text", "multiline", "id", "amount", "date"


@dataclass(frozen=True)
class _Spec:
    name: str
    kind: str
    # Tiers of (Textract type, required group); a lower tier is consulted only when no higher one has a value.
    tiers: tuple[tuple[tuple[str, str | None], ...], ...]
    party: str | None = None  # a field of this party never takes a value grouped under the other party
    bottom: bool = False  # totals sit at the end of a document, header fields at its start


_SPECS: tuple[_Spec, ...] = (
    _Spec("vendor.name", _TEXT, ((("VENDOR_NAME", None),), (("NAME", "VENDOR"),)), party="VENDOR"),
    _Spec(
        "vendor.address", _MULTILINE, ((("VENDOR_ADDRESS", None),), (("ADDRESS", "VENDOR"),)), party="VENDOR"
    ),
    _Spec("vendor.tax_id", _ID, ((("VENDOR_VAT_NUMBER", None),), (("TAX_PAYER_ID", None),)), party="VENDOR"),
    _Spec("customer.name", _TEXT, ((("RECEIVER_NAME", None),), (("NAME", "RECEIVER"),)), party="RECEIVER"),
    _Spec(
        "customer.address", _MULTILINE, ((("RECEIVER_ADDRESS", None),), (("ADDRESS", "RECEIVER"),)),
        party="RECEIVER",
    ),
    _Spec("customer.tax_id", _ID, ((("TAX_PAYER_ID", "RECEIVER"),),), party="RECEIVER"),
    _Spec("invoice_number", _ID, ((("INVOICE_RECEIPT_ID", None),),)),
    _Spec("invoice_date", _DATE, ((("INVOICE_RECEIPT_DATE", None),),)),
    _Spec("due_date", _DATE, ((("DUE_DATE", None),),)),
    _Spec("po_number", _ID, ((("PO_NUMBER", None),),)),
    _Spec("subtotal", _AMOUNT, ((("SUBTOTAL", None),),), bottom=True),
    _Spec("tax", _AMOUNT, ((("TAX", None),),), bottom=True),
    _Spec("discount", _AMOUNT, ((("DISCOUNT", None),),), bottom=True),
    _Spec("total", _AMOUNT, ((("TOTAL", None),),), bottom=True),
    _Spec("amount_due", _AMOUNT, ((("AMOUNT_DUE", None),),), bottom=True),
)
_OTHER_PARTY = {"VENDOR": "RECEIVER", "RECEIVER": "VENDOR"}


@dataclass(frozen=True)
class _Candidate:
    value: str
    key: Any  # equal keys are the same value seen twice (Decimal("5715") == Decimal("5715.00"))
    field: _Field
    label_rank: int


@dataclass(frozen=True)
class _Choice:
    value: str
    confidence: float
    source: dict[str, Any]
    alternatives: list[dict[str, Any]]


@dataclass(frozen=True)
class _Context:
    decimal_hint: str | None
    day_first: bool | None


def _source(item: _Field, *, label: str | None = None, raw: str | None = None) -> dict[str, Any]:
    return {
        "page": item.page,
        "bbox": dict(item.bbox) if item.bbox else None,
        "label": _clip(_clean(label if label is not None else item.label)),
        "raw": _clip(raw if raw is not None else item.text),
    }


def _parse_value(kind: str, text: str | None, context: _Context) -> tuple[str, Any] | None:
    """(output value, equality key), or None when the text holds no value of this kind."""
    if kind == _AMOUNT:
        amount = parse_amount(text, decimal_hint=context.decimal_hint)
        return (format_amount(amount), amount) if amount is not None else None
    if kind == _DATE:
        parsed: date | None = parse_date(text, day_first=context.day_first)
        return (parsed.isoformat(), parsed) if parsed is not None else None
    cleaned = _clean_id(text) if kind == _ID else _clean(text, multiline=kind == _MULTILINE)
    if cleaned is None:
        return None
    key = _text_key(cleaned)
    return (cleaned, key or cleaned)


def _matching_fields(spec: _Spec, fields: Iterable[_Field]) -> list[list[_Field]]:
    fields = list(fields)
    tiers = []
    for tier in spec.tiers:
        matched = [
            f for f in fields
            if any(f.type == type_ and (group is None or group in f.groups) for type_, group in tier)
            and not (spec.party and _OTHER_PARTY[spec.party] in f.groups)
        ]
        tiers.append(matched)
    return tiers


def _position(spec: _Spec, item: _Field) -> tuple[float, float]:
    page = float(item.page) if item.page is not None else 0.0
    top = item.top if item.top is not None else 0.5
    return (page, top) if spec.bottom else (-page if item.page is not None else -1e9, -top)


def _choose(
    spec: _Spec, fields: list[_Field], context: _Context
) -> tuple[_Choice | None, dict[str, Any] | None]:
    """The value of one field, or (None, source of an unreadable candidate) when nothing parses."""
    unreadable: dict[str, Any] | None = None
    for tier in _matching_fields(spec, fields):
        candidates = []
        for item in tier:
            text = strip_label_echo(item.text, item.label, identifier=spec.kind == _ID)
            parsed = _parse_value(spec.kind, text, context)
            if parsed is None:
                if unreadable is None and _clean(item.text):
                    unreadable = _source(item)
                continue
            candidates.append(_Candidate(parsed[0], parsed[1], item, _label_rank(spec.name, item.label)))
        if candidates:
            return _resolve(spec, candidates), None
    return None, unreadable


def _resolve(spec: _Spec, candidates: list[_Candidate]) -> _Choice:
    groups: dict[Any, list[_Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(candidate.key, []).append(candidate)

    def strength(c: _Candidate) -> tuple[Any, ...]:
        return (c.label_rank, round(c.field.confidence, 1), _position(spec, c.field))

    best_of = {key: max(group, key=strength) for key, group in groups.items()}

    def rank(key: Any) -> tuple[Any, ...]:
        best = best_of[key]
        support = len(groups[key])
        return (best.label_rank, round(best.field.confidence, 1), support, _position(spec, best.field))

    if spec.name == "tax" and len(groups) > 1:
        combined = _combine_tax_lines(best_of)
        if combined is not None:
            return combined
    ordered = sorted(groups, key=rank, reverse=True)
    winner = best_of[ordered[0]]
    losers = [best_of[key] for key in ordered[1:]]
    confidence = winner.field.confidence
    if losers:
        # The winner keeps only its share of the evidence: two equally confident totals leave it at half.
        # A rival that lost on label quality ("Attn:" against no label) is weaker evidence and counts half.
        competing = confidence + sum(
            loser.field.confidence * (0.5 if loser.label_rank < winner.label_rank else 1.0)
            for loser in losers
        )
        confidence = confidence * (confidence / competing) if competing else 0.0
    return _Choice(
        value=winner.value,
        confidence=confidence,
        source=_source(winner.field),
        alternatives=[
            {
                "value": loser.value,
                "confidence": _round(loser.field.confidence),
                "source": _source(loser.field),
            }
            for loser in losers
        ],
    )


_RATE = re.compile(r"\d+(?:[.,]\d+)?\s*%")


def _combine_tax_lines(best_of: dict[Any, _Candidate]) -> _Choice | None:
    """Several distinct TAX values are not always a conflict: one may be the sum of the others (an aggregate
    printed under the per-rate lines), or each may carry its own rate (7% and 19% VAT), which add up."""
    amounts: dict[Decimal, _Candidate] = {Decimal(c.value): c for c in best_of.values()}
    total = sum(amounts, Decimal(0))
    for amount, candidate in amounts.items():
        if amount == total - amount:
            return _Choice(candidate.value, candidate.field.confidence, _source(candidate.field), [])
    rates = [_RATE.search(_fold(c.field.label or "")) for c in amounts.values()]
    rate_texts = [r.group(0).replace(" ", "").replace(",", ".") for r in rates if r is not None]
    if len(rate_texts) != len(amounts) or len(set(rate_texts)) != len(rate_texts):
        return None
    parts = sorted(amounts.values(), key=lambda c: Decimal(c.value), reverse=True)
    largest = parts[0].field
    return _Choice(
        value=format_amount(total),
        confidence=min(c.field.confidence for c in parts),
        source=_source(
            largest,
            label=" + ".join(_clean(c.field.label) or "" for c in parts),
            raw=" + ".join(c.field.text or "" for c in parts),
        ),
        alternatives=[],
    )


def _round(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 4)


# --- Currency ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _CurrencyResult:
    code: str | None
    confidence: float
    inferred: bool
    source: dict[str, Any] | None
    alternatives: list[dict[str, Any]]


def _currency(fields: list[_Field]) -> _CurrencyResult:
    explicit: dict[str, list[_Field]] = {}
    for item in fields:
        if item.currency:
            explicit.setdefault(item.currency, []).append(item)
    if explicit:
        def weight(code: str) -> float:
            return sum(f.currency_confidence or f.confidence for f in explicit[code])

        ordered = sorted(explicit, key=weight, reverse=True)
        best = max(explicit[ordered[0]], key=lambda f: f.currency_confidence or f.confidence)
        confidence = best.currency_confidence if best.currency_confidence is not None else best.confidence
        if len(ordered) > 1:
            confidence *= weight(ordered[0]) / sum(weight(code) for code in ordered)
        alternatives = [
            {"value": code, "confidence": _round(weight(code) / len(explicit[code])),
             "source": _source(explicit[code][0])}
            for code in ordered[1:]
        ]
        return _CurrencyResult(ordered[0], confidence, False, _source(best), alternatives)

    votes: dict[str, list[tuple[_Field, bool]]] = {}
    for item in fields:
        if item.type not in _MONEY_TYPES:
            continue
        for text in (item.text, item.label):
            found = find_currency(text)
            if found is not None:
                votes.setdefault(found.code, []).append((item, found.specific))
                break
    if not votes:
        return _CurrencyResult(None, 0.0, True, None, [])
    ordered = sorted(votes, key=lambda code: len(votes[code]), reverse=True)
    seen = votes[ordered[0]]
    base = INFERRED_CURRENCY_CONFIDENCE if any(specific for _, specific in seen) else SHARED_SYMBOL_CONFIDENCE
    total_votes = sum(len(v) for v in votes.values())
    alternatives = [
        {"value": code, "confidence": _round(base * len(votes[code]) / total_votes),
         "source": _source(votes[code][0][0])}
        for code in ordered[1:]
    ]
    confidence = base * len(seen) / total_votes
    return _CurrencyResult(ordered[0], confidence, True, _source(seen[0][0]), alternatives)


# --- Line items -------------------------------------------------------------------------------------------
def _line_item(fields: list[_Field], decimal_hint: str | None) -> dict[str, Any] | None:
    item_field = next((f for f in fields if f.type == "ITEM"), None)
    item_top = item_field.top if item_field is not None else None

    def closeness(f: _Field) -> tuple[float, float]:
        # A row sometimes swallows its neighbour's product code: prefer confidence, then nearness to the item.
        distance = abs(f.top - item_top) if item_top is not None and f.top is not None else 1.0
        return (round(f.confidence, 1), -distance)

    by_type: dict[str, _Field] = {}
    for item in fields:
        if item.type in _LINE_ITEM_TYPES and _clean(item.text):
            current = by_type.get(item.type)
            if current is None or closeness(item) > closeness(current):
                by_type[item.type] = item

    def amount(type_: str) -> str | None:
        item = by_type.get(type_)
        value = parse_amount(item.text, decimal_hint=decimal_hint) if item else None
        return format_amount(value) if value is not None else None

    code = _clean_id(by_type["PRODUCT_CODE"].text) if "PRODUCT_CODE" in by_type else None
    description = _clean(by_type["ITEM"].text, multiline=True) if "ITEM" in by_type else None
    if description and code:
        # Textract often reads the product code printed under the item into the description as well.
        stripped = re.sub(rf"(?:^|\s+){re.escape(code)}(?=\s|$)", "", description).strip()
        description = _clean(stripped, multiline=True) or description
    result: dict[str, Any] = {
        "description": description,
        "quantity": amount("QUANTITY"),
        "unit_price": amount("UNIT_PRICE"),
        "amount": amount("PRICE"),
        "product_code": code,
    }
    if all(v is None for v in result.values()):
        # Only the whole row was recognised: keep its text rather than lose a line Textract found.
        row = next((f for f in fields if f.type == "EXPENSE_ROW" and _clean(f.text)), None)
        if row is None:
            return None
        result["description"] = _clean(row.text, multiline=True)
    pages = [f.page for f in fields if f.page is not None]
    result["page"] = min(pages) if pages else None
    return result


# --- Grouping expense documents into invoices -------------------------------------------------------------
@dataclass
class _Facts:
    """What grouping needs to know about one expense document or a run of them, computed once."""

    ids: set[str] = field(default_factory=set)
    vendors: set[str] = field(default_factory=set)
    pages: set[int] = field(default_factory=set)
    has_total: bool = False

    @classmethod
    def of(cls, expense: _Expense) -> _Facts:
        facts = cls(pages=expense.pages())
        for item in expense.summary:
            if item.type == "INVOICE_RECEIPT_ID" and (number := _clean_id(item.text)):
                facts.ids.add(_text_key(number))
            elif item.type == "VENDOR_NAME" and (name := _clean(item.text)):
                facts.vendors.add(_text_key(name))
            elif item.type in ("TOTAL", "AMOUNT_DUE") and parse_amount(item.text) is not None:
                facts.has_total = True
        return facts

    def absorb(self, other: _Facts) -> None:
        self.ids |= other.ids
        self.vendors |= other.vendors
        self.pages |= other.pages
        self.has_total = self.has_total or other.has_total

    def continued_by(self, nxt: _Facts) -> bool:
        if self.ids and nxt.ids:
            return bool(self.ids & nxt.ids)
        if self.has_total:
            return False
        if not self.pages or not nxt.pages or min(nxt.pages) <= max(self.pages):
            return False  # two receipts on one scanned page are two documents
        return not (self.vendors and nxt.vendors and not self.vendors & nxt.vendors)


def _group_invoices(expenses: list[_Expense]) -> list[list[_Expense]]:
    groups: list[tuple[list[_Expense], _Facts]] = []
    for expense in expenses:
        facts = _Facts.of(expense)
        if groups and groups[-1][1].continued_by(facts):
            groups[-1][0].append(expense)
            groups[-1][1].absorb(facts)
        else:
            groups.append(([expense], facts))
    return [members for members, _ in groups]


# --- The normalized document ------------------------------------------------------------------------------
def _invoice(group: list[_Expense], engine: str) -> dict[str, Any]:
    summary = [f for e in group for f in e.summary]
    lines = [line for e in group for line in e.line_items]
    line_fields = [f for line in lines for f in line]
    money_texts = [f.text for f in [*summary, *line_fields] if f.type in _MONEY_TYPES or f.type == "QUANTITY"]
    decimal_hint = infer_decimal_separator(money_texts)

    currency = _currency([*summary, *line_fields])
    # A date on the document that reads only one way (31/01) outranks the language, which outranks the
    # currency: a French supplier billing in USD still writes day first (dates.py `date_order`).
    day_first = date_order(
        (f.text for f in summary if f.type in _DATE_TYPES), (f.text for f in summary if f.type not in _DATE_TYPES),
        language=guess_language(t for f in [*summary, *line_fields] for t in (f.label, f.text)),
        currency=currency.code)
    context = _Context(decimal_hint=decimal_hint, day_first=day_first)

    values: dict[str, str | None] = {}
    confidence: dict[str, float] = {}
    alternatives: dict[str, list[dict[str, Any]]] = {}
    sources: dict[str, dict[str, Any]] = {}
    for spec in _SPECS:
        choice, unreadable = _choose(spec, summary, context)
        values[spec.name] = choice.value if choice else None
        if choice is not None:
            confidence[spec.name] = _round(choice.confidence)
            sources[spec.name] = choice.source
            if choice.alternatives:
                alternatives[spec.name] = choice.alternatives
        elif unreadable is not None:
            sources[spec.name] = unreadable  # shows a reviewer what was printed where the value should be
    if currency.code is not None:
        confidence["currency"] = _round(currency.confidence)
        if currency.source is not None:
            sources["currency"] = currency.source
        if currency.alternatives:
            alternatives["currency"] = currency.alternatives

    line_items = [item for line in lines if (item := _line_item(line, decimal_hint)) is not None]
    pages = sorted(set().union(*(e.pages() for e in group)))
    provenance: dict[str, Any] = {
        "engine": engine,
        "pages": pages,
        "expense_indexes": [e.index for e in group if e.index is not None],
        "currency_inferred": currency.inferred and currency.code is not None,
        "fields": sources,
    }
    return {
        "vendor": {
            "name": values["vendor.name"],
            "address": values["vendor.address"],
            "tax_id": values["vendor.tax_id"],
        },
        "customer": {
            "name": values["customer.name"],
            "address": values["customer.address"],
            "tax_id": values["customer.tax_id"],
        },
        "invoice_number": values["invoice_number"],
        "invoice_date": values["invoice_date"],
        "due_date": values["due_date"],
        "po_number": values["po_number"],
        "currency": currency.code,
        "subtotal": values["subtotal"],
        "tax": values["tax"],
        "discount": values["discount"],
        "total": values["total"],
        "amount_due": values["amount_due"],
        "line_items": line_items,
        "confidence": confidence,
        "alternatives": alternatives,
        "provenance": provenance,
    }


def normalize_expense(responses: list[dict[str, Any]], *, engine: str = "textract") -> dict[str, Any]:
    """The normalized document (schemas/invoice.schema.json) for one analysed file.

    `responses` are the pages of one job in order: a single AnalyzeExpense response, or every
    GetExpenseAnalysis page up to the last NextToken. Raises ParseError for input that is not an expense
    response, TextractJobFailed for a failed job."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if not isinstance(responses, list) or not responses:
        raise ParseError("no Textract response given")
    for position, response in enumerate(responses, start=1):
        check_expense_response(response, where=f"response {position}")
    expenses = _collect(responses)
    invoices = [_invoice(group, engine) for group in _group_invoices(expenses)]
    mark_document_types(responses, invoices)  # "381" from a credit-note title, else None (domain/document_type.py)
    declared = [
        pages for r in responses
        if isinstance(pages := _dict(r.get("DocumentMetadata")).get("Pages"), int)
        and not isinstance(pages, bool)
    ]
    seen_pages = [p for e in expenses for p in e.pages()]
    page_count = max([*declared, *seen_pages, 0])
    return {
        "schema_version": SCHEMA_VERSION, "engine": engine, "page_count": page_count, "invoices": invoices,
    }


def summarize(normalized: dict[str, Any]) -> dict[str, Any]:
    """A few facts per invoice, small enough for a Step Functions state output whatever the document size."""
    invoices = _list(normalized.get("invoices"))
    return {
        "engine": normalized.get("engine"),
        "page_count": normalized.get("page_count"),
        "invoice_count": len(invoices),
        "invoices": [
            {
                "invoice_number": _short(invoice.get("invoice_number")),
                "vendor": _short(_dict(invoice.get("vendor")).get("name")),
                "invoice_date": invoice.get("invoice_date"),
                "total": invoice.get("total"),
                "currency": invoice.get("currency"),
                "line_items": len(_list(invoice.get("line_items"))),
            }
            for invoice in (_dict(i) for i in invoices[:MAX_SUMMARY_INVOICES])
        ],
        "truncated": len(invoices) > MAX_SUMMARY_INVOICES,
    }


def _short(text: Any, limit: int = 200) -> str | None:
    return text[:limit] if isinstance(text, str) else None
