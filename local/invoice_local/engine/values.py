"""Finding a value of the right kind among a few words: an amount, a date or an identifier.

The engine hands the shared parser raw text, as Textract does ("$ 42.00", "7. Mai 2014"), and lets
`normalize_expense` turn it into decimals and ISO dates with the whole document's context (decimal separator,
day-first). Here we only decide *which* words hold the value, and check that they do parse, so a label is
never paired with a neighbour of the wrong kind (a tax rate for a tax amount, a date for an invoice number)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from invoice_pipeline.domain.dates import parse_date
from invoice_pipeline.domain.money import find_currency, parse_amount

from invoice_local.engine.model import Box, Word


@dataclass(frozen=True)
class Value:
    text: str  # what was printed, as Textract would return it
    words: tuple[Word, ...]
    parsed: Decimal | date | str
    quality: int  # 2: unmistakable (an amount with cents or a currency, a complete date), 1: plausible

    @property
    def box(self) -> Box:
        return Box.union(w.box for w in self.words)

    @property
    def confidence(self) -> float:
        return min(w.confidence for w in self.words)


# One printed number, possibly with its sign, parentheses and a currency glued on ("-5,00", "(12.50)", "€3.50",
# "4,24€", "EUR12").
_NUMBER_WORD = re.compile(
    r"^[(\-\u2212+]?(?:[A-Z]{3}|[€$£¥₹]|US\$|Rs\.?)?[(\-\u2212]?\d[\d.,']*[)\-]?(?:[€$£¥₹]|[A-Z]{3})?[)\-]?$"
)
_CURRENCY_WORD = re.compile(r"^(?:[A-Z]{3}|[€$£¥₹]|US\$|Rs\.?|EUR|eur|euro|Euro)$")
_DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")
_CENTS = re.compile(r"[.,]\d{2}(?!\d)")
_SIGN_WORD = re.compile(r"^[\-\u2212]$")


def find_amounts(words: list[Word]) -> list[Value]:
    """Every amount among `words`, left to right. Percentages, dates and long identifiers are not amounts;
    a currency marker printed as its own word ("$ 42.00", "56,02 €") is kept with the number."""
    found: list[Value] = []
    i = 0
    while i < len(words):
        word = words[i]
        text = word.text.strip()
        nxt = words[i + 1].text.strip() if i + 1 < len(words) else ""
        if not _NUMBER_WORD.match(text) or "%" in text or nxt.startswith("%") or _DATE_LIKE.match(text):
            i += 1
            continue
        digits = re.sub(r"\D", "", text)
        if len(digits) > 13:
            i += 1  # an IBAN fragment, a GTIN, an order number: no invoice sum has 14 digits
            continue
        start, end = i, i + 1
        # "1 234,56" printed with a real space: the next word is exactly three digits (and cents).
        while end < len(words) and re.fullmatch(r"\d{3}(?:[.,]\d{1,2})?", words[end].text) and \
                re.fullmatch(r"[(\-]?\d{1,3}", words[end - 1].text):
            end += 1
        if start > 0 and (_CURRENCY_WORD.match(words[start - 1].text) or _SIGN_WORD.match(words[start - 1].text)):
            start -= 1
        if end < len(words) and _CURRENCY_WORD.match(words[end].text):
            end += 1
        span = words[start:end]
        raw = " ".join(w.text for w in span)
        amount = parse_amount(raw)
        if amount is None:
            i += 1
            continue
        has_currency = find_currency(raw) is not None
        quality = 2 if (_CENTS.search(raw) or has_currency) else 1
        found.append(Value(raw, tuple(span), amount, quality))
        i = end
    return found


def find_date(words: list[Word], *, max_words: int = 5) -> Value | None:
    """The first complete date among `words` (the shortest run of words that reads as one)."""
    for start in range(len(words)):
        for length in range(1, min(max_words, len(words) - start) + 1):
            span = words[start:start + length]
            raw = " ".join(w.text for w in span)
            if not re.search(r"\d", raw):
                continue
            parsed = parse_date(raw)
            if parsed is None or not 1900 <= parsed.year <= 2100:
                continue
            if length > 1 and parse_date(" ".join(w.text for w in span[1:])) == parsed:
                break  # the date starts further right: it is found from a later start, without this word
            return Value(raw.strip(" ,;"), tuple(span), parsed, 2)
    return None


_ID_LEAD = re.compile(r"^(?:[#:№.\-]+|no\.?|nr\.?|n[°º]\.?|num\.?|number|nummer|numero|número)$", re.IGNORECASE)
_ID_STRIP = "#:№,;. "


def find_identifier(words: list[Word]) -> Value | None:
    """An invoice or order number: the first word after any "No." / "#" / ":" that holds a digit and is not
    a date or a sum."""
    for index, word in enumerate(words[:4]):
        text = word.text.strip()
        if _ID_LEAD.match(text):
            continue
        token = text.strip(_ID_STRIP)
        if token.startswith("#"):
            token = token.lstrip("#")
        used: tuple[Word, ...] = (word,)
        following = words[index + 1].text.strip(_ID_STRIP) if index + 1 < len(words) else ""
        if re.fullmatch(r"[A-Z]{1,4}", token) and re.match(r"\d", following):
            # A series and its number ("FT 2024/31", "RE 1001"): one identifier printed in two words.
            token, used = f"{token} {following}", (word, words[index + 1])
        if not token or not re.search(r"\d", token) or len(token) > 40:
            return None
        if _DATE_LIKE.match(token) and parse_date(token) is not None:
            return None
        if re.fullmatch(r"[\d.,]+", token) and _CENTS.search(token) and token.count(".") + token.count(",") == 1:
            return None  # "12.50" is a sum
        if "%" in token:
            return None
        return Value(token, used, token, 2 if index == 0 else 1)
    return None


_VAT_ID = re.compile(r"\b([A-Z]{2}) ?((?:[0-9A-Z] ?){8,13})\b")


def find_vat_id(words: list[Word]) -> Value | None:
    text = " ".join(w.text for w in words)
    match = _VAT_ID.search(text)
    if match is None or not re.search(r"\d{6}", match.group(0).replace(" ", "")):
        return None
    value = match.group(0).strip()
    return Value(value, tuple(words), value.replace(" ", ""), 2)


def has_letters(text: str) -> bool:
    return re.search(r"[^\W\d_]", text) is not None
