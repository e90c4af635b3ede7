"""Intermediate results in the results bucket: the state machine passes pointers, never the documents
themselves (a state's payload is capped at 256 KB)."""

from __future__ import annotations

import json
from typing import Any

from invoice_pipeline import config
from invoice_pipeline.adapters import aws


def put(document_id: str, name: str, content: Any) -> dict[str, str]:
    """Store `content` as results/<document_id>/<name>.json and return its pointer."""
    bucket, key = config.settings().results_bucket, f"results/{document_id}/{name}.json"
    aws.client("s3").put_object(
        Bucket=bucket, Key=key, Body=json.dumps(content, ensure_ascii=False).encode("utf-8"),
        ContentType="application/json",
    )
    return {"bucket": bucket, "key": key}


def get(pointer: dict[str, str]) -> Any:
    body = aws.client("s3").get_object(Bucket=pointer["bucket"], Key=pointer["key"])["Body"].read()
    return json.loads(body)
