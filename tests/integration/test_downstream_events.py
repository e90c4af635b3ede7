"""Issue 12's downstream events on the deployed stack: a COMPLETED and a FAILED document, uploaded while
EventBridge answers every PutEvents with 503, end as usual with their events pending in the outbox (Persist's
and RecordFailure's publishing after the commit failed, and nothing reached the bus); once the bus is back,
the scheduled publish-events function (Terraform's rule, fired now) puts them on the bus, and the tap rule's
queue (local mode's, what `invoices events` reads) receives both, in order, valid against their schemas,
once each."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import eventbridge
from invoice_local.emulation import textract as standin_mod
from invoice_pipeline.adapters import db
from moto.core.exceptions import JsonRESTError
from moto.events.models import EventsBackend

from tests.shared_data import INVOICES_DIR, TEXTRACT_DIR, require
from tests.unit.test_downstream_events import validate_event


class ServiceUnavailable(JsonRESTError):
    code = 503


def _bus_down(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    raise ServiceUnavailable("ServiceUnavailableException", "EventBridge is unavailable")


def _outbox() -> list[dict[str, Any]]:
    with db.transaction() as con:
        return db.rows(con, "SELECT * FROM event_outbox ORDER BY id")


def read_tap(stack: Stack, expected: int, timeout: float = 30) -> list[dict[str, Any]]:
    """Every event the tap queue holds, once `expected` have arrived (or the time is up)."""
    sqs, url = stack.client("sqs"), stack.outputs["events_tap_queue_url"]
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []):
            got.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if len(got) >= expected or time.monotonic() >= deadline:
            return got


def test_events_reach_the_bus_in_order_after_an_outage(stack: Stack, standin: standin_mod._State,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    receipt = require(TEXTRACT_DIR / "receipt.jpg").read_bytes()  # validates COMPLETED
    standin.engine.add(receipt, [json.loads(require(  # type: ignore[attr-defined]
        TEXTRACT_DIR / "receipt.analyze_expense.json").read_text())])
    pdf = require(INVOICES_DIR / "AmazonWebServices.pdf").read_bytes()

    monkeypatch.setattr(EventsBackend, "put_events", _bus_down)
    stack.upload("incoming/receipt.jpg", receipt)
    stack.upload("incoming/truncated.pdf", pdf[: len(pdf) // 2])
    executions = stack.wait_for_executions(2)
    assert sorted(e["status"] for e in executions) == ["FAILED", "SUCCEEDED"]  # the outage failed no document

    pending = _outbox()
    assert sorted(r["event_type"] for r in pending) == ["DocumentFailed", "InvoiceCompleted"]
    assert all(r["published_at"] is None and r["attempts"] >= 1 and "ServiceUnavailable" in r["last_error"]
               for r in pending), pending
    assert read_tap(stack, 1, timeout=0) == []

    monkeypatch.undo()  # the bus is back
    eventbridge.fire_scheduled(f"{stack.function_names['publish_events']}")
    events = read_tap(stack, 2)

    assert [e["detail-type"] for e in events] == [r["event_type"] for r in pending]
    assert [e["detail"]["sequence"] for e in events] == [r["id"] for r in pending]
    assert [e["detail"]["event_id"] for e in events] == [str(r["event_id"]) for r in pending]
    assert [e["detail"]["document_id"] for e in events] == [str(r["document_id"]) for r in pending]
    assert all(e["source"] == "invoice-pipeline" for e in events)
    for event in events:
        validate_event(event["detail-type"], event["detail"])
    completed, failed = sorted((e["detail"] for e in events), key=lambda d: d["status"])
    assert completed["status"] == "COMPLETED" and completed["totals"]["total"] == "1810.46"
    assert failed["error"]["code"] == "CorruptDocument" and failed["object_key"] == "incoming/truncated.pdf"
    assert all(r["published_at"] is not None for r in _outbox())

    eventbridge.fire_scheduled(f"{stack.function_names['publish_events']}")
    assert read_tap(stack, 1, timeout=0) == []  # published once
