"""The bulk reprocess's queueing (api/reprocess.py `enqueue`) on fakes: skips with the single route's codes,
batches of ten, entries SQS failed retried and the rest reported, nothing sent in a dry run, and every document
accounted for when the queue or the clock says stop. Its request body's validation is here too; the route on
the deployed pipeline is in tests/integration/test_api_reprocess.py."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from invoice_pipeline.api import reprocess
from invoice_pipeline.api.errors import ApiError, Code
from invoice_pipeline.api.models import BulkReprocessRequest
from invoice_pipeline.domain import reprocess as domain
from invoice_pipeline.domain.intake import execution_name
from pydantic import ValidationError

from tests.fakes import client_error

URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/invoices-prod-intake"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _targets(n: int) -> list[reprocess.Target]:
    return [reprocess.Target(document_id=uuid.UUID(int=i + 1), bucket="ingest", key=f"incoming/{i}.pdf",
                             version_id=f"v{i}", updated_at=T0 + timedelta(seconds=i)) for i in range(n)]


def _build(t: reprocess.Target) -> dict[str, Any]:
    return domain.execution_input(document_id=t.document_id, bucket=t.bucket,
                                  source_object={"key": t.key, "size": 1, "etag": "e", "version-id": t.version_id},
                                  key=domain.request_key(t.updated_at), requested_by="jwt:ops", region="eu-west-1",
                                  now=T0)


class Queue:
    """SendMessageBatch: answers each entry from `script` (entry position in the call -> Failed entry), in
    order of calls; `journal` records calls and the records made between them."""

    def __init__(self, journal: list[Any], script: list[dict[int, dict[str, Any]]] | None = None,
                 error: str | None = None) -> None:
        self.journal, self.script, self.error = journal, list(script or []), error
        self.calls: list[list[dict[str, str]]] = []

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        assert QueueUrl == URL
        assert 1 <= len(Entries) <= 10
        self.calls.append(Entries)
        self.journal.append(("send", [json.loads(e["MessageBody"])["reprocess"]["document_id"] for e in Entries]))
        if self.error:
            raise client_error(self.error, "SendMessageBatch")
        fails = self.script.pop(0) if self.script else {}
        failed = [{"Id": e["Id"], **fails[i]} for i, e in enumerate(Entries) if i in fails]
        ok = [{"Id": e["Id"], "MessageId": str(uuid.uuid4())} for i, e in enumerate(Entries) if i not in fails]
        return {"Successful": ok, "Failed": failed}


def _run(targets: list[reprocess.Target], queue: Queue, journal: list[Any], *, dry_run: bool = False,
         build: Any = _build, seconds_left: Any = lambda: 25.0) -> reprocess.Outcome:
    def record(requests: list[reprocess.Request]) -> None:
        journal.append(("record", [str(r.document_id) for r in requests]))

    return reprocess.enqueue(targets, build=build, queue=queue, queue_url=URL, record=record,
                             seconds_left=seconds_left, dry_run=dry_run, sleep=lambda s: journal.append(("sleep", s)))


def test_one_message_per_document_in_batches_of_ten_each_recorded_before_it_goes() -> None:
    journal: list[Any] = []
    targets = _targets(23)
    out = _run(targets, Queue(journal), journal)
    assert out.eligible == 23 and not out.skipped and not out.failed
    assert [r.document_id for r in out.queued] == [t.document_id for t in targets]
    assert [len(entry[1]) for entry in journal] == [23, 10, 10, 3]
    assert [entry[0] for entry in journal] == ["record", "send", "send", "send"]
    # Each message is the execution input, named after the document's state.
    for req, t in zip(out.queued, targets, strict=True):
        assert req.request_key == domain.request_key(t.updated_at)
        assert req.execution_name == execution_name(_build(t)) == f"reprocess-{t.document_id.hex}-{req.request_key}"


def test_skipped_documents_carry_the_single_routes_codes() -> None:
    journal: list[Any] = []
    owner = uuid.uuid4()
    targets = _targets(4)
    targets[1] = reprocess.Target(**{**targets[1].__dict__, "live_owner": owner})

    def build(t: reprocess.Target) -> dict[str, Any]:
        if t is targets[2]:
            raise ApiError(Code.SOURCE_GONE, "s3://ingest/incoming/2.pdf no longer exists")
        return _build(t)

    out = _run(targets, Queue(journal), journal, build=build)
    assert out.skipped == [
        (targets[1].document_id, Code.CONFLICT, f"the same content is now document {owner}: reprocess that one "
                                                "instead"),
        (targets[2].document_id, Code.SOURCE_GONE, "s3://ingest/incoming/2.pdf no longer exists")]
    assert [r.document_id for r in out.queued] == [targets[0].document_id, targets[3].document_id]
    assert out.eligible == 2
    assert journal[0] == ("record", [str(targets[0].document_id), str(targets[3].document_id)])


def test_entries_sqs_failed_are_retried_alone_and_sender_faults_are_not() -> None:
    journal: list[Any] = []
    throttled = {"SenderFault": False, "Code": "InternalError", "Message": "try again"}
    bad = {"SenderFault": True, "Code": "InvalidMessageContents", "Message": "no"}
    queue = Queue(journal, script=[{2: throttled, 5: bad}, {}])
    targets = _targets(7)
    out = _run(targets, queue, journal)
    assert len(queue.calls) == 2
    assert [json.loads(e["MessageBody"])["reprocess"]["document_id"] for e in queue.calls[1]] == [
        str(targets[2].document_id)]
    assert {r.document_id for r in out.queued} == {t.document_id for i, t in enumerate(targets) if i != 5}
    assert out.failed == [(targets[5].document_id, "InvalidMessageContents: no")]


def test_entries_still_failing_after_the_last_attempt_are_reported() -> None:
    journal: list[Any] = []
    throttled = {"SenderFault": False, "Code": "InternalError", "Message": "try again"}
    queue = Queue(journal, script=[{0: throttled}] * reprocess.SEND_ATTEMPTS)
    targets = _targets(3)
    out = _run(targets, queue, journal)
    assert len(queue.calls) == reprocess.SEND_ATTEMPTS
    assert [r.document_id for r in out.queued] == [t.document_id for t in targets[1:]]
    assert out.failed == [(targets[0].document_id,
                           f"InternalError: try again (after {reprocess.SEND_ATTEMPTS} attempts)")]
    assert len([e for e in journal if e[0] == "sleep"]) == reprocess.SEND_ATTEMPTS - 1


def test_a_queue_that_refuses_the_call_stops_the_sending_and_every_document_is_accounted_for() -> None:
    journal: list[Any] = []
    queue = Queue(journal, error="AccessDenied")
    targets = _targets(reprocess.CHUNK + 5)
    out = _run(targets, queue, journal)
    assert len(queue.calls) == 1  # not once per batch
    assert not out.queued
    assert [d for d, _r in out.failed] == [t.document_id for t in targets]
    assert out.failed[0][1] == "the intake queue refused the call: AccessDenied"
    assert out.failed[-1][1] == "not attempted: the intake queue refused an earlier batch (AccessDenied)"


def test_out_of_time_the_rest_is_reported_not_attempted() -> None:
    journal: list[Any] = []
    left = iter([25.0, 1.0])
    targets = _targets(reprocess.CHUNK + 3)
    out = _run(targets, Queue(journal), journal, seconds_left=lambda: next(left))
    assert len(out.queued) == reprocess.CHUNK
    assert [d for d, _r in out.failed] == [t.document_id for t in targets[reprocess.CHUNK:]]
    assert all("ran out of time" in r for _d, r in out.failed)


def test_a_dry_run_checks_everything_and_sends_and_records_nothing() -> None:
    journal: list[Any] = []
    queue = Queue(journal)
    targets = _targets(12)
    targets[0] = reprocess.Target(**{**targets[0].__dict__, "live_owner": uuid.uuid4()})
    out = _run(targets, queue, journal, dry_run=True)
    assert (out.eligible, len(out.skipped), out.queued, out.failed) == (11, 1, [], [])
    assert journal == [] and queue.calls == []


# --- the request body ---------------------------------------------------------------------------------
def test_the_filter_in_full() -> None:
    request = BulkReprocessRequest.model_validate({
        "status": ["FAILED", "NEEDS_REVIEW"], "error_code": ["TextractJobFailed", "States.Timeout"],
        "received_from": "2026-03-01T00:00:00Z", "received_to": "2026-03-02T00:00:00+01:00", "limit": 10000,
        "dry_run": True})
    assert request.received_from == datetime(2026, 3, 1, tzinfo=UTC)
    assert request.received_to is not None and request.received_to.utcoffset() == timedelta(hours=1)
    defaults = BulkReprocessRequest.model_validate({"status": ["FAILED"]})
    assert (defaults.limit, defaults.dry_run, defaults.error_code) == (1000, False, None)
    # JSON Schema's integer has no fractional part; 240.0 is one.
    assert BulkReprocessRequest.model_validate({"status": ["FAILED"], "limit": 240.0}).limit == 240


@pytest.mark.parametrize("body", [
    {},  # a status is required: reprocessing everything is never a default
    {"status": []},
    {"status": ["DUPLICATE"]},  # reprocessed through its original, as the single route says
    {"status": ["ANALYZING"]},  # on its way: the execution it is in will finish it
    {"status": "FAILED"},
    {"status": ["FAILED"], "error_code": []},
    {"status": ["FAILED"], "error_code": ["no spaces"]},
    {"status": ["FAILED"], "error_code": ["A\x00"]},
    {"status": ["FAILED"], "received_from": "2026-03-01"},  # a time needs its offset
    {"status": ["FAILED"], "received_from": "1700000000"},
    {"status": ["FAILED"], "received_to": 1700000000},
    {"status": ["FAILED"], "limit": 0},
    {"status": ["FAILED"], "limit": 10001},
    {"status": ["FAILED"], "limit": "10"},
    {"status": ["FAILED"], "limit": 2.5},
    {"status": ["FAILED"], "limit": True},
    {"status": ["FAILED"], "dry_run": "yes"},
    {"status": ["FAILED"], "vendor": "ACME"},  # not a filter this route has
])
def test_bad_filters_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        BulkReprocessRequest.model_validate(body)


@pytest.fixture(scope="module")
def handle() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POWERTOOLS_SERVICE_NAME", "invoice-api")
        mp.setenv("POWERTOOLS_METRICS_NAMESPACE", "InvoicePipeline")
        from invoice_pipeline.handlers.api import handler
    return handler


@pytest.mark.parametrize("body", [b'{"status": ["DUPLICATE"]}', b'{"status": ["FAILED"], "limit": -1}', b"{}",
                                  b"[]", b'"FAILED"', b""])
def test_through_the_api_a_bad_filter_is_400_bad_request_before_any_lookup(handle: Any, body: bytes) -> None:
    """Refused by the route's declared model: no database or AWS behind this test, so a lookup would fail."""
    from invoice_local.api_server import LocalContext, build_event

    event = build_event(method="POST", target="/documents/reprocess",
                        headers=[("content-type", "application/json")], body=body, claims={"sub": "ops"})
    response = handle(event, LocalContext())
    assert (response["statusCode"], json.loads(response["body"])["error"]["code"]) == (400, "BAD_REQUEST")


@pytest.mark.parametrize("method", ["GET", "DELETE", "OPTIONS", "PUT", "PATCH"])
@pytest.mark.parametrize("path", ["/documents/reprocess", "/iam/documents/reprocess"])
def test_the_bulk_path_is_its_own_resource(handle: Any, method: str, path: str) -> None:
    """/documents/reprocess is matched before /documents/{document_id}, as OpenAPI matches paths: GET there is
    not a document lookup, and the Allow header lists the path's own methods."""
    from invoice_local.api_server import LocalContext, build_event

    event = build_event(method=method, target=path, headers=[], body=b"", claims={"sub": "ops"})
    if path.startswith("/iam/"):
        event["requestContext"]["authorizer"] = {"iam": {"userArn": "arn:aws:iam::111122223333:role/ops"}}
    response = handle(event, LocalContext())
    assert (response["statusCode"], response["headers"]["Allow"]) == (405, "POST")
    assert json.loads(response["body"])["error"]["code"] == "METHOD_NOT_ALLOWED"
