"""Business rules over the normalized document: every rule fires when it should and stays quiet when it should
not, at the edges of its tolerance, for invoices and for credit notes."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from invoice_pipeline import schemas
from invoice_pipeline.domain.validation import (
    EARLIEST_PLAUSIBLE_DATE,
    FUTURE_DATE_GRACE,
    ISO_4217_CODES,
    LOW_CONFIDENCE_THRESHOLD,
    RULES,
    Issue,
    ValidationResult,
    arithmetic_tolerance,
    minor_unit,
    validate_document,
)
from invoice_pipeline.errors import SchemaViolation

TODAY = date(2024, 6, 1)


def make_invoice(**overrides: Any) -> dict[str, Any]:
    """A complete, consistent invoice: 60.00 + 40.00 = 100.00, + 19.00 tax = 119.00."""
    invoice: dict[str, Any] = {
        "vendor": {"name": "ACME Bürobedarf GmbH", "address": "Hauptstr. 1, 10115 Berlin",
                   "tax_id": "DE123456789"},
        "customer": {"name": "Example AG", "address": None},
        "invoice_number": "RE-2024-0042",
        "invoice_date": "2024-05-20",
        "due_date": "2024-06-19",
        "po_number": None,
        "currency": "EUR",
        "subtotal": "100.00",
        "tax": "19.00",
        "discount": None,
        "total": "119.00",
        "amount_due": "119.00",
        "line_items": [line("60.00"), line("40.00")],
        "confidence": {"vendor.name": 0.99, "invoice_number": 0.98, "invoice_date": 0.97, "total": 0.99,
                       "currency": 0.95},
        "alternatives": {},
        "provenance": {"engine": "textract", "pages": [1], "fields": {}},
    }
    invoice.update(overrides)
    return invoice


def line(amount: str | None, description: str = "item") -> dict[str, Any]:
    return {"description": description, "quantity": None, "unit_price": None, "amount": amount,
            "product_code": None}


def make_doc(*invoices: dict[str, Any]) -> dict[str, Any]:
    return {"schema_version": "1", "engine": "textract", "page_count": 1, "invoices": list(invoices)}


def run(**overrides: Any) -> ValidationResult:
    return validate_document(make_doc(make_invoice(**overrides)), today=TODAY)


def codes(result: ValidationResult) -> list[str]:
    return [issue.code for issue in result.issues]


def alt(value: str, confidence: float = 0.5) -> dict[str, Any]:
    return {"value": value, "confidence": confidence}


# --- the baseline -------------------------------------------------------------------------------------------
def test_consistent_invoice_completes_without_issues() -> None:
    result = run()
    assert result == ValidationResult(status="COMPLETED", issues=[])


def test_result_and_issue_serialise() -> None:
    result = run(total="120.00", invoice_date=None)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "NEEDS_REVIEW"
    assert {"code", "severity", "invoice_index", "field", "message"} == set(data["issues"][0])
    issue = result.issues[0]
    assert issue.to_dict() == {"code": issue.code, "severity": issue.severity, "invoice_index": 0,
                               "field": issue.field, "message": issue.message}


def test_every_issue_has_the_severity_of_its_rule() -> None:
    result = run(total="1.00", invoice_date="1999-01-01", currency="ABC", amount_due="999.00")
    assert result.issues
    for issue in result.issues:
        assert issue.severity == RULES[issue.code]


# --- schema -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"total": "1.234,56"}, "$.invoices[0].total"),  # not a canonical decimal string
        ({"total": 119.0}, "$.invoices[0].total"),  # a float, the thing amounts must never be
        ({"invoice_date": "2024-02-30"}, "$.invoices[0].invoice_date"),  # format checking is on
        ({"currency": "eur"}, "$.invoices[0].currency"),
        ({"unexpected": 1}, "$.invoices[0]"),
    ],
)
def test_schema_violation_raises_with_the_json_path(overrides: dict[str, Any], path: str) -> None:
    with pytest.raises(SchemaViolation) as caught:
        run(**overrides)
    assert f": {path}: " in caught.value.message


def test_schema_violation_for_a_missing_top_level_field() -> None:
    doc = make_doc(make_invoice())
    del doc["engine"]
    with pytest.raises(SchemaViolation, match="'engine' is a required property"):
        validate_document(doc, today=TODAY)


# --- presence -----------------------------------------------------------------------------------------------
def test_no_invoice() -> None:
    result = validate_document(make_doc(), today=TODAY)
    assert result.status == "NEEDS_REVIEW"
    assert result.issues == [Issue("NO_INVOICE", "error", None, None, "the document contains no invoice")]


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"total": None, "amount_due": None}, "MISSING_TOTAL", "total"),
        ({"invoice_number": None}, "MISSING_INVOICE_NUMBER", "invoice_number"),
        ({"invoice_number": "   "}, "MISSING_INVOICE_NUMBER", "invoice_number"),
        ({"vendor": {"name": None, "address": "Somewhere"}}, "MISSING_VENDOR", "vendor.name"),
        ({"vendor": {"name": "", "address": None}}, "MISSING_VENDOR", "vendor.name"),
        ({"currency": None}, "MISSING_CURRENCY", "currency"),
        ({"currency": "ABC"}, "UNKNOWN_CURRENCY", "currency"),
        ({"currency": "XXX"}, "UNKNOWN_CURRENCY", "currency"),  # ISO's "no currency": no invoice is in it
    ],
)
def test_missing_or_invalid_required_field(overrides: dict[str, Any], code: str, field: str) -> None:
    result = run(**overrides)
    assert codes(result) == [code]
    assert result.issues[0].field == field
    assert result.status == "NEEDS_REVIEW"


def test_missing_invoice_date_is_only_a_warning() -> None:
    result = run(invoice_date=None, due_date=None)
    assert codes(result) == ["MISSING_INVOICE_DATE"]
    assert result.status == "COMPLETED"


@pytest.mark.parametrize("currency", ["EUR", "USD", "JPY", "CHF", "KWD", "HRK"])
def test_known_currencies(currency: str) -> None:
    assert currency in ISO_4217_CODES
    assert "UNKNOWN_CURRENCY" not in codes(run(currency=currency))


def test_iso_set_is_well_formed() -> None:
    assert all(len(code) == 3 and code.isupper() and code.isalpha() for code in ISO_4217_CODES)
    assert "XTS" not in ISO_4217_CODES and "XXX" not in ISO_4217_CODES


# --- dates --------------------------------------------------------------------------------------------------
def test_invoice_date_a_few_days_ahead_is_tolerated() -> None:
    edge = TODAY + FUTURE_DATE_GRACE
    assert codes(run(invoice_date=edge.isoformat(), due_date=None)) == []
    later = edge + timedelta(days=1)
    result = run(invoice_date=later.isoformat(), due_date=None)
    assert codes(result) == ["DATE_IN_FUTURE"]
    assert result.issues[0].field == "invoice_date"


def test_due_date_in_the_future_is_normal() -> None:
    assert codes(run(due_date=(TODAY + timedelta(days=365)).isoformat())) == []


def test_date_too_old() -> None:
    assert codes(run(invoice_date=EARLIEST_PLAUSIBLE_DATE.isoformat(), due_date=None)) == []
    before = (EARLIEST_PLAUSIBLE_DATE - timedelta(days=1)).isoformat()
    result = run(invoice_date="1924-05-20", due_date=before)
    assert [(i.code, i.field) for i in result.issues] == [
        ("DATE_TOO_OLD", "invoice_date"), ("DATE_TOO_OLD", "due_date"),
    ]


def test_due_before_issue() -> None:
    assert codes(run(invoice_date="2024-05-20", due_date="2024-05-20")) == []
    result = run(invoice_date="2024-05-20", due_date="2024-05-19")
    assert codes(result) == ["DUE_BEFORE_ISSUE"]
    assert result.issues[0].field == "due_date"


# --- line items ---------------------------------------------------------------------------------------------
def test_line_items_that_do_not_add_up() -> None:
    result = run(line_items=[line("60.00"), line("30.00")])
    assert codes(result) == ["LINE_ITEMS_MISMATCH"]
    assert "90.00" in result.issues[0].message and "100.00" in result.issues[0].message


def test_line_items_tolerance_is_one_cent_per_line() -> None:
    # Two lines: up to 0.02 of rounding is accepted, 0.03 is not.
    assert codes(run(line_items=[line("60.00"), line("39.98")])) == []
    assert codes(run(line_items=[line("60.00"), line("39.97")])) == ["LINE_ITEMS_MISMATCH"]
    assert codes(run(line_items=[line("60.01"), line("40.01")])) == []
    assert codes(run(line_items=[line("60.02"), line("40.01")])) == ["LINE_ITEMS_MISMATCH"]


def test_line_items_are_only_summed_when_every_line_has_an_amount() -> None:
    assert codes(run(line_items=[line("60.00"), line(None, "a heading")])) == []
    assert codes(run(line_items=[])) == []


def test_line_items_against_the_total_without_subtotal_and_tax() -> None:
    base = {"subtotal": None, "tax": None, "total": "100.00", "amount_due": None}
    assert codes(run(**base)) == []
    assert codes(run(**base | {"total": "90.00"})) == ["LINE_ITEMS_MISMATCH"]
    # A zero tax is no tax.
    assert codes(run(**base | {"tax": "0.00"})) == []
    # The discount was taken off the lines to reach the total.
    assert codes(run(**base | {"total": "90.00", "discount": "10.00"})) == []
    assert codes(run(**base | {"total": "90.00", "discount": "5.00"})) == ["LINE_ITEMS_MISMATCH"]


def test_line_items_are_not_compared_when_tax_but_no_subtotal() -> None:
    # Net or gross lines? Without a subtotal nothing exact can be said.
    assert codes(run(subtotal=None, line_items=[line("1.00")])) == []


# --- totals -------------------------------------------------------------------------------------------------
def test_total_mismatch() -> None:
    result = run(total="129.00", amount_due=None)
    assert codes(result) == ["TOTAL_MISMATCH"]
    assert result.issues[0].field == "total"
    assert "subtotal 100.00 + tax 19.00 = 119.00" in result.issues[0].message


@pytest.mark.parametrize(
    ("currency", "subtotal", "tax", "discount", "ok_total", "bad_total"),
    [
        # subtotal + tax: two rounded terms, 0.02 accepted
        ("EUR", "100.00", "19.00", None, "119.02", "119.03"),
        ("EUR", "100.00", "19.00", None, "118.98", "118.97"),
        # subtotal + tax - discount: three terms, 0.03
        ("EUR", "100.00", "19.00", "10.00", "109.03", "109.04"),
        # subtotal alone: one term
        ("USD", "100.00", None, None, "100.01", "100.02"),
        # a finer perturbation than the currency's unit is still measured exactly
        ("EUR", "100.00", "19.00", None, "119.020", "119.021"),
        # yen have no minor unit: two terms are 2 yen
        ("JPY", "10000", "1000", None, "11002", "11003"),
        # dinar have three decimals
        ("KWD", "10.000", "0.500", None, "10.502", "10.503"),
    ],
)
def test_total_tolerance_edges(currency: str, subtotal: str, tax: str | None, discount: str | None,
                               ok_total: str, bad_total: str) -> None:
    common: dict[str, Any] = {
        "currency": currency, "subtotal": subtotal, "tax": tax, "discount": discount, "amount_due": None,
        "line_items": [],
    }
    assert codes(run(**common, total=ok_total)) == []
    assert codes(run(**common, total=bad_total)) == ["TOTAL_MISMATCH"]


def test_missing_tax_is_not_assumed_hidden_in_the_total() -> None:
    assert codes(run(tax=None, amount_due=None)) == ["TOTAL_MISMATCH"]


def test_total_mismatch_names_an_alternative_that_adds_up() -> None:
    result = run(total="191.00", amount_due=None,
                 alternatives={"total": [alt("119.00")]})
    assert codes(result) == ["TOTAL_MISMATCH", "CONFLICTING_VALUES"]
    assert "alternative total 119.00 would match" in result.issues[0].message


def test_total_is_not_checked_without_subtotal() -> None:
    assert codes(run(subtotal=None, line_items=[], total="5000.00", amount_due=None)) == []


# --- credit notes -------------------------------------------------------------------------------------------
def credit_note(**overrides: Any) -> dict[str, Any]:
    return {
        "subtotal": "-7.90", "tax": "-1.12", "discount": "-0.23", "total": "-8.79", "amount_due": "-8.79",
        "line_items": [line("-5.00"), line("-2.90")],
    } | overrides


def test_consistent_credit_note_completes() -> None:
    # -7.90 + -1.12 - (-0.23) = -8.79: a negative allowance on a credit note, as EN 16931 writes it.
    assert run(**credit_note()) == ValidationResult("COMPLETED", [])


def test_credit_note_arithmetic_works_with_signs() -> None:
    assert codes(run(**credit_note(total="-8.76", amount_due=None))) == []  # 0.03 off, three terms
    assert codes(run(**credit_note(total="-8.75", amount_due=None))) == ["TOTAL_MISMATCH"]
    assert codes(run(**credit_note(total="8.79", amount_due=None))) == ["TOTAL_MISMATCH"]
    assert codes(run(**credit_note(line_items=[line("-5.00"), line("-2.95")]))) == ["LINE_ITEMS_MISMATCH"]


def test_credit_note_amount_due() -> None:
    assert codes(run(**credit_note(amount_due="-5.00"))) == []  # partly settled already
    result = run(**credit_note(amount_due="-18.79"))
    assert codes(result) == ["AMOUNT_DUE_MISMATCH"]
    assert result.status == "COMPLETED"


# --- amount due ---------------------------------------------------------------------------------------------
def test_amount_due_larger_than_total_is_a_warning() -> None:
    result = run(amount_due="150.00")
    assert codes(result) == ["AMOUNT_DUE_MISMATCH"]
    assert result.issues[0].severity == "warning"
    assert result.status == "COMPLETED"


@pytest.mark.parametrize("amount_due", ["119.00", "119.01", "69.00", "0.00", "-529.87", None])
def test_amount_due_not_larger_than_total(amount_due: str | None) -> None:
    # Less after a prepayment, and negative when more was prepaid than owed, are both normal.
    assert codes(run(amount_due=amount_due)) == []


def test_amount_due_just_above_tolerance() -> None:
    assert codes(run(amount_due="119.02")) == ["AMOUNT_DUE_MISMATCH"]


# --- confidence and conflicts -------------------------------------------------------------------------------
def test_low_confidence_on_a_key_field() -> None:
    confidence = make_invoice()["confidence"] | {"total": 0.42}
    result = run(confidence=confidence)
    assert [(i.code, i.field, i.severity) for i in result.issues] == [("LOW_CONFIDENCE", "total", "warning")]
    assert result.status == "COMPLETED"


def test_confidence_at_the_threshold_is_fine() -> None:
    confidence = make_invoice()["confidence"] | {"total": float(LOW_CONFIDENCE_THRESHOLD), "vendor.name": 1}
    assert codes(run(confidence=confidence)) == []


def test_low_confidence_is_only_checked_for_key_fields_with_a_value() -> None:
    confidence = make_invoice()["confidence"] | {"po_number": 0.1, "invoice_date": 0.1}
    assert codes(run(confidence=confidence, invoice_date=None, due_date=None)) == ["MISSING_INVOICE_DATE"]


def test_low_confidence_on_the_vendor() -> None:
    confidence = make_invoice()["confidence"] | {"vendor.name": 0.3}
    result = run(confidence=confidence)
    assert [(i.code, i.field) for i in result.issues] == [("LOW_CONFIDENCE", "vendor.name")]


@pytest.mark.parametrize("field", ["total", "subtotal", "tax", "invoice_number"])
def test_conflicting_values(field: str) -> None:
    result = run(alternatives={field: [alt("77.00"), alt("77.00")]})
    assert [(i.code, i.field, i.severity) for i in result.issues] == [
        ("CONFLICTING_VALUES", field, "warning"),
    ]
    assert result.issues[0].message.count("77.00") == 1
    assert result.status == "COMPLETED"


def test_alternatives_equal_to_the_chosen_value_are_no_conflict() -> None:
    alternatives = {"total": [alt("119.0")], "invoice_number": [alt("re-2024-0042 ")], "tax": [alt("19")]}
    assert codes(run(alternatives=alternatives)) == []


def test_alternatives_of_other_fields_are_not_reported() -> None:
    assert codes(run(alternatives={"vendor.name": [alt("ACME Inc.")], "due_date": [alt("2024-07-01")]})) == []


# --- several invoices ---------------------------------------------------------------------------------------
def test_issues_name_their_invoice() -> None:
    doc = make_doc(
        make_invoice(), make_invoice(invoice_number=None), make_invoice(total="1.00", amount_due=None)
    )
    result = validate_document(doc, today=TODAY)
    assert [(i.code, i.invoice_index) for i in result.issues] == [
        ("MISSING_INVOICE_NUMBER", 1), ("TOTAL_MISMATCH", 2),
    ]
    assert result.status == "NEEDS_REVIEW"


def test_the_document_is_not_modified() -> None:
    doc = make_doc(make_invoice(total="1.00"))
    before = copy.deepcopy(doc)
    validate_document(doc, today=TODAY)
    assert doc == before


# --- tolerance ----------------------------------------------------------------------------------------------
def test_tolerance_function() -> None:
    assert minor_unit("EUR") == Decimal("0.01")
    assert minor_unit(None) == Decimal("0.01")
    assert minor_unit("JPY") == Decimal("1")
    assert minor_unit("BHD") == Decimal("0.001")
    assert arithmetic_tolerance(0, "EUR") == Decimal("0.01")
    assert arithmetic_tolerance(3, "EUR") == Decimal("0.03")
    assert arithmetic_tolerance(40, "USD") == Decimal("0.40")
    assert arithmetic_tolerance(2, "JPY") == Decimal("2")


# --- properties ---------------------------------------------------------------------------------------------
_CURRENCIES = ("EUR", "USD", "GBP", "CHF", "JPY", "KWD", "INR")


@st.composite
def consistent_invoices(draw: st.DrawFn) -> dict[str, Any]:
    """An invoice whose numbers agree: line amounts sum to the subtotal, total = subtotal + tax - discount.
    Amounts are drawn in minor units, so they are exact; the sign may flip the whole thing into a credit
    note, and single lines may be negative (a discount written as a line)."""
    currency = draw(st.sampled_from(_CURRENCIES))
    unit = minor_unit(currency)
    sign = draw(st.sampled_from((1, -1)))
    lines = draw(st.lists(st.integers(-10**6, 10**9), max_size=25))
    subtotal = sum(lines) if lines else draw(st.integers(0, 10**10))
    tax = draw(st.none() | st.integers(0, 10**9))
    discount = draw(st.none() | st.integers(0, 10**8))
    total = subtotal + (tax or 0) - (discount or 0)

    def money(units: int | None) -> str | None:
        return None if units is None else f"{Decimal(sign * units) * unit:f}"

    return make_invoice(
        currency=currency,
        line_items=[line(money(amount)) for amount in lines],
        subtotal=money(subtotal),
        tax=money(tax),
        discount=money(discount),
        total=money(total),
        amount_due=draw(st.sampled_from((None, money(total)))),
    )


@settings(deadline=None)
@given(consistent_invoices())
def test_a_consistent_invoice_always_completes(invoice: dict[str, Any]) -> None:
    result = validate_document(make_doc(invoice), today=TODAY)
    assert result == ValidationResult("COMPLETED", [])


@settings(deadline=None)
@given(consistent_invoices(), st.data())
def test_a_total_moved_beyond_the_tolerance_always_mismatches(
    invoice: dict[str, Any], data: st.DataObject
) -> None:
    terms = 1 + sum(invoice[k] is not None for k in ("tax", "discount"))
    tolerance = arithmetic_tolerance(terms, invoice["currency"])
    # Steps of a tenth of the minor unit: the boundary is tested finer than any printed amount.
    step = tolerance / terms / 10
    beyond = data.draw(st.integers(terms * 10 + 1, 10**9)) * data.draw(st.sampled_from((1, -1)))
    within = data.draw(st.integers(-terms * 10, terms * 10))

    moved = invoice | {"total": f"{Decimal(invoice['total']) + beyond * step:f}", "amount_due": None}
    assert "TOTAL_MISMATCH" in codes(validate_document(make_doc(moved), today=TODAY))

    nudged = invoice | {"total": f"{Decimal(invoice['total']) + within * step:f}", "amount_due": None}
    assert "TOTAL_MISMATCH" not in codes(validate_document(make_doc(nudged), today=TODAY))


# --- schema loading -----------------------------------------------------------------------------------------
def test_load_schema_by_either_name_and_as_a_copy() -> None:
    schema = schemas.load_schema("invoice")
    assert schema == schemas.load_schema("invoice.schema.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "changed"
    assert schemas.load_schema("invoice")["title"] != "changed"


def test_unknown_schema() -> None:
    with pytest.raises(FileNotFoundError, match="nope.schema.json"):
        schemas.load_schema("nope")
    with pytest.raises(ValueError, match="bare file name"):
        schemas.load_schema("../pyproject.json")


@pytest.fixture
def fresh_schema_caches() -> Iterator[None]:
    """The loader caches by name for the life of the process; a test that moves the folders must not see,
    or leave behind, what another test loaded."""
    caches = (schemas._load, schemas._validator, schemas._registry)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


@pytest.mark.usefixtures("fresh_schema_caches")
def test_packaged_schemas_win_over_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packaged, repository = tmp_path / "_schemas", tmp_path / "schemas"
    packaged.mkdir()
    repository.mkdir()
    (packaged / "probe.schema.json").write_text(json.dumps({"title": "packaged", "type": "integer"}))
    (repository / "probe.schema.json").write_text(json.dumps({"title": "repository"}))
    (repository / "fallback.schema.json").write_text(json.dumps({"title": "repository"}))
    monkeypatch.setattr(schemas, "SCHEMA_DIRS", (packaged, repository))
    assert schemas.load_schema("probe")["title"] == "packaged"
    assert schemas.load_schema("fallback")["title"] == "repository"
    schemas.validate_against("probe", 3)
    with pytest.raises(SchemaViolation, match=r"probe.schema.json: \$: 'x' is not of type 'integer'"):
        schemas.validate_against("probe", "x")


def test_schema_violation_message_is_bounded() -> None:
    with pytest.raises(SchemaViolation) as caught:
        schemas.validate_against("invoice", {"schema_version": "1", "engine": "local", "page_count": 0,
                                             "invoices": "x" * 5000})
    assert len(caught.value.message) < 700
