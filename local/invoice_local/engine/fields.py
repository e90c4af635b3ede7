"""Key fields from label/value pairs: invoice number and dates, PO number, VAT id and the sums.

Every segment that starts with a known label (lexicon.py) is paired with a value of the label's kind found,
in this order: in the rest of the segment ("Invoice no: 42"), in the next segments of its line ("Total ....
5.00"), or right under it ("Invoice Date" over "03/20/2023"). Each pairing is a candidate; `select` keeps one
per field. Header fields go to the strongest label, then the earliest one. Sums are chosen together: the
combination of subtotal, tax and total that adds up wins over labels alone, which is what separates
"Subtotaal 717,97" (a gross sum on that invoice) from "Exclusief BTW 593,36"."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from invoice_pipeline.domain.money import find_currency

from invoice_local.engine import lexicon as lx
from invoice_local.engine.layout import PageLayout, Segment, below, right_of
from invoice_local.engine.model import Box, Word
from invoice_local.engine.values import Value, find_amounts, find_date, find_identifier, find_vat_id, has_letters

INLINE, RIGHT, BELOW = "inline", "right", "below"
MAX_LABEL_WORDS = 8
# How many words may stand between an inline label and its value ("Invoice No : # 42": two).
INLINE_SLACK = 2
# How many words may follow an inline value ("Nr. 4711 vom 05.03.2018": two); more make it a sentence.
INLINE_TAIL = 4
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Candidate:
    field: str
    value: Value
    label: str | None
    label_box: Box | None
    page: int
    strength: int
    method: str
    inferred: bool = False  # read under another field's label (an amount due standing in for the total)

    @property
    def top(self) -> float:
        return self.value.box.top


def _kind(field: str) -> str:
    if field in lx.AMOUNT_FIELDS:
        return "amount"
    if field in lx.DATE_FIELDS:
        return "date"
    if field == lx.VENDOR_VAT:
        return "vat"
    return "id"


def _parse(kind: str, words: list[Word], *, strength: int) -> Value | None:
    if not words:
        return None
    if kind == "amount":
        amounts = [a for a in find_amounts(words) if not _inside_date(a, words)]
        # A neighbour holding several sums is a table row ("1 | 278.61 | 40.39 | 319.00"): its last sum is the
        # row's total. A bare integer only counts after a label that is fully understood.
        amounts = [a for a in amounts if a.quality == 2 or strength >= 3]
        return amounts[-1] if amounts else None
    if kind == "date":
        return find_date(words)
    if kind == "vat":
        return find_vat_id(words)
    return find_identifier(words)


def _inside_date(amount: Value, words: list[Word]) -> bool:
    """ "DUE ON August 3, 2014": the 3 and the 2014 are a date, not a sum."""
    first = words.index(amount.words[0])
    for start in range(max(0, first - 3), first + 1):
        date = find_date(words[start:], max_words=5)
        if date is not None and any(w in date.words for w in amount.words):
            return True
    return False


def _label_prefixes(segment: Segment) -> dict[str, tuple[int, int, int]]:
    """field -> (best strength, shortest prefix with it, longest prefix of any strength) over the prefixes of
    the segment that read as a label of that field ("Totale" is a strong label, "Totale documento" a weaker
    one: the label is the strong word, but it spans the whole segment)."""
    found: dict[str, tuple[int, int, int]] = {}
    words = segment.words
    for k in range(1, min(len(words), MAX_LABEL_WORDS) + 1):
        label = " ".join(w.text for w in words[:k])
        for match in lx.classify_label(label):
            current = found.get(match.field)
            if current is None or match.strength > current[0]:
                found[match.field] = (match.strength, k, k)
            else:
                found[match.field] = (current[0], current[1], k)
    if not found:
        return found
    # The reading that takes in the most words is the label: "TOTAL AMOUNT DUE" is not a "TOTAL" followed by
    # a value, "Invoice Date" not an "Invoice" numbered "Date".
    widest = max(longest for _, _, longest in found.values())
    return {f: v for f, v in found.items() if v[2] == widest}


def _right_value(layout: PageLayout, segment: Segment, kind: str, strength: int) -> Value | None:
    """The value in the segments right of a label, up to the next piece of text. For sums the last one of a
    run wins: in "Total | 1 | 278.61 | 40.39 | 319.00" or "Tax 15% on $ 112.90 | $ 16.94" the rightmost
    column holds the row's total."""
    found: Value | None = None
    for neighbour in right_of(layout, segment):
        value = _parse(kind, neighbour.words, strength=strength)
        if value is None or (kind == "amount" and _letters_outside(neighbour, value)):
            if has_letters(neighbour.text):
                break  # the next label: what lies beyond it is its value
            continue
        found = value
        if kind != "amount":
            break
    return found


def _letters_outside(segment: Segment, value: Value) -> bool:
    """Whether the segment says more than its value ("Subtotaal" next to a sum is another label)."""
    rest = [w.text for w in segment.words if w not in value.words]
    return any(has_letters(t) and find_currency(t) is None for t in rest)


def _below_value(layout: PageLayout, segment: Segment, kind: str, strength: int) -> Value | None:
    for candidate in below(layout, segment):
        if not _aligned(segment.box, candidate.box, layout.text_height):
            continue
        value = _parse(kind, candidate.words, strength=strength)
        if value is not None and len(candidate.words) <= len(value.words) + 3:
            return value
        if has_letters(candidate.text):
            return None  # another label, or text: the column holds no value for this label
    return None


def _aligned(label: Box, value: Box, unit: float) -> bool:
    """A value under a label shares its left edge, its right edge or its middle (table cells align either
    way); a long sentence under it only overlaps it."""
    tolerance = 1.5 * unit
    return (
        abs(label.left - value.left) <= tolerance
        or abs(label.right - value.right) <= tolerance
        or abs(label.cx - value.cx) <= tolerance
        or (value.left >= label.left - tolerance and value.right <= label.right + tolerance)
    )


def find_candidates(layouts: Iterable[PageLayout], *, exclude: set[int] | None = None) -> list[Candidate]:
    """Every label/value pairing on the pages. `exclude` holds ids of segments not to read labels from (item
    table headers and rows: a "Tax" column header is not the document's tax)."""
    skip = exclude or set()
    found: list[Candidate] = []
    for layout in layouts:
        for segment in layout.segments:
            if id(segment) not in skip:
                found.extend(_segment_candidates(layout, segment))
    return found


def _segment_candidates(layout: PageLayout, segment: Segment) -> list[Candidate]:
    out: list[Candidate] = []
    words = segment.words
    for field, (strength, shortest, longest) in _label_prefixes(segment).items():
        kind = _kind(field)
        # The whole segment reads as a label when the words after the label are only noise to it (a rate, a
        # base amount, a currency): its value then lies to the right, or inline when nothing is there.
        whole = longest == len(words)
        value: Value | None = None
        method, label_words = INLINE, words[:shortest]
        if whole:
            value = _right_value(layout, segment, kind, strength)
            method, label_words = RIGHT, words
        if value is None and shortest < len(words):
            value = _parse(kind, words[shortest:], strength=strength)
            method, label_words = INLINE, words[:shortest]
            if value is not None and (
                words.index(value.words[0]) - shortest > INLINE_SLACK
                or len(words) - 1 - words.index(value.words[-1]) > INLINE_TAIL
            ):
                value = None  # inside a sentence ("Zahlbar innerhalb 30 Tagen bis ..."): not a label's value
        if value is None and whole and (kind != "amount" or strength >= 3):
            value = _below_value(layout, segment, kind, strength)
            method, label_words = BELOW, words
        if value is None:
            continue
        label_text = " ".join(w.text for w in label_words)
        out.append(Candidate(field, value, label_text, Box.union(w.box for w in label_words), layout.page.number,
                             strength, method))
        if field == lx.INVOICE_ID and method == INLINE:
            out.extend(_date_after_number(layout, segment, value))
    return out


def _date_after_number(layout: PageLayout, segment: Segment, number: Value) -> list[Candidate]:
    """ "Rechnung Nr. 4711 vom 05.03.2018", "Invoice No. 12 dated 1/2/2020": the issue date printed after
    the number, in the same segment or the next ones of its line (OCR often cuts such a title in pieces)."""
    words = segment.words[segment.words.index(number.words[-1]) + 1:]
    for neighbour in right_of(layout, segment)[:2]:
        words = [*words, *neighbour.words]
    if len(words) < 2:
        return []
    introducer = lx.fold(words[0].text).strip(".:,")
    if introducer not in lx.DATE_INTRODUCERS:
        return []
    value = find_date(words[1:])
    if value is None or value.words[0] is not words[1]:
        return []
    return [Candidate(lx.INVOICE_DATE, value, words[0].text, words[0].box, layout.page.number, 2, INLINE)]


# --- Choosing one value per field ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Chosen:
    candidate: Candidate
    confidence: float  # 0..100, for the Type


_STRENGTH_CONFIDENCE = {3: 95.0, 2: 85.0, 1: 70.0}
UNLABELLED_CONFIDENCE = 55.0  # a value found by its shape alone


def _header_key(c: Candidate) -> tuple[Any, ...]:
    quality = c.value.quality
    return (c.strength, quality, c.method != BELOW, -c.page, -c.top)


def select(candidates: list[Candidate]) -> dict[str, Chosen]:
    chosen: dict[str, Chosen] = {}
    for field in (lx.INVOICE_ID, lx.INVOICE_DATE, lx.DUE_DATE, lx.PO_NUMBER, lx.VENDOR_VAT):
        pool = [c for c in candidates if c.field == field]
        labelled = [c for c in pool if c.label is not None]
        pool = labelled or pool
        if field == lx.PO_NUMBER and lx.INVOICE_ID in chosen:
            number = chosen[lx.INVOICE_ID].candidate.value.parsed
            pool = [c for c in pool if c.value.parsed != number]
        if pool:
            best = max(pool, key=_header_key)
            chosen[field] = Chosen(best, _STRENGTH_CONFIDENCE[best.strength] if best.label else UNLABELLED_CONFIDENCE)
    if lx.DUE_DATE in chosen and lx.INVOICE_DATE in chosen:
        due, issued = chosen[lx.DUE_DATE].candidate, chosen[lx.INVOICE_DATE].candidate
        if due.value.words == issued.value.words:
            # One printed date read under two labels: it belongs to the stronger one.
            del chosen[lx.DUE_DATE if due.strength < issued.strength else lx.INVOICE_DATE]
    chosen.update(_select_sums(candidates))
    return chosen


def unlabelled_dates(layouts: Iterable[PageLayout], *, exclude: set[int] | None = None) -> list[Candidate]:
    """Dates printed on their own, without a label (receipts print the sale's date that way). They stand in
    for the invoice date only when no label names one; the first in reading order is taken."""
    skip = exclude or set()
    found: list[Candidate] = []
    for layout in layouts:
        for segment in layout.segments:
            if id(segment) in skip or lx.classify_label(segment.text):
                continue
            value = find_date(segment.words)
            # Eight bare digits are a date only where a label says so; alone they are any number.
            if value is not None and len(segment.words) <= len(value.words) + 2 and \
                    not re.fullmatch(r"\d+", value.text):
                found.append(Candidate(lx.INVOICE_DATE, value, None, None, layout.page.number, 1, INLINE))
                return found
    return found


def _sum_score(c: Candidate) -> float:
    method = {INLINE: 2.0, RIGHT: 2.0, BELOW: 0.0}[c.method]
    # Sums close a document: among equals the later one (the final total, not a carried-over page sum) wins.
    return c.strength * 10 + method + c.value.quality * 2 + c.page * 0.05 + c.top / 1e5


def _best_by_value(pool: list[Candidate]) -> list[tuple[Decimal, Candidate, float]]:
    """Distinct values with their best candidate; agreeing candidates add a little support."""
    by_value: dict[Decimal, list[Candidate]] = {}
    for c in pool:
        assert isinstance(c.value.parsed, Decimal)
        by_value.setdefault(c.value.parsed.quantize(CENT), []).append(c)
    ranked = []
    for amount, group in by_value.items():
        best = max(group, key=_sum_score)
        ranked.append((amount, best, _sum_score(best) + min(len(group) - 1, 3)))
    return sorted(ranked, key=lambda item: -item[2])[:6]


def _select_sums(candidates: list[Candidate]) -> dict[str, Chosen]:
    pools = {f: _best_by_value([c for c in candidates if c.field == f]) for f in lx.AMOUNT_FIELDS}
    # "Total 6169.40 / Tax 61.69 / Grand Total 6231.09": a total below the best one may be the subtotal; it
    # competes as one, weaker than any labelled subtotal.
    if pools[lx.TOTAL]:
        top = max(pools[lx.TOTAL], key=lambda item: item[2])[0]
        subtotals = {amount for amount, _, _ in pools[lx.SUBTOTAL]}
        pools[lx.SUBTOTAL] = [*pools[lx.SUBTOTAL], *(
            (amount, replace(c, field=lx.SUBTOTAL, inferred=True), score - 12)
            for amount, c, score in pools[lx.TOTAL] if abs(amount) < abs(top) and amount not in subtotals
        )]
    chosen: dict[str, Chosen] = {}
    # The amount due is the total whenever nothing was paid in advance: it stands in when no total is printed,
    # or when the printed one does not add up and the amount due does (an OCR misreading of the total).
    labelled = {amount for amount, _, _ in pools[lx.TOTAL]}
    totals = [*pools[lx.TOTAL], *(
        (amount, replace(c, field=lx.TOTAL, inferred=True), score - (5 if not labelled else 12))
        for amount, c, score in pools[lx.AMOUNT_DUE] if amount not in labelled
    )]
    none: list[tuple[Decimal | None, Candidate | None, float]] = [(None, None, 0.0)]
    best: tuple[float, Any, Any, Any] | None = None
    for (t_amt, t_c, t_s), (s_amt, s_c, s_s), (x_amt, x_c, x_s) in itertools.product(
        [*totals] or none, [*pools[lx.SUBTOTAL], *none], [*pools[lx.TAX], *none]
    ):
        if t_c is not None and s_c is not None and t_c.value.words == s_c.value.words:
            continue  # one printed sum cannot be both
        score = t_s + s_s + x_s
        if t_amt is not None and s_amt is not None:
            if x_amt is not None and abs(s_amt + x_amt - t_amt) <= CENT:
                score += 40  # subtotal + tax = total: the three confirm each other
            elif x_amt is None and s_amt == t_amt:
                score += 5
            elif abs(s_amt) > abs(t_amt) and (x_amt is None or x_amt >= 0):
                score -= 15  # a net sum above the gross one is a misreading
        if x_amt is not None and t_amt is not None and abs(x_amt) >= abs(t_amt) and t_amt != 0:
            score -= 15
        if best is None or score > best[0]:
            best = (score, t_c, s_c, x_c)
    if best is not None:
        score, t_c, s_c, x_c = best
        consistent = score >= 40
        for field, c in ((lx.TOTAL, t_c), (lx.SUBTOTAL, s_c), (lx.TAX, x_c)):
            if c is not None:
                confidence = _STRENGTH_CONFIDENCE[c.strength]
                # Confirmed by the arithmetic: more sure; read under another field's label: less.
                confident = consistent and not c.inferred
                chosen[field] = Chosen(c, min(99.0, confidence + 4) if confident else confidence - 5)
    for field in (lx.AMOUNT_DUE, lx.DISCOUNT):
        if pools[field]:
            _, c, _ = pools[field][0]
            chosen[field] = Chosen(c, _STRENGTH_CONFIDENCE[c.strength])
    return chosen
