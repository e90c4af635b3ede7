"""Which S3 object a document is, and AWS's several spellings of it.

Our name for the object's version is `version_id`, along the whole path: the state payloads, the documents
table, the API and the CLI. It holds S3's version id when the bucket is versioned, and the object's ETag
when it is not (S3 then reports no version, or the version "null", which is the same for every upload):
either way it tells a redelivered event (same version) from a new upload under the same key (new one).
`versioned` says which of the two it is, because only a real version id may be handed back to AWS.

AWS names that fact differently in each service, and each name is translated here only: `version-id` in the
S3 event EventBridge delivers (`s3_source`, `event_object`), `VersionId` in boto3's S3 calls and answers
(`S3Source.s3_args`, `from_s3_response`), `Version` in Textract's S3Object (`S3Source.textract_s3_object`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from invoice_pipeline.errors import InvalidEvent

# What S3 reports as the version of an object in an unversioned (or versioning-suspended) bucket.
_NO_VERSION = (None, "", "null")


@dataclass(frozen=True)
class S3Source:
    bucket: str
    key: str
    # S3's version id when `versioned`, else the object's ETag (see the module's docstring).
    version_id: str
    versioned: bool
    size: int | None = None

    def s3_args(self) -> dict[str, str]:
        """Bucket, Key and (when there is one) VersionId, for boto3's get_object/head_object."""
        args = {"Bucket": self.bucket, "Key": self.key}
        if self.versioned:
            args["VersionId"] = self.version_id
        return args

    def textract_s3_object(self) -> dict[str, str]:
        """Textract's DocumentLocation.S3Object: this very version when the bucket has versions."""
        obj = {"Bucket": self.bucket, "Name": self.key}
        if self.versioned:
            obj["Version"] = self.version_id
        return obj


def _version(s3_version_id: Any, etag: Any) -> tuple[str, bool]:
    if s3_version_id not in _NO_VERSION:
        return str(s3_version_id), True
    return str(etag or "").strip('"'), False


def from_s3_response(bucket: str, key: str, response: Mapping[str, Any]) -> S3Source:
    """The object a boto3 put_object/head_object answer describes."""
    version_id, versioned = _version(response.get("VersionId"), response.get("ETag"))
    size = response.get("ContentLength")
    return S3Source(bucket=bucket, key=key, version_id=version_id, versioned=versioned,
                    size=int(size) if size is not None else None)


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
    version_id, versioned = _version(obj.get("version-id"), obj.get("etag") or obj.get("eTag"))
    size = obj.get("size")
    return S3Source(bucket=bucket, key=key, version_id=version_id, versioned=versioned,
                    size=int(size) if size is not None else None)


def event_object(src: S3Source, *, etag: str) -> dict[str, Any]:
    """The `detail.object` of an S3 event for `src`, as S3 would send it (the reverse of `s3_source`)."""
    obj: dict[str, Any] = {"key": src.key, "size": src.size, "etag": etag}
    if src.versioned:
        obj["version-id"] = src.version_id
    return obj


def source_of_state(state: Any) -> S3Source | None:
    """The S3 source of a state machine's state, or None when the input was not an S3 event."""
    try:
        return s3_source(state)
    except InvalidEvent:
        return None
