"""Dates as printed on invoices, in several languages and orders, to `datetime.date`.

The hard part is 03/04/2020: the caller knows more about the document than the text does (its currency, the
other dates on it), so the ambiguity is settled by an explicit `day_first` hint and the rules here, never by
dateutil's defaults. Anything that is not a complete, real calendar date gives None rather than an exception:
a bad date is a validation finding, not a crash."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime

from dateutil import parser as dateutil_parser

from invoice_pipeline.domain.language import DAY_FIRST_LANGUAGES

__all__ = ["date_order", "infer_day_first", "month_from_name", "parse_date"]

# Full month names by language (English, German, French, Dutch, Spanish, Portuguese, Italian, plus the
# Nordic and Polish nominatives that differ). Accents are stripped before lookup, so "März" is "marz".
_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "januar", "janner", "janvier", "januari", "enero", "janeiro", "gennaio", "styczen"),
    2: ("february", "februar", "feber", "fevrier", "februari", "febrero", "fevereiro", "febbraio", "luty"),
    3: ("march", "marz", "maerz", "mars", "maart", "marzo", "marco", "marec", "marts"),
    4: ("april", "avril", "abril", "aprile", "kwiecien"),
    5: ("may", "mai", "mei", "mayo", "maio", "maggio", "maj"),
    6: ("june", "juni", "juin", "junio", "junho", "giugno", "czerwiec"),
    7: ("july", "juli", "juillet", "julio", "julho", "luglio", "lipiec"),
    8: ("august", "aout", "augustus", "agosto", "sierpien"),
    9: ("september", "septembre", "septiembre", "setiembre", "setembro", "settembre", "wrzesien"),
    10: ("october", "oktober", "octobre", "octubre", "outubro", "ottobre", "pazdziernik"),
    11: ("november", "novembre", "noviembre", "novembro", "listopad"),
    12: ("december", "dezember", "decembre", "diciembre", "dezembro", "dicembre", "grudzien"),
}
# Abbreviations that are not prefixes of a full name above.
_EXTRA_ABBREVIATIONS = {"mrt": 3, "mae": 3, "sept": 9, "okt": 10}
_MONTH_LOOKUP: dict[str, int] = {name: month for month, names in _MONTH_NAMES.items() for name in names}
_MONTH_LOOKUP.update(_EXTRA_ABBREVIATIONS)

_MONTH_WORD = r"([^\W\d_]{3,12})\.?"
_YEAR = r"(\d{4}|\d{2})(?!\d)"
_SEP = r"[\s.\-/,]*"
_PATTERNS_TEXTUAL = (
    # 26 March 2020, 1. März 2020, 01-Jan-2021, 12 de marzo de 2020, 7th of December 2019
    re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th|er|e|º|°)?\.?{_SEP}(?:(?:de|of)\s+)?{_MONTH_WORD}"
               rf"{_SEP}(?:de\s+)?{_YEAR}", re.IGNORECASE),
    # March 12, 2020; Dec 7 2019
    re.compile(
        rf"(?<![^\W\d_]){_MONTH_WORD}{_SEP}(\d{{1,2}})(?:st|nd|rd|th)?(?!\d){_SEP}{_YEAR}", re.IGNORECASE
    ),
)
_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_CJK = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
# YYYYMMDD as the whole text (e-invoice format 102, some ERPs); anywhere else eight digits are an id.
_COMPACT = re.compile(r"\s*((?:19|20|21)\d{2})(\d{2})(\d{2})\s*")
_NUMERIC = re.compile(r"(?<![\d.])(\d{1,2})\s?([./\-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})(?![\d])")

# Two different defaults expose any component dateutil had to invent: if the two results differ, the text did
# not hold a complete date.
_PROBE_DEFAULTS = (datetime(2001, 1, 1), datetime(2002, 2, 2))


def parse_date(text: str | None, *, day_first: bool | None = None) -> date | None:
    """The first complete date in `text`, or None.

    Numeric dates whose first two parts could both be a month are read with `day_first`; a part above 12
    settles the order by itself. Without a hint, dotted dates are day-first (that convention is never
    month-first) and slashed or dashed ones month-first. Two-digit years pivot at 70: 69 is 2069, 70 is
    1970."""
    if not text:
        return None
    cleaned = _prepare(text)
    found: list[tuple[int, date | None]] = []
    for match in _ISO.finditer(cleaned):
        found.append((match.start(), _make(int(match[1]), int(match[2]), int(match[3]))))
        break
    for match in _CJK.finditer(cleaned):
        found.append((match.start(), _make(int(match[1]), int(match[2]), int(match[3]))))
        break
    for pattern, month_group, day_group in ((_PATTERNS_TEXTUAL[0], 2, 1), (_PATTERNS_TEXTUAL[1], 1, 2)):
        for match in pattern.finditer(cleaned):
            month = month_from_name(match[month_group])
            if month is not None:
                found.append((match.start(), _make(_year(match[3]), month, int(match[day_group]))))
                break
    for match in _NUMERIC.finditer(cleaned):
        if _ISO.match(cleaned, match.start()):
            continue
        found.append((match.start(), _numeric(match, day_first)))
        break
    if found:
        return min(found, key=lambda item: item[0])[1]
    compact = _COMPACT.fullmatch(cleaned)
    if compact:
        return _make(int(compact[1]), int(compact[2]), int(compact[3]))
    return _fallback(cleaned, day_first)


def month_from_name(word: str) -> int | None:
    """Month number from a month name or abbreviation in a supported language ("Mär", "févr", "Sept")."""
    key = _fold(word).rstrip(".")
    if key in _MONTH_LOOKUP:
        return _MONTH_LOOKUP[key]
    if len(key) < 3:
        return None
    months = {month for name, month in _MONTH_LOOKUP.items() if name.startswith(key)}
    return months.pop() if len(months) == 1 else None


def infer_day_first(texts: Iterable[str | None]) -> bool | None:
    """What the numeric dates of one document say about their order: True when one of them can only be
    day-first (31/12/2020), False when one can only be month-first (12/31/2020), None when none tells or they
    contradict each other. Only a real calendar date counts: 12.34.56 (a phone number) says nothing."""
    evidence: set[bool] = set()
    for text in texts:
        if not text:
            continue
        for match in _NUMERIC.finditer(_prepare(text)):
            first, second, year = int(match[1]), int(match[3]), _year(match[4])
            if first > 12 >= second >= 1 and _make(year, second, first) is not None:
                evidence.add(True)
            elif second > 12 >= first >= 1 and _make(year, first, second) is not None:
                evidence.add(False)
    return evidence.pop() if len(evidence) == 1 else None


def date_order(
    date_texts: Iterable[str | None],
    other_texts: Iterable[str | None] = (),
    *,
    language: str | None = None,
    currency: str | None = None,
) -> bool | None:
    """Whether the ambiguous numeric dates of one document (03/04/2025) are day first: the `day_first` hint
    for `parse_date`. In order, the first that tells:
    1. the document's dates themselves (issue and due date): one that reads only one way (25/03/2025) settles
       the order of all of them;
    2. any other date printed on the page (delivery, order date, a line's service period);
    3. the language: German, French, Dutch, Spanish, Italian and Portuguese write the day first, always;
    4. for English (or an unknown language), the currency: US dollars month first, any other day first (a UK
       or Irish supplier, an English invoice from the Continent).
    None when nothing tells: parse_date's own convention then applies."""
    for texts in (date_texts, other_texts):
        found = infer_day_first(texts)
        if found is not None:
            return found
    if language in DAY_FIRST_LANGUAGES:
        return True
    if currency is not None:
        return currency != "USD"
    return None


def _prepare(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"[\u2010-\u2015\u2212]", "-", text)


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded.replace("ß", "ss").replace("ł", "l")


def _year(text: str) -> int:
    value = int(text)
    if len(text) == 2:
        return 2000 + value if value < 70 else 1900 + value
    return value


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _numeric(match: re.Match[str], day_first: bool | None) -> date | None:
    first, separator, second, year = int(match[1]), match[2], int(match[3]), _year(match[4])
    if first > 12 and second > 12:
        return None
    if first > 12:
        order_day_first = True
    elif second > 12:
        order_day_first = False
    elif day_first is not None:
        order_day_first = day_first
    else:
        order_day_first = separator == "."
    day, month = (first, second) if order_day_first else (second, first)
    return _make(year, month, day)


def _fallback(text: str, day_first: bool | None) -> date | None:
    # dateutil catches layouts the patterns above do not list; it runs only when they found nothing, and only
    # a result that needed no invented component counts.
    if not re.search(r"\d", text) or not re.search(r"[^\W\d_]|[-/.]", text):
        return None
    results = []
    for default in _PROBE_DEFAULTS:
        try:
            parsed = dateutil_parser.parse(
                text, default=default, dayfirst=bool(day_first), fuzzy=True, ignoretz=True
            )
        except (ValueError, OverflowError, TypeError):
            return None
        results.append(parsed.date())
    return results[0] if results[0] == results[1] else None
