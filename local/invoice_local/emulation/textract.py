"""Textract's expense APIs inside the moto emulation: StartExpenseAnalysis, GetExpenseAnalysis and
AnalyzeExpense, with the SNS completion notification.

moto has no expense APIs (they raise NotImplementedError). We add them to moto's own Textract response
class, so they are served in decorator mode and in server mode alike, through the real botocore client.
What a job returns comes from an `ExpenseEngine`: in tests, `RecordedResponses` (real recorded Textract
output, looked up by the content's sha256); in local mode, the local OCR engine. Jobs run on a background
thread and notify SNS when done, as Textract does; `faults` injects throttling, failed jobs and lost
notifications for tests."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.core.exceptions import JsonRESTError
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.textract.responses import TextractResponse
from moto.utilities.utils import get_partition

_TAG = re.compile(r"^[a-zA-Z0-9_.\-:]{1,64}$")
_TOKEN = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")


class ExpenseEngine(Protocol):
    def analyze(self, content: bytes, *, bucket: str, key: str) -> list[dict[str, Any]]:
        """The response pages (GetExpenseAnalysis-shaped, without JobStatus) for a document's bytes."""
        ...


class EngineError(Exception):
    """An engine could not analyse the document: the job ends FAILED with this message."""


class RecordedResponses:
    """Serves recorded real Textract responses, chosen by the sha256 of the analysed bytes."""

    def __init__(self) -> None:
        self._by_sha: dict[str, list[dict[str, Any]]] = {}

    def add(self, content: bytes, pages: list[dict[str, Any]]) -> None:
        self._by_sha[hashlib.sha256(content).hexdigest()] = pages

    def analyze(self, content: bytes, *, bucket: str, key: str) -> list[dict[str, Any]]:
        pages = self._by_sha.get(hashlib.sha256(content).hexdigest())
        if pages is None:
            raise EngineError(f"no recorded Textract response for s3://{bucket}/{key}")
        return copy.deepcopy(pages)


@dataclass
class Faults:
    throttle_starts: int = 0  # the next N StartExpenseAnalysis calls fail with ProvisionedThroughputExceeded
    fail_jobs: int = 0  # the next N jobs end FAILED
    silent_jobs: int = 0  # the next N jobs finish but their notification is lost
    duplicate_notifications: bool = False  # every notification is published twice
    job_seconds: float = 0.2  # how long a job "runs" before it completes


@dataclass
class _Job:
    job_id: str
    status: str = "IN_PROGRESS"
    pages: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    tag: str | None = None


@dataclass
class _State:
    engine: ExpenseEngine = field(default_factory=RecordedResponses)
    faults: Faults = field(default_factory=Faults)
    jobs: dict[str, _Job] = field(default_factory=dict)
    by_request_token: dict[str, str] = field(default_factory=dict)
    start_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


state = _State()


def configure(engine: ExpenseEngine | None = None, faults: Faults | None = None) -> _State:
    """Reset the stand-in: a new engine (default: empty RecordedResponses), new faults, no jobs."""
    global state
    state = _State(engine=engine or RecordedResponses(), faults=faults or Faults())
    return state


def _error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


def _object_bytes(account: str, region: str, s3_object: dict[str, Any]) -> bytes:
    backend = s3_backends[account][get_partition(region)]
    key = backend.get_object(s3_object["Bucket"], s3_object["Name"], version_id=s3_object.get("Version"))
    if key is None:
        raise _error("InvalidS3ObjectException",
                     "Unable to get object metadata from S3. Check object key, region and/or access permissions.")
    return bytes(key.value)


def _notify(account: str, region: str, job: _Job, params: dict[str, Any]) -> None:
    channel = params.get("NotificationChannel") or {}
    s3_object = params["DocumentLocation"]["S3Object"]
    message = {
        "JobId": job.job_id,
        "Status": job.status,
        "API": "StartExpenseAnalysis",
        "JobTag": job.tag or "",
        "Timestamp": int(time.time() * 1000),
        "DocumentLocation": {"S3ObjectName": s3_object["Name"], "S3Bucket": s3_object["Bucket"]},
    }
    topic = channel.get("SNSTopicArn")
    if not topic:
        return
    sns = sns_backends[account][region]
    for _ in range(2 if state.faults.duplicate_notifications else 1):
        sns.publish(message=json.dumps(message), arn=topic, subject="Amazon Textract Job Completion")


def _run(account: str, region: str, job: _Job, content: bytes, params: dict[str, Any], fail: bool,
         silent: bool) -> None:
    time.sleep(state.faults.job_seconds)
    s3_object = params["DocumentLocation"]["S3Object"]
    if fail:
        job.status, job.message = "FAILED", "Request has invalid parameters (injected failure)"
    else:
        try:
            job.pages = state.engine.analyze(content, bucket=s3_object["Bucket"], key=s3_object["Name"])
            job.status = "SUCCEEDED"
        except EngineError as exc:
            job.status, job.message = "FAILED", str(exc)
        except Exception as exc:  # noqa: BLE001 - an engine bug must end the job, not hang the execution
            job.status, job.message = "FAILED", f"engine error: {type(exc).__name__}: {exc}"
    if not silent:
        _notify(account, region, job, params)


def _validate_start(params: dict[str, Any]) -> None:
    s3_object = (params.get("DocumentLocation") or {}).get("S3Object") or {}
    if not s3_object.get("Bucket") or not s3_object.get("Name"):
        raise _error("InvalidParameterException", "DocumentLocation.S3Object needs Bucket and Name")
    tag = params.get("JobTag")
    if tag is not None and not _TAG.match(tag):
        raise _error("ValidationException", f"JobTag {tag!r} must match [a-zA-Z0-9_.\\-:]{{1,64}}")
    token = params.get("ClientRequestToken")
    if token is not None and not _TOKEN.match(token):
        raise _error("ValidationException", f"ClientRequestToken {token!r} must match [a-zA-Z0-9-_]{{1,64}}")
    channel = params.get("NotificationChannel")
    if channel is not None and not (channel.get("SNSTopicArn") and channel.get("RoleArn")):
        raise _error("InvalidParameterException", "NotificationChannel needs SNSTopicArn and RoleArn")


def start_expense_analysis(self: TextractResponse) -> str:
    params = json.loads(self.body)
    _validate_start(params)
    with state.lock:
        state.start_calls += 1
        if state.faults.throttle_starts > 0:
            state.faults.throttle_starts -= 1
            raise _error("ProvisionedThroughputExceededException",
                         "The number of requests exceeded your throughput limit (injected).")
        token = params.get("ClientRequestToken")
        if token and token in state.by_request_token:
            # Textract's idempotency: the same token returns the same job, no second analysis or charge.
            return json.dumps({"JobId": state.by_request_token[token]})
        content = _object_bytes(self.current_account, self.region, params["DocumentLocation"]["S3Object"])
        job = _Job(job_id=uuid.uuid4().hex, tag=params.get("JobTag"))
        state.jobs[job.job_id] = job
        if token:
            state.by_request_token[token] = job.job_id
        fail = state.faults.fail_jobs > 0
        state.faults.fail_jobs -= int(fail)
        silent = state.faults.silent_jobs > 0
        state.faults.silent_jobs -= int(silent)
    threading.Thread(target=_run, args=(self.current_account, self.region, job, content, params, fail, silent),
                     name=f"textract-job-{job.job_id[:8]}", daemon=True).start()
    return json.dumps({"JobId": job.job_id})


def get_expense_analysis(self: TextractResponse) -> str:
    params = json.loads(self.body)
    job = state.jobs.get(params.get("JobId", ""))
    if job is None:
        raise _error("InvalidJobIdException", "An invalid job identifier was passed.")
    if job.status != "SUCCEEDED":
        out: dict[str, Any] = {"JobStatus": job.status}
        if job.message:
            out["StatusMessage"] = job.message
        return json.dumps(out)
    index = int(params.get("NextToken") or 0)
    if index >= len(job.pages):
        raise _error("InvalidParameterException", "NextToken is not valid for this job")
    page = {k: v for k, v in job.pages[index].items() if k not in ("NextToken", "ResponseMetadata")}
    page["JobStatus"] = "SUCCEEDED"
    if index + 1 < len(job.pages):
        page["NextToken"] = str(index + 1)
    return json.dumps(page)


def analyze_expense(self: TextractResponse) -> str:
    params = json.loads(self.body)
    document = params.get("Document") or {}
    if "Bytes" in document:
        import base64

        content = base64.b64decode(document["Bytes"])
        bucket, key = "", "(bytes)"
    elif "S3Object" in document:
        content = _object_bytes(self.current_account, self.region, document["S3Object"])
        bucket, key = document["S3Object"]["Bucket"], document["S3Object"]["Name"]
    else:
        raise _error("InvalidParameterException", "Document needs Bytes or S3Object")
    try:
        pages = state.engine.analyze(content, bucket=bucket, key=key)
    except EngineError as exc:
        raise _error("UnsupportedDocumentException", str(exc)) from exc
    merged = {k: v for k, v in pages[0].items() if k not in ("NextToken", "JobStatus", "ResponseMetadata")}
    merged["ExpenseDocuments"] = [d for p in pages for d in p.get("ExpenseDocuments", [])]
    return json.dumps(merged)


def install() -> None:
    TextractResponse.start_expense_analysis = start_expense_analysis  # type: ignore[attr-defined]
    TextractResponse.get_expense_analysis = get_expense_analysis  # type: ignore[attr-defined]
    TextractResponse.analyze_expense = analyze_expense  # type: ignore[attr-defined]
