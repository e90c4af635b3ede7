"""Which stored objects the backfill sends to the intake queue, and which it leaves out.

The backfill may read its sources and nothing else: the ingest bucket's `incoming/`, plus the buckets (or
bucket/prefix) of `backfill_source_buckets` (terraform/backfill.tf; BACKFILL_SOURCES, a JSON list of
"bucket/prefix"). Register and StartAnalysis are granted the same sources, so every object sent can be
processed. An object in the ingest bucket outside `incoming/` is left out: Register may not read it (its
grant is `incoming/*`), and nothing there was ever meant for the pipeline (exports, Textract's output and
results live in other buckets).

A listed object is left out, with a reason the backfill counts and logs:
- "folder": its key ends in "/" (what the S3 console creates for a folder);
- "empty": zero bytes (a folder marker made by another tool, or an empty file: not an invoice, and an
  upload of it would only end FAILED with EmptyDocument);
- "outside": not under any source;
- "vanished": listed, then deleted (or replaced by a delete marker) before the backfill looked at it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_SOURCE = re.compile(r"^([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(.*))?$")
SKIP_REASONS = ("folder", "empty", "outside", "vanished")


@dataclass(frozen=True)
class Source:
    """A bucket and a key prefix the backfill may read ("" for the whole bucket)."""

    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> Source:
        """`bucket` or `bucket/prefix` (as Terraform writes BACKFILL_SOURCES, and as an s3:// URL has it)."""
        match = _SOURCE.match(text.strip().removeprefix("s3://"))
        if not match:
            raise ValueError(f"not a bucket or bucket/prefix: {text!r}")
        return cls(bucket=match.group(1), prefix=match.group(2) or "")

    def covers(self, bucket: str, key: str) -> bool:
        return bucket == self.bucket and key.startswith(self.prefix)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def sources_from_json(text: str) -> list[Source]:
    """BACKFILL_SOURCES: a JSON list of "bucket/prefix" strings."""
    try:
        values = json.loads(text or "[]")
    except json.JSONDecodeError as exc:
        raise ValueError(f"BACKFILL_SOURCES is not JSON: {exc}") from exc
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError("BACKFILL_SOURCES must be a JSON list of strings")
    return [Source.parse(v) for v in values]


def skip_reason(bucket: str, key: str, size: int | None, sources: list[Source]) -> str | None:
    """Why a listed object is not sent (one of SKIP_REASONS), or None to send it. `size` is the listing's:
    the object's current version is looked at before it is sent anyway."""
    if key.endswith("/"):
        return "folder"
    if size == 0:
        return "empty"
    if not any(source.covers(bucket, key) for source in sources):
        return "outside"
    return None


def prefixes_to_list(bucket: str, prefix: str, sources: list[Source]) -> list[str]:
    """What a request for s3://bucket/prefix may list: the prefix itself when a source covers it, else the
    prefixes of the sources it covers (s3://ingest/ lists incoming/), else nothing."""
    if any(s.bucket == bucket and prefix.startswith(s.prefix) for s in sources):
        return [prefix]
    return sorted({s.prefix for s in sources if s.bucket == bucket and s.prefix.startswith(prefix)})
