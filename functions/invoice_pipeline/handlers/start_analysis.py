"""StartAnalysis (invoked with .waitForTaskToken): keep the task token, then start Textract.

Input: {"document": <Register output>, "task_token": str, "execution_arn": str}
The state then waits until the Callback function reports Textract's completion with this token."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from invoice_pipeline import config
from invoice_pipeline.adapters import aws, repository
from invoice_pipeline.domain.events import S3Source
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.domain.textract_errors import error_for_code
from invoice_pipeline.observability import count, lambda_entry, logger
from invoice_pipeline.ports import Documents, TaskTokens, Textract


@dataclass(frozen=True)
class Ports:
    documents: Documents
    tokens: TaskTokens
    textract: Textract
    sleep: Callable[[float], None] = field(default=time.sleep)
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


PORTS = Ports(documents=repository, tokens=repository, textract=aws.LazyClient("textract"))


def job_tag(document_id: str) -> str:
    """The short id sent as JobTag (max 64 chars, [a-zA-Z0-9_.:-]); the task token itself is too long."""
    return "doc-" + document_id.replace("-", "")


def client_request_token(sha256: str, document_id: str, execution_arn: str | None = None) -> str:
    """Textract's idempotency token: a retried StartAnalysis for this document gets the same job back
    instead of a second, charged one. Content hash + document + execution: a new document, or a reprocess
    execution of the same one, gets a new job (the same token would return the old, finished job, whose
    completion notification was sent long ago, and the execution would wait for nothing)."""
    return hashlib.sha256(f"{sha256}:{document_id}:{execution_arn or ''}".encode()).hexdigest()  # 64 chars, the max


# The Wait state before this one ends on its whole second (Step Functions truncates a timestamp's
# milliseconds); the fraction is waited here, so starts keep the spacing admission control gave them.
_MAX_FRACTION_WAIT = 2.0


def wait_for_start_time(slot: dict[str, Any] | None, ports: Ports) -> None:
    if not slot or not slot.get("start_at_precise"):
        return
    start_at = datetime.fromisoformat(slot["start_at_precise"])
    remaining = (start_at - ports.now()).total_seconds()
    if remaining > 0:
        ports.sleep(min(remaining, _MAX_FRACTION_WAIT))


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    doc = event["document"]
    document_id: str = doc["document_id"]
    execution_arn = event.get("execution_arn")
    tag = job_tag(document_id)
    settings = config.settings()

    ports.tokens.save_task_token(tag=tag, doc_id=document_id, task_token=event["task_token"],
                                 execution_arn=execution_arn)

    # A payload from before `versioned` existed (an execution started before a deploy) reads as unversioned:
    # Textract then analyzes the current object, as it did when no version was known.
    src = S3Source(bucket=doc["bucket"], key=doc["key"], version_id=doc["version_id"] or "",
                   versioned=bool(doc.get("versioned")))
    request: dict[str, Any] = {
        "DocumentLocation": {"S3Object": src.textract_s3_object()},
        "ClientRequestToken": client_request_token(doc["sha256"], document_id, execution_arn),
        "JobTag": tag,
        "NotificationChannel": {"SNSTopicArn": settings.textract_sns_topic_arn,
                                "RoleArn": settings.textract_role_arn},
    }
    wait_for_start_time(event.get("slot"), ports)
    if settings.textract_output_configured:
        request["OutputConfig"] = {"S3Bucket": settings.textract_output_bucket,
                                   "S3Prefix": settings.textract_output_prefix}
        # A request parameter beside OutputConfig, not inside it: the key for the objects Textract writes there.
        if settings.textract_output_kms_key:
            request["KMSKeyId"] = settings.textract_output_kms_key
    try:
        job_id = ports.textract.start_expense_analysis(**request)["JobId"]
    except ClientError as exc:
        err = exc.response.get("Error", {})
        named = error_for_code(str(err.get("Code", "")), str(err.get("Message", "")))
        if named is None:
            raise
        count(f"Textract.{type(named).__name__}")
        raise named from exc

    ports.tokens.set_job_id(tag, job_id)
    ports.documents.transition(document_id, DocumentStatus.ANALYZING, textract_job_id=job_id,
                               execution_arn=execution_arn,
                               detail={"textract_job_id": job_id})
    logger.info("Textract job started", extra={"job_id": job_id, "job_tag": tag})
    return {"job_id": job_id, "job_tag": tag}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
