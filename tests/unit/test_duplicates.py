"""The duplicate-invoice keys and tiers (domain/duplicates.py): what counts as the same number, the same seller
and the same kind of document, including the inputs that defeat a naive check."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from invoice_pipeline.domain import duplicates as dup
from invoice_pipeline.domain.duplicates import DuplicateTier, keys_of, number_key, seller_name_key, tax_id_key
from invoice_pipeline.domain.einvoice.model import DOCUMENT_TYPES
from invoice_pipeline.domain.validation import RULES

MIGRATION = (Path(dup.__file__).parents[1] / "adapters" / "migrations" / "0007_duplicate_invoices.sql").read_text()

SHY, ZWSP, ZWJ, BOM, WJ, LRM = "\u00ad", "\u200b", "\u200d", "\ufeff", "\u2060", "\u200e"


@pytest.mark.parametrize(("a", "b"), [
    ("INV-0012", "inv 12"),
    ("INV-0012", "INV0012"),
    ("INV-0012", f"INV-{SHY}0012"),  # a soft hyphen, invisible on paper
    ("INV-0012", f"I{ZWSP}NV-00{ZWJ}12{BOM}"),
    ("INV-0012", f"{WJ}INV-0012{LRM}"),
    ("INV-0012", "ＩＮＶ－００１２"),  # full-width forms (NFKC)
    ("INV-0012", "INV-OO12"),  # letter O read for zero
    ("INV-O012", "inv 12"),
    ("INV-0012", "lNV-0012"),  # lower-case L read for I
    ("INV-0012", "1NV-0012"),
    ("INV-0012", "ІNV-0012"),  # Cyrillic capital I
    ("2024/0042", "2024-0042"),
    ("2024/0042", "20240042"),
    ("#000123", "123"),
    ("A-2024/0925", "a 2024 0925"),
    ("RE-١٢٣", "RE-123"),  # Arabic-Indic digits
    ("FAC-Ñ12", "FAC-N12"),  # an accent lost by OCR
    ("123PQR456", "123 PQR 456"),
])
def test_these_numbers_are_the_same(a: str, b: str) -> None:
    assert number_key(a) == number_key(b) is not None


@pytest.mark.parametrize(("a", "b"), [
    ("INV-0012", "INV-0013"),
    ("INV-0012", "INV-0120"),  # a trailing zero is a digit, not padding
    ("2024-0012", "2024-12"),  # separators are ignored, so the zeros are inside one run of digits
    ("INV-12", "INV-12A"),
    ("A12", "B12"),
])
def test_these_numbers_differ(a: str, b: str) -> None:
    assert number_key(a) != number_key(b)


def test_no_letter_or_digit_is_no_number() -> None:
    assert number_key(None) is None
    assert number_key("") is None
    assert number_key(f" -/ {SHY}{ZWSP} ") is None
    assert number_key("0000") == "0"


def test_the_folding_is_the_same_on_both_sides() -> None:
    """Keys are idempotent: a key folded again is itself, so whichever side was already clean, they meet."""
    for raw in ("INV-0012", "ＩＮＶ－ＯＯ１２", f"I{SHY}NV 0l2", "Straße 0O1"):
        key = number_key(raw)
        assert key is not None and number_key(key) == key


@pytest.mark.parametrize(("a", "b"), [
    ("Acme Ltd", "ACME LIMITED"),
    ("Acme Ltd.", "Acme"),
    ("Elektro Sonnleitner GmbH & Co. KG", "Elektro Sonnleitner"),
    ("Elektro Sonnleitner GmbH & Co. KG", "ELEKTRO SONNLEITNER GMBH"),
    ("Amazon Web Services, Inc.", "Amazon Web Services Inc"),
    ("Talleres Mecánicos Iruña, S.L.", "TALLERES MECANICOS IRUNA SL"),
    ("Boulangerie Dupont S.A.R.L.", "Boulangerie Dupont SARL"),
    ("Coolblue B.V.", "coolblue bv"),
    ("Coolblue B.V.", f"Cool{SHY}blue"),
    ("Nordic A/S", "Nordic AS"),
    ("Firma Sp. z o.o.", "FIRMA"),
    ("Firma Sp. z o.o.", "Firma sp. k."),
    ("Stavby s. r. o.", "STAVBY SRO"),
    ("O'Brien Ltd", "OBrien"),
    ("Azure Interior", "AZURE  INTERIOR"),
])
def test_these_sellers_have_the_same_name(a: str, b: str) -> None:
    assert seller_name_key(a) == seller_name_key(b) is not None


@pytest.mark.parametrize(("a", "b"), [
    ("Acme Ltd", "Acme Trading Ltd"),
    ("Co-op Market", "Market"),  # only trailing legal forms go
    ("Studio Z", "Studio"),  # a letter alone is not a legal form
    ("Thornbury & Vale Joinery Ltd", "Thornbury Joinery Ltd"),
])
def test_these_sellers_have_different_names(a: str, b: str) -> None:
    assert seller_name_key(a) != seller_name_key(b)


def test_a_name_that_is_only_a_legal_form_keeps_it() -> None:
    assert seller_name_key("AG") == "ag"
    assert seller_name_key("Ltd") == seller_name_key("LTD.") == "1td"  # look-alikes fold after the suffixes


def test_tax_ids_fold_like_numbers_but_keep_their_zeros() -> None:
    assert tax_id_key("DE 123 456 789") == tax_id_key("de123456789") == tax_id_key(f"DE-123.456{SHY}.789")
    assert tax_id_key("GB 012 3456 00") == "gb012345600"
    assert tax_id_key("DE 123 456 789") != tax_id_key("DE 123 456 788")
    assert tax_id_key(None) is None and tax_id_key(" - ") is None


def invoice(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"vendor": {"name": "Azure Interior", "tax_id": None}, "invoice_number": "INV/2023/03/0008",
                            "invoice_date": "2023-03-20", "total": "279.84", "document_type": None}
    vendor = overrides.pop("vendor", None)
    return {**base, **overrides, "vendor": {**base["vendor"], **(vendor or {})}}


def tier(new: dict[str, Any], earlier: dict[str, Any]) -> DuplicateTier | None:
    return dup.tier_of(keys_of(new), keys_of(earlier))


def test_the_same_invoice_scanned_is_a_strong_match() -> None:
    scanned = invoice(vendor={"name": "AZURE INTERIOR"}, invoice_number="INV/2023/03/OOO8", total="279.840")
    assert tier(scanned, invoice()) is DuplicateTier.STRONG


def test_the_strong_tier_ignores_the_date() -> None:
    assert tier(invoice(invoice_date="2023-03-21"), invoice()) is DuplicateTier.STRONG
    assert tier(invoice(invoice_date=None), invoice()) is DuplicateTier.STRONG


def test_another_number_on_the_same_day_for_the_same_amount_is_a_weak_match() -> None:
    assert tier(invoice(invoice_number="INV/2023/03/0009"), invoice()) is DuplicateTier.WEAK
    assert tier(invoice(invoice_number=None), invoice()) is DuplicateTier.WEAK


def test_no_match() -> None:
    assert tier(invoice(total="279.85"), invoice()) is None  # another amount
    assert tier(invoice(invoice_number="X-9", invoice_date="2023-03-21"), invoice()) is None  # another day
    assert tier(invoice(invoice_number="X-9", invoice_date=None), invoice()) is None  # no day to compare
    assert tier(invoice(vendor={"name": "Azure Exterior"}), invoice()) is None  # another seller
    assert tier(invoice(total=None), invoice(total=None)) is None  # nothing to compare
    assert tier(invoice(vendor={"name": None}), invoice(vendor={"name": None})) is None


def test_the_tax_id_decides_when_both_have_one() -> None:
    same_id = invoice(vendor={"name": "Azure Interior Furnishings", "tax_id": "US 12-3456789"})
    assert tier(same_id, invoice(vendor={"tax_id": "US123456789"})) is DuplicateTier.STRONG
    other_id = invoice(vendor={"tax_id": "US 98-7654321"})
    assert tier(other_id, invoice(vendor={"tax_id": "US123456789"})) is None  # same name, other company
    # One side without a tax id (OCR missed it on the scan): the names decide.
    assert tier(invoice(vendor={"tax_id": None}), invoice(vendor={"tax_id": "US123456789"})) is DuplicateTier.STRONG
    assert tier(invoice(vendor={"name": "Else", "tax_id": None}), invoice(vendor={"tax_id": "US1"})) is None


def test_credit_notes_are_compared_only_with_credit_notes() -> None:
    note = invoice(document_type="381")
    assert tier(note, invoice()) is None
    assert tier(invoice(), note) is None
    assert tier(note, invoice(document_type="381")) is DuplicateTier.STRONG
    assert tier(invoice(document_type="81"), note) is DuplicateTier.STRONG  # both credit notes
    # A missing type is an invoice; 380 and 384 (a correction stating negative amounts) are invoices too.
    assert tier(invoice(document_type="380"), invoice()) is DuplicateTier.STRONG
    assert tier(invoice(document_type="384"), invoice()) is DuplicateTier.STRONG


def test_the_credit_note_codes_are_untdid_codes() -> None:
    assert set(DOCUMENT_TYPES) >= dup.CREDIT_NOTE_TYPES
    for code in dup.CREDIT_NOTE_TYPES:
        assert "credit" in DOCUMENT_TYPES[code], code
    assert "380" not in dup.CREDIT_NOTE_TYPES and "384" not in dup.CREDIT_NOTE_TYPES


def test_amounts_compare_as_amounts() -> None:
    assert dup.amount_key("100.0") == dup.amount_key("100.00") == Decimal(100)
    assert dup.amount_key("NaN") is None and dup.amount_key("x") is None and dup.amount_key(None) is None


def test_the_issue_is_a_validation_rule_that_holds_the_invoice() -> None:
    assert RULES[dup.ISSUE_CODE] == "error"


def test_clearing_removes_only_the_duplicate_issue() -> None:
    issues = [{"code": "LOW_CONFIDENCE", "severity": "warning"}, {"code": dup.ISSUE_CODE, "severity": "error"}]
    assert dup.without_duplicate_issue(issues) == [{"code": "LOW_CONFIDENCE", "severity": "warning"}]


def _sql_values(column: str) -> set[str]:
    found = re.search(rf"{column} text CHECK \({column} IN \(([^)]*)\)\)", MIGRATION)
    assert found, column
    return set(re.findall(r"'([^']*)'", found.group(1)))


def test_the_migration_allows_exactly_the_defined_names() -> None:
    assert _sql_values("duplicate_tier") == {t.value for t in dup.DuplicateTier}
    assert _sql_values("duplicate_review") == {r.value for r in dup.DuplicateReview}
