"""Callback (SNS subscriber, not a state): turn Textract's completion notification into SendTaskSuccess or
SendTaskFailure for the waiting execution.

SNS delivers at least once and may deliver after the wait timed out: an unknown, consumed or expired token
is logged and counted, never raised, so a stray notification cannot fail anything.

The notification says that a job failed, not why: the reason (StatusMessage, Warnings) is in the job's
GetExpenseAnalysis response, fetched here so that the task failure's Cause, and so the document's error
message, the API and the execution's trace, say it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from invoice_pipeline.adapters import aws, repository, slots
from invoice_pipeline.dispatch import Slots, dispatch
from invoice_pipeline.domain.textract_errors import error_for_job_status, job_reason, job_status
from invoice_pipeline.observability import count, lambda_entry, logger
from invoice_pipeline.ports import StepFunctions, TaskTokens, Textract

# The execution is gone or no longer waits for this token: the notification came too late or twice.
_CLOSED_TOKEN_CODES = {"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"}


@dataclass(frozen=True)
class Ports:
    tokens: TaskTokens
    sfn: StepFunctions
    slots: Slots
    textract: Textract


PORTS = Ports(tokens=repository, sfn=aws.LazyClient("stepfunctions"), slots=slots,  # type: ignore[arg-type]
              textract=aws.LazyClient("textract"))  # type: ignore[arg-type]


def _notifications(event: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for record in event.get("Records", []):
        try:
            note = json.loads(record["Sns"]["Message"])
            if not isinstance(note, dict):
                raise TypeError(f"the message is a JSON {type(note).__name__}, not an object")
            out.append(note)
        except (KeyError, TypeError, json.JSONDecodeError):
            logger.warning("ignoring an SNS record that is not a Textract notification", extra={"record": record})
            count("CallbackUnreadable")
    return out


def _failure_reason(textract: Textract, job_id: str | None, note: dict[str, Any]) -> str | None:
    """The failed job's reason from GetExpenseAnalysis. Not being able to fetch it must not hold the failure
    back (the execution would wait out its timeout instead): the Cause then says so."""
    if not job_id:
        return note.get("StatusMessage")
    try:
        response = textract.get_expense_analysis(JobId=job_id, MaxResults=1)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        logger.warning("the failed job's reason could not be fetched", extra={"job_id": job_id, "code": code})
        count("CallbackReasonUnavailable")
        return f"no reason: GetExpenseAnalysis answered {code or 'an error'}"
    return job_reason(response) or note.get("StatusMessage")


def _handle(note: dict[str, Any], ports: Ports) -> str:
    tag, job_id, status = note.get("JobTag"), note.get("JobId"), job_status(note.get("Status", ""))
    row = ports.tokens.get_task_token(tag) if tag else None
    if row is None:
        logger.warning("notification for an unknown job tag", extra={"job_tag": tag, "job_id": job_id})
        count("CallbackUnknownTag")
        return "unknown"
    logger.set_correlation_id(str(row["document_id"]))
    if row["consumed_at"] is not None:
        logger.info("duplicate notification ignored", extra={"job_id": job_id, "outcome": row["outcome"]})
        count("CallbackDuplicate")
        return "duplicate"
    if row["job_id"] and job_id and row["job_id"] != job_id:
        logger.warning("notification for an older job of this document ignored",
                       extra={"job_id": job_id, "current_job_id": row["job_id"]})
        count("CallbackStaleJob")
        return "stale"

    error = error_for_job_status(status, None)
    reason = None
    if error is not None:
        reason = _failure_reason(ports.textract, job_id, note)
        error = error_for_job_status(status, reason)
    try:
        if error is None:
            ports.sfn.send_task_success(taskToken=row["task_token"],
                                        output=json.dumps({"job_id": job_id, "status": status}))
            outcome = "succeeded"
        else:
            ports.sfn.send_task_failure(taskToken=row["task_token"], error=type(error).__name__,
                                        cause=f"{error.message} (JobId {job_id})")
            outcome = "failed"
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in _CLOSED_TOKEN_CODES:
            raise  # transient: let SNS/Lambda retry the delivery
        logger.warning("the execution no longer waits for this job", extra={"job_id": job_id, "code": code})
        count("CallbackLate")
        outcome = "late"
    ports.tokens.consume_task_token(tag, outcome)  # type: ignore[arg-type]
    # The job has ended, whatever the execution makes of it: its Textract slot is free for the next document.
    ports.slots.release(str(row["document_id"]))
    logger.info("Textract completion delivered", extra={"job_id": job_id, "status": status, "outcome": outcome,
                                                        **({"reason": reason} if reason else {})})
    return outcome


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    outcomes = [_handle(note, ports) for note in _notifications(event)]
    if any(o in ("succeeded", "failed", "late") for o in outcomes):
        dispatch(ports.slots, ports.sfn)
    return {"outcomes": outcomes}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
