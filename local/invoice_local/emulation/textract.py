"""Textract's expense APIs inside the moto emulation: StartExpenseAnalysis, GetExpenseAnalysis and
AnalyzeExpense, with the SNS completion notification.

moto has no expense APIs (they raise NotImplementedError). We add them to moto's own Textract response
class, so they are served in decorator mode and in server mode alike, through the real botocore client.
What a job returns comes from an `ExpenseEngine`: in tests, `RecordedResponses` (real recorded Textract
output, looked up by the content's sha256); in local mode, the local OCR engine. Jobs run on a background
thread and notify SNS when done, as Textract does; `faults` injects throttling, failed jobs and lost
notifications for tests.

A job that nobody waits for any more is stopped (cancelled between pages): AWS's Textract has no cancel call
and runs on AWS's machines, but the local engine runs on ours, beside every other document. `abandoned`,
given to `configure`, says of running jobs' JobTags which, and why, are no longer wanted (local mode: the
document is final, e.g. FAILED by TaskTimedOut); such a job then ends FAILED with that reason. One watcher
thread asks about all running jobs at once, every `watch_seconds`, while any runs.

Textract's quotas are enforced as AWS enforces them (textract_quotas.Quotas: StartExpenseAnalysis and
GetExpenseAnalysis calls per second, jobs IN_PROGRESS at once), with the errors AWS returns, and every call is
recorded (textract_calls.CallLog) so that a test can measure the rate and concurrency the pipeline produced.
AnalyzeExpense (synchronous) is recorded but not limited: the pipeline does not call it."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.core.exceptions import JsonRESTError
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends
from moto.textract.responses import TextractResponse
from moto.utilities.utils import get_partition

from invoice_local.emulation.textract_calls import ACCEPTED, Call, CallLog, SlidingWindow
from invoice_local.textract_quotas import DEFAULTS, Quotas

__all__ = ["ACCEPTED", "AnalysisCancelled", "Call", "EngineError", "ExpenseEngine", "Faults", "Quotas",
           "RecordedResponses", "configure", "install", "state"]

_TAG = re.compile(r"^[a-zA-Z0-9_.\-:]{1,64}$")
_TOKEN = re.compile(r"^[a-zA-Z0-9\-_]{1,64}$")


class ExpenseEngine(Protocol):
    def analyze(self, content: bytes, *, bucket: str, key: str,
                cancel: threading.Event | None = None) -> list[dict[str, Any]]:
        """The response pages (GetExpenseAnalysis-shaped, without JobStatus) for a document's bytes. An engine
        that takes long checks `cancel` as it goes and raises AnalysisCancelled once it is set."""
        ...


class EngineError(Exception):
    """An engine could not analyse the document: the job ends FAILED with this message as its StatusMessage."""


class AnalysisCancelled(EngineError):
    """The job was stopped before its analysis finished: nobody waits for its result any more."""


class RecordedResponses:
    """Serves recorded real Textract responses, chosen by the sha256 of the analysed bytes."""

    def __init__(self) -> None:
        self._by_sha: dict[str, list[dict[str, Any]]] = {}

    def add(self, content: bytes, pages: list[dict[str, Any]]) -> None:
        self._by_sha[hashlib.sha256(content).hexdigest()] = pages

    def analyze(self, content: bytes, *, bucket: str, key: str,
                cancel: threading.Event | None = None) -> list[dict[str, Any]]:
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
    job_seconds: float = 0.2  # how long a job stays IN_PROGRESS before its analysis (which adds its own time)


@dataclass
class _Job:
    job_id: str
    status: str = "IN_PROGRESS"
    pages: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None
    tag: str | None = None
    release: threading.Event = field(default_factory=threading.Event)  # set: stop waiting job_seconds
    cancel: threading.Event = field(default_factory=threading.Event)  # set: stop the analysis
    cancel_reason: str = ""
    # Where its completion notification goes: the start's parameters, account and region.
    params: dict[str, Any] = field(default_factory=dict)
    account: str = ""
    region: str = ""


@dataclass
class _State:
    """The stand-in: its engine, faults, quotas and jobs, and the record of every call (what tests read)."""

    engine: ExpenseEngine = field(default_factory=RecordedResponses)
    faults: Faults = field(default_factory=Faults)
    quotas: Quotas = DEFAULTS
    # What the quotas are enforced and calls recorded against; a test may pass its own to stop time.
    clock: Callable[[], float] = time.monotonic
    # JobTags of running jobs -> why nobody waits for each of those no longer wanted (see the module's doc).
    abandoned: Callable[[list[str]], dict[str, str]] | None = None
    watch_seconds: float = 1.0  # how often running jobs are checked against `abandoned`
    watcher: threading.Thread | None = None
    jobs: dict[str, _Job] = field(default_factory=dict)
    by_request_token: dict[str, tuple[str, str]] = field(default_factory=dict)  # token -> (job id, request)
    running: set[str] = field(default_factory=set)  # ids of the jobs IN_PROGRESS
    start_calls: int = 0  # StartExpenseAnalysis calls that passed validation, refused ones included
    log: CallLog = field(default_factory=CallLog)
    lock: threading.Lock = field(default_factory=threading.Lock)
    start_window: SlidingWindow = field(init=False)
    get_window: SlidingWindow = field(init=False)

    def __post_init__(self) -> None:
        self.start_window = SlidingWindow(self.quotas.start_tps)
        self.get_window = SlidingWindow(self.quotas.get_tps)

    # What a test measures: see textract_calls.CallLog.
    def calls(self, api: str | None = None) -> list[Call]:
        return self.log.calls(api)

    def max_rate(self, api: str, window: float = 1.0, accepted_only: bool = True) -> int:
        return self.log.max_rate(api, window, accepted_only)

    def max_concurrent_jobs(self) -> int:
        return self.log.max_concurrent_jobs()

    def refused(self, api: str | None = None, code: str | None = None) -> int:
        return self.log.refused(api, code)

    def notify(self, job_id: str) -> None:
        """Publish a finished job's completion notification once more, as Textract sent it (or would have,
        for a silent job): SNS delivers at least once, and may deliver late, after the execution stopped
        waiting. KeyError for an unknown job; ValueError while it runs (it has nothing to tell yet)."""
        with self.lock:
            job = self.jobs[job_id]
            if job.status == "IN_PROGRESS":
                raise ValueError(f"job {job_id} is still running")
        _notify(self, job.account, job.region, job, job.params, copies=1)

    def cancel_abandoned(self) -> int:
        """Stop every running job whose JobTag `abandoned` names; returns how many were stopped now."""
        with self.lock:
            jobs = [self.jobs[j] for j in self.running]
        jobs = [job for job in jobs if job.tag and not job.cancel.is_set()]
        if self.abandoned is None or not jobs:
            return 0
        try:
            reasons = self.abandoned(sorted({job.tag for job in jobs if job.tag}))
        except Exception:  # noqa: BLE001 - a failed check leaves the jobs running; the next one may succeed
            logging.getLogger(__name__).warning("could not check the running jobs", exc_info=True)
            return 0
        stopped = 0
        for job in jobs:
            reason = reasons.get(job.tag or "")
            if reason:
                job.cancel_reason = reason
                job.cancel.set()
                job.release.set()
                stopped += 1
        return stopped

    def finish_jobs(self, job_id: str | None = None) -> int:
        """Let a running job (default: every one) stop waiting out job_seconds: its analysis runs now and it
        completes. For tests that need a job to end at a point of their choosing; returns how many."""
        with self.lock:
            jobs = [self.jobs[j] for j in self.running if job_id is None or j == job_id]
        for job in jobs:
            job.release.set()
        return len(jobs)


state = _State()


def configure(engine: ExpenseEngine | None = None, faults: Faults | None = None, quotas: Quotas | None = None,
              clock: Callable[[], float] | None = None,
              abandoned: Callable[[list[str]], dict[str, str]] | None = None,
              watch_seconds: float = 1.0) -> _State:
    """Reset the stand-in: a new engine (default: empty RecordedResponses), new faults, quotas (default: AWS's
    in us-east-1), no jobs, no recorded calls; `abandoned` (default: none) stops jobs nobody waits for, checked
    every `watch_seconds`. Jobs still running from before finish against their own state."""
    global state
    state = _State(engine=engine or RecordedResponses(), faults=faults or Faults(), quotas=quotas or DEFAULTS,
                   clock=clock or time.monotonic, abandoned=abandoned, watch_seconds=watch_seconds)
    return state


def _watch(st: _State) -> None:
    """While jobs run, stop those nobody waits for (`abandoned`); ends when none runs (the next start
    starts it again)."""
    while True:
        time.sleep(st.watch_seconds)
        with st.lock:
            if not st.running:
                st.watcher = None
                return
        st.cancel_abandoned()


def _error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


def _object_bytes(account: str, region: str, s3_object: dict[str, Any]) -> bytes:
    backend = s3_backends[account][get_partition(region)]
    key = backend.get_object(s3_object["Bucket"], s3_object["Name"], version_id=s3_object.get("Version"))
    if key is None:
        raise _error("InvalidS3ObjectException",
                     "Unable to get object metadata from S3. Check object key, region and/or access permissions.")
    return bytes(key.value)


def _notify(st: _State, account: str, region: str, job: _Job, params: dict[str, Any],
            copies: int | None = None) -> None:
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
    for _ in range(copies or (2 if st.faults.duplicate_notifications else 1)):
        sns.publish(message=json.dumps(message), arn=topic, subject="Amazon Textract Job Completion")


def _run(st: _State, account: str, region: str, job: _Job, content: bytes, params: dict[str, Any], fail: bool,
         silent: bool) -> None:
    job.release.wait(st.faults.job_seconds)
    s3_object = params["DocumentLocation"]["S3Object"]
    pages: list[dict[str, Any]] = []
    if fail:
        status, message = "FAILED", "Request has invalid parameters (injected failure)"
    elif job.cancel.is_set():
        status, message = "FAILED", f"Job stopped before its analysis: {job.cancel_reason}"
    else:
        try:
            pages = st.engine.analyze(content, bucket=s3_object["Bucket"], key=s3_object["Name"], cancel=job.cancel)
            status, message = "SUCCEEDED", None
        except AnalysisCancelled as exc:
            status, message = "FAILED", f"{exc}: {job.cancel_reason}"
        except EngineError as exc:
            status, message = "FAILED", str(exc)
        except Exception as exc:  # noqa: BLE001 - an engine bug must end the job, not hang the execution
            status, message = "FAILED", f"engine error: {type(exc).__name__}: {exc}"
    # One step under the lock: a start that finds the job no longer running also finds its result.
    with st.lock:
        job.pages, job.status, job.message = pages, status, message
        st.running.discard(job.job_id)
        st.log.job_ended(job.job_id, st.clock())
    if not silent:
        _notify(st, account, region, job, params)


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


@dataclass
class _Seen:
    """Filled in by a handler for the call log: when the call was decided, and the job it concerned."""

    at: float | None = None
    job_id: str | None = None


def _recorded(api: str, handle: Callable[[_State, _Seen], str]) -> str:
    st, seen = state, _Seen()
    try:
        out = handle(st, seen)
    except Exception as exc:
        # moto's errors name their code in error_type (S3's too, from _object_bytes); anything else is a bug
        # here, which moto turns into a 500.
        code = getattr(exc, "error_type", None) or "InternalServerError"
        st.log.record(api, code, seen.job_id, st.clock() if seen.at is None else seen.at)
        raise
    st.log.record(api, ACCEPTED, seen.job_id, st.clock() if seen.at is None else seen.at)
    return out


def _start(response: TextractResponse, st: _State, seen: _Seen) -> str:
    params = json.loads(response.body)
    _validate_start(params)
    token = params.get("ClientRequestToken")
    request = json.dumps({k: v for k, v in params.items() if k != "ClientRequestToken"}, sort_keys=True)
    with st.lock:
        st.start_calls += 1
        seen.at = st.clock()
        if st.faults.throttle_starts > 0:
            st.faults.throttle_starts -= 1
            raise _error("ProvisionedThroughputExceededException",
                         "The number of requests exceeded your throughput limit (injected).")
        if not st.start_window.admit(seen.at):
            raise _error("ProvisionedThroughputExceededException",
                         f"Provisioned rate exceeded (StartExpenseAnalysis: {st.quotas.start_tps} per second)")
        if token and token in st.by_request_token:
            job_id, first_request = st.by_request_token[token]
            if request != first_request:
                raise _error("IdempotentParameterMismatchException",
                             "ClientRequestToken was used before with different parameters")
            # Textract's idempotency: the same token returns the same job, no second analysis or charge, and
            # no second slot among the concurrent jobs.
            seen.job_id = job_id
            return json.dumps({"JobId": job_id})
        if len(st.running) >= st.quotas.max_jobs:
            raise _error("LimitExceededException",
                         f"Open jobs exceed maximum concurrent job limit ({st.quotas.max_jobs})")
        content = _object_bytes(response.current_account, response.region, params["DocumentLocation"]["S3Object"])
        job = _Job(job_id=uuid.uuid4().hex, tag=params.get("JobTag"), params=params,
                   account=response.current_account, region=response.region)
        seen.job_id = job.job_id
        st.jobs[job.job_id] = job
        st.running.add(job.job_id)
        st.log.job_started(job.job_id, seen.at)
        if token:
            st.by_request_token[token] = (job.job_id, request)
        fail = st.faults.fail_jobs > 0
        st.faults.fail_jobs -= int(fail)
        silent = st.faults.silent_jobs > 0
        st.faults.silent_jobs -= int(silent)
    threading.Thread(target=_run, args=(st, response.current_account, response.region, job, content, params, fail,
                                        silent), name=f"textract-job-{job.job_id[:8]}", daemon=True).start()
    with st.lock:
        if st.abandoned is not None and st.watcher is None:
            st.watcher = threading.Thread(target=_watch, args=(st,), name="textract-watch", daemon=True)
            st.watcher.start()
    return json.dumps({"JobId": job.job_id})


def _get(response: TextractResponse, st: _State, seen: _Seen) -> str:
    params = json.loads(response.body)
    seen.job_id = params.get("JobId") or None
    with st.lock:
        seen.at = st.clock()
        if not st.get_window.admit(seen.at):
            # HTTP 400 (JsonRESTError's): the API reference lists 500 for ThrottlingException, but Textract's
            # real throttling responses carry 400 (aws/aws-sdk-js#2815). botocore retries it by its code alike.
            raise _error("ThrottlingException",
                         f"Rate exceeded (GetExpenseAnalysis: {st.quotas.get_tps} per second)")
        job = st.jobs.get(params.get("JobId", ""))
        if job is None:
            raise _error("InvalidJobIdException", "An invalid job identifier was passed.")
        status, message, pages = job.status, job.message, job.pages
    if status != "SUCCEEDED":
        out: dict[str, Any] = {"JobStatus": status}
        if message:
            out["StatusMessage"] = message
        return json.dumps(out)
    index = int(params.get("NextToken") or 0)
    if index >= len(pages):
        raise _error("InvalidParameterException", "NextToken is not valid for this job")
    page = {k: v for k, v in pages[index].items() if k not in ("NextToken", "ResponseMetadata")}
    page["JobStatus"] = "SUCCEEDED"
    if index + 1 < len(pages):
        page["NextToken"] = str(index + 1)
    return json.dumps(page)


def _analyze(response: TextractResponse, st: _State, seen: _Seen) -> str:
    params = json.loads(response.body)
    document = params.get("Document") or {}
    if "Bytes" in document:
        import base64

        content = base64.b64decode(document["Bytes"])
        bucket, key = "", "(bytes)"
    elif "S3Object" in document:
        content = _object_bytes(response.current_account, response.region, document["S3Object"])
        bucket, key = document["S3Object"]["Bucket"], document["S3Object"]["Name"]
    else:
        raise _error("InvalidParameterException", "Document needs Bytes or S3Object")
    try:
        pages = st.engine.analyze(content, bucket=bucket, key=key)
    except EngineError as exc:
        raise _error("UnsupportedDocumentException", str(exc)) from exc
    merged = {k: v for k, v in pages[0].items() if k not in ("NextToken", "JobStatus", "ResponseMetadata")}
    merged["ExpenseDocuments"] = [d for p in pages for d in p.get("ExpenseDocuments", [])]
    return json.dumps(merged)


def start_expense_analysis(self: TextractResponse) -> str:
    return _recorded("StartExpenseAnalysis", lambda st, seen: _start(self, st, seen))


def get_expense_analysis(self: TextractResponse) -> str:
    return _recorded("GetExpenseAnalysis", lambda st, seen: _get(self, st, seen))


def analyze_expense(self: TextractResponse) -> str:
    return _recorded("AnalyzeExpense", lambda st, seen: _analyze(self, st, seen))


def install() -> None:
    TextractResponse.start_expense_analysis = start_expense_analysis  # type: ignore[attr-defined]
    TextractResponse.get_expense_analysis = get_expense_analysis  # type: ignore[attr-defined]
    TextractResponse.analyze_expense = analyze_expense  # type: ignore[attr-defined]
