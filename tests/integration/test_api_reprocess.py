"""POST /documents/{id}/reprocess against the whole pipeline in the emulation: a new, named execution that
bypasses duplicate detection, one invoice set afterwards, and the document's timeline showing it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import lambda_runner
from invoice_local.emulation import textract as standin_mod
from invoice_pipeline.adapters import repository
from invoice_pipeline.domain.events import from_s3_response
from invoice_pipeline.schemas import validate_definition

from tests.integration.test_api_routes import (
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    call,
    insert_document,
)
from tests.integration.test_pipeline import png, recorded
from tests.shared_data import TEXTRACT_DIR, require


@pytest.fixture
def api_stack(stack: Stack, api: str, monkeypatch: pytest.MonkeyPatch) -> Stack:
    """The pipeline deployed in the emulation, and the API function's settings pointing at it."""
    monkeypatch.setenv("INGEST_BUCKET", stack.ingest_bucket)
    monkeypatch.setenv("RESULTS_BUCKET", stack.results_bucket)
    monkeypatch.setenv("STATE_MACHINE_ARN", stack.state_machine_arn)
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
    assert statuses == [("RECEIVED", first_arn), ("ANALYZING", first_arn), ("PARSING", first_arn),
                        ("VALIDATING", first_arn), (doc.status, first_arn),
                        ("RECEIVED", arn), ("ANALYZING", arn), ("PARSING", arn), ("VALIDATING", arn),
                        (doc.status, arn)]
    restart = body["timeline"][5]
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


def test_a_failed_document_can_be_reprocessed_once_the_cause_is_fixed(api_stack: Stack,
                                                                      standin: standin_mod._State) -> None:
    content = png("not-yet-recorded")
    api_stack.upload("incoming/later.png", content)
    api_stack.wait_for_executions(1)
    doc = _only_document()
    assert (doc.status, doc.error_code) == ("FAILED", "TextractJobFailed")

    standin.engine.add(content, recorded("receipt.analyze_expense.json"))  # type: ignore[attr-defined]
    assert call("POST", f"/documents/{doc.id}/reprocess").status == 202
    executions = api_stack.wait_for_executions(2)
    assert executions[1]["status"] == "SUCCEEDED"
    after = _only_document()
    assert after.status in ("COMPLETED", "NEEDS_REVIEW")
    assert after.error_code is None and after.error_message is None
    assert len(repository.invoices_for(doc.id)) == 1


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
