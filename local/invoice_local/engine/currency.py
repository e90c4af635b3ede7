"""The document's currency: Textract reports a Currency code with the sums, so the engine decides one per
invoice from everything the page says about it (see `find_currency_code`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from invoice_pipeline.domain.money import find_currency

from invoice_local.engine import lexicon as lx
from invoice_local.engine.fields import Candidate
from invoice_local.engine.layout import PageLayout, right_of

_EUROZONE = frozenset({"AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT",
                       "NL", "PT", "SI", "SK"})
_IBAN = re.compile(r"\b([A-Z]{2})\d{2} ?(?:[0-9A-Z]{4} ?){2,7}[0-9A-Z]{1,4}\b")


@dataclass(frozen=True)
class CurrencyGuess:
    code: str
    confidence: float  # 0..100


def find_currency_code(layouts: list[PageLayout], candidates: list[Candidate]) -> CurrencyGuess | None:
    """The document's currency, by weighted votes: a "Currency: EUR" label, then the markers printed with the
    sums, then any marker next to a number, then currency names written out, and last the country of the IBAN
    (a euro-zone account bills in euros far more often than not)."""
    votes: dict[str, float] = {}

    def vote(code: str | None, weight: float) -> None:
        if code:
            votes[code] = votes.get(code, 0.0) + weight

    for layout in layouts:
        for segment in layout.segments:
            if lx.starts_with_heading(segment.text, lx.CURRENCY_LABELS):
                found = find_currency(" ".join(w.text for w in segment.words[1:]))
                if found is None:
                    for neighbour in right_of(layout, segment)[:1]:
                        found = find_currency(neighbour.text)
                vote(found.code if found else None, 20.0)
    for c in candidates:
        if c.field in lx.AMOUNT_FIELDS:
            found = find_currency(c.value.text) or find_currency(c.label or "")
            vote(found.code if found else None, 3.0 if found and found.specific else 1.5)
    for layout in layouts:
        for segment in layout.segments:
            text = segment.text
            if re.search(r"\d", text):
                found = find_currency(text)
                if found is not None and _marker_next_to_number(text, found.marker):
                    vote(found.code, 1.0 if found.specific else 0.5)
            folded = lx.fold(text)
            for pattern, code in lx.CURRENCY_NAMES:
                if pattern.search(folded):
                    vote(code, 2.0)
    if not votes:
        for layout in layouts:
            for segment in layout.segments:
                match = _IBAN.search(segment.text.upper())
                if match and match.group(1) in _EUROZONE:
                    vote("EUR", 0.5)
    if not votes:
        return None
    code = max(votes, key=lambda k: votes[k])
    share = votes[code] / sum(votes.values())
    strength = min(1.0, votes[code] / 6)
    return CurrencyGuess(code, round(40 + 55 * share * strength, 2))


def _marker_next_to_number(text: str, marker: str) -> bool:
    escaped = re.escape(marker)
    return re.search(rf"{escaped}\s*[-(]?\d|\d\s*{escaped}", text) is not None
