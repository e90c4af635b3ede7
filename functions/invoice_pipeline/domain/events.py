"""What the state machine is started with: an S3 "Object Created" event as EventBridge delivers it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invoice_pipeline.errors import InvalidEvent


@dataclass(frozen=True)
class S3Source:
    bucket: str
    key: str
    # The S3 version id when the bucket is versioned, else the ETag: it tells a redelivered event (same
    # version) from a new upload under the same key (new version).
    version: str
    size: int | None
    version_id: str | None = None


def s3_source(event: Any) -> S3Source:
    """Read bucket, key and version from an EventBridge S3 event (or its `detail`)."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"state machine input must be an object, got {type(event).__name__}")
    detail = event.get("detail", event)
    try:
        bucket = detail["bucket"]["name"]
        obj = detail["object"]
        key = obj["key"]
    except (KeyError, TypeError) as exc:
        raise InvalidEvent(f"not an S3 Object Created event: missing {exc}") from exc
    if not isinstance(bucket, str) or not isinstance(key, str) or not bucket or not key:
        raise InvalidEvent("S3 event has an empty bucket or key")
    # An unversioned (or versioning-suspended) bucket reports no version or the "null" version: not unique
    # per upload, so the ETag identifies the object's content instead.
    version_id = obj.get("version-id") if obj.get("version-id") not in (None, "", "null") else None
    version = version_id or obj.get("etag") or obj.get("eTag") or ""
    size = obj.get("size")
    return S3Source(bucket=bucket, key=key, version=str(version), size=int(size) if size is not None else None,
                    version_id=str(version_id) if version_id else None)


def source_of_state(state: Any) -> S3Source | None:
    """The S3 source of a state machine's state, or None when the input was not an S3 event."""
    try:
        return s3_source(state)
    except InvalidEvent:
        return None
