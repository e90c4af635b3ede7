"""StartAnalysis: the task token is stored before Textract is called (a fast notification must find it), the
StartExpenseAnalysis request is complete, and Textract's error codes become the named errors the ASL retries
or fails on."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from invoice_pipeline.errors import TextractRejectedDocument, TextractThrottled, TextractUnavailable
from invoice_pipeline.handlers import start_analysis
from invoice_pipeline.schemas import validate_definition

from tests.events import load_event
from tests.fakes import FakeDocuments, FakeTaskTokens, FakeTextract, Journal, client_error

TOPIC = "arn:aws:sns:eu-west-1:111122223333:invoices-prod-textract"
ROLE = "arn:aws:iam::111122223333:role/invoices-prod-textract-publish"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/0d3f6c1e-5b8a-4c2e-9f7d-2a1b3c4d5e6f"
JOB_ID = "d1c3a5e7f9b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2"


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTRACT_SNS_TOPIC_ARN", TOPIC)
    monkeypatch.setenv("TEXTRACT_ROLE_ARN", ROLE)
    monkeypatch.setenv("TEXTRACT_OUTPUT_BUCKET", "invoices-prod-results")
    monkeypatch.setenv("TEXTRACT_OUTPUT_PREFIX", "textract-output")
    monkeypatch.setenv("TEXTRACT_OUTPUT_KMS_KEY", KEY)


def ports(journal: Journal, error: ClientError | None = None) -> start_analysis.Ports:
    return start_analysis.Ports(
        documents=FakeDocuments(journal), tokens=FakeTaskTokens(journal),
        textract=FakeTextract(journal, job_id=JOB_ID,
                              errors={"start_expense_analysis": error} if error else None),
    )


def test_token_is_stored_first_then_textract_started_then_job_recorded() -> None:
    event = load_event("start_analysis_input")
    doc = event["document"]
    tag = start_analysis.job_tag(doc["document_id"])
    journal = Journal()

    result = start_analysis.handle(event, ports(journal))

    assert result == {"job_id": JOB_ID, "job_tag": tag}
    validate_definition("states", "start_analysis_output", result)
    assert journal.names() == ["tokens.save_task_token", "textract.start_expense_analysis", "tokens.set_job_id",
                               "documents.transition"]
    assert journal.of("tokens.save_task_token") == [{
        "tag": tag, "doc_id": doc["document_id"], "task_token": event["task_token"],
        "execution_arn": event["execution_arn"],
    }]
    assert journal.of("textract.start_expense_analysis") == [{
        "DocumentLocation": {"S3Object": {"Bucket": doc["bucket"], "Name": doc["key"], "Version": doc["version_id"]}},
        "ClientRequestToken": start_analysis.client_request_token(doc["sha256"], doc["document_id"],
                                                                  event["execution_arn"]),
        "JobTag": tag,
        "NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": ROLE},
        "OutputConfig": {"S3Bucket": "invoices-prod-results", "S3Prefix": "textract-output"},
        "KMSKeyId": KEY,  # Textract's raw output under the pipeline's key, not the AWS managed S3 key
    }]
    assert journal.of("tokens.set_job_id") == [{"tag": tag, "job_id": JOB_ID}]
    assert journal.of("documents.transition") == [{
        "doc_id": doc["document_id"], "to_status": "ANALYZING", "detail": {"textract_job_id": JOB_ID},
        "execution_arn": event["execution_arn"], "textract_job_id": JOB_ID,
    }]


def test_the_job_tag_fits_textract_and_the_token_does_not_go_to_textract() -> None:
    event = load_event("start_analysis_input")
    journal = Journal()
    start_analysis.handle(event, ports(journal))
    [request] = journal.of("textract.start_expense_analysis")
    assert len(request["JobTag"]) <= 64
    assert event["task_token"] not in repr(request)
    assert len(request["ClientRequestToken"]) <= 64


def test_unversioned_object_and_no_output_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTRACT_OUTPUT_BUCKET", "")
    journal = Journal()
    start_analysis.handle(load_event("start_analysis_input", document__versioned=False), ports(journal))
    [request] = journal.of("textract.start_expense_analysis")
    assert "Version" not in request["DocumentLocation"]["S3Object"]
    assert "OutputConfig" not in request and "KMSKeyId" not in request


@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException",
                                  "LimitExceededException"])
def test_throttling_becomes_textract_throttled_with_the_token_already_stored(code: str) -> None:
    journal = Journal()
    with pytest.raises(TextractThrottled, match=code) as raised:
        start_analysis.handle(load_event("start_analysis_input"),
                              ports(journal, client_error(code, "StartExpenseAnalysis", "Rate exceeded")))
    assert type(raised.value).__name__ == "TextractThrottled"  # the name the ASL's Retry matches
    assert isinstance(raised.value.__cause__, ClientError)
    # The retry gets a new token that replaces this one; no job id, no status change for a job never started.
    assert journal.names() == ["tokens.save_task_token", "textract.start_expense_analysis"]


@pytest.mark.parametrize(("code", "error"), [
    ("InternalServerError", TextractUnavailable),
    ("BadDocumentException", TextractRejectedDocument),
    ("UnsupportedDocumentException", TextractRejectedDocument),
])
def test_other_textract_codes_become_their_named_errors(code: str, error: type[Exception]) -> None:
    journal = Journal()
    with pytest.raises(error):
        start_analysis.handle(load_event("start_analysis_input"), ports(journal, client_error(code, "Start")))
    assert journal.names() == ["tokens.save_task_token", "textract.start_expense_analysis"]


def test_an_unclassified_client_error_is_raised_as_it_is() -> None:
    journal = Journal()
    error = client_error("AccessDeniedException", "StartExpenseAnalysis", status=403)
    with pytest.raises(ClientError) as raised:
        start_analysis.handle(load_event("start_analysis_input"), ports(journal, error))
    assert raised.value is error
    assert journal.names() == ["tokens.save_task_token", "textract.start_expense_analysis"]


def test_retry_of_the_same_execution_asks_textract_for_the_same_job() -> None:
    """Same document, same execution: the same ClientRequestToken, so Textract returns the job it started."""
    requests: list[dict[str, Any]] = []
    for token in ("first-token", "second-token"):
        journal = Journal()
        start_analysis.handle(load_event("start_analysis_input", task_token=token), ports(journal))
        requests += journal.of("textract.start_expense_analysis")
    assert requests[0]["ClientRequestToken"] == requests[1]["ClientRequestToken"]
    reprocess = load_event("start_analysis_input", execution_arn="arn:aws:states:eu-west-1:111122223333:"
                           "execution:invoices-prod-pipeline:reprocess-1")
    journal = Journal()
    start_analysis.handle(reprocess, ports(journal))
    assert journal.of("textract.start_expense_analysis")[0]["ClientRequestToken"] != requests[0]["ClientRequestToken"]
