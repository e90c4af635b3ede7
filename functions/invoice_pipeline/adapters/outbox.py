"""The outbox of downstream events (migrations/0008_outbox.sql): written inside the transaction of the change
each announces, published later by `drain`.

`enqueue(con, event)` is the one write, for any transaction that changes what an event reports: Persist's and
RecordFailure's (repository.py), and a reviewer's approve or reject (the review API calls it in its own
transaction, with an event from domain/downstream_events.invoice_event). Nothing is published until that
transaction commits, and a rolled-back change announces nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from invoice_pipeline.adapters.db import rows, transaction
from invoice_pipeline.domain.downstream_events import (
    OutboxEvent,
    Pending,
    document_failed,
    entry,
    next_batch,
    persisted,
    split_response,
)

if TYPE_CHECKING:  # pg8000 is imported by the first connection (adapters/db.py)
    from invoice_pipeline.adapters.db import Connection

# pg_try_advisory_xact_lock(DRAIN_LOCK, 0): one drainer at a time, so that the events leave in outbox order.
# Apart from the migrations' lock and the reprocess locks' key space (repository.REPROCESS_LOCKS).
DRAIN_LOCK = 7_263_543
# Rows read per round; publishing stops after MAX_CALLS PutEvents calls in one drain (the next one goes on).
_WINDOW = 100
MAX_CALLS = 50
_ERROR_CHARS = 1000

PutEvents = Callable[..., Mapping[str, Any]]


def enqueue(con: Connection, event: OutboxEvent) -> None:
    """Add `event` to the outbox in the caller's transaction."""
    con.run(
        "INSERT INTO event_outbox (event_id, event_type, document_id, invoice_id, detail)"
        " VALUES (:e, :t, :d, :i, CAST(:detail AS jsonb))",
        e=uuid.UUID(event.event_id), t=str(event.event_type), d=uuid.UUID(event.document_id),
        i=uuid.UUID(event.invoice_id) if event.invoice_id else None, detail=json.dumps(event.detail),
    )


def enqueue_persisted(con: Connection, doc_id: uuid.UUID, status: str) -> None:
    """The events of a document Persist has just written (its invoices as stored, in this transaction)."""
    invoices = rows(con, "SELECT id, invoice_number, vendor_name, vendor_tax_id, total, currency, amount_due,"
                         " validation_status, issues FROM invoices WHERE document_id = :d ORDER BY seq", d=doc_id)
    for event in persisted(doc_id, status, invoices):
        enqueue(con, event)


def enqueue_failed(con: Connection, doc_id: uuid.UUID, *, error_code: str, error_message: str,
                   object_key: str | None) -> None:
    enqueue(con, document_failed(doc_id, error_code=error_code, error_message=error_message, object_key=object_key))


@dataclass(frozen=True)
class Drained:
    """What one drain did: events published, PutEvents entries refused (left for the next drain), whether a
    call failed as a whole (the bus unreachable: the rest waits too), or that another drain was running."""

    published: int = 0
    refused: int = 0
    outage: str | None = None
    busy: bool = False
    calls: int = 0


def _pending(con: Connection, held: set[str]) -> list[Pending]:
    found = rows(con, "SELECT id, event_id, event_type, document_id, detail, created_at FROM event_outbox"
                      " WHERE published_at IS NULL AND NOT (document_id = ANY(CAST(:held AS uuid[])))"
                      " ORDER BY id LIMIT :n", held=sorted(held), n=_WINDOW)
    return [Pending(id=r["id"], event_id=str(r["event_id"]), event_type=r["event_type"],
                    document_id=str(r["document_id"]), detail=r["detail"], created_at=r["created_at"])
            for r in found]


def _failed(con: Connection, ids: list[int], error: str) -> None:
    con.run("UPDATE event_outbox SET attempts = attempts + 1, last_error = :e WHERE id = ANY(CAST(:ids AS bigint[]))",
            ids=ids, e=error[:_ERROR_CHARS])


def drain(put_events: PutEvents, bus_name: str, *, max_calls: int = MAX_CALLS) -> Drained:
    """Publish pending events to `bus_name`, oldest first, in one transaction that marks them published as
    PutEvents accepts them. Only one drain runs at a time (a second returns at once, `busy`): the one running
    reads again after each call, so it also takes what was written meanwhile. A refused entry holds back its
    document's later events until the next drain (domain/downstream_events.next_batch); a failed call stops
    this drain. Either way the rows stay pending, with their attempts and last error. Should the process die
    before the commit, the events it had sent are sent again: at least once."""
    published = refused = calls = 0
    held: set[str] = set()
    with transaction() as con:
        if not con.run("SELECT pg_try_advisory_xact_lock(CAST(:ns AS integer), 0)", ns=DRAIN_LOCK)[0][0]:
            return Drained(busy=True)
        while calls < max_calls:
            batch = next_batch(_pending(con, held), held)
            if not batch:
                break
            calls += 1
            try:
                response = put_events(Entries=[entry(row, bus_name) for row in batch])
            except Exception as exc:  # noqa: BLE001 - any failure of the call leaves the events pending
                _failed(con, [row.id for row in batch], f"{type(exc).__name__}: {exc}")
                return Drained(published, refused, outage=f"{type(exc).__name__}: {exc}", calls=calls)
            accepted, failed = split_response(batch, response)
            if accepted:
                con.run("UPDATE event_outbox SET published_at = now(), attempts = attempts + 1"
                        " WHERE id = ANY(CAST(:ids AS bigint[]))", ids=[row.id for row in accepted])
            for row, error in failed:
                _failed(con, [row.id], error)
                held.add(row.document_id)
            published += len(accepted)
            refused += len(failed)
    return Drained(published, refused, calls=calls)


@dataclass(frozen=True)
class Backlog:
    """The events not yet published: how many, and how long the oldest has waited (0 when none)."""

    pending: int
    oldest_seconds: float


def backlog() -> Backlog:
    """What the publish-events function reports (PendingEvents, OldestPendingEventSeconds: the alarm's)."""
    with transaction() as con:
        n, oldest = con.run("SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
                            " FROM event_outbox WHERE published_at IS NULL")[0]
    return Backlog(pending=int(n), oldest_seconds=float(oldest))


# Retention: rows deleted per statement, and statements per call (the rest waits for the next minute's call).
PURGE_BATCH = 1000
PURGE_MAX_BATCHES = 10


def purge_published(older_than_days: int, *, batch: int = PURGE_BATCH, max_batches: int = PURGE_MAX_BATCHES) -> int:
    """Delete events published more than `older_than_days` days ago, oldest first, at most `batch` rows per
    transaction and `max_batches` transactions: short locks, and a bounded run however large the backlog of
    old rows (the first run after a long time without retention). Pending events are never deleted. Returns
    how many were."""
    if older_than_days < 1:
        raise ValueError(f"older_than_days must be at least 1, not {older_than_days}")
    deleted = 0
    for _ in range(max_batches):
        with transaction() as con:
            gone = len(con.run(
                "DELETE FROM event_outbox WHERE id IN (SELECT id FROM event_outbox WHERE published_at IS NOT NULL"
                " AND published_at < now() - make_interval(days => CAST(:d AS integer)) ORDER BY id LIMIT :n)"
                " RETURNING id", d=older_than_days, n=batch))
        deleted += gone
        if gone < batch:
            break
    return deleted
