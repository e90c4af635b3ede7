"""domain/review.py, pure: every refusal branch, what a correction changes, and validation over the result. The
invoice row is a dict fixture shaped as adapters/review_store.py reads it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from invoice_pipeline.api.errors import STATUS, Code
from invoice_pipeline.domain import review
from invoice_pipeline.domain.review import LineEdit, Refusal, Refused
from invoice_pipeline.errors import SchemaViolation

NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
TODAY = date(2024, 3, 1)


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": uuid.uuid4(), "seq": 0, "invoice_number": "INV-1", "vendor_name": "ACME", "vendor_address": None,
        "vendor_tax_id": "DE1", "customer_name": "Buyer", "customer_address": None,
        "invoice_date": date(2024, 2, 15), "due_date": None, "po_number": None, "currency": "EUR",
        "subtotal": Decimal("100.00"), "tax": Decimal("19.00"), "discount": None, "total": Decimal("999.00"),
        "amount_due": None, "validation_status": "NEEDS_REVIEW", "version": 3,
        "issues": [{"code": "TOTAL_MISMATCH", "severity": "error", "invoice_index": 0},
                   {"code": "POSSIBLE_DUPLICATE", "severity": "error", "invoice_index": 0}],
        "confidence": {"total": 0.61}, "alternatives": {"total": [{"value": "119.00"}]},
        "provenance": {"engine": "local", "pages": [1], "fields": {}},
        "claimed_by": None, "claim_expires_at": None,
        "line_items": [{"position": p, "description": f"L{p}", "quantity": Decimal("1"),
                        "unit_price": Decimal("50.00"), "amount": Decimal("50.00"), "product_code": None, "page": 1}
                       for p in range(2)],
    }
    return {**base, **overrides}


def refusal(fn: Any, *args: Any, **kwargs: Any) -> Refusal:
    with pytest.raises(Refused) as err:
        fn(*args, **kwargs)
    return err.value.refusal


def test_every_refusal_is_an_api_code_with_a_status() -> None:
    for r in Refusal:
        assert Code(r.value) in STATUS
    assert STATUS[Code.PRECONDITION_FAILED] == 412 and STATUS[Code.PRECONDITION_REQUIRED] == 428
    assert STATUS[Code.SECOND_APPROVER_REQUIRED] == 403 and STATUS[Code.CLAIMED_BY_OTHER] == 409


def test_claims() -> None:
    free = row()
    review.may_claim(free, "a", NOW)
    review.must_hold_claim(held := row(claimed_by="a", claim_expires_at=NOW + timedelta(seconds=1)), "a", NOW)
    assert refusal(review.may_claim, held, "b", NOW) is Refusal.CLAIMED_BY_OTHER
    assert refusal(review.must_hold_claim, held, "b", NOW) is Refusal.CLAIMED_BY_OTHER
    assert refusal(review.must_hold_claim, free, "a", NOW) is Refusal.CLAIM_REQUIRED
    expired = row(claimed_by="a", claim_expires_at=NOW)
    assert not review.claim_live(expired, NOW)
    review.may_claim(expired, "b", NOW)
    assert refusal(review.must_hold_claim, expired, "a", NOW) is Refusal.CLAIM_REQUIRED
    for status in ("APPROVED", "REJECTED"):
        assert refusal(review.may_claim, row(validation_status=status), "a", NOW) is Refusal.ALREADY_DECIDED


@pytest.mark.parametrize(("header", "required", "expected"), [
    (None, True, Refusal.PRECONDITION_REQUIRED), ("  ", True, Refusal.PRECONDITION_REQUIRED),
    ('"2"', True, Refusal.PRECONDITION_FAILED), ('"3"', True, None), ('W/"3"', True, None), ("*", True, None),
    ('"1", "3"', True, None), (None, False, None), ('"4"', False, Refusal.PRECONDITION_FAILED),
])
def test_if_match(header: str | None, required: bool, expected: Refusal | None) -> None:
    if expected is None:
        review.must_match(header, 3, required=required)
    else:
        assert refusal(review.must_match, header, 3, required=required) is expected


def test_approval() -> None:
    assert refusal(review.may_approve, row(), "a", set(), second_approver=False) is Refusal.NOT_APPROVABLE
    ok = row(validation_status="COMPLETED")
    review.may_approve(ok, "a", {"a"}, second_approver=False)
    review.may_approve(ok, "a", {"b"}, second_approver=True)
    assert refusal(review.may_approve, ok, "a", {"a"}, second_approver=True) is Refusal.SECOND_APPROVER_REQUIRED


def test_a_correction_changes_only_what_differs_and_revalidates() -> None:
    edited = review.edit(row(), {"total": "119.00", "vendor.name": "ACME", "invoice_number": None},
                         [LineEdit(0, {"amount": "50.00"}), LineEdit(1, {"description": "Widget"})],
                         page_count=1, today=TODAY)
    assert [(c.field, c.old, c.new) for c in edited.changes] == [
        ("invoice_number", "INV-1", None), ("total", "999.00", "119.00"), ("line_items[1].description", "L1", "Widget")]
    codes = [i["code"] for i in edited.issues]
    assert "TOTAL_MISMATCH" not in codes and "MISSING_INVOICE_NUMBER" in codes  # cleared by the reviewer
    # The duplicate hold is not kept as it was: the API looks the corrected invoice up again (recheck_in)
    assert "POSSIBLE_DUPLICATE" not in codes
    assert edited.status == "NEEDS_REVIEW"
    assert edited.invoice["confidence"]["total"] == review.CORRECTED_CONFIDENCE
    assert "total" not in edited.invoice["alternatives"]


def test_a_correction_that_passes_completes() -> None:
    clean = row(issues=[{"code": "TOTAL_MISMATCH", "severity": "error", "invoice_index": 0}])
    edited = review.edit(clean, {"total": "119.00"}, [], page_count=1, today=TODAY)
    assert edited.status == "COMPLETED"
    assert [i for i in edited.issues if i["severity"] == "error"] == []


def test_lines_are_added_and_removed() -> None:
    edited = review.edit(row(), {"subtotal": "50.00", "total": "69.00"},
                         [LineEdit(1, remove=True), LineEdit(5, {"description": "Freight", "amount": "0.00"}),
                          LineEdit(9), LineEdit(8, remove=True)],  # nothing to add, nothing to remove
                         page_count=1, today=TODAY)
    assert [i["description"] for i in edited.invoice["line_items"]] == ["L0", "Freight"]
    assert edited.positions == [0, 5]  # not renumbered: the audit's positions stay the stored ones
    fields = [c.field for c in edited.changes]
    assert fields[-3:] == ["line_items[1]", "line_items[5].description", "line_items[5].amount"]
    assert "LINE_ITEMS_MISMATCH" not in [i["code"] for i in edited.issues]
    assert edited.status == "COMPLETED"  # the stored duplicate hold went with the revalidation...
    hold = {"code": "POSSIBLE_DUPLICATE", "severity": "error", "invoice_index": 0}
    again = review.held(edited, hold)  # ...and comes back when the lookup still finds the earlier invoice
    assert again.status == "NEEDS_REVIEW" and again.issues[-1] == hold
    assert review.held(edited, None) is edited


def test_a_value_the_schema_forbids_is_a_schema_violation() -> None:
    with pytest.raises(SchemaViolation):
        review.edit(row(), {"currency": "euro"}, [], page_count=1, today=TODAY)


def test_the_engines_original_value_is_the_first_corrections() -> None:
    earlier = [{"field": "tax", "original_value": "1", "original_confidence": 0.5},
               {"field": "total", "original_value": "999.00", "original_confidence": Decimal("0.61")},
               {"field": "total", "original_value": "999.00", "original_confidence": Decimal("0.61")}]
    assert review.original("total", "119.00", 1.0, earlier) == ("999.00", Decimal("0.61"))
    assert review.original("currency", "EUR", 0.9, earlier) == ("EUR", 0.9)
