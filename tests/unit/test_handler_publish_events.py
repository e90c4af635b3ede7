"""Who publishes the downstream events: Persist and RecordFailure once their change is committed (best effort:
a failure leaves the events to the schedule, never fails the document), and the scheduled PublishEvents
function, which reports what is still pending. And `invoices events`' line for each kind of event."""

from __future__ import annotations

from typing import Any

import pytest
from invoice_local.events_cmd import describe, tap_queue_name
from invoice_pipeline.adapters.outbox import Backlog, Drained
from invoice_pipeline.handlers import persist, publish_events, record_failure

from tests.events import load_event
from tests.fakes import FakeDocuments, FakeResults, FakeSlots, FakeStepFunctions, Journal
from tests.shared_data import REPO_ROOT
from tests.unit.test_validation import make_doc, make_invoice

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")


class FakeEvents:
    def __init__(self, journal: Journal, drained: Drained | None = None, pending: int = 0,
                 oldest_seconds: float = 0.0, purged: int = 0) -> None:
        self.journal, self.drained, self.left = journal, drained or Drained(), Backlog(pending, oldest_seconds)
        self.purged = purged

    def drain(self) -> Drained:
        self.journal.record("events", "drain")
        return self.drained

    def drain_after_commit(self) -> Drained | None:
        self.journal.record("events", "drain_after_commit")
        return self.drained

    def backlog(self) -> Backlog:
        self.journal.record("events", "backlog")
        return self.left

    def purge(self) -> int:
        self.journal.record("events", "purge")
        return self.purged


def test_persist_publishes_after_its_commit() -> None:
    event = load_event("persist_input")
    journal = Journal()
    results = FakeResults(journal, {event["parsed"]["result"]["key"]: make_doc(make_invoice()),
                                    event["validation"]["issues"]["key"]: {"status": "COMPLETED", "issues": []}})
    persist.handle(event, persist.Ports(documents=FakeDocuments(journal), results=results,
                                        events=FakeEvents(journal)))
    assert journal.names()[-2:] == ["documents.persist_invoices", "events.drain_after_commit"]


def test_record_failure_publishes_after_its_commit() -> None:
    journal = Journal()
    ports = record_failure.Ports(documents=FakeDocuments(journal), slots=FakeSlots(journal),
                                 sfn=FakeStepFunctions(journal), events=FakeEvents(journal))
    record_failure.handle(load_event("record_failure_input"), ports)
    assert journal.names() == ["documents.record_failure", "slots.release", "events.drain_after_commit"]


def test_the_schedule_publishes_purges_and_reports_what_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[tuple[str, float]] = []
    monkeypatch.setattr(publish_events.metrics, "add_metric",
                        lambda *, name, unit, value: reported.append((name, value)))
    journal = Journal()
    events = FakeEvents(journal, Drained(published=3, refused=1, calls=2), pending=1, oldest_seconds=930.5,
                        purged=40)
    output = publish_events.handle({"source": "aws.events"}, publish_events.Ports(events=events))
    assert journal.names() == ["events.drain", "events.purge", "events.backlog"]
    assert output == {"published": 3, "refused": 1, "outage": None, "busy": False, "pending": 1,
                      "oldest_pending_seconds": 930.5, "purged": 40}
    # What terraform's outbox-oldest-event alarm watches (observability.tf names the same metric).
    assert reported == [("PendingEvents", 1), ("OldestPendingEventSeconds", 930.5), ("EventsPurged", 40)]
    observability = (REPO_ROOT / "terraform" / "observability.tf").read_text()
    assert 'metric = "OldestPendingEventSeconds"' in observability


def _event(kind: str, **detail: Any) -> dict[str, Any]:
    base = {"sequence": 12, "occurred_at": "2026-03-01T12:00:05.123+00:00",
            "document_id": "3f560dc9-e020-4e40-bebe-670b649d86cf"}
    return {"detail-type": kind, "detail": {**base, **detail}}


def test_invoices_events_prints_one_line_per_event() -> None:
    done = describe(_event("InvoiceCompleted", status="COMPLETED", invoice_number="24911",
                           vendor={"name": "Bergmatter Haustechnik AG"},
                           totals={"total": "975.09", "currency": "CHF"}))
    assert "#12  InvoiceCompleted" in done and "3f560dc9  COMPLETED" in done
    assert "24911" in done and "Bergmatter Haustechnik AG" in done and done.endswith("975.09 CHF")
    failed = describe(_event("DocumentFailed", status="FAILED", error={"code": "CorruptDocument",
                                                                       "message": "no %%EOF"}))
    assert failed.endswith("FAILED        CorruptDocument: no %%EOF")
    review = describe(_event("InvoiceNeedsReview", status="NEEDS_REVIEW", issues=["TOTAL_MISMATCH"], totals={}))
    assert review.endswith("issues TOTAL_MISMATCH") and "\n" not in review
    assert "--:--:--.---" in describe({"detail-type": "X", "detail": {"occurred_at": "garbage"}})


def test_the_tap_queue_is_named_like_the_deployment() -> None:
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:invoices-local-pipeline"
    assert tap_queue_name(arn) == "invoices-local-events-tap"
