"""The intake queue's messages and the executions they start, defined once.

Every document reaches the state machine through the SQS intake queue: the EventBridge rule puts each S3
"Object Created" event there, and the API's reprocess and the backfill put messages of the same shape. The
`intake` function (an event source mapping of bounded concurrency) starts one execution per message, at a
bounded rate, so a burst of any size waits in the queue (14 days, no state transitions) instead of failing.

A message's body IS the execution's input: an EventBridge S3 event, optionally with a `reprocess` object
{"document_id", "request_key", "requested_by", "requested_at"}. Its execution name is derived from it, so a
message delivered twice (SQS is at-least-once; S3 and EventBridge may repeat an event) starts one execution:
Step Functions refuses a second execution of a name for 90 days (ExecutionAlreadyExists)."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from typing import Any

from invoice_pipeline.domain.events import S3Source, event_object, s3_source
from invoice_pipeline.errors import InvalidEvent

# Step Functions: at most 80 characters; only these are safe in CloudWatch Logs and X-Ray too.
NAME_MAX = 80
_UNSAFE = re.compile(r"[^0-9A-Za-z_-]+")
REQUEST_KEY = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


def _readable(key: str, room: int) -> str:
    """The object's file name, made safe and short, so the console's execution list says which file it is."""
    name = _UNSAFE.sub("_", key.rsplit("/", 1)[-1]).strip("_") or "object"
    return name[:room]


def execution_name(body: Any) -> str:
    """The name of the execution a message starts: the same for the same object version (or the same
    reprocess request), different otherwise."""
    if not isinstance(body, dict):
        raise InvalidEvent(f"an intake message must be a JSON object, got {type(body).__name__}")
    reprocess = body.get("reprocess")
    if reprocess is not None:
        try:
            document = uuid.UUID(str(reprocess["document_id"]))
            request_key = str(reprocess["request_key"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidEvent(f"a reprocess message needs document_id and request_key: {exc}") from exc
        if not REQUEST_KEY.match(request_key):
            raise InvalidEvent(f"request_key {request_key!r} must match {REQUEST_KEY.pattern}")
        return f"reprocess-{document.hex}-{request_key}"
    src = s3_source(body)
    digest = hashlib.sha256(f"{src.bucket}\0{src.key}\0{src.version_id}".encode()).hexdigest()[:24]
    prefix = "s3-"
    room = NAME_MAX - len(prefix) - 1 - len(digest)
    return f"{prefix}{_readable(src.key, room)}-{digest}"


def object_created_message(src: S3Source, *, etag: str, account: str, region: str, time: datetime, source: str,
                           reason: str) -> dict[str, Any]:
    """An intake message for an object already stored: the "Object Created" event EventBridge delivered (or
    would have) for this very version, so its execution name is the upload's. `source` and `reason` say
    who sent it instead of S3; the id is derived from the version, as a redelivered event keeps its id."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"s3://{src.bucket}/{src.key}?version={src.version_id}")),
        "detail-type": "Object Created",
        "source": source,
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{src.bucket}"],
        "detail": {"version": "0", "bucket": {"name": src.bucket}, "object": event_object(src, etag=etag),
                   "reason": reason},
    }
