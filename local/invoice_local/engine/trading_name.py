"""A trading name stated beside the legal name: "Acme Ltd trading as Widgets", "Widgets - a brand of Acme GmbH",
"Acme B.V. h.o.d.n. Widgets".

Where both are printed, the vendor is the trading name: the name the seller presents itself under, on its
letterhead and in its customers' books (the labels of the shared set follow it: "Flipkart", sold by "WS Retail
Services Pvt. Ltd."). Found here is only an explicit statement linking the two; parties.py applies it when the
statement is about the seller it elected (the legal or the trading name of the statement is that seller)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from invoice_local.engine.layout import PageLayout, Segment

# "<legal> trading as <trade>": the trading name follows the phrase.
_TRADE_AFTER = (
    r"trading as", r"t/a", r"d/b/a", r"dba", r"doing business as", r"handelnd (?:unter|als)",
    r"firmierend (?:unter|als)", r"h\.\s?o\.\s?d\.\s?n\.?", r"handelend onder de naam", r"nom commercial",
    r"exer[cç]ant sous (?:le nom(?: commercial)?|l'enseigne)", r"nombre comercial", r"nome commerciale",
    r"nome comercial",
)
# "<trade> - a brand of <legal>": the legal name follows the phrase.
_LEGAL_AFTER = (
    r"(?:is )?a (?:brand|trading name|trading style|division|business name) of",
    r"(?:ist )?eine? (?:marke|handelsmarke|geschäftsbereich|handelsname) (?:der|des|von)",
    r"(?:est )?une (?:marque|enseigne|division) (?:de la|du|de|d')",
    r"(?:is )?een (?:merk|handelsnaam|divisie) van", r"(?:es )?una (?:marca|división) de(?:l)?",
    r"(?:è )?un (?:marchio|brand) (?:di|della|del)", r"(?:é )?uma marca d[aeo]",
)
_EDGE = r"[\s,;:()\-–—|·]*"
_PATTERNS = (
    (re.compile(rf"^(?P<legal>.+?){_EDGE}\b(?:{'|'.join(_TRADE_AFTER)})(?:\s|:)+(?P<trade>.+)$", re.IGNORECASE),),
    (re.compile(rf"^(?P<trade>.+?){_EDGE}\b(?:{'|'.join(_LEGAL_AFTER)})(?:\s|')+(?P<legal>.+)$", re.IGNORECASE),),
)
_MAX_NAME_WORDS = 6


@dataclass(frozen=True)
class TradingName:
    trade: str
    legal: str
    segment: Segment


def _name(text: str) -> str | None:
    name = text.strip(" \t,;:()-–—|·\"'“”«»")
    words = name.split()
    if words and words[-1].count(".") == 1 and words[-1].endswith("."):
        name = name[:-1]  # a sentence's full stop, not "B.V." or "S.r.l."
    if not words or len(words) > _MAX_NAME_WORDS or not any(c.isalpha() for c in name):
        return None
    return name


def read_statement(text: str) -> tuple[str, str] | None:
    """(trading name, legal name) stated by one line of text, or None."""
    for (pattern,) in _PATTERNS:
        match = pattern.match(text.strip())
        if match is None:
            continue
        trade, legal = _name(match["trade"]), _name(match["legal"])
        if trade is not None and legal is not None and trade.casefold() != legal.casefold():
            return trade, legal
    return None


def find_trading_name(layouts: Iterable[PageLayout], skip: set[int]) -> TradingName | None:
    """The first statement of a trading name on the document, outside the segments in `skip` (the buyer's
    and ship-to blocks: a customer's own "trading as" names the customer)."""
    for layout in layouts:
        for segment in layout.segments:
            if id(segment) in skip:
                continue
            found = read_statement(segment.text)
            if found is not None:
                return TradingName(found[0], found[1], segment)
    return None
