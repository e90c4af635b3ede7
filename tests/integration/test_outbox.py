"""The outbox of downstream events on a real Postgres (adapters/outbox.py), with EventBridge's PutEvents
stood in for by a fake that answers as EventBridge does (accepted entries get an EventId, refused ones an
ErrorCode, FailedEntryCount counts them; an outage raises). The events are written with the change they
announce or not at all; a drain publishes them oldest first, at least once, never a document's event before
the one that came before it; an outage or a refused entry delays them and loses none. About 1 s beside the
session's Postgres."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pg8000.native
import pytest
from botocore.exceptions import EndpointConnectionError
from invoice_local import dbroles as local_dbroles
from invoice_pipeline.adapters import db, outbox, repository
from invoice_pipeline.adapters.dburl import connect_kwargs
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.publish import Publisher
from pg8000.exceptions import DatabaseError

from tests.unit.test_downstream_events import validate_event
from tests.unit.test_validation import make_doc, make_invoice

BUS = "invoices-test-invoices"


class FakeBus:
    """PutEvents as EventBridge answers it. `down`: every call fails (the endpoint unreachable); `refuse`: the
    event ids whose entries it refuses (InternalFailure), each once."""

    def __init__(self) -> None:
        self.down = False
        self.refuse: set[str] = set()
        self.calls: list[list[dict[str, Any]]] = []
        self.received: list[dict[str, Any]] = []  # accepted entries' details, in arrival order

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        import json

        self.calls.append(Entries)
        if self.down:
            raise EndpointConnectionError(endpoint_url="https://events.us-east-1.amazonaws.com/")
        results: list[dict[str, Any]] = []
        for entry in Entries:
            assert entry["EventBusName"] == BUS and entry["Source"] == "invoice-pipeline"
            detail = json.loads(entry["Detail"])
            if detail["event_id"] in self.refuse:
                self.refuse.discard(detail["event_id"])
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                self.received.append({"type": entry["DetailType"], **detail})
                results.append({"EventId": str(uuid.uuid4())})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


@pytest.fixture
def bus(clean_db: str) -> FakeBus:
    return FakeBus()


def _document(name: str) -> uuid.UUID:
    reg = repository.register(bucket="b", key=f"incoming/{name}", version_id="v1", sha256=uuid.uuid4().hex * 2,
                              size=10, media_type="application/pdf", page_count=1, execution_arn=None)
    return reg.document.id


def _persist(doc: uuid.UUID, *invoices: dict[str, Any], status: str = "COMPLETED") -> None:
    repository.persist_invoices(doc, make_doc(*invoices), status=DocumentStatus(status), issues=[],
                                execution_arn=None)


def _outbox() -> list[dict[str, Any]]:
    with db.transaction() as con:
        return db.rows(con, "SELECT * FROM event_outbox ORDER BY id")


def test_persist_and_failure_write_their_events_in_their_transaction(bus: FakeBus) -> None:
    done, broken = _document("two-invoices.pdf"), _document("broken.pdf")
    _persist(done, make_invoice(), make_invoice(invoice_number="RE-2024-0043"))
    repository.record_failure(error_code="CorruptDocument", error_message="no %%EOF", execution_arn=None,
                              doc_id=str(broken))
    with pytest.raises(KeyError):  # an invoice without a vendor: the transaction fails, and with it its events
        _persist(_document("bad.pdf"), {"invoice_number": "X"})

    rows = _outbox()
    assert [(r["event_type"], r["document_id"]) for r in rows] == [
        ("InvoiceCompleted", done), ("InvoiceCompleted", done), ("DocumentFailed", broken)]
    stored = {str(i["id"]) for i in repository.invoices_for(done)}
    assert {str(r["invoice_id"]) for r in rows[:2]} == stored
    assert all(r["published_at"] is None for r in rows)


def test_a_drain_publishes_every_event_once_in_order(bus: FakeBus) -> None:
    first, second = _document("a.pdf"), _document("b.pdf")
    _persist(first, make_invoice())
    repository.record_failure(error_code="EmptyDocument", error_message="0 bytes", execution_arn=None,
                              doc_id=str(second))
    _persist(first, make_invoice(total="120.00"))  # reprocessed: a second event of the same document

    drained = outbox.drain(bus.put_events, BUS)
    assert (drained.published, drained.refused, drained.outage) == (3, 0, None)
    assert [(e["type"], e["document_id"]) for e in bus.received] == [
        ("InvoiceCompleted", str(first)), ("DocumentFailed", str(second)), ("InvoiceCompleted", str(first))]
    sequences = [e["sequence"] for e in bus.received]
    assert sequences == sorted(sequences) and len(bus.calls) == 2  # one event per document per call
    for event in bus.received:
        validate_event(event.pop("type"), event)
    assert outbox.drain(bus.put_events, BUS).published == 0 and len(bus.calls) == 2  # nothing twice
    assert all(r["published_at"] is not None and r["attempts"] == 1 for r in _outbox())


def test_an_outage_of_the_bus_delays_the_events_and_loses_none(bus: FakeBus,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    docs = [_document(f"{n}.pdf") for n in range(3)]
    bus.down = True
    for doc in docs:
        _persist(doc, make_invoice())
        after_commit = Publisher(bus).drain_after_commit()  # as Persist does after its commit
        assert after_commit is not None and after_commit.published == 0
        assert "EndpointConnectionError" in (after_commit.outage or "")
    assert all(r["published_at"] is None and r["attempts"] >= 1 and "EndpointConnectionError" in r["last_error"]
               for r in _outbox())

    bus.down = False
    up = outbox.drain(bus.put_events, BUS)
    assert up.published == 3 and [e["document_id"] for e in bus.received] == [str(d) for d in docs]


def test_a_refused_entry_holds_back_its_documents_later_events_only(bus: FakeBus) -> None:
    """FailedEntryCount > 0: the refused entry stays pending, the document's next event waits for it, the other
    documents' events go on; the next drain sends the document's two in their order."""
    held, other = _document("held.pdf"), _document("other.pdf")
    _persist(held, make_invoice(invoice_number="1"))
    _persist(held, make_invoice(invoice_number="2"))
    _persist(other, make_invoice(invoice_number="3"))
    first_of_held = _outbox()[0]
    bus.refuse = {str(first_of_held["event_id"])}

    drained = outbox.drain(bus.put_events, BUS)
    assert (drained.published, drained.refused) == (1, 1)
    assert [e["invoice_number"] for e in bus.received] == ["3"]
    assert _outbox()[0]["last_error"] == "InternalFailure: try again"

    assert outbox.drain(bus.put_events, BUS).published == 2
    assert [e["invoice_number"] for e in bus.received] == ["3", "1", "2"]


def test_one_drain_at_a_time(bus: FakeBus, clean_db: str) -> None:
    _persist(_document("a.pdf"), make_invoice())
    other = pg8000.native.Connection(timeout=10, **connect_kwargs(clean_db))
    try:
        other.run("SELECT pg_advisory_lock(CAST(:ns AS integer), 0)", ns=outbox.DRAIN_LOCK)
        assert outbox.drain(bus.put_events, BUS).busy and bus.calls == []
        other.run("SELECT pg_advisory_unlock(CAST(:ns AS integer), 0)", ns=outbox.DRAIN_LOCK)
        assert outbox.drain(bus.put_events, BUS).published == 1
    finally:
        other.close()


@pytest.fixture
def role(clean_db: str) -> Iterator[dict[str, pg8000.native.Connection]]:
    cons = {k: pg8000.native.Connection(timeout=10, **connect_kwargs(u))
            for k, u in local_dbroles.role_urls(clean_db).items()}
    try:
        yield cons
    finally:
        for con in cons.values():
            con.close()


def _refused(con: pg8000.native.Connection, sql: str, **params: Any) -> bool:
    con.run("BEGIN")
    try:
        con.run(sql, **params)
    except DatabaseError as exc:
        return exc.args[0].get("C") == "42501"
    finally:
        con.run("ROLLBACK")
    return False


def test_the_api_may_only_add_events_and_the_pipeline_may_delete_them(bus: FakeBus, role: Any) -> None:
    doc = _document("a.pdf")
    insert = ("INSERT INTO event_outbox (event_id, event_type, document_id, detail)"
              " VALUES (gen_random_uuid(), 'InvoiceApproved', :d, '{}')")
    assert not _refused(role["api"], insert, d=doc)
    for sql in ("SELECT * FROM event_outbox", "UPDATE event_outbox SET attempts = 0", "DELETE FROM event_outbox"):
        assert _refused(role["api"], sql), sql
    assert not _refused(role["pipeline"], insert, d=doc)
    assert not _refused(role["pipeline"], "UPDATE event_outbox SET published_at = now()")
    # The retention (outbox.purge_published, migration 0009): the pipeline deletes published events.
    assert not _refused(role["pipeline"], "DELETE FROM event_outbox WHERE published_at < now()")
    assert _refused(role["pipeline"], "TRUNCATE event_outbox")


def _age(days: int, *, published: bool, doc: uuid.UUID) -> None:
    """Make `doc`'s events `days` old (created, and published if `published`)."""
    with db.transaction() as con:
        con.run("UPDATE event_outbox SET created_at = now() - make_interval(days => CAST(:n AS integer)),"
                " published_at = CASE WHEN :p THEN now() - make_interval(days => CAST(:n AS integer)) END"
                " WHERE document_id = :d", n=days, p=published, d=doc)


def test_retention_deletes_old_published_events_in_bounded_batches_and_never_a_pending_one(bus: FakeBus) -> None:
    old_a, old_b, recent, stuck = (_document(f"{n}.pdf") for n in "abcd")
    for doc in (old_a, old_b, recent, stuck):
        _persist(doc, make_invoice())
    assert outbox.drain(bus.put_events, BUS).published == 4
    _age(31, published=True, doc=old_a)
    _age(40, published=True, doc=old_b)
    _age(45, published=False, doc=stuck)  # never published: kept however old, and it is the backlog

    assert outbox.purge_published(30, batch=1, max_batches=1) == 1  # bounded: one batch of one
    assert outbox.purge_published(30, batch=1, max_batches=5) == 1  # the other; the third batch finds none
    left = {r["document_id"]: r["published_at"] for r in _outbox()}
    assert set(left) == {recent, stuck} and left[stuck] is None
    assert outbox.purge_published(30) == 0

    backlog = outbox.backlog()
    assert backlog.pending == 1 and 45 * 86400 <= backlog.oldest_seconds < 46 * 86400
    with pytest.raises(ValueError, match="at least 1"):
        outbox.purge_published(0)


def test_no_backlog_is_zero_seconds_old(bus: FakeBus) -> None:
    assert outbox.backlog() == outbox.Backlog(pending=0, oldest_seconds=0.0)
