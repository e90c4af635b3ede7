"""Who bills whom: the vendor's and the customer's names and addresses.

Nothing labels a vendor as reliably as "Invoice no" labels a number, so several weak rules vote, each with a
weight, and names that agree (equal, or one containing the other) add up:
- a seller section ("Verkäufer", "From:", "Sold by", "Service provider") and its "Name:" line or first line;
- the sender line of a windowed letter ("ACME GmbH - Street 1 - 12345 Town");
- the account holder of the bank details ("Kontoinhaber", "Titulaire du compte", "Account name");
- a company name with a legal form (GmbH, B.V., Ltd, Inc, SARL...), better at the top of the first page;
- the line right above a legal footer line (commercial register, share capital, managing directors);
- the most prominent short line at the top of the first page (a logo's text), titles and labels excluded.
A name matching a web or e-mail domain on the document ("www.qualityhosting.de") gains weight. Lines inside a
customer section ("Bill to", "Rechnungsempfänger", "Käufer") never count for the vendor.

The customer is the first line of a customer section, else of a delivery section ("Ship to"), else the
recipient in the address window under a sender line."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from invoice_pipeline.domain.document_type import is_credit_note_title

from invoice_local.engine import lexicon as lx
from invoice_local.engine.layout import Line, PageLayout, Segment, right_of
from invoice_local.engine.model import Box
from invoice_local.engine.trading_name import TradingName, find_trading_name
from invoice_local.engine.values import has_letters

_EMAIL_OR_URL = re.compile(r"@|https?://|www\.|\.(?:com|de|nl|fr|es|it|pt|be|at|ch|co\.uk|org|net|eu|io)\b",
                           re.IGNORECASE)
_DOMAIN = re.compile(r"(?:www\.|@|https?://)([a-z0-9-]+(?:\.[a-z0-9-]+)*)\.[a-z]{2,6}\b", re.IGNORECASE)
_SENDER_SEPARATORS = re.compile(r"\s[-–·•|]\s|\s{2,}[-–·•|]?")
_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}-?)?\d{4,5}\b")
_PHONE = re.compile(r"(?:tel|phone|fax|telefon|t\.|f\.)\b|\+\d", re.IGNORECASE)
TOP_BAND = 0.25  # the share of the first page where letterheads sit
FOOT_BAND = 0.12  # the share of a page, at its foot, where the issuer's legal small print sits
_STOP_NAME_CHARS = " ,;:-–|"
# A letterhead vote for a name set at 2.5 times the body's type size, or twice with a matching web or e-mail
# domain (see _prominent_votes for the weights).
_LOGO_WEIGHT = 0.55


@dataclass
class PartyText:
    name: str
    box: Box
    page: int
    confidence: float  # 0..100
    label: str | None = None
    label_box: Box | None = None


@dataclass
class Parties:
    vendor: PartyText | None = None
    vendor_address: PartyText | None = None
    customer: PartyText | None = None
    customer_address: PartyText | None = None


@dataclass
class _Block:
    heading: Segment
    lines: list[list[Segment]] = field(default_factory=list)
    inline: list[Segment] = field(default_factory=list)  # the rest of the heading's own segment


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", lx.fold(text))


_ATTENTION = re.compile(r"^(?:attn|attention|z\.\s?hd\.?|zu händen|c/o|à l'attention de)\s*:?\s*", re.IGNORECASE)


def _clean_name(text: str) -> str:
    words = _ATTENTION.sub("", text.strip()).split()
    while words and all(lx.is_invoice_word(t) for t in [words[-1]]):
        words.pop()  # "Amazon Web Services Invoice": the title is not part of the name
    while words and lx.is_invoice_word(words[0]):
        words.pop(0)
    return " ".join(words).strip(_STOP_NAME_CHARS)


def _blocks(layout: PageLayout, headings: frozenset[tuple[str, ...]]) -> list[_Block]:
    """Each heading with the lines under it, in its column, until a gap or the next heading."""
    out: list[_Block] = []
    unit = layout.text_height
    for line in layout.lines:
        for position, segment in enumerate(line.segments):
            n = lx.starts_with_heading(segment.text, headings)
            if n == 0:
                continue
            label_words = _words_for_tokens(segment, n)
            block = _Block(heading=segment, inline=[])
            if label_words < len(segment.words):
                # A value on the heading's own line follows a colon ("Sold By : ACME Ltd"); without one the
                # words are a phrase that merely starts like a heading ("CUSTOMER COPY").
                if not re.search(r"[:\-–]\s*$", " ".join(w.text for w in segment.words[:label_words])):
                    continue
                rest = segment.tail(label_words)
                if rest is not None and has_letters(rest.text):
                    block.inline = [rest]
            # The column runs to the next segment on the heading's line ("Bill To:   Ship To:").
            nxt = line.segments[position + 1] if position + 1 < len(line.segments) else None
            right_limit = nxt.box.left - 0.5 * unit if nxt is not None else float("inf")
            left_limit = segment.box.left - 1.5 * unit
            last_bottom = line.box.bottom
            for following in layout.lines[line.index + 1: line.index + 12]:
                if following.box.top - last_bottom > 2.6 * unit:
                    break
                members = [s for s in following.segments
                           if s.box.left >= left_limit and s.box.left < right_limit]
                if not members:
                    continue
                if any(_is_any_heading(s.text) for s in members):
                    break
                block.lines.append(members)
                last_bottom = following.box.bottom
            out.append(block)
    return out


def _words_for_tokens(segment: Segment, n: int) -> int:
    """How many words of the segment make up its first `n` label tokens."""
    for k in range(1, len(segment.words) + 1):
        if len(lx.tokens(" ".join(w.text for w in segment.words[:k]))) >= n:
            # Trailing punctuation words (":") still belong to the label.
            while k < len(segment.words) and not lx.tokens(segment.words[k].text) and \
                    not re.search(r"\w", segment.words[k].text):
                k += 1
            return k
    return len(segment.words)


def _is_any_heading(text: str) -> bool:
    return any(lx.heading_of(text, h) for h in (lx.SELLER_HEADINGS, lx.BUYER_HEADINGS, lx.SHIP_HEADINGS))


def _is_labelled(line: list[Segment]) -> bool:
    first = line[0].text.strip()
    return first.endswith(":") or bool(lx.classify_label(first))


def _block_name(block: _Block) -> tuple[Segment, str | None, Box | None] | None:
    """The name in a party block: its "Name:" line, else its first line that reads like a name."""
    if block.inline:
        return block.inline[0], None, None
    for line in block.lines:
        first = line[0]
        if lx.starts_with_heading(first.text, lx.NAME_LABELS) and len(lx.tokens(first.text)) <= 2:
            if len(line) > 1:
                return line[1], first.text, first.box
            rest = first.tail(_words_for_tokens(first, len(lx.tokens(first.text))))
            if rest is not None:
                return rest, first.text, first.box
    for line in block.lines:
        first = line[0]
        text = first.text.strip()
        if text.startswith("(") or _is_labelled(line) or not _name_like(text):
            continue
        return first, None, None
    return None


_EMAIL_OR_WEB = re.compile(r"@|https?://|www\.", re.IGNORECASE)


def _name_like(text: str) -> bool:
    # A bare domain can be a trading name ("Amazon.com"); an e-mail address or a web link is contact data.
    if not has_letters(text) or _EMAIL_OR_WEB.search(text) or _PHONE.search(text):
        return False
    if re.match(r"^\d", text.strip()):
        return False  # a street number or a postcode: an address line
    return len(text.split()) <= 8


_ADDRESS_LABELS = ("anschrift", "adresse", "address", "adres", "direccion", "indirizzo", "endereco")


def _block_address(block: _Block, name: Segment) -> Segment | None:
    """The lines after the name, up to the next labelled line: street, postcode and town."""
    lines: list[Segment] = []
    after_name = name.line_index == block.heading.line_index
    for line in block.lines:
        first = line[0]
        if first.line_index == name.line_index:
            after_name = True
            continue
        if not after_name:
            continue
        if lx.fold(first.text).startswith(_ADDRESS_LABELS) and len(line) > 1:
            lines.append(line[1])  # "Anschrift:   Hauptstraße 1"
            continue
        if _is_labelled(line) or _EMAIL_OR_URL.search(first.text) or _PHONE.search(first.text):
            if lines:
                break
            continue
        lines.append(first)
        if len(lines) >= 4:
            break
    if not lines:
        return None
    merged = Segment([w for s in lines for w in s.words], name.page, name.line_index)
    merged.text = "\n".join(s.text for s in lines)
    return merged


@dataclass
class _Vote:
    text: str
    segment: Segment
    weight: float
    rule: str
    label: str | None = None
    label_box: Box | None = None


def find_parties(layouts: list[PageLayout], excluded: set[int] | None = None) -> Parties:
    excluded = excluded or set()
    parties = Parties()
    if not layouts:
        return parties
    first = layouts[0]
    buyer_blocks = [b for layout in layouts[:2] for b in _receiver_blocks(layout, lx.BUYER_HEADINGS)]
    ship_blocks = [b for layout in layouts[:2] for b in _receiver_blocks(layout, lx.SHIP_HEADINGS)]
    buyer_ids = {id(s) for b in [*buyer_blocks, *ship_blocks] for line in b.lines for s in line}
    buyer_ids |= {id(s) for b in [*buyer_blocks, *ship_blocks] for s in b.inline}
    buyer_ids |= _beside_party_blocks(layouts[:2])

    votes: list[_Vote] = []
    for layout in layouts[:2]:
        for block in _blocks(layout, lx.SELLER_HEADINGS):
            found = _block_name(block)
            if found is not None:
                segment, label, label_box = found
                votes.append(_Vote(segment.text, segment, 0.95, "seller section",
                                   label or block.heading.text, label_box or block.heading.box))
    sender = _sender_line(first)
    if sender is not None:
        votes.append(_Vote(sender[0], sender[1], 0.8, "sender line"))
    for layout in layouts:
        for segment in layout.segments:
            if id(segment) in buyer_ids or id(segment) in excluded:
                continue
            holder = _account_holder(layout, segment)
            if holder is not None:
                # Weak on its own: the account may be a factoring company's or a parent's, not the seller's.
                votes.append(_Vote(holder[0].text, holder[0], 0.5, "account holder", holder[1].text, holder[1].box))
    votes.extend(_legal_form_votes(layouts, buyer_ids | excluded))
    votes.extend(_register_votes(layouts, buyer_ids | excluded))
    votes.extend(_footer_votes(layouts, buyer_ids | excluded))
    votes.extend(_prominent_votes(first, buyer_ids | excluded))

    customer_segment: Segment | None = None
    window = _address_window(first, sender[1]) if sender is not None else None
    if window is not None:
        # The window of a windowed envelope holds the recipient's address, under the sender line. A block
        # that says "Bill to" outranks it.
        customer_segment = window[0]
        parties.customer = PartyText(_clean_name(window[0].text), window[0].box, window[0].page, 70.0)
        if window[1] is not None:
            parties.customer_address = PartyText(window[1].text, window[1].box, window[1].page, 65.0)
    # Whoever the goods go to is the customer when no section names who is billed.
    for block in [*buyer_blocks, *ship_blocks]:
        found = _block_name(block)
        if found is not None:
            customer_segment = found[0]
            parties.customer = PartyText(_clean_name(found[0].text), found[0].box, found[0].page, 80.0,
                                         block.heading.text, block.heading.box)
            address = _block_address(block, found[0])
            if address is not None:
                parties.customer_address = PartyText(address.text, address.box, address.page, 75.0,
                                                     block.heading.text, block.heading.box)
            break

    vendor = _with_trading_name(_elect(votes, _domains(layouts), customer_segment),
                                find_trading_name(layouts[:2], buyer_ids | excluded))
    if vendor is not None:
        parties.vendor = vendor
        for layout in layouts[:2]:
            for block in _blocks(layout, lx.SELLER_HEADINGS):
                found = _block_name(block)
                if found is not None and _key(found[0].text) and _key(found[0].text) in _key(vendor.name):
                    address = _block_address(block, found[0])
                    if address is not None:
                        parties.vendor_address = PartyText(address.text, address.box, address.page, 75.0)
                    break
    return parties


def _with_trading_name(vendor: PartyText | None, statement: TradingName | None) -> PartyText | None:
    """The elected seller under its trading name, when a statement links that seller's name to one
    ("Acme Ltd trading as Widgets"): the trading name is the vendor (trading_name.py)."""
    if statement is None or vendor is None:
        return vendor
    key = _key(vendor.name)
    names = (_key(statement.legal), _key(statement.trade))
    if not key or not any(name and (name in key or key in name) for name in names):
        return vendor  # a statement about someone else (a parent, a partner)
    segment = statement.segment
    return PartyText(statement.trade, segment.box, segment.page, vendor.confidence)


def _receiver_blocks(layout: PageLayout, headings: frozenset[tuple[str, ...]]) -> list[_Block]:
    """Buyer or ship-to blocks, less those inside bank details: "Empfänger: ACME GmbH" over an IBAN names
    the payee of the account, not who is billed."""
    return [b for b in _blocks(layout, headings) if not _in_bank_details(layout, b)]


def _in_bank_details(layout: PageLayout, block: _Block) -> bool:
    index = block.heading.line_index
    near = [s for line in block.lines[:3] for s in line]
    near += [s for line in layout.lines[max(0, index - 1): index + 1] for s in line.segments]
    return any(set(lx.tokens(s.text)) & lx.BANK_WORDS for s in near)


def _beside_party_blocks(layouts: list[PageLayout]) -> set[int]:
    """Segments printed beside a labelled buyer or ship-to block, on its lines and in its type size: the
    addresses of a page are set side by side ("Rechnungsadresse" left of "Lieferadresse"), so an unlabelled
    block next to a labelled one is another address of the receiving side, not the seller's letterhead."""
    found: set[int] = set()
    for layout in layouts:
        for block in [*_receiver_blocks(layout, lx.BUYER_HEADINGS), *_receiver_blocks(layout, lx.SHIP_HEADINGS)]:
            if not block.lines or block.heading.box.top < 0.1 * layout.page.height:
                continue
            members = {id(s) for line in block.lines for s in line}
            limit = 1.25 * statistics.median(s.height for line in block.lines for s in line)
            first, last = block.heading.line_index, block.lines[-1][0].line_index
            for line in layout.lines[first: last + 1]:
                for segment in line.segments:
                    if id(segment) not in members and segment.height <= limit:
                        found.add(id(segment))
    return found


def _footer_votes(layouts: list[PageLayout], skip: set[int]) -> list[_Vote]:
    """A company name with a legal form in the small print at the foot of a page: the issuer's legal details."""
    votes: list[_Vote] = []
    for layout in layouts:
        for segment in layout.segments:
            if id(segment) in skip or segment.box.top < (1 - FOOT_BAND) * layout.page.height:
                continue
            text = segment.text.strip(_STOP_NAME_CHARS)
            if len(segment.words) > 8 or not lx.LEGAL_FORMS.search(text) or ":" in text or \
                    _EMAIL_OR_URL.search(text) or re.search(r"\d{3}", text) or lx.classify_label(text):
                continue
            votes.append(_Vote(_SENDER_SEPARATORS.split(text)[0].strip(_STOP_NAME_CHARS), segment, 0.6, "footer"))
    return votes


def _account_holder(layout: PageLayout, segment: Segment) -> tuple[Segment, Segment] | None:
    """(name, label) for "Kontoinhaber: ACME GmbH", also inside bank details run together on one line
    ("BRED BANQUE POPULAIRE – Titulaire du compte : NETPRESSE")."""
    words = segment.words
    for start in range(len(words)):
        if start > 0 and not re.search(r"[-–,;|:]$", words[start - 1].text):
            continue  # a label starts a segment or follows a separator, never mid-phrase
        rest = segment.tail(start)
        if rest is None:
            break
        n = lx.starts_with_heading(rest.text, lx.ACCOUNT_HOLDER_LABELS)
        if not n:
            continue
        cut = _words_for_tokens(rest, n)
        label = Segment(rest.words[:cut], segment.page, segment.line_index)
        value = rest.tail(cut) if start + cut < len(words) else next(iter(right_of(layout, segment)), None)
        if value is not None:
            kept = [w for w in value.words if w.text not in (":", "-", "–")] or value.words
            if len(kept) > 1 and kept[0].text.endswith(":") and len(kept[0].text) <= 5:
                kept = kept[1:]  # the end of the label ("Ten name van:", "Intestato a:")
            value = Segment(kept, value.page, value.line_index)
            if _name_like(value.text):
                return value, label
        return None
    return None


def _sender_line(layout: PageLayout) -> tuple[str, Segment] | None:
    """ "QualityHosting AG - Uferweg 40-42 - D-63571 Gelnhausen": the small return address of a windowed
    envelope, in the upper part of the first page."""
    for segment in layout.segments:
        if segment.box.top > 0.4 * layout.page.height:
            break
        parts = [p.strip() for p in _SENDER_SEPARATORS.split(segment.text) if p.strip()]
        if len(parts) < 3 or not _POSTCODE.search(" ".join(parts[1:])):
            continue
        name = parts[0]
        if has_letters(name) and not re.match(r"^\d", name) and not lx.classify_label(name):
            return name, segment
    return None


_SALUTATION = re.compile(
    r"^(?:firma|herrn?|frau|mr|mrs|ms|messrs|monsieur|madame|mme|m|dhr|mevr|sr|sra|sig|sigra|spett(?:\.le)?)\.?$",
    re.IGNORECASE,
)


def _address_window(layout: PageLayout, sender: Segment) -> tuple[Segment, Segment | None] | None:
    """(name, address) of the recipient printed under a sender line, aligned with it."""
    unit = layout.text_height
    lines: list[Segment] = []
    last_bottom = sender.box.bottom
    for line in layout.lines[sender.line_index + 1: sender.line_index + 9]:
        # The window may start a little below the sender line; inside it the lines follow closely.
        if line.box.top - last_bottom > (3 if lines else 8) * unit:
            break
        aligned = [s for s in line.segments if abs(s.box.left - sender.box.left) <= 2 * unit]
        if not aligned:
            continue
        lines.append(aligned[0])
        last_bottom = line.box.bottom
    lines = [s for s in lines if not _SALUTATION.match(s.text.strip())]
    if not lines or not _name_like(lines[0].text):
        return None
    rest = lines[1:5]
    if not rest:
        return lines[0], None
    address = Segment([w for s in rest for w in s.words], rest[0].page, rest[0].line_index)
    address.text = "\n".join(s.text for s in rest)
    return lines[0], address


def _legal_form_votes(layouts: list[PageLayout], skip: set[int]) -> list[_Vote]:
    votes: list[_Vote] = []
    for page_index, layout in enumerate(layouts[:2]):
        for segment in layout.segments:
            if id(segment) in skip or len(segment.words) > 8:
                continue
            text = segment.text
            if not lx.LEGAL_FORMS.search(text) or _EMAIL_OR_URL.search(text) or re.search(r"\d{3}", text):
                continue
            if ":" in text.rstrip(":") or lx.classify_label(text):
                continue
            name = _SENDER_SEPARATORS.split(text)[0].strip(_STOP_NAME_CHARS)
            if not has_letters(lx.LEGAL_FORMS.sub("", name)):
                continue  # a legal form alone ("S.L." cut off its name) names nobody
            top = page_index == 0 and segment.box.top < TOP_BAND * layout.page.height
            votes.append(_Vote(name, segment, 0.7 if top else 0.55, "legal form"))
    return votes


def _register_votes(layouts: list[PageLayout], skip: set[int]) -> list[_Vote]:
    """The name printed right above a legal footer line (register court, share capital, directors)."""
    votes: list[_Vote] = []
    for layout in layouts[:1]:
        unit = layout.text_height
        for line in layout.lines:
            for segment in line.segments:
                if not set(lx.tokens(segment.text)) & lx.REGISTER_WORDS:
                    continue
                above = _segment_above(layout, line, segment, unit)
                if above is None or id(above) in skip:
                    continue
                text = above.text.strip(_STOP_NAME_CHARS)
                if _name_like(text) and not set(lx.tokens(text)) & (lx.REGISTER_WORDS | lx.BANK_WORDS) and \
                        not lx.classify_label(text) and len(text.split()) <= 5:
                    votes.append(_Vote(text, above, 0.55, "legal footer"))
    return votes


def _segment_above(layout: PageLayout, line: Line, segment: Segment, unit: float) -> Segment | None:
    if line.index == 0:
        return None
    previous = layout.lines[line.index - 1]
    if segment.box.top - previous.box.bottom > 1.5 * unit:
        return None
    for candidate in previous.segments:
        if candidate.box.x_overlap(segment.box) > 0:
            return candidate
    return None


def _prominent_votes(layout: PageLayout, skip: set[int]) -> list[_Vote]:
    votes: list[_Vote] = []
    heights = [s.height for s in layout.segments]
    if not heights:
        return votes
    typical = statistics.median(heights)
    limit = TOP_BAND * layout.page.height
    rank = 0
    for segment in layout.segments:
        if segment.box.top > limit:
            break
        if id(segment) in skip:
            continue
        text = _clean_name(segment.text)
        if not text or not _name_like(text) or re.search(r"\d{2}", text) or lx.classify_label(segment.text):
            continue
        if _is_any_heading(text) or lx.heading_of(text, lx.NAME_LABELS) or len(text) < 3:
            continue
        if all(lx.is_invoice_word(t) for t in text.split()) or text.endswith(":"):
            continue
        size = min(2.0, max(0.0, segment.height / typical - 1.0))
        weight = 0.4 + 0.1 * size + (0.05 if rank == 0 else 0.0)
        votes.append(_Vote(text, segment, weight, "letterhead"))
        rank += 1
    return votes


def _letterhead_trading_name(groups: list[list[_Vote]], domains: set[str]) -> list[_Vote] | None:
    """A logo: the first name at the head of the first page, set far larger than the body ("Widgets" at 22 pt
    over 9 pt text). Where the legal name is printed too, in a sender line, the footer or the bank details
    ("Acme GmbH"), the logo is the trading name, and the trading name is the vendor (trading_name.py)."""
    logo = [g for g in groups if any(v.rule == "letterhead" and not is_credit_note_title(v.text) and (
        v.weight >= _LOGO_WEIGHT or (v.weight >= _LOGO_WEIGHT - 0.05 and _key(v.text) in domains)) for v in g)]
    return logo[0] if len(logo) == 1 else None


def _domains(layouts: list[PageLayout]) -> set[str]:
    found: set[str] = set()
    for layout in layouts:
        for segment in layout.segments:
            for match in _DOMAIN.finditer(segment.text):
                for part in match.group(1).split("."):
                    key = _key(part)
                    if len(key) >= 4 and key not in ("mail", "email", "gmail", "example", "info", "support"):
                        found.add(key)
    return found


def _elect(votes: list[_Vote], domains: set[str], customer: Segment | None) -> PartyText | None:
    customer_key = _key(customer.text) if customer is not None else None
    groups: list[list[_Vote]] = []
    for vote in votes:
        key = _key(vote.text)
        if len(key) < 2 or (customer_key and (key == customer_key)):
            continue
        for group in groups:
            other = _key(group[0].text)
            if key in other or other in key:
                group.append(vote)
                break
        else:
            groups.append([vote])
    if not groups:
        return None

    def score(group: list[_Vote]) -> float:
        best = max(v.weight for v in group)
        rules = {v.rule for v in group}
        key = _key(group[0].text)
        bonus = 0.1 * (len(rules) - 1)
        if any(d in key or (len(key) >= 4 and key in d) for d in domains):
            bonus += 0.15
        return best + min(bonus, 0.3)

    winner = _letterhead_trading_name(groups, domains) or max(groups, key=score)
    best = max(winner, key=lambda v: v.weight)
    return PartyText(_clean_name(best.text), best.segment.box, best.segment.page,
                     round(min(99.0, 100 * score(winner)), 2), best.label, best.label_box)
