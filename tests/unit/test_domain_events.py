"""The object's version_id, and its translation to and from AWS's names (S3 event `version-id`, boto3
`VersionId`, Textract `Version`)."""

from __future__ import annotations

import pytest
from invoice_pipeline.domain.events import S3Source, event_object, from_s3_response, s3_source, source_of_state
from invoice_pipeline.errors import InvalidEvent


def _event(obj: dict[str, object]) -> dict[str, object]:
    return {"detail-type": "Object Created", "detail": {"bucket": {"name": "ingest"}, "object": obj}}


def test_versioned_bucket_event() -> None:
    src = s3_source(_event({"key": "incoming/a.pdf", "size": 12, "etag": "abc", "version-id": "v1"}))
    assert src == S3Source(bucket="ingest", key="incoming/a.pdf", version_id="v1", versioned=True, size=12)
    assert src.s3_args() == {"Bucket": "ingest", "Key": "incoming/a.pdf", "VersionId": "v1"}
    assert src.textract_s3_object() == {"Bucket": "ingest", "Name": "incoming/a.pdf", "Version": "v1"}


@pytest.mark.parametrize("reported", [{}, {"version-id": "null"}, {"version-id": ""}, {"version-id": None}])
def test_unversioned_bucket_event_uses_the_etag(reported: dict[str, object]) -> None:
    src = s3_source(_event({"key": "incoming/a.pdf", "etag": "abc", **reported}))
    assert (src.version_id, src.versioned, src.size) == ("abc", False, None)
    # The ETag is never handed to AWS as a version.
    assert src.s3_args() == {"Bucket": "ingest", "Key": "incoming/a.pdf"}
    assert src.textract_s3_object() == {"Bucket": "ingest", "Name": "incoming/a.pdf"}


def test_event_object_is_the_reverse_of_s3_source() -> None:
    for obj in ({"key": "k", "size": 5, "etag": "e", "version-id": "v9"}, {"key": "k", "size": 5, "etag": "e"}):
        src = s3_source(_event(obj))
        assert event_object(src, etag="e") == obj
        assert s3_source(_event(event_object(src, etag="e"))) == src


def test_boto3_answers() -> None:
    versioned = from_s3_response("b", "k", {"VersionId": "v2", "ETag": '"e2"', "ContentLength": 7})
    assert (versioned.version_id, versioned.versioned, versioned.size) == ("v2", True, 7)
    unversioned = from_s3_response("b", "k", {"VersionId": "null", "ETag": '"e3"'})
    assert (unversioned.version_id, unversioned.versioned) == ("e3", False)
    # The same object, seen in its event and in a head_object answer, has the same version_id.
    assert unversioned.version_id == s3_source(_event({"key": "k", "etag": "e3"})).version_id


def test_not_an_s3_event() -> None:
    with pytest.raises(InvalidEvent):
        s3_source({"detail": {"bucket": {"name": "b"}}})
    assert source_of_state({"document": {}}) is None
