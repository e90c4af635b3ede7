"""The duplicate-invoice control: the same invoice arriving again from other bytes (a scan of a PDF, a vendor's
re-send) is held for review instead of being stored as a second payable.

Pure: the keys an invoice is looked up by, and the rule that decides whether an earlier invoice is a possible
duplicate of a new one, and of which tier. The lookup runs in Persist's transaction (adapters/duplicates.py).

Keys, computed the same way on both sides of every comparison (a key is only ever compared with another key
made by the same function, so a folding applied to one side is applied to the other):

- number_key: the invoice number with case, spaces, punctuation and invisible characters (soft hyphen, zero-
  width characters, bidi marks: Unicode category Cf) ignored, Unicode compatibility forms folded (NFKC:
  full-width digits, ligatures), accents dropped, letters that look like Latin ones in Cyrillic and Greek read as
  the Latin letter, the OCR look-alikes O/0 and I/l/1 read as the digit, and leading zeros of every run of
  digits dropped. "INV-0012", "inv 12", "ＩＮＶ００１２" and "INV-OO12" have one key.
- seller_tax_key: the seller's tax id folded the same way, without dropping zeros (a tax id is a fixed-width
  code).
- seller_name_key: the seller's name folded the same way, with legal-form suffixes dropped (GmbH, GmbH & Co.
  KG, Ltd, Inc., S.A.R.L., B.V., ...: see LEGAL_FORMS), because one vendor writes "Acme Ltd" on its invoice and
  "ACME LIMITED" in its letterhead, and OCR reads either.

Same seller: when both invoices have a tax id, the tax ids decide (two companies may share a name, one company
never has two VAT ids on one invoice); when either lacks one (OCR often misses it on a scan that the PDF's text
layer has), the names decide.

Tiers, for the same seller and the same document kind (credit notes are compared only with credit notes):
- STRONG: the same number and the same total;
- WEAK: the same total and the same invoice date, and another number (a re-issued invoice, a misread number).
The total is compared as an amount (100.0 = 100.00), without the currency: OCR misses or infers the currency
differently from one rendering to another, and the same seller, number and amount in two currencies is still
worth a look."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

__all__ = [
    "CREDIT_NOTE_TYPES",
    "ISSUE_CODE",
    "LEGAL_FORMS",
    "LEGAL_FORM_SEQUENCES",
    "DuplicateReview",
    "DuplicateTier",
    "Keys",
    "amount_key",
    "is_credit_note",
    "keys_of",
    "number_key",
    "same_seller",
    "seller_name_key",
    "tax_id_key",
    "tier_of",
    "without_duplicate_issue",
]

# The validation issue (domain/validation.py RULES) that holds an invoice for review.
ISSUE_CODE = "POSSIBLE_DUPLICATE"

# UNTDID 1001 credit-note codes (the list beside domain/einvoice/model.py DOCUMENT_TYPES). A missing type (OCR
# cannot tell) counts as an invoice.
CREDIT_NOTE_TYPES: frozenset[str] = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458",
                                               "532"})


class DuplicateTier(StrEnum):
    """How strongly a new invoice matches an earlier one (invoices.duplicate_tier)."""

    STRONG = "strong"  # same seller, number and total
    WEAK = "weak"  # same seller, total and date; another number


class DuplicateReview(StrEnum):
    """What a reviewer decided about a possible duplicate (invoices.duplicate_review; NULL while pending)."""

    CLEARED = "cleared"  # not a duplicate: the hold is lifted
    CONFIRMED = "confirmed"  # a duplicate: the invoice is rejected


# Legal-form suffixes, as tokens after folding (dots, apostrophes and slashes removed, so "S.A.R.L." is "sarl"
# and "A/S" is "as"). Only trailing tokens are dropped, repeatedly ("GmbH & Co. KG": kg, co, gmbh), and never
# the whole name.
LEGAL_FORMS: frozenset[str] = frozenset({
    # German-speaking
    "gmbh", "ag", "kg", "kgaa", "ohg", "gbr", "ug", "ev", "mbh", "eg",
    # English-speaking
    "co", "company", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "llc", "llp", "lp", "plc",
    "pllc", "pty", "pte", "bhd", "sdn",
    # French, Spanish, Italian, Portuguese
    "sarl", "sa", "sas", "sasu", "eurl", "sca", "snc", "sl", "slu", "srl", "spa", "sapa", "ltda", "sau", "scs",
    "sprl", "lda",
    # Dutch, Belgian, Nordic
    "bv", "nv", "vof", "cv", "bvba", "cvba", "oy", "oyj", "ab", "as", "asa", "aps", "ou", "ehf", "hf",
    # Central and Eastern European
    "kft", "zrt", "nyrt", "sro", "doo", "ad", "ood", "eood", "uab", "sia", "ooo", "zao", "oao", "pao", "zoo",
    "se",
})
# Legal forms of several tokens, which are dropped only together ("Sp. z o.o.": a trailing "z" alone is a name).
LEGAL_FORM_SEQUENCES: tuple[tuple[str, ...], ...] = (("sp", "z", "oo"), ("sp", "k"), ("s", "r", "o"), ("a", "s"))

# Letters that look like Latin ones in Cyrillic and Greek (lower case, as after casefold): a homoglyph must not
# make an invoice number or a name new.
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ӏ": "l",
    "α": "a", "β": "b", "ε": "e", "ζ": "z", "η": "n", "ι": "i", "κ": "k", "μ": "m", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
})
# The usual OCR look-alikes, read as the digit.
_LOOK_ALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})
# Removed without leaving a word break, so that abbreviations read as one token.
_JOINERS = frozenset(".'’/")
# Letters (category Lo) that print as nothing: the Hangul fillers, which NFKC folds U+3164 and U+FFA0 into.
_BLANK_LETTERS = frozenset("\u115f\u1160")
_DIGIT_RUN = re.compile(r"[0-9]+")


def _fold(text: str) -> str:
    """Compatibility forms folded, invisible characters and accents dropped, case folded, homoglyphs read as
    Latin; every other character kept (the callers decide what separates)."""
    text = unicodedata.normalize("NFKC", text)
    # NFKD splits accents off; NFKC first so that compatibility characters fold before that.
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) not in ("Mn", "Me", "Cf")
                   and ch not in _BLANK_LETTERS)
    return kept.casefold().translate(_CONFUSABLES)


def _ascii_digit(ch: str) -> str:
    """Any decimal digit (Arabic-Indic, Devanagari, ...) as its ASCII digit."""
    value = unicodedata.decimal(ch, None)
    return str(value) if value is not None else ch


def _code(text: str) -> str:
    """Letters and digits only, look-alikes read as digits."""
    folded = _fold(text).translate(_LOOK_ALIKES)
    return "".join(_ascii_digit(ch) for ch in folded if ch.isalnum())


def _drop_leading_zeros(code: str) -> str:
    return _DIGIT_RUN.sub(lambda run: run.group().lstrip("0") or "0", code)


def number_key(number: str | None) -> str | None:
    """The invoice number as it is compared; None when it has no letter or digit."""
    if not number:
        return None
    code = _code(number)
    return _drop_leading_zeros(code) if code else None


def tax_id_key(tax_id: str | None) -> str | None:
    if not tax_id:
        return None
    return _code(tax_id) or None


def seller_name_key(name: str | None) -> str | None:
    """The seller's name as it is compared: folded, legal-form suffixes dropped, spaces and punctuation
    ignored."""
    if not name:
        return None
    folded = "".join(ch for ch in _fold(name) if ch not in _JOINERS)
    tokens = "".join(ch if ch.isalnum() else " " for ch in folded).split()
    while len(tokens) > 1:
        if tokens[-1] in LEGAL_FORMS:
            tokens.pop()
            continue
        form = next((f for f in LEGAL_FORM_SEQUENCES if len(tokens) > len(f) and tuple(tokens[-len(f):]) == f), None)
        if form is None:
            break
        del tokens[-len(form):]
    key = "".join(tokens).translate(_LOOK_ALIKES)
    return "".join(_ascii_digit(ch) for ch in key) or None


def amount_key(total: Any) -> Decimal | None:
    if total is None:
        return None
    try:
        value = Decimal(str(total))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def is_credit_note(document_type: str | None) -> bool:
    return document_type in CREDIT_NOTE_TYPES


@dataclass(frozen=True)
class Keys:
    """What one invoice is looked up by (the invoices columns of the same names)."""

    seller_tax_key: str | None
    seller_name_key: str | None
    number_key: str | None
    total: Decimal | None
    invoice_date: str | None  # ISO date
    credit_note: bool

    @property
    def comparable(self) -> bool:
        """Enough to compare: a seller and a total (both tiers need them)."""
        return self.total is not None and (self.seller_tax_key is not None or self.seller_name_key is not None)


def keys_of(invoice: dict[str, Any]) -> Keys:
    """The keys of a normalized invoice (schemas/invoice.schema.json)."""
    vendor = invoice.get("vendor") or {}
    return Keys(
        seller_tax_key=tax_id_key(vendor.get("tax_id")),
        seller_name_key=seller_name_key(vendor.get("name")),
        number_key=number_key(invoice.get("invoice_number")),
        total=amount_key(invoice.get("total")),
        invoice_date=invoice.get("invoice_date"),
        credit_note=is_credit_note(invoice.get("document_type")),
    )


def same_seller(a: Keys, b: Keys) -> bool:
    if a.seller_tax_key is not None and b.seller_tax_key is not None:
        return a.seller_tax_key == b.seller_tax_key
    return a.seller_name_key is not None and a.seller_name_key == b.seller_name_key


def tier_of(new: Keys, earlier: Keys) -> DuplicateTier | None:
    """Whether `earlier` is a possible duplicate of `new`, and how strongly. The adapter's SQL says the same
    (adapters/duplicates.py); tests/integration/test_duplicate_control.py holds it to this function."""
    if not (new.comparable and earlier.comparable):
        return None
    if new.credit_note != earlier.credit_note or new.total != earlier.total or not same_seller(new, earlier):
        return None
    if new.number_key is not None and new.number_key == earlier.number_key:
        return DuplicateTier.STRONG
    if new.invoice_date is not None and new.invoice_date == earlier.invoice_date:
        return DuplicateTier.WEAK
    return None


def without_duplicate_issue(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An invoice's issues once a reviewer has cleared the duplicate flag."""
    return [issue for issue in issues if issue.get("code") != ISSUE_CODE]
