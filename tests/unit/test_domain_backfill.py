"""Which stored objects the backfill sends, and what a request for s3://bucket/prefix may list."""

from __future__ import annotations

import pytest
from invoice_pipeline.domain.backfill import Source, prefixes_to_list, skip_reason, sources_from_json

SOURCES = sources_from_json('["ingest-bucket/incoming/", "archive-bucket", "scans-bucket/2019/"]')


def test_sources_read_bucket_and_prefix() -> None:
    sources = sources_from_json('["ingest-bucket/incoming/", "archive-bucket"]')
    assert sources == [Source("ingest-bucket", "incoming/"), Source("archive-bucket", "")]
    assert Source.parse("s3://ingest-bucket/incoming/2024/") == Source("ingest-bucket", "incoming/2024/")
    assert str(SOURCES[0]) == "s3://ingest-bucket/incoming/"
    for bad in ("", "Upper-Case", "a", "bucket_with_underscore/x"):
        with pytest.raises(ValueError, match="bucket"):
            Source.parse(bad)
    with pytest.raises(ValueError, match="JSON"):
        sources_from_json("ingest-bucket/incoming/")
    assert sources_from_json("") == []


@pytest.mark.parametrize(("bucket", "key", "size", "reason"), [
    ("ingest-bucket", "incoming/acme.pdf", 1200, None),
    ("ingest-bucket", "incoming/2023/", 0, "folder"),
    ("ingest-bucket", "incoming/2023/", None, "folder"),
    ("ingest-bucket", "incoming/empty.pdf", 0, "empty"),
    ("ingest-bucket", "exports/acme.pdf", 1200, "outside"),  # Register may not read it
    ("ingest-bucket", "incomingx/acme.pdf", 1200, "outside"),
    ("archive-bucket", "any/where/acme.pdf", 1200, None),
    ("scans-bucket", "2020/acme.pdf", 1200, "outside"),
    ("unknown-bucket", "incoming/acme.pdf", 1200, "outside"),
])
def test_skip_reason(bucket: str, key: str, size: int | None, reason: str | None) -> None:
    assert skip_reason(bucket, key, size, SOURCES) == reason


def test_a_request_lists_only_what_a_source_covers() -> None:
    assert prefixes_to_list("ingest-bucket", "incoming/2024/", SOURCES) == ["incoming/2024/"]
    assert prefixes_to_list("ingest-bucket", "", SOURCES) == ["incoming/"]  # the bucket: its incoming/
    assert prefixes_to_list("ingest-bucket", "inc", SOURCES) == ["incoming/"]
    assert prefixes_to_list("ingest-bucket", "exports/", SOURCES) == []
    assert prefixes_to_list("archive-bucket", "x/", SOURCES) == ["x/"]
    assert prefixes_to_list("unknown-bucket", "", SOURCES) == []
