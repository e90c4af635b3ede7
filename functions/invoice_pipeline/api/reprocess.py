"""Reprocessing: the execution input for one document, which both reprocess routes build here, and the bulk
reprocess's queueing, one intake message per document.

A bulk reprocess sends its messages to the intake queue rather than starting executions itself: hundreds of
documents after an outage would otherwise meet Register's concurrency and Textract's quotas all at once. The
intake starts them at its bounded rate, and names each execution after its request key (domain/reprocess.py),
so a document queued twice in the same state (the route called twice, a client retrying) runs once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from invoice_pipeline.adapters import aws
from invoice_pipeline.api.errors import ApiError, Code
from invoice_pipeline.api.models import SkipCode
from invoice_pipeline.domain import reprocess as domain
from invoice_pipeline.domain.events import S3Source, event_object, from_s3_response
from invoice_pipeline.domain.intake import execution_name

BATCH = 10  # SendMessageBatch takes at most ten messages
# Documents checked (their S3 objects headed, in parallel), recorded and sent between two looks at the clock.
CHUNK = 50
HEAD_WORKERS = 8
SEND_ATTEMPTS = 3
# Stop starting chunks this long before the function's timeout, so the reply with the counts still leaves.
TIME_MARGIN_SECONDS = 4.0


@dataclass(frozen=True)
class Target:
    """A document to reprocess: its own object version, the state its request key comes from, and another
    document that now holds its content live, if any."""

    document_id: uuid.UUID
    bucket: str
    key: str
    version_id: str
    updated_at: datetime
    live_owner: uuid.UUID | None = None
    # Why reprocessing it would replace a reviewer's work (api/reprocess_review.py), if it would.
    review_work: str | None = None


def source_object(bucket: str, key: str, version_id: str) -> dict[str, Any]:
    """The `detail.object` of the execution input: the document's own object version. The row's version_id
    is S3's version id, or the ETag in an unversioned bucket, and does not say which: S3 tells."""
    s3 = aws.client("s3")
    as_version = S3Source(bucket=bucket, key=key, version_id=version_id, versioned=True)
    try:
        head = s3.head_object(**as_version.s3_args())
    except ClientError:
        # not a version id (an ETag), or that version is gone: look at the current object
        try:
            head = s3.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            raise ApiError(Code.SOURCE_GONE, f"s3://{bucket}/{key} no longer exists") from exc
    src = from_s3_response(bucket, key, head)
    if src.version_id != version_id:
        raise ApiError(Code.SOURCE_GONE, f"s3://{bucket}/{key} was replaced since this document "
                                         "was registered: the new object has its own document")
    return event_object(src, etag=str(head.get("ETag", "")).strip('"'))


def execution_input(target: Target, *, requested_by: str, region: str, now: datetime,
                    discard_review: bool = False) -> dict[str, Any]:
    """The input of the execution that reprocesses `target` (the intake message's body when queued); its
    name is domain.intake.execution_name of it. ApiError SOURCE_GONE when the object version is gone."""
    return domain.execution_input(
        document_id=target.document_id, bucket=target.bucket,
        source_object=source_object(target.bucket, target.key, target.version_id),
        key=domain.request_key(target.updated_at), requested_by=requested_by, region=region, now=now,
        discard_review=discard_review)


class Queue(Protocol):
    """boto3 SQS: sending a batch."""

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Request:
    """One queued reprocess: what the document's timeline records."""

    document_id: uuid.UUID
    request_key: str
    execution_name: str


@dataclass
class Outcome:
    eligible: int = 0
    queued: list[Request] = field(default_factory=list)
    skipped: list[tuple[uuid.UUID, SkipCode, str]] = field(default_factory=list)
    failed: list[tuple[uuid.UUID, str]] = field(default_factory=list)


def _error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__


def _refused(code: str) -> str:
    return f"not attempted: the intake queue refused an earlier batch ({code})"


@dataclass
class _Sender:
    queue: Queue
    queue_url: str
    sleep: Callable[[float], None]
    broken: str | None = None  # why the queue refused a whole call: the rest is not attempted

    def send(self, batch: Sequence[tuple[Request, str]], out: Outcome) -> None:
        """Send up to ten messages; retry the entries SQS reports as failed on its side, not the ones it
        calls the sender's fault (they would fail again)."""
        pending = {str(i): item for i, item in enumerate(batch)}
        last: dict[str, str] = {}
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                self.sleep(0.1 * 2 ** attempt)
            try:
                reply = self.queue.send_message_batch(QueueUrl=self.queue_url, Entries=[
                    {"Id": entry_id, "MessageBody": body} for entry_id, (_req, body) in pending.items()])
            except (ClientError, BotoCoreError) as exc:
                # The SDK has already retried what was transient: access denied, no such queue, unreachable.
                self.broken = _error_code(exc)
                break
            for ok in reply.get("Successful", []):
                out.queued.append(pending.pop(ok["Id"])[0])
            for failure in reply.get("Failed", []):
                reason = f"{failure.get('Code', 'Failed')}: {failure.get('Message', '')}".rstrip(": ")
                if failure.get("SenderFault"):
                    out.failed.append((pending.pop(failure["Id"])[0].document_id, reason))
                else:
                    last[failure["Id"]] = reason
            if not pending:
                return
        for entry_id, (req, _body) in pending.items():
            reason = (f"the intake queue refused the call: {self.broken}" if self.broken
                      else f"{last.get(entry_id, 'not accepted')} (after {SEND_ATTEMPTS} attempts)")
            out.failed.append((req.document_id, reason))


def enqueue(targets: Sequence[Target], *, build: Callable[[Target], dict[str, Any]], queue: Queue, queue_url: str,
            record: Callable[[list[Request]], None], seconds_left: Callable[[], float], dry_run: bool,
            sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Skip what cannot be reprocessed (its content held by another live document, a reviewer's work on its
    invoices, its object gone), and send one message per remaining document, recording each request just
    before its message goes (so the timeline shows the request before the execution it leads to). In a dry
    run, only the checks."""
    out = Outcome()
    sender = _Sender(queue, queue_url, sleep)
    live = []
    for t in targets:
        if t.live_owner is not None:
            out.skipped.append((t.document_id, Code.CONFLICT,
                                f"the same content is now document {t.live_owner}: reprocess that one instead"))
        elif t.review_work is not None:
            out.skipped.append((t.document_id, Code.REVIEW_WOULD_BE_LOST, t.review_work))
        else:
            live.append(t)

    def attempt(t: Target) -> dict[str, Any] | ApiError | str:
        try:
            return build(t)
        except ApiError as exc:
            return exc
        except (ClientError, BotoCoreError) as exc:
            return f"S3 did not answer: {_error_code(exc)}"

    with ThreadPoolExecutor(HEAD_WORKERS) as pool:
        for start in range(0, len(live), CHUNK):
            rest = live[start:]
            if sender.broken or seconds_left() < TIME_MARGIN_SECONDS:
                why = (_refused(sender.broken) if sender.broken
                       else "not attempted: the request ran out of time; calling again is safe")
                out.failed.extend((t.document_id, why) for t in rest)
                break
            chunk = live[start:start + CHUNK]
            ready: list[tuple[Request, str]] = []
            for t, built in zip(chunk, pool.map(attempt, chunk), strict=True):
                if isinstance(built, ApiError) and built.code is Code.SOURCE_GONE:
                    out.skipped.append((t.document_id, Code.SOURCE_GONE, built.message))
                elif isinstance(built, ApiError):
                    out.failed.append((t.document_id, built.message))
                elif isinstance(built, str):
                    out.failed.append((t.document_id, built))
                else:
                    req = Request(t.document_id, built["reprocess"]["request_key"], execution_name(built))
                    ready.append((req, json.dumps(built, separators=(",", ":"))))
            out.eligible += len(ready)
            if dry_run or not ready:
                continue
            record([req for req, _body in ready])
            for i in range(0, len(ready), BATCH):
                if sender.broken:
                    out.failed.extend((req.document_id, _refused(sender.broken)) for req, _ in ready[i:])
                    break
                sender.send(ready[i:i + BATCH], out)
    return out
