"""Exact money handling: amounts as Decimal from text in any common locale, canonical decimal strings for the
normalized invoice, and ISO 4217 currency codes from the symbols and codes printed next to amounts.

Amounts are never floats anywhere in the pipeline: a float cannot hold 0.1 exactly, and an invoice total
that is off by a cent fails the arithmetic check downstream."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

__all__ = [
    "ISO_4217",
    "CurrencyMatch",
    "currency_from_text",
    "find_currency",
    "format_amount",
    "infer_decimal_separator",
    "parse_amount",
]

# ISO 4217 active codes, plus codes withdrawn since 2020 that still appear on archived invoices (HRK, ANG,
# CUC, SLL, ZWL). XTS (testing) and XXX (no currency) are left out: neither is a valid invoice currency.
_ISO_4217_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
    CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
    GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
    KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
    SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED
    VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL
"""
ISO_4217: frozenset[str] = frozenset(_ISO_4217_CODES.split())

# Codes that are also ordinary words ("ALL PRICES IN EUR", "TOP", "PEN", "CUP"): only trusted right next to a
# number, otherwise the first capitalised word of a sentence would set the currency.
_WORDLIKE_CODES = frozenset(
    {"ALL", "AMD", "BAM", "BOB", "CUP", "GEL", "LAK", "MAD", "MOP", "PEN", "SOS", "TOP", "TRY"}
)

# Markers other than ISO codes. Longer markers are tried first so "US$" and "CA$" win over "$".
# `specific` is False where one symbol serves several currencies and we pick the usual reading by convention.
_SYMBOLS: tuple[tuple[str, str, bool], ...] = (
    ("US$", "USD", True), ("AUS$", "AUD", True), ("AU$", "AUD", True), ("CA$", "CAD", True),
    ("CAN$", "CAD", True), ("NZ$", "NZD", True), ("HK$", "HKD", True), ("SG$", "SGD", True),
    ("NT$", "TWD", True),
    ("MX$", "MXN", True), ("A$", "AUD", True), ("C$", "CAD", True), ("R$", "BRL", True), ("S$", "SGD", True),
    ("€", "EUR", True), ("£", "GBP", True), ("₹", "INR", True), ("₩", "KRW", True), ("₽", "RUB", True),
    ("₺", "TRY", True), ("₪", "ILS", True), ("₱", "PHP", True), ("₫", "VND", True), ("฿", "THB", True),
    ("₴", "UAH", True), ("₦", "NGN", True), ("₡", "CRC", True), ("₸", "KZT", True), ("₼", "AZN", True),
    ("₾", "GEL", True), ("円", "JPY", True), ("元", "CNY", True),
    ("¥", "JPY", False), ("$", "USD", False),
)
# Word-like markers: matched as whole tokens, case-insensitively.
_WORD_MARKERS: tuple[tuple[str, str, bool], ...] = (
    (r"zł", "PLN", True), (r"kč", "CZK", True), (r"sfr\.?", "CHF", True), (r"rmb", "CNY", True),
    (r"euros?", "EUR", True), (r"eur", "EUR", True), (r"rs\.?", "INR", False), (r"kr\.?", "SEK", False),
)


class CurrencyMatch(NamedTuple):
    code: str
    marker: str
    specific: bool  # False when the marker is shared by several currencies ("$", "kr", "¥")


def _prepare(text: str) -> str:
    # NFKC folds full-width digits and odd spaces; the dash and apostrophe variants OCR produces are unified.
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[\u2212\u2012\u2013\u2014\u2010\u2011]", "-", text)
    text = re.sub(r"[\u2019\u2018\u02bc`´]", "'", text)
    return re.sub(r"[\u00a0\u2000-\u200b\u202f\u205f\u3000]", " ", text)


# A number core: digit groups joined by one separator each. A space joins groups only before exactly three
# digits ("1 234,56" but not the "2 12.50" of "qty price"); "14. 50" is OCR splitting a decimal.
_CORE = re.compile(r"\d+(?:(?:[.,']|[.,] (?=\d{1,2}(?!\d))| (?=\d{3}(?!\d)))\d+)*")
# "300-00": OCR read the decimal point as a dash. Only a trailing pair of digits qualifies.
_DASH_DECIMAL = re.compile(r"(?<![\d.,'])(\d{1,3}(?:[,' ]\d{3})*|\d+)-(\d{2})(?![\d.,])")
_NEGATIVE_PREFIX = re.compile(r"-\s*(?:[A-Za-z]{1,3}\.?|[^\w\s-]{1,3})?\s*$")
_NEGATIVE_SUFFIX = re.compile(r"\s*-(?!\s*\d)")
_OPEN_PAREN = re.compile(r"\(\s*[^\d()]{0,5}$")
_CLOSE_PAREN = re.compile(r"[^\d()]{0,5}\)")


def parse_amount(text: str | None, *, decimal_hint: str | None = None) -> Decimal | None:
    """The first amount in `text` as an exact Decimal, or None when there is no number.

    Separators: apostrophes and spaces group thousands; with both "." and "," present the last one is the
    decimal point; a separator repeated is a thousands separator; a lone separator is the decimal point unless
    exactly three digits follow it, in which case it groups thousands, except when `decimal_hint` names it as
    the decimal separator, the integer part is 0, or the integer part already has more than three digits.
    Negative: a leading minus (also after a currency marker), a trailing minus, or parentheses."""
    if text is None:
        return None
    if decimal_hint not in (None, ".", ","):
        raise ValueError(f"decimal_hint must be '.', ',' or None, not {decimal_hint!r}")
    cleaned = _DASH_DECIMAL.sub(r"\1.\2", _prepare(text))
    match = _CORE.search(cleaned)
    if match is None:
        return None
    value = _decimal_from_core(match.group(0).replace(" ", ""), decimal_hint)
    if value is None:
        return None
    before, after = cleaned[: match.start()], cleaned[match.end():]
    negative = (
        bool(_NEGATIVE_PREFIX.search(before))
        or bool(_NEGATIVE_SUFFIX.match(after))
        or bool(_OPEN_PAREN.search(before) and _CLOSE_PAREN.match(after))
    )
    return -value if negative else value


def _decimal_from_core(core: str, decimal_hint: str | None) -> Decimal | None:
    core = core.replace("'", "")
    separators = [c for c in core if c in ".,"]
    if not separators:
        return _to_decimal(core, "")
    if len(set(separators)) == 2:
        decimal_sep = separators[-1]
        integer, _, fraction = core.rpartition(decimal_sep)
        return _to_decimal(re.sub(r"[.,]", "", integer), fraction)
    sep = separators[0]
    groups = core.split(sep)
    if len(groups) > 2:
        # A repeated separator groups thousands; a short last group means OCR lost the other separator kind.
        if all(len(g) == 3 for g in groups[1:]):
            return _to_decimal("".join(groups), "")
        return _to_decimal("".join(groups[:-1]), groups[-1])
    integer, fraction = groups
    if len(fraction) != 3:
        return _to_decimal(integer, fraction)
    thousands = sep != decimal_hint if decimal_hint is not None else True
    if integer.lstrip("0") == "" or len(integer) > 3:
        thousands = False
    if thousands:
        return _to_decimal(integer + fraction, "")
    return _to_decimal(integer, fraction)


def _to_decimal(integer: str, fraction: str) -> Decimal | None:
    text = (integer or "0") + (f".{fraction}" if fraction else "")
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def format_amount(d: Decimal) -> str:
    """Canonical decimal string: no exponent, no grouping, the scale kept ("6231.09", "-12.00", "1000")."""
    if not d.is_finite():
        raise ValueError(f"not a finite amount: {d}")
    if d.is_zero():
        d = abs(d)  # "-0.00" is a formatting accident, not a credit
    return f"{d:f}"


def infer_decimal_separator(texts: Iterable[str | None]) -> str | None:
    """The decimal separator a document uses, from the amounts that show it unambiguously (both separators
    present, or a lone separator followed by one or two digits); None when none tells or they disagree."""
    votes = {".": 0, ",": 0}
    for text in texts:
        if not text:
            continue
        for core in _CORE.findall(_prepare(text)):
            seps = [c for c in core if c in ".,"]
            if len(set(seps)) == 2:
                votes[seps[-1]] += 1
            elif len(seps) == 1 and re.search(r"[.,] ?\d{1,2}$", core):
                votes[seps[0]] += 1
    if votes["."] == votes[","]:
        return None
    return "." if votes["."] > votes[","] else ","


_CODE_TOKEN = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")
_SYMBOL_PATTERN = re.compile(
    "|".join(
        (r"(?<![A-Za-z])" if sym[0].isalpha() else "") + re.escape(sym)
        for sym, _, _ in sorted(_SYMBOLS, key=lambda s: -len(s[0]))
    )
)
_SYMBOL_TABLE = {sym: (code, specific) for sym, code, specific in _SYMBOLS}
_WORD_PATTERNS = tuple(
    (re.compile(rf"(?<![^\W\d_]){pattern}(?![^\W\d_])", re.IGNORECASE), code, specific)
    for pattern, code, specific in _WORD_MARKERS
)


def find_currency(text: str | None) -> CurrencyMatch | None:
    """The currency a text names, with the marker that named it. ISO codes win over symbols ("CAD $5" is CAD),
    specific symbols over shared ones ("US$" over "$")."""
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    for match in _CODE_TOKEN.finditer(text):
        code = match.group(1)
        if code not in ISO_4217:
            continue
        if code in _WORDLIKE_CODES and not _next_to_digit(text, match.start(), match.end()):
            continue
        return CurrencyMatch(code, code, True)
    symbol = _SYMBOL_PATTERN.search(text)
    if symbol is not None:
        code, specific = _SYMBOL_TABLE[symbol.group(0)]
        return CurrencyMatch(code, symbol.group(0), specific)
    for pattern, code, specific in _WORD_PATTERNS:
        word = pattern.search(text)
        if word is not None and (specific or _next_to_digit(text, word.start(), word.end())):
            return CurrencyMatch(code, word.group(0), specific)
    return None


def currency_from_text(text: str | None) -> str | None:
    """ISO 4217 code from the symbols or codes in `text` ("$" reads USD, "A$" AUD, "€" EUR), or None."""
    found = find_currency(text)
    return found.code if found else None


def _next_to_digit(text: str, start: int, end: int) -> bool:
    return bool(re.search(r"\d\s*$", text[:start]) or re.match(r"\s*[-(]?\s*\d", text[end:]))
