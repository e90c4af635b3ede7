"""The downstream events (domain/downstream_events.py): one schema per event name, the details the pipeline
builds valid against them, and the order rules of publishing (one event per document per PutEvents call, a
refused entry holding back its document's later events)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from invoice_pipeline.domain import downstream_events as de
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.shared_data import REPO_ROOT

SCHEMAS = REPO_ROOT / "schemas"
EVENT_SCHEMAS = SCHEMAS / "events"
DOC = uuid.UUID("0f6b2c7e-4a1d-4c57-9b8e-2d6a3f1c9e04")


@cache
def _validator(event_type: str) -> Draft202012Validator:
    files = [*EVENT_SCHEMAS.glob("*.schema.json"), SCHEMAS / "invoice.schema.json"]
    contents = [json.loads(f.read_text()) for f in files]
    registry: Registry[Any] = Registry().with_resources(
        (c["$id"], DRAFT202012.create_resource(c)) for c in contents)
    schema = json.loads((EVENT_SCHEMAS / f"{event_type}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def validate_event(event_type: str, detail: dict[str, Any]) -> None:
    """Raise if `detail` (as published) is not what schemas/events/<event_type>.schema.json describes."""
    errors = sorted(_validator(event_type).iter_errors(detail), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def invoice_row(**overrides: Any) -> dict[str, Any]:
    """An `invoices` row as adapters/outbox.py reads it (numerics as Decimal, issues as stored)."""
    return {"id": uuid.uuid4(), "invoice_number": "RE-2024-0042", "vendor_name": "Kesselring Feinmechanik GmbH",
            "vendor_tax_id": "DE123456789", "total": Decimal("967.87"), "currency": "EUR",
            "amount_due": Decimal("967.87"), "validation_status": "COMPLETED", "issues": [], **overrides}


def published(event: de.OutboxEvent, sequence: int = 7) -> dict[str, Any]:
    row = de.Pending(id=sequence, event_id=event.event_id, event_type=str(event.event_type),
                     document_id=event.document_id, detail=event.detail,
                     created_at=datetime(2026, 3, 1, 12, 0, 5, 123000, tzinfo=UTC))
    return de.published_detail(row)


def test_each_event_name_has_its_schema_and_its_status() -> None:
    names = {p.name.removesuffix(".schema.json") for p in EVENT_SCHEMAS.glob("*.schema.json")} - {"common"}
    assert names == {t.value for t in de.EventType}
    for event_type in de.EventType:
        schema = json.loads((EVENT_SCHEMAS / f"{event_type}.schema.json").read_text())
        assert schema["title"] == event_type.value
        assert schema["properties"]["status"] == {"const": de.STATUS[event_type]}


def test_terraform_grants_publishing_with_the_source_the_code_sends() -> None:
    tf = (REPO_ROOT / "terraform" / "downstream_events.tf").read_text()
    assert re.search(r'events_source = "([^"]+)"', tf)[1] == de.SOURCE  # type: ignore[index]


def test_a_persisted_document_announces_each_invoice_by_its_own_outcome() -> None:
    ok = invoice_row()
    held = invoice_row(validation_status="NEEDS_REVIEW", total=None, amount_due=Decimal("-12.50"),
                       issues=[{"code": "TOTAL_MISMATCH"}, {"code": "LOW_CONFIDENCE"}, {"code": "TOTAL_MISMATCH"}])
    events = de.persisted(DOC, "NEEDS_REVIEW", [ok, held])
    assert [e.event_type for e in events] == [de.EventType.INVOICE_COMPLETED, de.EventType.INVOICE_NEEDS_REVIEW]
    done, review = (published(e) for e in events)
    validate_event("InvoiceCompleted", done)
    validate_event("InvoiceNeedsReview", review)
    assert done["invoice_id"] == str(ok["id"]) and done["document_id"] == str(DOC)
    assert done["totals"] == {"total": "967.87", "currency": "EUR", "amount_due": "967.87"}
    assert done["vendor"] == {"name": "Kesselring Feinmechanik GmbH", "tax_id": "DE123456789"}
    assert review["totals"] == {"total": None, "currency": "EUR", "amount_due": "-12.50"}
    assert review["issues"] == ["LOW_CONFIDENCE", "TOTAL_MISMATCH"]
    assert done["sequence"] == 7 and done["occurred_at"] == "2026-03-01T12:00:05.123+00:00"
    assert done["event_id"] != review["event_id"]


@pytest.mark.parametrize(("status", "event_type"), [("COMPLETED", "InvoiceCompleted"),
                                                     ("NEEDS_REVIEW", "InvoiceNeedsReview")])
def test_a_document_without_invoices_still_announces_its_status(status: str, event_type: str) -> None:
    (event,) = de.persisted(DOC, status, [])
    detail = published(event)
    validate_event(event_type, detail)
    assert detail["invoice_id"] is None and detail["status"] == status


def test_a_failure_names_its_error_and_file() -> None:
    event = de.document_failed(DOC, error_code="CorruptDocument", error_message="no %%EOF marker " * 200,
                               object_key="incoming/broken.pdf")
    detail = published(event)
    validate_event("DocumentFailed", detail)
    assert detail["error"]["code"] == "CorruptDocument" and len(detail["error"]["message"]) == 1000
    assert detail["object_key"] == "incoming/broken.pdf" and detail["status"] == "FAILED"


def test_a_reviewers_decision_is_an_invoice_event_with_what_the_review_api_adds() -> None:
    inv = invoice_row()
    approved = published(de.invoice_event(de.EventType.INVOICE_APPROVED, DOC, inv, actor="reviewer-1"))
    rejected = published(de.invoice_event(de.EventType.INVOICE_REJECTED, DOC, inv, actor="reviewer-2",
                                          reason="duplicate of RE-2024-0041"))
    validate_event("InvoiceApproved", approved)
    validate_event("InvoiceRejected", rejected)
    assert (approved["status"], rejected["status"]) == ("APPROVED", "REJECTED")
    # Only an approved invoice is ready for payment (domain/status.py READY_FOR_PAYMENT).
    assert (approved["ready_for_payment"], rejected["ready_for_payment"]) == (True, False)
    assert not any(published(e)["ready_for_payment"] for e in de.persisted(DOC, "COMPLETED", [inv]))


@pytest.mark.parametrize(("event_type", "broken"), [
    ("InvoiceCompleted", {"totals": {"total": "1,234.56", "currency": "EUR", "amount_due": None}}),
    ("InvoiceCompleted", {"status": "NEEDS_REVIEW"}),
    ("InvoiceCompleted", {"surprise": 1}),
    ("InvoiceRejected", {"reason": ""}),
    ("InvoiceApproved", {"invoice_id": None}),
    ("InvoiceApproved", {"ready_for_payment": False}),
    ("InvoiceCompleted", {"ready_for_payment": True}),
    ("DocumentFailed", {"error": {"code": "Corrupt Document", "message": "x"}}),
])
def test_the_schemas_refuse_what_a_consumer_could_not_rely_on(event_type: str, broken: dict[str, Any]) -> None:
    good = {
        "InvoiceCompleted": lambda: de.persisted(DOC, "COMPLETED", [invoice_row()])[0],
        "InvoiceApproved": lambda: de.invoice_event(de.EventType.INVOICE_APPROVED, DOC, invoice_row()),
        "InvoiceRejected": lambda: de.invoice_event(de.EventType.INVOICE_REJECTED, DOC, invoice_row(), reason="x"),
        "DocumentFailed": lambda: de.document_failed(DOC, error_code="E", error_message="m", object_key=None),
    }[event_type]()
    detail = published(good)
    validate_event(event_type, detail)
    with pytest.raises(AssertionError):
        validate_event(event_type, {**detail, **broken})


# --- publishing order ---------------------------------------------------------------------------------------

def pending(*documents: str) -> list[de.Pending]:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return [de.Pending(id=n, event_id=str(uuid.uuid4()), event_type="InvoiceCompleted", document_id=d, detail={},
                       created_at=now) for n, d in enumerate(documents, start=1)]


def test_a_batch_holds_one_event_per_document_in_outbox_order() -> None:
    rows = pending("a", "a", "b", "c", "b", "d")
    assert [r.id for r in de.next_batch(rows, set())] == [1, 3, 4, 6]
    assert [r.id for r in de.next_batch(rows, {"a", "c"})] == [3, 6]
    many = pending(*(f"doc{n}" for n in range(25)))
    assert len(de.next_batch(many, set())) == de.MAX_ENTRIES == 10


def test_the_answer_of_put_events_is_read_entry_by_entry() -> None:
    batch = pending("a", "b", "c")
    response = {"FailedEntryCount": 2, "Entries": [
        {"EventId": "e1"}, {"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}, {}]}
    accepted, refused = de.split_response(batch, response)
    assert [r.id for r in accepted] == [1]
    assert [(r.id, why) for r, why in refused] == [(2, "InternalFailure: try again"), (3, "NoResult:")]


def test_an_entry_carries_the_detail_as_published_and_the_source() -> None:
    (row,) = pending("a")
    entry = de.entry(row, "invoices-local-invoices")
    assert entry["Source"] == de.SOURCE and entry["DetailType"] == "InvoiceCompleted"
    assert entry["EventBusName"] == "invoices-local-invoices"
    assert json.loads(entry["Detail"]) == de.published_detail(row)
