"""The events the pipeline publishes for the systems downstream (an ERP, a payment run): their names, their
detail, and the order they are published in. The one definition: schemas/events/<name>.schema.json describes
each detail (tests/unit/test_downstream_events.py holds the two together), adapters/outbox.py stores them,
publish.py puts them on the bus.

Not to be confused with domain/events.py, which reads the S3 events that come *in*.

An event is written to the outbox table in the same transaction as the change it announces, and published
later, at least once: `event_id` tells a repeat, `sequence` (the outbox row's id) rises with each change of a
document, `occurred_at` is when the change committed its event. Amounts are decimal strings, as everywhere."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from invoice_pipeline.domain.status import READY_FOR_PAYMENT, DocumentStatus, InvoiceStatus

# EventBridge's `source` of every event the pipeline publishes: what a consumer's rule matches on.
SOURCE = "invoice-pipeline"
# PutEvents takes at most 10 entries a call.
MAX_ENTRIES = 10


class EventType(StrEnum):
    """The event's name: EventBridge's `detail-type`, and the file name of its schema."""

    INVOICE_COMPLETED = "InvoiceCompleted"
    INVOICE_NEEDS_REVIEW = "InvoiceNeedsReview"
    INVOICE_APPROVED = "InvoiceApproved"
    INVOICE_REJECTED = "InvoiceRejected"
    DOCUMENT_FAILED = "DocumentFailed"


# The status each event reports. APPROVED and REJECTED are set by a reviewer (the review API), not by the
# pipeline.
STATUS: Mapping[EventType, str] = {
    EventType.INVOICE_COMPLETED: DocumentStatus.COMPLETED.value,
    EventType.INVOICE_NEEDS_REVIEW: DocumentStatus.NEEDS_REVIEW.value,
    EventType.INVOICE_APPROVED: InvoiceStatus.APPROVED.value,
    EventType.INVOICE_REJECTED: InvoiceStatus.REJECTED.value,
    EventType.DOCUMENT_FAILED: DocumentStatus.FAILED.value,
}
_BY_VALIDATION = {DocumentStatus.COMPLETED.value: EventType.INVOICE_COMPLETED,
                  DocumentStatus.NEEDS_REVIEW.value: EventType.INVOICE_NEEDS_REVIEW}


@dataclass(frozen=True)
class OutboxEvent:
    """An event to publish, as the outbox stores it (the sequence and time are the row's)."""

    event_type: EventType
    document_id: str
    invoice_id: str | None
    detail: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def _amount(value: Any) -> str | None:
    return None if value is None else str(value if isinstance(value, Decimal) else Decimal(str(value)))


def invoice_detail(invoice: Mapping[str, Any]) -> dict[str, Any]:
    """What every invoice event says of the invoice, from its `invoices` row."""
    return {
        "invoice_id": str(invoice["id"]),
        "invoice_number": invoice.get("invoice_number"),
        "vendor": {"name": invoice.get("vendor_name"), "tax_id": invoice.get("vendor_tax_id")},
        "totals": {"total": _amount(invoice.get("total")), "currency": invoice.get("currency"),
                   "amount_due": _amount(invoice.get("amount_due"))},
    }


def _no_invoice() -> dict[str, Any]:
    return {"invoice_id": None, "invoice_number": None, "vendor": {"name": None, "tax_id": None},
            "totals": {"total": None, "currency": None, "amount_due": None}}


def invoice_event(event_type: EventType, document_id: uuid.UUID | str, invoice: Mapping[str, Any],
                  **extra: Any) -> OutboxEvent:
    """An event about one invoice (its `invoices` row); `extra` adds what the event type carries beyond it:
    `issues` (codes) for InvoiceNeedsReview, `actor` and `reason` for a reviewer's decision."""
    detail = {"document_id": str(document_id), "status": STATUS[event_type], **invoice_detail(invoice), **extra}
    return OutboxEvent(event_type, str(document_id), str(invoice["id"]), detail)


def persisted(document_id: uuid.UUID | str, status: str, invoices: Sequence[Mapping[str, Any]]) -> list[OutboxEvent]:
    """What Persist announces: one event per invoice, by the invoice's own validation outcome (a document is
    NEEDS_REVIEW when one of its invoices is); a document in which nothing was found, one event of its status
    with no invoice."""
    if not invoices:
        event_type = _BY_VALIDATION[str(status)]
        return [OutboxEvent(event_type, str(document_id), None,
                            {"document_id": str(document_id), "status": STATUS[event_type], **_no_invoice(),
                             **({"issues": []} if event_type == EventType.INVOICE_NEEDS_REVIEW else {})})]
    events = []
    for inv in invoices:
        event_type = _BY_VALIDATION[str(inv["validation_status"])]
        extra = ({"issues": sorted({i["code"] for i in inv.get("issues") or []})}
                 if event_type == EventType.INVOICE_NEEDS_REVIEW else {})
        events.append(invoice_event(event_type, document_id, inv, **extra))
    return events


def document_failed(document_id: uuid.UUID | str, *, error_code: str, error_message: str,
                    object_key: str | None) -> OutboxEvent:
    """What RecordFailure announces: the document, its named error (errors.py) and the file it came from."""
    detail = {"document_id": str(document_id), "status": STATUS[EventType.DOCUMENT_FAILED], **_no_invoice(),
              "object_key": object_key, "error": {"code": error_code, "message": error_message[:1000]}}
    return OutboxEvent(EventType.DOCUMENT_FAILED, str(document_id), None, detail)


# --- publishing ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Pending:
    """An outbox row not yet published."""

    id: int
    event_id: str
    event_type: str
    document_id: str
    detail: Mapping[str, Any]
    created_at: datetime


def published_detail(row: Pending) -> dict[str, Any]:
    """The detail as consumers get it: the stored one with the event's identity, sequence and time, and
    whether the invoice may now be paid (only an APPROVED one: status.READY_FOR_PAYMENT), derived here from
    the status so that rows stored before it existed say it too."""
    return {"event_id": str(row.event_id), "sequence": row.id,
            "occurred_at": row.created_at.isoformat(timespec="milliseconds"), **row.detail,
            "ready_for_payment": row.detail.get("status") == READY_FOR_PAYMENT.value}


def entry(row: Pending, bus_name: str) -> dict[str, Any]:
    """The PutEvents entry of a row."""
    return {"EventBusName": bus_name, "Source": SOURCE, "DetailType": row.event_type,
            "Detail": json.dumps(published_detail(row), separators=(",", ":")), "Time": row.created_at,
            "Resources": []}


def next_batch(pending: Iterable[Pending], held: set[str], limit: int = MAX_ENTRIES) -> list[Pending]:
    """The rows of the next PutEvents call: in outbox order, at most one per document, none of a document in
    `held` (one of its events failed in this round). One per document is what keeps a document's events in
    order: PutEvents may fail any entry of a call and accept the ones after it, so a document's next event is
    only sent once the one before it was accepted."""
    batch: list[Pending] = []
    seen = set(held)
    for row in pending:
        if row.document_id in seen:
            continue
        seen.add(row.document_id)
        batch.append(row)
        if len(batch) == limit:
            break
    return batch


def split_response(batch: Sequence[Pending], response: Mapping[str, Any]
                   ) -> tuple[list[Pending], list[tuple[Pending, str]]]:
    """The rows PutEvents accepted, and those it refused with the reason (FailedEntryCount > 0). Its answer
    lists one result per entry, in the entries' order: an EventId, or an ErrorCode and ErrorMessage."""
    results = list(response.get("Entries") or [])
    accepted: list[Pending] = []
    refused: list[tuple[Pending, str]] = []
    for pos, row in enumerate(batch):
        result = results[pos] if pos < len(results) else {}
        if result.get("EventId") and not result.get("ErrorCode"):
            accepted.append(row)
        else:
            refused.append((row, f"{result.get('ErrorCode') or 'NoResult'}: {result.get('ErrorMessage') or ''}"
                                 .strip()))
    return accepted, refused
