"""POST /documents/{id}/reprocess against the whole pipeline in the emulation: a new, named execution that
bypasses duplicate detection, one invoice set afterwards, and the document's timeline showing it. And
POST /documents/reprocess, the bulk recovery: one intake message per matching document, each document run
once however often it is asked for in the same state."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from invoice_local.api_server import build_event
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import lambda_runner
from invoice_local.emulation import textract as standin_mod
from invoice_pipeline.adapters import repository
from invoice_pipeline.domain.events import from_s3_response
from invoice_pipeline.domain.intake import execution_name
from invoice_pipeline.domain.reprocess import request_key
from invoice_pipeline.schemas import validate_definition

from tests.integration.test_api_routes import (
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    call,
    insert_document,
)
from tests.integration.test_pipeline import png, recorded
from tests.shared_data import TEXTRACT_DIR, require


@pytest.fixture(name="api_stack")
def api_stack_fixture(stack: Stack, api: str, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The pipeline deployed in the emulation, and the API function's settings pointing at it."""
    monkeypatch.setenv("INGEST_BUCKET", stack.ingest_bucket)
    monkeypatch.setenv("RESULTS_BUCKET", stack.results_bucket)
    monkeypatch.setenv("STATE_MACHINE_ARN", stack.state_machine_arn)
    monkeypatch.setenv("INTAKE_QUEUE_URL", stack.intake_queue_url)
    return stack


def _invoice_png(standin: standin_mod._State) -> bytes:
    content = require(TEXTRACT_DIR / "default_invoice_1.png").read_bytes()
    standin.engine.add(content, recorded("default_invoice_1.analyze_expense.json"))  # type: ignore[attr-defined]
    return content


def _only_document() -> repository.Document:
    from invoice_pipeline.adapters.db import rows, transaction

    with transaction() as con:
        (row,) = rows(con, "SELECT id FROM documents")
    return repository.get_document(row["id"])


def test_reprocess_runs_a_new_execution_and_keeps_one_invoice_set(api_stack: Stack,
                                                                   standin: standin_mod._State) -> None:
    api_stack.upload("incoming/invoice.png", _invoice_png(standin))
    (first,) = api_stack.wait_for_executions(1)
    assert first["status"] == "SUCCEEDED"
    doc = _only_document()
    before = repository.invoices_for(doc.id)
    assert len(before) == 1

    reply = call("POST", f"/documents/{doc.id}/reprocess")
    assert reply.status == 202, reply
    accepted = reply.json()
    arn = accepted["execution_arn"]
    assert arn.split(":")[-1].startswith(f"reprocess-{doc.id.hex}-")  # named: moto's unnamed ARNs end in None
    assert accepted["console_url"].endswith(f"#/v2/executions/details/{arn}")

    executions = api_stack.wait_for_executions(2)
    assert [e["status"] for e in executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert executions[1]["executionArn"] == arn
    assert standin.start_calls == 2  # analysed again: the same bytes did not stop it as a duplicate

    after = _only_document()
    assert after.id == doc.id and after.status == doc.status and after.execution_arn == arn
    invoices = repository.invoices_for(doc.id)
    assert len(invoices) == 1 and invoices[0]["id"] != before[0]["id"]
    assert invoices[0]["total"] == before[0]["total"]

    body = call("GET", f"/documents/{doc.id}").json()
    assert body["execution_arn"] == arn
    statuses = [(e["to_status"], e["execution_arn"]) for e in body["timeline"]]
    first_arn = first["executionArn"]
    assert statuses == [("RECEIVED", first_arn), ("QUEUED", first_arn), ("ANALYZING", first_arn),
                        ("PARSING", first_arn), ("VALIDATING", first_arn), (doc.status, first_arn),
                        (doc.status, None),  # the request, recorded as it started the execution
                        ("RECEIVED", arn), ("QUEUED", arn), ("ANALYZING", arn), ("PARSING", arn), ("VALIDATING", arn),
                        (doc.status, arn)]
    request = body["timeline"][6]["detail"]
    assert request["reprocess_requested"] is True and request["requested_by"] == "jwt:user-1"
    assert request["execution_name"] == arn.rsplit(":", 1)[-1]
    restart = body["timeline"][7]
    assert restart["from_status"] == doc.status
    assert restart["detail"]["reprocess"] is True
    assert restart["detail"]["requested_by"] == "jwt:user-1"
    assert restart["detail"]["previous_execution_arn"] == first_arn
    execution_input: dict[str, Any] = json.loads(executions[1]["input"])
    assert execution_input["reprocess"]["document_id"] == str(doc.id)
    assert execution_input["detail"]["object"]["key"] == "incoming/invoice.png"
    # The reprocess execution's payloads are the same contract as an upload's (schemas/states.schema.json).
    calls = [c for c in lambda_runner.invocations if c["event"].get("execution_arn") == arn
             or c["event"].get("document", {}).get("document_id") == str(doc.id)]
    key_of = {name: key for key, name in api_stack.function_names.items()}  # Terraform's names -> manifest keys
    assert {key_of[c["function"]] for c in calls} >= {"register", "persist"}
    for c in calls:
        fn = key_of[c["function"]]
        validate_definition("states", f"{fn}_input", c["event"])
        if c["ok"]:
            validate_definition("states", f"{fn}_output", c["result"])


def test_a_reprocess_request_for_another_document_is_just_a_redelivery(api_stack: Stack,
                                                                       standin: standin_mod._State) -> None:
    """Register trusts a reprocess request only when it names the document of the very S3 object: a forged
    or stale input is treated like the redelivered event it otherwise is."""
    api_stack.upload("incoming/invoice.png", _invoice_png(standin))
    (first,) = api_stack.wait_for_executions(1)
    forged = {**json.loads(first["input"]), "reprocess": {"document_id": str(uuid.uuid4())}}
    api_stack.client("stepfunctions").start_execution(stateMachineArn=api_stack.state_machine_arn,
                                                      name="forged-reprocess", input=json.dumps(forged))
    executions = api_stack.wait_for_executions(2)
    assert all(e["status"] == "SUCCEEDED" for e in executions)
    assert standin.start_calls == 1
    forged_run = [e for e in executions if e["name"] == "forged-reprocess"][0]
    states = [e["stateEnteredEventDetails"]["name"] for e in api_stack.history(forged_run["executionArn"])
              if e["type"].endswith("StateEntered")]
    assert states[-1] == "AlreadyRegistered"


def test_reprocess_refusals(api_stack: Stack, standin: standin_mod._State) -> None:
    content = _invoice_png(standin)
    api_stack.upload("incoming/original.png", content)
    api_stack.wait_for_executions(1)
    api_stack.upload("incoming/copy.png", content)
    api_stack.wait_for_executions(2)
    original = repository.find_by_source(api_stack.ingest_bucket, "incoming/original.png",
                                         _version_id("incoming/original.png", api_stack))
    copy = repository.find_by_source(api_stack.ingest_bucket, "incoming/copy.png",
                                     _version_id("incoming/copy.png", api_stack))
    assert original is not None and copy is not None and copy.status == "DUPLICATE"

    reply = call("POST", f"/documents/{copy.id}/reprocess")
    assert (reply.status, reply.code) == (409, "CONFLICT")
    assert str(original.id) in reply.json()["error"]["message"]

    running = insert_document(key="incoming/running.png", status="ANALYZING")
    reply = call("POST", f"/documents/{running}/reprocess")
    assert (reply.status, reply.code) == (409, "CONFLICT")

    # The ingest bucket is versioned (as Terraform deploys it): a plain delete would only add a delete marker
    # and leave the analysed version readable. Gone means every version deleted.
    s3 = api_stack.client("s3")
    for v in s3.list_object_versions(Bucket=api_stack.ingest_bucket, Prefix="incoming/original.png")["Versions"]:
        s3.delete_object(Bucket=api_stack.ingest_bucket, Key=v["Key"], VersionId=v["VersionId"])
    reply = call("POST", f"/documents/{original.id}/reprocess")
    assert (reply.status, reply.code) == (409, "SOURCE_GONE")

    assert call("POST", f"/documents/{uuid.uuid4()}/reprocess").status == 404
    assert len(api_stack.executions()) == 2  # no refused request started anything


def _version_id(key: str, stack: Stack) -> str:
    head = stack.client("s3").head_object(Bucket=stack.ingest_bucket, Key=key)
    return from_s3_response(stack.ingest_bucket, key, head).version_id


def test_of_requests_sent_at_once_exactly_one_starts_an_execution_and_the_others_are_409(
        api_stack: Stack, standin: standin_mod._State) -> None:
    """Eight requests at once, as API Gateway hands them to the deployed function: each in an execution
    environment of its own, with its own connection to Postgres. One starts the execution; the seven others
    are refused, naming it or the status it has moved the document to, whatever order they come in. The
    reprocess's analysis is held until they have all answered, so none could see the document finished
    again (a later request would then rightly start another run)."""
    api_stack.upload("incoming/invoice.png", _invoice_png(standin))
    (first,) = api_stack.wait_for_executions(1)
    doc = _only_document()
    standin.faults.job_seconds = 60
    event = build_event(method="POST", target=f"/documents/{doc.id}/reprocess", headers=[], body=b"",
                        claims={"sub": "user-1", "token_use": "access"})
    functions, name = api_stack.client("lambda"), api_stack.function_names["api"]
    at_once = threading.Barrier(8)

    def send(_i: int) -> dict[str, Any]:
        at_once.wait()
        reply = functions.invoke(FunctionName=name, Payload=json.dumps(event))
        answer: dict[str, Any] = json.loads(reply["Payload"].read())
        return {"status": answer["statusCode"], **json.loads(answer["body"])}

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(send, range(8)))
    assert sorted(r["status"] for r in replies) == [202] + [409] * 7, replies
    (started,) = [r["execution_arn"] for r in replies if r["status"] == 202]
    for refused in (r for r in replies if r["status"] == 409):
        assert refused["error"]["code"] == "CONFLICT"
        assert started in refused["error"]["message"] or "still being processed" in refused["error"]["message"]
    standin.faults.job_seconds = 0.2
    standin.finish_jobs()
    executions = api_stack.wait_for_executions(2)
    assert [e["executionArn"] for e in executions] == [first["executionArn"], started]
    assert [e["status"] for e in executions] == ["SUCCEEDED", "SUCCEEDED"]
    timeline = call("GET", f"/documents/{doc.id}").json()["timeline"]
    assert sum(1 for e in timeline if e["detail"].get("reprocess_requested")) == 1  # the one request recorded
    assert standin.start_calls == 2


# --- POST /documents/reprocess --------------------------------------------------------------------------
def _document(key: str) -> repository.Document:
    from invoice_pipeline.adapters.db import rows, transaction

    with transaction() as con:
        (row,) = rows(con, "SELECT id FROM documents WHERE object_key = :k", k=key)
    return repository.get_document(row["id"])


def _upload_and_wait(stack: Stack, files: dict[str, bytes]) -> None:
    before = len(stack.executions())
    for key, content in files.items():
        stack.upload(key, content)
    stack.wait_for_executions(before + len(files))


def _failing_once(stack: Stack, standin: standin_mod._State, *names: str) -> list[repository.Document]:
    """Documents whose first Textract job fails (a fault for that run only): FAILED with TextractJobFailed, and
    processed if run again."""
    files = {}
    for name in names:
        content = png(name)
        standin.engine.add(content, recorded("receipt.analyze_expense.json"))  # type: ignore[attr-defined]
        files[f"incoming/{name}.png"] = content
    standin.faults.fail_jobs = len(names)
    _upload_and_wait(stack, files)
    docs = [_document(key) for key in files]
    assert [(d.status, d.error_code) for d in docs] == [("FAILED", "TextractJobFailed")] * len(names)
    return docs


def _processed(stack: Stack, standin: standin_mod._State, name: str) -> repository.Document:
    content = png(name)
    standin.engine.add(content, recorded("receipt.analyze_expense.json"))  # type: ignore[attr-defined]
    _upload_and_wait(stack, {f"incoming/{name}.png": content})
    doc = _document(f"incoming/{name}.png")
    assert doc.status in ("COMPLETED", "NEEDS_REVIEW")
    return doc


def _bulk(**body: Any) -> dict[str, Any]:
    reply = call("POST", "/documents/reprocess", body=body)
    assert reply.status == 202, reply
    result: dict[str, Any] = reply.json()
    return result


def _wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def _queue_arn(stack: Stack) -> str:
    return str(stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.intake_queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def _intake_mapping(stack: Stack) -> str:
    (mapping,) = stack.client("lambda").list_event_source_mappings(
        EventSourceArn=_queue_arn(stack))["EventSourceMappings"]
    assert mapping["FunctionArn"].endswith(f":function:{stack.function_names['intake']}")
    return str(mapping["UUID"])


def _hold_intake(stack: Stack) -> None:
    """Stop the intake's event source mapping, and wait until its poller has ended (the emulation names the
    thread after the mapping): messages then wait in the queue, as they do behind a busy intake."""
    mapping = _intake_mapping(stack)
    stack.client("lambda").update_event_source_mapping(UUID=mapping, Enabled=False)
    poller = f"esm-poller-{mapping[:8]}"
    _wait_for(lambda: not any(t.name == poller for t in threading.enumerate()), "the intake's poller to end")


def _waiting_messages(stack: Stack) -> list[dict[str, Any]]:
    """Every message waiting in the intake queue, made visible again after reading."""
    sqs = stack.client("sqs")
    messages: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=stack.intake_queue_url, MaxNumberOfMessages=10,
                                     VisibilityTimeout=300).get("Messages", []):
        messages += got
    for m in messages:
        sqs.change_message_visibility(QueueUrl=stack.intake_queue_url, ReceiptHandle=m["ReceiptHandle"],
                                      VisibilityTimeout=0)
    return messages


def _queue_depth(stack: Stack) -> int:
    """Messages in the intake queue, waiting or being taken."""
    a = stack.client("sqs").get_queue_attributes(QueueUrl=stack.intake_queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"]) + int(a["ApproximateNumberOfMessagesNotVisible"])


def _nothing_queued(stack: Stack, executions_before: int) -> bool:
    """No message in the queue and no execution started: a message the intake took has started its execution
    before it is deleted, so one of the two always shows it."""
    return _queue_depth(stack) == 0 and len(stack.executions()) == executions_before


def _release_intake(stack: Stack) -> None:
    """Start the mapping again, and wait until the intake has taken every message."""
    stack.client("lambda").update_event_source_mapping(UUID=_intake_mapping(stack), Enabled=True)
    _wait_for(lambda: _queue_depth(stack) == 0, "the intake to take every message")


def _requests_in_timeline(doc_id: uuid.UUID) -> list[dict[str, Any]]:
    return [e for e in repository.events_for(doc_id) if e["detail"].get("reprocess_requested")]


NOTHING_LEFT_OUT = {"truncated": False, "skipped_count": 0, "skipped": [], "failed_to_queue": 0, "failed": []}


def test_bulk_reprocess_runs_each_failed_document_once_however_often_asked(api_stack: Stack,
                                                                            standin: standin_mod._State) -> None:
    done = _processed(api_stack, standin, "fine")
    failed = _failing_once(api_stack, standin, "outage-1", "outage-2", "outage-3")
    before = len(api_stack.executions())
    _hold_intake(api_stack)

    assert _bulk(status=["FAILED"], dry_run=True) == {
        "dry_run": True, "matched": 3, "eligible": 3, "queued": 0, **NOTHING_LEFT_OUT}
    assert _waiting_messages(api_stack) == []
    assert all(_requests_in_timeline(d.id) == [] for d in failed)  # a dry run records nothing either

    # Asked twice (a client retrying after a timeout, a second operator): the documents have not moved yet.
    for _ in range(2):
        assert _bulk(status=["FAILED"]) == {"dry_run": False, "matched": 3, "eligible": 3, "queued": 3,
                                            **NOTHING_LEFT_OUT}
    messages = _waiting_messages(api_stack)
    bodies = [json.loads(m["Body"]) for m in messages]
    expected = {f"reprocess-{d.id.hex}-{request_key(d.updated_at)}" for d in failed}
    assert len(bodies) == 6 and {execution_name(b) for b in bodies} == expected
    # Each message is what the single route starts an execution with (the same builder).
    assert all(b["reprocess"]["requested_by"] == "jwt:user-1" and b["detail"]["reason"] == "Reprocess"
               for b in bodies)

    _release_intake(api_stack)
    executions = api_stack.wait_for_executions(before + 3)
    assert len(api_stack.executions()) == before + 3  # six messages taken, three executions
    reruns = executions[before:]
    assert {e["name"] for e in reruns} == expected
    assert all(e["status"] == "SUCCEEDED" for e in reruns)
    for doc in failed:
        after = repository.get_document(doc.id)
        assert after.status in ("COMPLETED", "NEEDS_REVIEW") and after.error_code is None
        assert len(repository.invoices_for(doc.id)) == 1
        key = request_key(doc.updated_at)
        # The timeline: who asked, twice, with the one request key, then the restart that key started.
        asked = _requests_in_timeline(doc.id)
        assert [(e["from_status"], e["to_status"], e["detail"]["requested_by"], e["detail"]["request_key"])
                for e in asked] == [("FAILED", "FAILED", "jwt:user-1", key)] * 2
        restart = [e for e in repository.events_for(doc.id) if e["detail"].get("reprocess") is True]
        assert [e["detail"]["request_key"] for e in restart] == [key]
        assert restart[0]["id"] > asked[-1]["id"]
    assert repository.get_document(done.id).updated_at == done.updated_at  # COMPLETED was not asked for


def test_bulk_reprocess_filters_by_error_code_and_upload_time(api_stack: Stack,
                                                              standin: standin_mod._State) -> None:
    """Through the intake as deployed (the event source mapping on): only the documents the filter names run,
    and one that fails again later can be reprocessed again (a new state, a new request)."""
    from invoice_pipeline.adapters.db import transaction

    old, new = _failing_once(api_stack, standin, "old", "new")
    _upload_and_wait(api_stack, {"incoming/empty.png": b""})
    empty = _document("incoming/empty.png")
    assert (empty.status, empty.error_code) == ("FAILED", "EmptyDocument")
    done = _processed(api_stack, standin, "done")
    with transaction() as con:  # uploaded two days ago; the others just now
        con.run("UPDATE documents SET created_at = created_at - interval '2 days' WHERE id = :id", id=old.id)
    cutoff = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    before = len(api_stack.executions())

    def matched(**filters: Any) -> int:
        result = _bulk(dry_run=True, **filters)
        assert result["eligible"] == result["matched"]
        return int(result["matched"])

    assert matched(status=["FAILED"]) == 3
    assert matched(status=["FAILED"], error_code=["TextractJobFailed"]) == 2
    assert matched(status=["FAILED"], error_code=["EmptyDocument", "TextractJobFailed"]) == 3
    assert matched(status=["FAILED"], error_code=["TextractJobFailed"], received_from=cutoff) == 1
    assert matched(status=["FAILED"], received_to=cutoff) == 1
    assert matched(status=["COMPLETED", "NEEDS_REVIEW"]) == 1
    assert matched(status=["FAILED"], error_code=["CorruptDocument"]) == 0
    assert matched(status=["FAILED"], limit=2) == 2
    assert _bulk(status=["FAILED"], limit=2, dry_run=True)["truncated"] is True
    assert _nothing_queued(api_stack, before)  # dry runs queue nothing

    result = _bulk(status=["FAILED"], error_code=["TextractJobFailed"], received_from=cutoff)
    assert (result["matched"], result["queued"]) == (1, 1)
    (rerun,) = api_stack.wait_for_executions(before + 1)[before:]
    assert rerun["name"] == f"reprocess-{new.id.hex}-{request_key(new.updated_at)}"
    assert rerun["status"] == "SUCCEEDED"
    assert repository.get_document(new.id).status in ("COMPLETED", "NEEDS_REVIEW")
    for untouched in (old, empty, done):
        assert repository.get_document(untouched.id).updated_at == untouched.updated_at

    # The old one fails once more, then is asked for again: its new state is a new request.
    standin.faults.fail_jobs = 1
    assert _bulk(status=["FAILED"], received_to=cutoff)["queued"] == 1
    api_stack.wait_for_executions(before + 2)
    failed_again = repository.get_document(old.id)
    assert (failed_again.status, failed_again.error_code) == ("FAILED", "TextractJobFailed")
    assert _bulk(status=["FAILED"], received_to=cutoff)["queued"] == 1
    executions = api_stack.wait_for_executions(before + 3)
    assert len(executions) == before + 3
    assert [e["name"] for e in executions[before + 1:]] == [
        f"reprocess-{old.id.hex}-{request_key(old.updated_at)}",
        f"reprocess-{old.id.hex}-{request_key(failed_again.updated_at)}"]
    assert repository.get_document(old.id).status in ("COMPLETED", "NEEDS_REVIEW")


def test_bulk_reprocess_skips_what_the_single_route_refuses(api_stack: Stack, standin: standin_mod._State) -> None:
    (taken,) = _failing_once(api_stack, standin, "taken")
    # The same bytes uploaded again after the failure: processed, so that document holds the content now.
    _upload_and_wait(api_stack, {"incoming/taken-again.png": png("taken")})
    owner = _document("incoming/taken-again.png")
    assert owner.status in ("COMPLETED", "NEEDS_REVIEW")
    (gone,) = _failing_once(api_stack, standin, "gone")
    s3 = api_stack.client("s3")
    for v in s3.list_object_versions(Bucket=api_stack.ingest_bucket, Prefix="incoming/gone.png")["Versions"]:
        s3.delete_object(Bucket=api_stack.ingest_bucket, Key=v["Key"], VersionId=v["VersionId"])
    insert_document(key="incoming/running.png", status="ANALYZING")
    insert_document(key="incoming/copy.png", status="DUPLICATE", duplicate_of=owner.id)
    before = len(api_stack.executions())

    for status in (["DUPLICATE"], ["ANALYZING"], ["FAILED", "RECEIVED"]):
        reply = call("POST", "/documents/reprocess", body={"status": status})
        assert (reply.status, reply.code) == (400, "BAD_REQUEST"), reply

    result = _bulk(status=["FAILED"])
    assert (result["matched"], result["eligible"], result["queued"], result["skipped_count"]) == (2, 0, 0, 2)
    assert result["skipped"] == [
        {"document_id": str(taken.id), "code": "CONFLICT",
         "reason": f"the same content is now document {owner.id}: reprocess that one instead"},
        {"document_id": str(gone.id), "code": "SOURCE_GONE",
         "reason": f"s3://{api_stack.ingest_bucket}/incoming/gone.png no longer exists"}]
    # Every final status but DUPLICATE: the owner is the one left to queue (dry run: nothing runs).
    result = _bulk(status=["FAILED", "COMPLETED", "NEEDS_REVIEW"], dry_run=True)
    assert (result["matched"], result["eligible"], result["skipped_count"]) == (3, 1, 2)
    assert _nothing_queued(api_stack, before)
    assert all(_requests_in_timeline(d.id) == [] for d in (taken, gone, owner))
