"""Reprocessing does not silently wipe a reviewer's work: through the Lambda handler, against a real Postgres
and S3/Step Functions in moto (no deployed stack). A document whose invoice was corrected or approved is
refused (409 REVIEW_WOULD_BE_LOST) and nothing is recorded or started; with discard_review=true a non-reviewer
is 403, a reviewer's request goes ahead and the trail gets a REPROCESS row beside the corrections, which stay.
The bulk reprocess skips such a document with the same code, and Register keeps one a reviewer worked on after
the request was accepted (a bulk request waits in the intake queue)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from invoice_pipeline.adapters import aws, db, repository

from tests.integration.test_api_review import (
    REVIEWER,
    VIEWER,
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    call,
    claimed,
    needs_review,
)

BUCKET = "invoices-test-ingest"


@pytest.fixture
def reprocessable(api: str, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A versioned ingest bucket and a state machine in moto, the API's settings pointing at them."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    machine = aws.client("stepfunctions").create_state_machine(
        name="invoices-test-pipeline", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))
    monkeypatch.setenv("STATE_MACHINE_ARN", machine["stateMachineArn"])
    monkeypatch.setenv("INGEST_BUCKET", BUCKET)


def _stored(total: str = "999.00") -> tuple[uuid.UUID, uuid.UUID]:
    """A NEEDS_REVIEW invoice (test_api_review.needs_review) whose document's object is in the bucket."""
    inv = needs_review(total=total, number=f"INV-{uuid.uuid4().hex[:6]}")
    with db.transaction() as con:
        (doc_id, key), = con.run("SELECT document_id, (SELECT object_key FROM documents d WHERE d.id ="
                                 " i.document_id) FROM invoices i WHERE i.id = :i", i=inv)
    version = aws.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"%PDF-1.7 test")["VersionId"]
    with db.transaction() as con:
        con.run("UPDATE documents SET bucket = :b, version_id = :v WHERE id = :d", b=BUCKET, v=version, d=doc_id)
    return uuid.UUID(str(doc_id)), inv


def _audit(doc: uuid.UUID) -> list[dict[str, Any]]:
    with db.transaction() as con:
        return db.rows(con, "SELECT invoice_id, actor, action, field, old_value, status_after, reason"
                            " FROM invoice_audit WHERE document_id = :d ORDER BY id", d=doc)


def _requests(doc: uuid.UUID) -> int:
    with db.transaction() as con:
        return int(con.run("SELECT count(*) FROM document_events WHERE document_id = :d"
                           " AND detail ? 'reprocess_requested'", d=doc)[0][0])


def _executions() -> int:
    sfn = aws.client("stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    return len(sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"])


def test_reviewed_work_is_kept_unless_a_reviewer_discards_it_on_the_record(reprocessable: None) -> None:
    doc, inv = _stored()
    etag = claimed(inv)
    etag = call("PATCH", f"/invoices/{inv}", REVIEWER, {"total": "119.00"}, headers={"if-match": etag}
                ).headers["etag"]
    assert call("POST", f"/invoices/{inv}/approve", REVIEWER, headers={"if-match": etag}).status == 200
    trail = _audit(doc)

    refused = call("POST", f"/documents/{doc}/reprocess", REVIEWER)
    assert (refused.status, refused.code) == (409, "REVIEW_WOULD_BE_LOST")
    message = refused.json()["error"]["message"]
    assert f"invoice {inv}: APPROVED by rev-1, 1 correction" in message and "discard_review=true" in message
    forbidden = call("POST", f"/documents/{doc}/reprocess", VIEWER, query="?discard_review=true")
    assert (forbidden.status, forbidden.code) == (403, "FORBIDDEN")
    assert (_audit(doc), _requests(doc), _executions()) == (trail, 0, 0)  # nothing recorded, nothing started

    accepted = call("POST", f"/documents/{doc}/reprocess", REVIEWER, query="?discard_review=true")
    assert accepted.status == 202, accepted
    assert (_requests(doc), _executions()) == (1, 1)
    started = aws.client("stepfunctions").describe_execution(executionArn=accepted.json()["execution_arn"])
    assert json.loads(started["input"])["reprocess"]["discard_review"] is True  # Register may replace it
    *kept, replaced = _audit(doc)
    assert kept == trail  # every correction and the approval, as they were
    assert (replaced["invoice_id"], replaced["actor"], replaced["action"], replaced["status_after"]) == (
        inv, "rev-1", "REPROCESS", "APPROVED")
    assert json.loads(replaced["old_value"]) == {"status": "APPROVED", "decided_by": "rev-1", "corrections": 1,
                                                 "cleared_duplicate": False}
    assert "discard_review=true" in replaced["reason"] and "APPROVED by rev-1" in replaced["reason"]
    history = call("GET", f"/invoices/{inv}/history", VIEWER).json()["events"]
    assert [e["action"] for e in history] == ["CLAIM", "EDIT", "APPROVE", "REPROCESS"]


def test_an_untouched_document_reprocesses_as_before_and_the_bulk_skips_a_reviewed_one(
        reprocessable: None) -> None:
    untouched, _ = _stored()
    corrected, inv = _stored()
    etag = claimed(inv)
    assert call("PATCH", f"/invoices/{inv}", REVIEWER, {"po_number": "PO-7"}, headers={"if-match": etag}
                ).status == 200

    bulk = call("POST", "/documents/reprocess", REVIEWER, {"status": ["NEEDS_REVIEW"], "dry_run": True}).json()
    assert (bulk["matched"], bulk["eligible"], bulk["skipped_count"]) == (2, 1, 1)
    (skipped,) = bulk["skipped"]
    assert (skipped["document_id"], skipped["code"]) == (str(corrected), "REVIEW_WOULD_BE_LOST")
    assert "1 correction" in skipped["reason"]

    assert call("POST", f"/documents/{untouched}/reprocess", VIEWER).status == 202  # no review work: as before
    assert [r["action"] for r in _audit(untouched)] == []
    assert repository.get_document(untouched).status == "NEEDS_REVIEW"


def _register_again(doc: uuid.UUID, **reprocess: Any) -> repository.Registration:
    d = repository.get_document(doc)
    return repository.register(bucket=d.bucket, key=d.object_key, version_id=d.version_id, sha256=d.sha256 or "",
                               size=1, media_type="application/pdf", page_count=1,
                               execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:x:{uuid.uuid4()}",
                               reprocess={"document_id": str(doc), "request_key": "1", "requested_by": "bulk",
                                          **reprocess})


def test_register_keeps_work_done_after_the_request_unless_it_may_replace_it(reprocessable: None) -> None:
    doc, inv = _stored()
    assert call("POST", f"/documents/{doc}/reprocess", REVIEWER).status == 202  # nothing reviewed yet
    etag = claimed(inv)  # ... but a reviewer corrects it before the execution's Register runs
    assert call("PATCH", f"/invoices/{inv}", REVIEWER, {"po_number": "PO-9"}, headers={"if-match": etag}
                ).status == 200

    kept = _register_again(doc)
    assert kept.outcome == "review_kept" and [str(i["id"]) for i in repository.invoices_for(doc)] == [str(inv)]
    assert repository.get_document(doc).status == "NEEDS_REVIEW"
    replaced = _register_again(doc, discard_review=True)
    assert (replaced.outcome, replaced.document.status) == ("new", "RECEIVED")
    assert repository.invoices_for(doc) == [] and [r["action"] for r in _audit(doc)] == ["CLAIM", "EDIT"]
