"""A varied invoice per seed: market, parties, layout and sums all drawn from the seed, for measuring how the
local engine generalizes (seeds.py splits tuning from held-out seeds).

Each document mixes the layouts that fool a parser: several party blocks (seller, buyer, ship-to with its own
label), bank details with an account holder (often a factoring company, not the seller), GLN, supplier and
customer numbers, a contact person, price notes under item lines ("Bruttopreis : 0,0205"), header fields in
table cells (the label in one cell, the value under or beside it), number labels other than "invoice",
sum chains with discounts and charges ending in the amount due, a carried total at the foot of the first page
of a long invoice, credit notes, day-first dates with a day of 12 or less (some with no other date that tells the order,
some billed in US dollars by a Continental supplier), and a trading name in the letterhead
with the legal name in the footer, often with a statement linking the two ("Acme Ltd trading as Widgets").
Deterministic: the same seed gives the same document and label."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from invoice_local.samples import vocab as v
from invoice_local.samples.model import grouped

CENT = Decimal("0.01")


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Company:
    brand: str
    legal: str
    street: str
    town: str
    tax_id: str
    trading: str | None = None  # a trading name unlike the legal name, printed as the letterhead

    @property
    def shown(self) -> str:
        """The name of the letterhead: the trading name, else the brand."""
        return self.trading or self.brand


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal
    # ("Bruttopreis", 0.0205, 4): a price note printed under the description ("Bruttopreis : 0,0205")
    price_note: tuple[str, Decimal, int] | None = None

    @property
    def amount(self) -> Decimal:
        return _money(self.quantity * self.unit_price)


@dataclass
class Varied:
    seed: int
    market: v.Market
    words: dict[str, str]  # one pick per vocabulary key
    vendor: Company
    buyer: Company
    ship_to: Company | None
    holder: str | None  # the bank account holder as printed (the vendor's legal name, or a factoring company)
    contact: str | None
    number: str
    issue: date
    due: date
    delivery: date | None
    lines: list[Line]
    tax_rate: Decimal
    discount_rate: Decimal | None
    charges: Decimal | None
    credit: bool
    layout: dict[str, Any] = field(default_factory=dict)
    meta: list[tuple[str, str]] = field(default_factory=list)

    # -- sums ----------------------------------------------------------------------------------------------
    @property
    def goods(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def discount(self) -> Decimal:
        return _money(self.goods * self.discount_rate / 100) if self.discount_rate else Decimal("0.00")

    @property
    def net(self) -> Decimal:
        return self.goods - self.discount + (self.charges or Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return _money(self.net * self.tax_rate / 100)

    @property
    def total(self) -> Decimal:
        return self.net + self.tax

    # -- printing ------------------------------------------------------------------------------------------
    def num(self, value: Decimal, places: int = 2) -> str:
        return grouped(value, places, group=self.market.group, decimal=self.market.decimal)

    def money(self, value: Decimal) -> str:
        m = self.market
        sep = "" if m.symbol in "$£" else "\u00a0"
        return f"{m.symbol}{sep}{self.num(value)}" if m.symbol_first else f"{self.num(value)}{sep}{m.symbol}"

    def qty(self, value: Decimal) -> str:
        text = format(value.normalize(), "f")
        places = len(text.partition(".")[2])
        return self.num(value, places)

    def date(self, value: date) -> str:
        month = v.MONTHS[self.market.lang][value.month - 1]
        return str(self.layout["date_pattern"]).format(d=value.day, m=value.month, y=value.year, month=month)

    def w(self, key: str, **kwargs: Any) -> str:
        return self.words[key].format(**kwargs)

    def label(self) -> dict[str, Any]:
        return {
            "file": f"varied-{self.seed}.pdf", "source": "generated-varied", "seed": self.seed,
            "vendor": self.vendor.trading or self.vendor.legal, "invoice_number": self.number,
            "issue_date": self.issue.isoformat(),
            "due_date": self.due.isoformat(), "currency": self.market.currency, "subtotal": str(self.net),
            "tax": str(self.tax), "total": str(self.total), "n_line_items": len(self.lines),
            "document_type": "credit_note" if self.credit else "invoice",
        }


# --- Drawing one document -----------------------------------------------------------------------------------
def _brand(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(v.BRAND_HEADS) + rng.choice(v.BRAND_TAILS)
        key = name.lower()
        if not any(key in t or t in key for t in taken):
            taken.add(key)
            return name


def _company(rng: random.Random, market: v.Market, taken: set[str]) -> Company:
    brand = _brand(rng, taken)
    trade = rng.choice(v.TRADES[market.lang])
    form = rng.choice(v.LEGAL_FORMS[market.tag])
    legal = f"{trade} {brand} {form}" if market.lang in ("fr", "es", "it", "pt") and rng.random() < 0.5 else \
        f"{brand} {trade} {form}"
    street = rng.choice(v.STREETS[market.lang]).format(n=rng.randint(1, 180))
    town = rng.choice(v.TOWNS[market.tag]).format(
        z5=rng.randint(10000, 99999), z4=rng.randint(1000, 9999), z3=rng.randint(100, 999),
        z2=f"{rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
        z1=rng.randint(1, 28))
    country = market.tag[-2:]
    tax_id = {"US": f"EIN {rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}",
              "GB": f"VAT Reg. No. GB {rng.randint(100, 999)} {rng.randint(1000, 9999)} {rng.randint(10, 99)}"}.get(
        country, f"{'CHE' if country == 'CH' else country}{rng.randint(100000000, 999999999)}")
    if country not in ("US", "GB"):
        tax_id = {"de": "USt-IdNr.: ", "fr": "N° TVA : ", "nl": "BTW-nr.: ", "es": "CIF: ", "it": "P.IVA ",
                  "pt": "NIF: ", "en": "VAT No. "}[market.lang] + tax_id
    return Company(brand, legal, street, town, tax_id)


def _number(rng: random.Random, issue: date) -> str:
    pattern = rng.choice(("{p}-{y}-{n5}", "{n6}", "{p}{y}{n4}", "{y}/{n4}", "{p} {n5}", "{n4}-{n2}", "{p}{n6}"))
    return pattern.format(p=rng.choice(("INV", "RE", "F", "FA", "FT", "R", "A", "CN", "DOC")), y=issue.year,
                          n2=rng.randint(10, 99), n4=rng.randint(1000, 9999), n5=rng.randint(10000, 99999),
                          n6=rng.randint(100000, 999999))


def _issue(rng: random.Random) -> date:
    day = date(2023, 1, 2) + timedelta(days=rng.randrange(0, 900))
    if rng.random() < 0.5:  # day and month both 12 or less: read either way, only the context tells
        day = date(day.year, rng.randint(1, 12), rng.randint(1, 12))
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _lines(rng: random.Random, words: dict[str, str], market: v.Market, count: int) -> list[Line]:
    out = []
    for description in rng.sample(list(v.ITEMS[market.lang]), count):
        quantity = Decimal(rng.choice(("1", "2", "3", "5", "10", "12", "25", "100", "2.5", "7.5")))
        price = Decimal(rng.randint(50, rng.choice((2000, 20000, 90000)))).scaleb(-2)
        note: tuple[str, Decimal, int] | None = None
        if rng.random() < 0.25:
            if rng.random() < 0.4:  # "0,0205": a price per piece with four places
                note = (words["gross_price"], Decimal(rng.randint(100, 999)).scaleb(-4), 4)
            else:
                note = (words["gross_price"], price * Decimal(rng.choice(("1.1", "1.25", "1.4"))), 2)
        out.append(Line(description, quantity, price, note))
    return out


def build(seed: int) -> Varied:
    rng = random.Random(f"varied:{seed}")
    market = rng.choice(v.MARKETS)
    credit = rng.random() < 0.12
    words = {key: rng.choice(choices) for key, choices in v.WORDS[market.lang].items()}
    if credit:
        words["title"], words["number"] = words["credit_title"], words["credit_number"]
    taken: set[str] = set()
    vendor = _company(rng, market, taken)
    buyer = _company(rng, market, taken)
    ship_to = None
    if rng.random() < 0.45:
        ship_to = buyer if rng.random() < 0.3 else _company(rng, market, taken)
    holder_roll = rng.random()
    holder = vendor.legal if holder_roll < 0.55 else \
        f"{_brand(rng, taken)} {v.FACTORING[market.lang]} {rng.choice(v.LEGAL_FORMS[market.tag])}" \
        if holder_roll < 0.8 else None
    contact = f"{rng.choice(v.FIRST_NAMES)} {rng.choice(v.LAST_NAMES)}" if rng.random() < 0.5 else None
    issue = _issue(rng)
    due = issue + timedelta(days=rng.choice((10, 14, 21, 30, 45, 60)))
    delivery = issue - timedelta(days=rng.randint(1, 9)) if rng.random() < 0.4 else None
    long_invoice = rng.random() < 0.15
    count = rng.randint(26, 38) if long_invoice else rng.randint(1, 9)
    items = _lines(rng, words, market, min(count, len(v.ITEMS[market.lang])))
    while len(items) < count:  # long invoices repeat items with other quantities
        items.append(_lines(rng, words, market, 1)[0])
    doc = Varied(
        seed=seed, market=market, words=words, vendor=vendor, buyer=buyer, ship_to=ship_to, holder=holder,
        contact=contact, number=_number(rng, issue), issue=issue, due=due, delivery=delivery, lines=items,
        tax_rate=Decimal(rng.choice(("19", "20", "21", "22", "23", "10", "7", "8.1", "7.5", "6"))),
        discount_rate=Decimal(rng.choice(("2", "3", "5", "10"))) if rng.random() < 0.3 else None,
        charges=Decimal(rng.randint(490, 8900)).scaleb(-2) if rng.random() < 0.3 else None, credit=credit,
    )
    doc.layout = {
        "date_pattern": rng.choice(market.date_patterns),
        "letterhead": rng.choice(("left", "right", "brand")),  # brand: trading name big, legal name in the footer
        "sender_line": rng.random() < 0.35,
        "buyer_heading": rng.random() < 0.75,
        "seller_heading": rng.random() < 0.15,
        "meta": rng.choice(("pairs", "stacked", "table", "cells", "title_line")),
        "amount_due_line": rng.random() < 0.35,
        "position_column": rng.random() < 0.4,
        "font": rng.choice(("Helvetica", "Helvetica", "Times")),
        "gln": rng.random() < 0.35,
        "footer_bank": rng.random() < 0.7,
    }
    _ambiguous_dates(doc, random.Random(f"varied-dates:{seed}"))
    _trading_name(doc, random.Random(f"varied-trading:{seed}"), taken)
    meta: list[tuple[str, str]] = []
    if rng.random() < 0.6:
        meta.append((words["customer_no"], str(rng.randint(10000, 99999))))
    if rng.random() < 0.3:
        meta.append((words["supplier_no"], str(rng.randint(1000, 999999))))
    if rng.random() < 0.35:
        meta.append((words["order_no"], f"{rng.choice(('PO', 'B', ''))}{rng.randint(10000, 999999)}"))
    if doc.delivery is not None:
        meta.append((words["delivery"], doc.date(doc.delivery)))
    if doc.layout["gln"]:
        meta.append(("GLN", str(rng.randint(4000000000000, 4099999999999))))
    if contact is not None:
        meta.append((words["contact"], contact))
    rng.shuffle(meta)
    doc.meta = meta
    return doc


def _ambiguous_dates(doc: Varied, rng: random.Random) -> None:
    """Some invoices whose every printed date reads both ways (03/04/2025, due 03/05/2025, no delivery date),
    in the numeric form of their market: only the language tells the order. Continental ones among them bill
    in US dollars, whose currency alone would say month first. A stream of its own, so the other draws of a
    seed stay as they were."""
    if doc.issue.day > 12 or rng.random() >= 0.35:
        return
    doc.layout["date_pattern"] = doc.market.date_patterns[0]
    months = rng.choice((1, 2))
    month = doc.issue.month + months
    doc.due = date(doc.issue.year + (month - 1) // 12, (month - 1) % 12 + 1, doc.issue.day)
    doc.delivery = None
    if doc.market.lang != "en" and rng.random() < 0.5:
        doc.market = replace(doc.market, currency="USD", symbol="USD", symbol_first=False)


def _trading_name(doc: Varied, rng: random.Random, taken: set[str]) -> None:
    """Some sellers trade under a name unlike their legal one: the trading name is the letterhead, and the
    legal name is printed in the footer and, for most, in a statement linking the two ("Acme Ltd trading as
    Widgets", "Widgets - a brand of Acme GmbH"). The vendor is then the trading name (the label's convention,
    as the shared set's "Flipkart" sold by "WS Retail Services Pvt. Ltd.")."""
    if rng.random() >= 0.2:
        return
    doc.vendor = replace(doc.vendor, trading=_brand(rng, taken))
    doc.layout["letterhead"] = "brand"
    doc.layout["trading"] = rng.choice(("top", "footer", "logo"))  # where the statement is; logo: none
    doc.layout["trading_as"] = rng.choice(v.TRADING_AS[doc.market.lang])


def write_set(out_dir: Path, seeds: Iterable[int]) -> Path:
    """Write varied-SEED.pdf for every seed and labels.jsonl beside them; returns the labels file. A file that
    exists with the same bytes is left alone, so a repeated eval does not rewrite the set."""
    from invoice_local.samples.varied_render import render_varied

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in seeds:
        doc = build(seed)
        data = render_varied(doc)
        path = out_dir / f"varied-{seed}.pdf"
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
        rows.append(json.dumps(doc.label(), ensure_ascii=False))
    labels = out_dir / "labels.jsonl"
    labels.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    return labels
