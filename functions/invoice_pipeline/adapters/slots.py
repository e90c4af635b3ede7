"""Textract slots in Postgres (table textract_slots, clock textract_pace; migration 0003): documents queue
for a slot, dispatchers grant them in order, completions and failures release them. Each public function is
one transaction; `reserve` holds the clock's row lock, so concurrent dispatchers grant one after another."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from invoice_pipeline.adapters.db import rows, transaction
from invoice_pipeline.adapters.repository import transition_in
from invoice_pipeline.domain.admission import Grant, Limits, plan
from invoice_pipeline.domain.status import DocumentStatus


@dataclass(frozen=True)
class Queue:
    waiting: int
    held: int
    oldest_waiting_seconds: float


def enqueue(document_id: str, task_token: str, execution_arn: str | None) -> bool:
    """The document waits (QUEUED) for a slot under this token. Queued again (its start was refused), it
    keeps its place: the time it first queued. True when it was queued already."""
    with transaction() as con:
        again = bool(con.run("SELECT 1 FROM textract_slots WHERE document_id = :d FOR UPDATE",
                             d=uuid.UUID(document_id)))
        con.run(
            "INSERT INTO textract_slots (document_id, state, task_token, execution_arn)"
            " VALUES (:d, 'WAITING', :t, :x)"
            " ON CONFLICT (document_id) DO UPDATE SET state = 'WAITING', task_token = EXCLUDED.task_token,"
            " execution_arn = EXCLUDED.execution_arn, granted_at = NULL, start_at = NULL, expires_at = NULL",
            d=uuid.UUID(document_id), t=task_token, x=execution_arn,
        )
        transition_in(con, document_id, DocumentStatus.QUEUED, execution_arn=execution_arn,
                      detail={"queued_again": True} if again else None)
    return again


def reserve(limits: Limits) -> tuple[list[Grant], list[str]]:
    """Grant free slots to the oldest waiting documents; first reclaim slots whose lease expired.
    Returns the grants and the documents whose slots were reclaimed."""
    with transaction() as con:
        clock = rows(con, "SELECT next_start_at, now() AS now FROM textract_pace WHERE id = 1 FOR UPDATE")[0]
        reclaimed = [str(r[0]) for r in con.run(
            "DELETE FROM textract_slots WHERE state = 'HELD' AND expires_at < now() RETURNING document_id") or []]
        held = int(con.run("SELECT count(*) FROM textract_slots WHERE state = 'HELD'")[0][0])
        free = max(0, limits.max_jobs - held)
        waiting = [(str(d), t) for d, t in con.run(
            "SELECT document_id, task_token FROM textract_slots WHERE state = 'WAITING'"
            " ORDER BY enqueued_at, document_id LIMIT :n FOR UPDATE", n=free) or []] if free else []
        grants, next_start = plan(now=clock["now"], next_start_at=clock["next_start_at"], held=held,
                                  waiting=waiting, limits=limits)
        for g in grants:
            con.run("UPDATE textract_slots SET state = 'HELD', granted_at = now(), start_at = :s, expires_at = :e"
                    " WHERE document_id = :d", s=g.start_at, e=g.expires_at, d=uuid.UUID(g.document_id))
        if grants:
            con.run("UPDATE textract_pace SET next_start_at = :n WHERE id = 1", n=next_start)
    return grants, reclaimed


def requeue(document_id: str) -> None:
    """A grant that could not be delivered for a passing reason: the document waits again, in its place."""
    with transaction() as con:
        con.run("UPDATE textract_slots SET state = 'WAITING', granted_at = NULL, start_at = NULL,"
                " expires_at = NULL WHERE document_id = :d", d=uuid.UUID(document_id))


def release(document_id: str) -> bool:
    """The document no longer needs its slot (its job ended, it failed, its execution is gone)."""
    with transaction() as con:
        return bool(con.run("DELETE FROM textract_slots WHERE document_id = :d RETURNING document_id",
                            d=uuid.UUID(document_id)))


def queue() -> Queue:
    with transaction() as con:
        found = rows(
            con,
            "SELECT count(*) FILTER (WHERE state = 'WAITING') AS waiting,"
            " count(*) FILTER (WHERE state = 'HELD') AS held,"
            " coalesce(extract(epoch FROM now() - min(enqueued_at) FILTER (WHERE state = 'WAITING')), 0)"
            " AS oldest FROM textract_slots",
        )[0]
    return Queue(waiting=int(found["waiting"]), held=int(found["held"]),
                 oldest_waiting_seconds=float(found["oldest"]))
