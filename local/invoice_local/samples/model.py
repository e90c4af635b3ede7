"""What a sample invoice is (parties, lines, exact arithmetic) and how a locale prints its numbers and dates.

Deliberately independent of invoice_pipeline.domain: these documents are the oracle the pipeline is measured
against, so they must not share the formatting or rounding code they are meant to check."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")


def money(value: Decimal) -> Decimal:
    """Round to cents, half up: what invoicing software and tax authorities use (not Python's banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def plain(value: Decimal) -> str:
    """A decimal string without exponent or trailing zeros past the point ("7.5", "12"), for quantities and rates.

    Decimal.normalize() alone would turn 10 into "1E+1"."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def grouped(value: Decimal, places: int, *, group: str, decimal: str) -> str:
    """The value rounded half-up to `places`, its thousands joined by `group`, its fraction after `decimal`."""
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    whole, _, frac = format(abs(q), "f").partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = group.join(groups) + (decimal + frac if frac else "")
    return ("-" if q < 0 else "") + text


@dataclass(frozen=True)
class Locale:
    """How one market prints an invoice: separators, currency placement, date order, and the words used."""

    tag: str  # BCP 47, written into the PDF's /Lang
    currency: str  # ISO 4217, what the labels record
    group: str  # thousands separator ("," "." "\u00a0" "'")
    decimal: str
    symbol: str  # what is printed next to amounts: "$", "€", "£", or an ISO code when that is the custom ("CHF")
    symbol_first: bool
    symbol_space: bool
    date_pattern: str  # str.format over d, m, y, month (English month name)
    words: Mapping[str, str] = field(default_factory=dict)

    def number(self, value: Decimal, places: int = 2) -> str:
        return grouped(value, places, group=self.group, decimal=self.decimal)

    def quantity(self, value: Decimal) -> str:
        """As few decimals as the value needs: "3", "7,5"."""
        text = plain(value)
        places = len(text.partition(".")[2])
        return self.number(value, places)

    def amount(self, value: Decimal) -> str:
        return self.number(value, 2)

    def money(self, value: Decimal) -> str:
        sep = "\u00a0" if self.symbol_space else ""  # no-break: a symbol never ends up alone on a line
        num = self.amount(value)
        return f"{self.symbol}{sep}{num}" if self.symbol_first else f"{num}{sep}{self.symbol}"

    def rate(self, rate: Decimal) -> str:
        """A tax rate as printed: 0.19 -> "19", 0.081 -> "8.1" (Swiss) / "8,1"."""
        return self.quantity(rate * 100)

    def date(self, value: date) -> str:
        return self.date_pattern.format(d=value.day, m=value.month, y=value.year, month=MONTHS_EN[value.month - 1])

    def word(self, key: str, **kwargs: Any) -> str:
        return self.words[key].format(**kwargs)


@dataclass(frozen=True)
class Party:
    name: str
    address: tuple[str, ...]
    tax_id: str | None = None  # printed as is, with its label ("USt-IdNr.: DE…")
    contact: tuple[str, ...] = ()


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: Decimal
    unit_price: Decimal
    unit: str = ""  # printed after the quantity ("Std.", "h"); not part of the label

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)


@dataclass(frozen=True)
class Layout:
    """The small ways the documents differ from each other, so a parser cannot lean on one template."""

    font: str = "Helvetica"
    accent: tuple[int, int, int] = (40, 40, 40)
    title_left: bool = False  # German DIN 5008 letter: title below the address window instead of top-right
    sender_line: bool = False  # DIN 5008 return-address line above the recipient
    meta_stacked: bool = False  # label above value, instead of label left / value right
    table_filled: bool = False  # coloured header and zebra rows, instead of rules
    position_column: bool = False
    symbols_in_table: bool = False  # "$1,250.00" in every cell (US habit) instead of bare numbers
    logo: bool = False


@dataclass(frozen=True)
class Invoice:
    file: str
    locale: Locale
    layout: Layout
    vendor: Party
    customer: Party
    number: str
    issue_date: date
    due_date: date
    tax_rate: Decimal
    lines: tuple[LineItem, ...]
    extra_meta: tuple[tuple[str, str], ...] = ()  # customer no., PO, delivery date: realistic distractors
    terms: str = ""
    footer: tuple[tuple[str, ...], ...] = ()  # columns of small print at the foot of every page

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def tax(self) -> Decimal:
        return money(self.subtotal * self.tax_rate)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.tax

    def label(self) -> dict[str, Any]:
        """The row for labels.jsonl, in the shared data set's format (decimal strings, ISO dates)."""
        return {
            "file": self.file,
            "source": "generated",
            "vendor": self.vendor.name,
            "invoice_number": self.number,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "currency": self.locale.currency,
            "subtotal": str(self.subtotal),
            "tax": str(self.tax),
            "total": str(self.total),
            "n_line_items": len(self.lines),
            "line_items": [
                {
                    "description": line.description,
                    "quantity": plain(line.quantity),
                    "unit_price": str(line.unit_price),
                    "amount": str(line.amount),
                }
                for line in self.lines
            ],
        }
