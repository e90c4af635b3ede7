"""Reprocessing a finished document: the execution input that starts it over, and the request key that names
that execution. POST /documents/{id}/reprocess (one document, started directly) and POST /documents/reprocess
(many, through the intake queue, where the input is the message body) build it here, once.

The request key is derived from the document's state, not from the request: `documents.updated_at` moves with
every status change (each one is its own transaction), and with it the key. So the same document in the same
state always gives the same execution name (domain/intake.py): a double click, a client retrying after a
timeout, or the bulk reprocess called twice start one execution, which Step Functions enforces
(ExecutionAlreadyExists). Once that execution has moved the document on, a later request gets a new key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Any fixed namespace: the event id only has to be the same for the same request.
_EVENT_IDS = uuid.UUID("6f1f3d52-8c1e-4d0a-9a57-3c0b8f1e2a64")
SOURCE = "invoice-pipeline.api"


def request_key(updated_at: datetime) -> str:
    """The key of a reprocess request for a document last changed at `updated_at`: its microseconds since
    1970, in integer arithmetic (a float would round two nearby states together). Readable in the console's
    execution list, and within domain.intake.REQUEST_KEY."""
    if updated_at.tzinfo is None:
        raise ValueError("updated_at must be timezone-aware (timestamptz)")
    return str((updated_at - _EPOCH) // timedelta(microseconds=1))


def execution_input(*, document_id: uuid.UUID, bucket: str, source_object: dict[str, Any], key: str,
                    requested_by: str, region: str, now: datetime, discard_review: bool = False) -> dict[str, Any]:
    """Shaped like the S3 event EventBridge delivers, so Register reads the source the usual way; the
    `reprocess` object tells Register to start this document over, bypassing duplicate detection.
    `source_object` is the `detail.object` of the document's own object version (events.event_object).
    `discard_review`: the request was allowed to replace a reviewer's work (api/reprocess_review.py); without
    it Register keeps the document as it is should a reviewer have worked on it meanwhile."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(_EVENT_IDS, f"{document_id}/{key}")),
        "detail-type": "Object Created",
        "source": SOURCE,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {"version": "0", "bucket": {"name": bucket}, "object": source_object, "reason": "Reprocess"},
        "reprocess": {"document_id": str(document_id), "request_key": key, "requested_by": requested_by,
                      "requested_at": now.isoformat(), **({"discard_review": True} if discard_review else {})},
    }


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution `name` of that state machine: what a request answers when
    its execution already exists (the API may start executions but not describe them)."""
    prefix, sep, machine = state_machine_arn.rpartition(":stateMachine:")
    if not sep:
        raise ValueError(f"not a state machine ARN: {state_machine_arn!r}")
    return f"{prefix}:execution:{machine}:{name}"
