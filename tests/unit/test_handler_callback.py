"""Callback: every branch of turning Textract's SNS completion notification into SendTaskSuccess or
SendTaskFailure, with fake task tokens and a fake Step Functions. Duplicates, strays and late notifications
must never raise; a transient Step Functions error must, so SNS delivers again."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from invoice_pipeline.handlers import callback
from invoice_pipeline.schemas import validate_definition

from tests.events import REMOVE, load_event
from tests.fakes import (
    FakeSlots,
    FakeStepFunctions,
    FakeTaskTokens,
    FakeTextract,
    Journal,
    client_error,
    token_row,
)

START = load_event("start_analysis_input")
TOKEN = START["task_token"]
DOC_ID = START["document"]["document_id"]
NOTE = json.loads(load_event("sns_textract_completion")["Records"][0]["Sns"]["Message"])
TAG, JOB_ID = NOTE["JobTag"], NOTE["JobId"]
FAILED_JOB = load_event("textract_expense_analysis_failed")


def sns_event(**note: Any) -> dict[str, Any]:
    """The SNS delivery fixture with fields of Textract's message changed."""
    return load_event("sns_textract_completion", **{f"Records__0__Sns__Message__{k}": v for k, v in note.items()})


def run(event: dict[str, Any], *, row: dict[str, Any] | None = None, sfn_error: ClientError | None = None,
        job: dict[str, Any] | None = None, textract_error: ClientError | None = None,
        ) -> tuple[dict[str, Any], Journal, FakeTaskTokens]:
    journal = Journal()
    tokens = FakeTaskTokens(journal, {TAG: row} if row else {})
    textract = FakeTextract(journal, job_id=JOB_ID, pages=[job or FAILED_JOB],
                            errors={"get_expense_analysis": textract_error} if textract_error else None)
    result = callback.handle(event, callback.Ports(tokens=tokens, sfn=FakeStepFunctions(journal, sfn_error),
                                                    slots=FakeSlots(journal), textract=textract))
    validate_definition("states", "callback_output", result)
    return result, journal, tokens


def waiting(**fields: Any) -> dict[str, Any]:
    """The row StartAnalysis left: token stored, job id set, not consumed."""
    return token_row(TAG, doc_id=DOC_ID, task_token=TOKEN, execution_arn=START["execution_arn"],
                     **{"job_id": JOB_ID, **fields})


def test_succeeded_sends_task_success_with_the_analysis_and_consumes_the_token() -> None:
    result, journal, tokens = run(load_event("sns_textract_completion"), row=waiting())

    assert result == {"outcomes": ["succeeded"]}
    assert journal.names() == ["tokens.get_task_token", "sfn.send_task_success", "tokens.consume_task_token",
                               "slots.release", "slots.reserve"]
    assert journal.of("tokens.get_task_token") == [{"tag": TAG}]
    [sent] = journal.of("sfn.send_task_success")
    assert sent["taskToken"] == TOKEN
    analysis = json.loads(sent["output"])
    assert analysis == {"job_id": JOB_ID, "status": "SUCCEEDED"}
    validate_definition("states", "analysis", analysis)  # becomes $.analysis, Parse's input
    assert journal.of("tokens.consume_task_token") == [{"tag": TAG, "outcome": "succeeded"}]
    assert tokens.rows[TAG]["outcome"] == "succeeded"


def test_a_notification_before_the_job_id_was_stored_still_counts() -> None:
    """Textract may answer before StartAnalysis has written the job id: the tag alone identifies the job."""
    result, journal, _ = run(load_event("sns_textract_completion"), row=waiting(job_id=None))
    assert result == {"outcomes": ["succeeded"]}
    assert "sfn.send_task_success" in journal.names()


@pytest.mark.parametrize("status", ["Succeeded", "succeeded", " SUCCEEDED "])
def test_status_is_compared_without_regard_to_case(status: str) -> None:
    """AWS's pages show the notification's Status as SUCCEEDED and as Succeeded: both are a success, and
    Parse receives the one spelling the analysis schema allows."""
    result, journal, _ = run(sns_event(Status=status), row=waiting())
    assert result == {"outcomes": ["succeeded"]}
    [sent] = journal.of("sfn.send_task_success")
    assert json.loads(sent["output"])["status"] == "SUCCEEDED"


@pytest.mark.parametrize(("status", "error"), [
    ("Failed", "TextractJobFailed"),
    ("Partial_Success", "TextractPartialSuccess"),
    ("FAILED", "TextractJobFailed"),
    ("ERROR", "TextractJobFailed"),
    ("PARTIAL_SUCCESS", "TextractPartialSuccess"),
])
def test_unsuccessful_job_sends_task_failure_with_the_named_error_and_textracts_reason(status: str,
                                                                                      error: str) -> None:
    """The notification carries no reason: it is fetched from GetExpenseAnalysis and put in the Cause, which
    RecordFailure stores as the document's error message."""
    result, journal, _ = run(sns_event(Status=status), row=waiting())

    assert result == {"outcomes": ["failed"]}
    assert journal.names() == ["tokens.get_task_token", "textract.get_expense_analysis", "sfn.send_task_failure",
                               "tokens.consume_task_token", "slots.release", "slots.reserve"]
    assert journal.of("textract.get_expense_analysis") == [{"JobId": JOB_ID, "MaxResults": 1}]
    [sent] = journal.of("sfn.send_task_failure")
    assert sent["taskToken"] == TOKEN
    assert sent["error"] == error  # the ASL and RecordFailure know it by this name
    assert JOB_ID in sent["cause"]
    assert FAILED_JOB["StatusMessage"] in sent["cause"]
    assert "UNSUPPORTED_DOCUMENT_SIZE on page 1" in sent["cause"]
    assert journal.of("tokens.consume_task_token") == [{"tag": TAG, "outcome": "failed"}]


def test_a_reason_that_cannot_be_fetched_does_not_hold_the_failure_back() -> None:
    error = client_error("ThrottlingException", "GetExpenseAnalysis")
    result, journal, _ = run(sns_event(Status="FAILED"), row=waiting(), textract_error=error)

    assert result == {"outcomes": ["failed"]}
    [sent] = journal.of("sfn.send_task_failure")
    assert sent["error"] == "TextractJobFailed"
    assert "GetExpenseAnalysis answered ThrottlingException" in sent["cause"] and JOB_ID in sent["cause"]


def test_a_succeeded_job_costs_no_get_expense_analysis_call_here() -> None:
    _, journal, _ = run(load_event("sns_textract_completion"), row=waiting())
    assert "textract.get_expense_analysis" not in journal.names()  # Parse reads the result


def test_many_warnings_are_listed_briefly() -> None:
    job = {"JobStatus": "PARTIAL_SUCCESS", "Warnings": [{"ErrorCode": "PAGE_NOT_PROCESSED",
                                                         "Pages": list(range(1, 3001))}]}
    _, journal, _ = run(sns_event(Status="PARTIAL_SUCCESS"), row=waiting(), job=job)
    [sent] = journal.of("sfn.send_task_failure")
    assert "PAGE_NOT_PROCESSED on pages 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2990 more" in sent["cause"]
    assert len(sent["cause"]) < 300


def test_unknown_tag_is_ignored() -> None:
    result, journal, _ = run(sns_event(JobTag="doc-00000000000000000000000000000000"), row=waiting())
    assert result == {"outcomes": ["unknown"]}
    assert journal.names() == ["tokens.get_task_token"]
    assert journal.of("tokens.get_task_token") == [{"tag": "doc-00000000000000000000000000000000"}]


def test_notification_without_a_job_tag_looks_nothing_up() -> None:
    result, journal, _ = run(sns_event(JobTag=REMOVE), row=waiting())
    assert result == {"outcomes": ["unknown"]}
    assert journal.names() == []


def test_duplicate_notification_of_a_consumed_token_is_ignored() -> None:
    row = waiting(consumed_at=datetime(2024, 11, 12, 9, 42, tzinfo=UTC), outcome="succeeded")
    result, journal, tokens = run(load_event("sns_textract_completion"), row=row)
    assert result == {"outcomes": ["duplicate"]}
    assert journal.names() == ["tokens.get_task_token"]  # no second SendTaskSuccess, no second consume
    assert tokens.rows[TAG]["outcome"] == "succeeded"


def test_notification_of_an_older_job_of_the_document_is_ignored() -> None:
    """A retried StartAnalysis started a new job under the same tag: the old job's news is stale."""
    result, journal, tokens = run(load_event("sns_textract_completion"), row=waiting(job_id="a-newer-job"))
    assert result == {"outcomes": ["stale"]}
    assert journal.names() == ["tokens.get_task_token"]
    assert tokens.rows[TAG]["consumed_at"] is None  # the newer job's notification still finds it open


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED"])
def test_late_notification_for_a_closed_token_is_recorded_not_raised(code: str, status: str) -> None:
    error = client_error(code, "SendTaskSuccess" if status == "SUCCEEDED" else "SendTaskFailure")
    result, journal, _ = run(sns_event(Status=status), row=waiting(), sfn_error=error)

    assert result == {"outcomes": ["late"]}
    send = ["sfn.send_task_success"] if status == "SUCCEEDED" else ["textract.get_expense_analysis",
                                                                     "sfn.send_task_failure"]
    assert journal.names() == ["tokens.get_task_token", *send, "tokens.consume_task_token", "slots.release",
                               "slots.reserve"]
    assert journal.of("tokens.consume_task_token") == [{"tag": TAG, "outcome": "late"}]


@pytest.mark.parametrize("code", ["ThrottlingException", "ServiceUnavailable", "AccessDeniedException"])
def test_other_step_functions_errors_propagate_so_sns_retries(code: str) -> None:
    journal = Journal()
    tokens = FakeTaskTokens(journal, {TAG: waiting()})
    ports = callback.Ports(tokens=tokens, sfn=FakeStepFunctions(journal, client_error(code, "SendTaskSuccess")),
                           slots=FakeSlots(journal), textract=FakeTextract(journal))

    with pytest.raises(ClientError) as raised:
        callback.handle(load_event("sns_textract_completion"), ports)

    assert raised.value.response["Error"]["Code"] == code
    assert journal.names() == ["tokens.get_task_token", "sfn.send_task_success"]  # the token stays open
    assert tokens.rows[TAG]["consumed_at"] is None


@pytest.mark.parametrize("record", [
    {"EventSource": "aws:sns", "EventVersion": "1.0"},  # no Sns at all
    {"Sns": {"Type": "Notification"}},  # no Message
    {"Sns": {"Message": "Hello from SNS!"}},  # not JSON
    {"Sns": {"Message": None}},
    {"Sns": {"Message": "[\"JobId\", \"Status\"]"}},  # JSON, but not a notification object
    {"Sns": {"Message": "42"}},
    "not a record",
])
def test_unreadable_sns_record_is_skipped(record: Any) -> None:
    result, journal, _ = run({"Records": [record]}, row=waiting())
    assert result == {"outcomes": []}
    assert journal.names() == []


def test_a_batch_carries_on_past_an_unreadable_record() -> None:
    good = load_event("sns_textract_completion")["Records"][0]
    result, journal, _ = run({"Records": [{"Sns": {"Message": "garbage"}}, good, good]}, row=waiting())
    assert result == {"outcomes": ["succeeded", "duplicate"]}
    assert journal.names().count("sfn.send_task_success") == 1


def test_event_without_records_does_nothing() -> None:
    result, journal, _ = run({}, row=waiting())
    assert result == {"outcomes": []}
    assert journal.names() == []
