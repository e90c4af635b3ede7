"""The review routes through the Lambda handler against a real Postgres (no deployed stack): claims, If-Match,
roles, the second-approver setting, decisions, history, and the export's ready-for-payment filter. The whole
flow on the deployed stack, as the API's own database role, is tests/integration/test_review_flow.py."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import pytest
from invoice_local.api_server import LocalContext, build_event
from invoice_pipeline.adapters import db, repository

from tests.integration.test_api_routes import (
    Reply,
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    insert_completed,
    invoice,
)

REVIEWER = {"sub": "rev-1", "cognito:groups": ["reviewers"]}
REVIEWER_2 = {"sub": "rev-2", "cognito:groups": ["reviewers"]}
VIEWER = {"sub": "view-1", "cognito:groups": ["viewers"]}
NOBODY = {"sub": "plain-1"}


def call(method: str, path: str, claims: dict[str, Any], body: Any = None,
         headers: dict[str, str] | None = None, query: str = "") -> Reply:
    from invoice_pipeline.handlers.api import handler

    hdrs = {"content-type": "application/json", **(headers or {})} if body is not None else dict(headers or {})
    event = build_event(method=method, target=path + query, headers=list(hdrs.items()),
                        body=json.dumps(body).encode() if body is not None else b"", claims=claims)
    return Reply(handler(event, LocalContext()))


def needs_review(total: str = "999.00", number: str = "INV-1") -> uuid.UUID:
    """An invoice Persist stored as NEEDS_REVIEW: its total does not add up (100.00 + 19.00 is 119.00). The same
    number and total twice is a possible duplicate (the duplicate control holds the later one)."""
    doc = insert_completed(invoices=[invoice(total=total, number=number)], status="NEEDS_REVIEW",
                           issues=[{"code": "TOTAL_MISMATCH", "severity": "error", "invoice_index": 0,
                                    "field": "total", "message": "does not add up"}])
    (row,) = repository.invoices_for(doc)
    return uuid.UUID(str(row["id"]))


def claimed(inv: uuid.UUID, claims: dict[str, Any] = REVIEWER) -> str:
    reply = call("POST", f"/invoices/{inv}/claim", claims)
    assert reply.status == 200, reply
    return reply.headers["etag"]


def test_get_has_the_etag_and_review_state(api: str) -> None:
    inv = needs_review()
    reply = call("GET", f"/invoices/{inv}", VIEWER)
    assert reply.status == 200, reply
    body = reply.json()
    assert reply.headers["etag"] == '"1"' and body["version"] == 1
    assert body["invoice"]["validation_status"] == "NEEDS_REVIEW"
    assert body["ready_for_payment"] is False and body["claim"] is None and body["decision"] is None
    assert call("GET", f"/invoices/{uuid.uuid4()}", VIEWER).code == "NOT_FOUND"


@pytest.mark.parametrize("claims", [VIEWER, NOBODY], ids=["viewer", "no-group"])
def test_only_reviewers_change_anything(api: str, claims: dict[str, Any]) -> None:
    inv = needs_review()
    for method, path, body in (("POST", "claim", None), ("POST", "release", None), ("PATCH", "", {"total": "1"}),
                               ("POST", "approve", None), ("POST", "reject", {"reason": "no"}),
                               ("POST", "clear-duplicate", None)):
        reply = call(method, f"/invoices/{inv}" + (f"/{path}" if path else ""), claims, body,
                     headers={"if-match": '"1"'})
        assert (reply.status, reply.code) == (403, "FORBIDDEN"), (method, path, reply)
    assert call("GET", f"/invoices/{inv}/history", claims).json()["events"] == []


def test_a_claim_is_exclusive_until_released(api: str) -> None:
    inv = needs_review()
    claimed(inv)
    assert call("POST", f"/invoices/{inv}/claim", REVIEWER_2).code == "CLAIMED_BY_OTHER"
    assert call("PATCH", f"/invoices/{inv}", REVIEWER_2, {"total": "119.00"},
                headers={"if-match": '"1"'}).code == "CLAIMED_BY_OTHER"
    assert call("POST", f"/invoices/{inv}/release", REVIEWER_2).code == "CLAIMED_BY_OTHER"
    assert call("POST", f"/invoices/{inv}/release", REVIEWER).status == 200
    assert call("POST", f"/invoices/{inv}/claim", REVIEWER_2).json()["claim"]["by"] == "rev-2"


def test_a_claim_expires(api: str) -> None:
    inv = needs_review()
    claimed(inv)
    with db.transaction() as con:  # its time is up
        con.run("UPDATE invoices SET claim_expires_at = now() - interval '1 second' WHERE id = :i", i=inv)
    assert call("GET", f"/invoices/{inv}", VIEWER).json()["claim"] is None
    assert call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "119.00"},
                headers={"if-match": '"1"'}).code == "CLAIM_REQUIRED"
    assert call("POST", f"/invoices/{inv}/claim", REVIEWER_2).status == 200


def test_editing_needs_a_claim_and_a_current_if_match(api: str) -> None:
    inv = needs_review()
    assert call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "119.00"},
                headers={"if-match": '"1"'}).code == "CLAIM_REQUIRED"
    etag = claimed(inv)
    missing = call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "119.00"})
    assert (missing.status, missing.code) == (428, "PRECONDITION_REQUIRED")
    stale = call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "119.00"}, headers={"if-match": '"7"'})
    assert (stale.status, stale.code) == (412, "PRECONDITION_FAILED")
    ok = call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "119.00"}, headers={"if-match": etag})
    assert ok.status == 200, ok
    assert ok.headers["etag"] == '"2"'
    again = call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "120.00"}, headers={"if-match": etag})
    assert again.code == "PRECONDITION_FAILED"  # the write above made `etag` stale


def test_a_correction_is_revalidated_and_audited_field_by_field(api: str) -> None:
    inv = needs_review()
    etag = claimed(inv)
    reply = call("PATCH", f"/invoices/{inv}", REVIEWER, {
        "total": "119.00", "vendor": {"name": "ACME AG"},
        "line_items": [{"position": 1, "amount": "50.00", "description": "Item one"},
                       {"position": 2, "description": "Freight", "amount": "0.00"}]}, headers={"if-match": etag})
    assert reply.status == 200, reply
    body = reply.json()["invoice"]
    assert body["validation_status"] == "COMPLETED"
    assert [i["code"] for i in body["issues"] if i["severity"] == "error"] == []
    assert body["total"] == "119.00" and body["vendor"]["name"] == "ACME AG"
    assert [i["description"] for i in body["line_items"]] == ["Item 0", "Item one", "Freight"]
    assert body["confidence"]["total"] == 1.0  # a person's value now
    events = call("GET", f"/invoices/{inv}/history", VIEWER).json()["events"]
    edits = {e["field"]: e for e in events if e["action"] == "EDIT"}
    assert set(edits) == {"total", "vendor.name", "line_items[1].description", "line_items[2].description",
                          "line_items[2].amount"}  # line 1's amount was 50.00 already: no change
    assert (edits["total"]["old_value"], edits["total"]["new_value"]) == ("999.00", "119.00")
    assert edits["total"]["original_value"] == "999.00" and edits["total"]["original_confidence"] == 0.98
    assert edits["total"]["actor"] == "rev-1" and edits["total"]["engine"] == "textract"
    assert [e["action"] for e in events] == ["CLAIM"] + ["EDIT"] * 5

    # A second correction of the same field keeps the engine's original value and confidence.
    etag = reply.headers["etag"]
    second = call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "118.00", "line_items": [
        {"position": 1, "remove": True}, {"position": 7, "description": "Late fee", "amount": "50.00"}]},
        headers={"if-match": etag})
    assert second.json()["invoice"]["validation_status"] == "NEEDS_REVIEW"  # 118 no longer adds up
    lines = second.json()["invoice"]["line_items"]
    assert [(i["position"], i["description"]) for i in lines] == [(0, "Item 0"), (2, "Freight"), (7, "Late fee")]
    last = call("GET", f"/invoices/{inv}/history", VIEWER).json()["events"][-4:]
    assert [e["field"] for e in last] == ["total", "line_items[1]", "line_items[7].description",
                                          "line_items[7].amount"]
    total = next(e for e in last if e["field"] == "total")
    assert (total["old_value"], total["original_value"], total["original_confidence"]) == ("119.00", "999.00", 0.98)


def test_bad_corrections_are_400(api: str) -> None:
    inv = needs_review()
    etag = claimed(inv)
    for body in ({"total": "12,00"}, {"currency": "eur"}, {"invoice_date": "2024-13-40"}, {"unknown": 1},
                 {"line_items": [{"position": 0, "remove": True, "amount": "1"}]}, {"vendor": {"iban": "x"}}):
        reply = call("PATCH", f"/invoices/{inv}", REVIEWER, body, headers={"if-match": etag})
        assert (reply.status, reply.code) == (400, "BAD_REQUEST"), (body, reply)


def test_approve_needs_passing_validation_and_then_is_final(api: str) -> None:
    inv = needs_review()
    etag = claimed(inv)
    assert call("POST", f"/invoices/{inv}/approve", REVIEWER).code == "NOT_APPROVABLE"
    etag = call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "119.00"}, headers={"if-match": etag}).headers["etag"]
    assert call("POST", f"/invoices/{inv}/approve", REVIEWER, headers={"if-match": '"1"'}).code == \
        "PRECONDITION_FAILED"
    approved = call("POST", f"/invoices/{inv}/approve", REVIEWER, headers={"if-match": etag})
    assert approved.status == 200, approved
    body = approved.json()
    assert body["invoice"]["validation_status"] == "APPROVED" and body["ready_for_payment"] is True
    assert body["decision"]["by"] == "rev-1" and body["claim"] is None
    assert call("POST", f"/invoices/{inv}/claim", REVIEWER).code == "ALREADY_DECIDED"
    assert [e["action"] for e in call("GET", f"/invoices/{inv}/history", VIEWER).json()["events"]] == [
        "CLAIM", "EDIT", "APPROVE"]


def test_the_second_approver_setting(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEW_SECOND_APPROVER", "true")
    inv = needs_review()
    etag = claimed(inv)
    call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "119.00"}, headers={"if-match": etag})
    refused = call("POST", f"/invoices/{inv}/approve", REVIEWER)
    assert (refused.status, refused.code) == (403, "SECOND_APPROVER_REQUIRED")
    call("POST", f"/invoices/{inv}/release", REVIEWER)
    claimed(inv, REVIEWER_2)
    assert call("POST", f"/invoices/{inv}/approve", REVIEWER_2).json()["decision"]["by"] == "rev-2"
    # An invoice nobody corrected: its one reviewer approves it.
    clean = needs_review(total="119.00")
    with db.transaction() as con:
        con.run("UPDATE invoices SET validation_status = 'COMPLETED', issues = '[]' WHERE id = :i", i=clean)
    claimed(clean)
    assert call("POST", f"/invoices/{clean}/approve", REVIEWER).status == 200


def test_reject_with_a_reason(api: str) -> None:
    inv = needs_review()
    claimed(inv)
    assert call("POST", f"/invoices/{inv}/reject", REVIEWER, {}).code == "BAD_REQUEST"
    reply = call("POST", f"/invoices/{inv}/reject", REVIEWER, {"reason": "not our order"})
    assert reply.json()["decision"] == {**reply.json()["decision"], "status": "REJECTED", "reason": "not our order"}
    assert reply.json()["ready_for_payment"] is False


def test_only_approved_invoices_are_ready_for_payment_in_the_export(api: str) -> None:
    approved, open_ = needs_review(), needs_review()
    etag = claimed(approved)
    etag = call("PATCH", f"/invoices/{approved}", REVIEWER, {"total": "119.00"}, headers={"if-match": etag}).headers[
        "etag"]
    call("POST", f"/invoices/{approved}/approve", REVIEWER)
    rows = list(csv.DictReader(io.StringIO(call("GET", "/invoices/export", VIEWER).content.decode())))
    ready = {r["invoice_id"]: r["ready_for_payment"] for r in rows}
    assert ready == {str(approved): "true", str(open_): "false"}
    only = call("GET", "/invoices/export", VIEWER, query="?ready_for_payment=true")
    assert {r["invoice_id"] for r in csv.DictReader(io.StringIO(only.content.decode()))} == {str(approved)}


def test_accuracy_from_the_audit_trail(api: str) -> None:
    corrected, untouched = needs_review(), needs_review(total="238.00", number="INV-2")  # not a duplicate of the other
    with db.transaction() as con:
        con.run("UPDATE invoices SET validation_status = 'COMPLETED', issues = '[]' WHERE id = :i", i=untouched)
    etag = claimed(corrected)
    call("PATCH", f"/invoices/{corrected}", REVIEWER, {"total": "119.00"}, headers={"if-match": etag})
    for inv in (corrected, untouched):
        claimed(inv)
        assert call("POST", f"/invoices/{inv}/approve", REVIEWER).status == 200
    reply = call("GET", "/metrics/accuracy", VIEWER, query="?from=2020-01-01T00:00:00Z")
    assert reply.status == 200, reply
    groups = {(g["by"], g["key"]): g for g in reply.json()["groups"]}
    assert groups[("engine", "textract")]["reviewed"] == 2
    assert groups[("engine", "textract")]["fields"] == [{"field": "total", "corrected": 1, "rate": 0.5}]
    assert groups[("vendor", "ACME GmbH")]["reviewed"] == 2
    future = call("GET", "/metrics/accuracy", VIEWER, query="?from=2999-01-01T00:00:00Z&to=2999-02-01T00:00:00Z")
    assert future.json()["groups"] == []
    inverted = call("GET", "/metrics/accuracy", VIEWER, query="?from=2030-02-01T00:00:00Z&to=2020-01-01T00:00:00Z")
    assert (inverted.status, inverted.json()["groups"]) == (200, [])
    assert call("GET", "/metrics/accuracy", VIEWER).code == "BAD_REQUEST"  # `from` is required


def _outbox(invoice_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    with db.transaction() as con:
        found = con.run("SELECT event_type, detail FROM event_outbox WHERE invoice_id = :i ORDER BY id", i=invoice_id)
    return [(t, d if isinstance(d, dict) else json.loads(d)) for t, d in found]


def test_a_duplicate_hold_is_cleared_or_confirmed_and_decisions_are_announced(api: str) -> None:
    original, copy, another = (needs_review(total="119.00") for _ in range(3))
    for held in (copy, another):  # the same invoice from other bytes: held as a possible duplicate of the first
        body = call("GET", f"/invoices/{held}", VIEWER).json()
        assert "POSSIBLE_DUPLICATE" in [i["code"] for i in body["invoice"]["issues"]], body
    assert "POSSIBLE_DUPLICATE" not in [i["code"] for i in call("GET", f"/invoices/{original}", VIEWER)
                                        .json()["invoice"]["issues"]]

    assert call("POST", f"/invoices/{copy}/clear-duplicate", REVIEWER).code == "CLAIM_REQUIRED"
    claimed(copy)
    cleared = call("POST", f"/invoices/{copy}/clear-duplicate", REVIEWER)
    assert cleared.status == 200, cleared
    assert "POSSIBLE_DUPLICATE" not in [i["code"] for i in cleared.json()["invoice"]["issues"]]
    assert cleared.headers["etag"] == '"2"'
    assert call("POST", f"/invoices/{copy}/clear-duplicate", REVIEWER).code == "DUPLICATE_NOT_PENDING"
    # An edit looks the invoice up again, but a hold a reviewer has cleared stays cleared.
    etag = call("PATCH", f"/invoices/{copy}", REVIEWER, {"po_number": "PO-9"},
                headers={"if-match": cleared.headers["etag"]}).headers["etag"]
    assert "POSSIBLE_DUPLICATE" not in [i["code"] for i in call("GET", f"/invoices/{copy}", VIEWER)
                                        .json()["invoice"]["issues"]]
    assert [e["action"] for e in call("GET", f"/invoices/{copy}/history", VIEWER).json()["events"]] == [
        "CLAIM", "CLEAR_DUPLICATE", "EDIT"]

    claimed(another)
    rejected = call("POST", f"/invoices/{another}/reject", REVIEWER, {"reason": "sent twice", "duplicate": True})
    assert rejected.status == 200, rejected
    reason = rejected.json()["decision"]["reason"]
    assert reason.startswith("sent twice (duplicate (strong) of invoice ") and str(original) in reason, reason
    [(kind, detail)] = [e for e in _outbox(another) if e[0] == "InvoiceRejected"]
    assert (detail["status"], detail["actor"], detail["reason"]) == ("REJECTED", "rev-1", reason)

    call("PATCH", f"/invoices/{copy}", REVIEWER, {"total": "119.00"}, headers={"if-match": etag})
    approved = call("POST", f"/invoices/{copy}/approve", REVIEWER)
    assert approved.status in (200, 409), approved  # TOTAL_MISMATCH was stored by hand: validation decides
    if approved.status == 200:
        assert [e[0] for e in _outbox(copy)][-1] == "InvoiceApproved"
