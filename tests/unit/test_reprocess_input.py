"""The reprocess request's execution input and key (domain/reprocess.py), which both reprocess routes use: the
same document in the same state gives the same execution name, a new state a new one, and the input reads as
the S3 event Register expects."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from invoice_pipeline.domain import reprocess
from invoice_pipeline.domain.events import s3_source
from invoice_pipeline.domain.intake import NAME_MAX, REQUEST_KEY, execution_name
from invoice_pipeline.schemas import validate_definition

DOC = uuid.UUID("0f6b2c7e-4a1d-4c57-9b8e-2d6a3f1c9e04")
STATE = datetime(2026, 3, 2, 9, 15, 42, 123456, tzinfo=UTC)
OBJECT = {"key": "incoming/acme.pdf", "size": 1234, "etag": "9b2cf535f27731c974343645a3985328",
          "version-id": "Wq3jE2v0cGZ8X1dOe5a.Ty0rNn1xkPQh"}


def _input(key: str, *, now: datetime = STATE + timedelta(hours=1), by: str = "jwt:user-1") -> dict:
    return reprocess.execution_input(document_id=DOC, bucket="invoices-prod-ingest", source_object=OBJECT,
                                     key=key, requested_by=by, region="eu-west-1", now=now)


def test_the_key_is_the_state_to_the_microsecond() -> None:
    key = reprocess.request_key(STATE)
    assert key == "1772442942123456"
    assert REQUEST_KEY.match(key)
    # The same instant in another zone is the same state (pg8000 may hand either back).
    assert reprocess.request_key(STATE.astimezone(timezone(timedelta(hours=-5)))) == key
    assert reprocess.request_key(STATE + timedelta(microseconds=1)) != key


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        reprocess.request_key(STATE.replace(tzinfo=None))


def test_same_state_same_execution_whoever_asks_and_when() -> None:
    """A double click, a client's retry, the bulk route called twice: one execution name."""
    key = reprocess.request_key(STATE)
    first = _input(key)
    again = _input(key, now=STATE + timedelta(hours=5), by="iam:arn:aws:iam::111122223333:role/ops")
    assert execution_name(first) == execution_name(again) == f"reprocess-{DOC.hex}-{key}"
    assert len(execution_name(first)) <= NAME_MAX
    assert first["id"] == again["id"]  # the event id is the request's, not the call's
    later = _input(reprocess.request_key(STATE + timedelta(minutes=3)))
    assert execution_name(later) != execution_name(first)
    assert later["id"] != first["id"]


def test_the_input_is_the_s3_event_register_reads_with_the_request() -> None:
    body = _input("k1")
    validate_definition("states", "s3_event", body)
    src = s3_source(body)
    assert (src.bucket, src.key, src.version_id, src.versioned) == (
        "invoices-prod-ingest", "incoming/acme.pdf", OBJECT["version-id"], True)
    assert body["detail-type"] == "Object Created" and body["detail"]["reason"] == "Reprocess"
    assert body["reprocess"] == {"document_id": str(DOC), "request_key": "k1", "requested_by": "jwt:user-1",
                                 "requested_at": (STATE + timedelta(hours=1)).isoformat()}
    assert body["time"] == "2026-03-02T10:15:42Z"


def test_the_arn_of_an_existing_execution() -> None:
    machine = "arn:aws:states:eu-west-1:111122223333:stateMachine:invoices-prod-pipeline"
    assert reprocess.execution_arn(machine, "reprocess-x-1") == (
        "arn:aws:states:eu-west-1:111122223333:execution:invoices-prod-pipeline:reprocess-x-1")
    with pytest.raises(ValueError):
        reprocess.execution_arn("arn:aws:lambda:eu-west-1:111122223333:function:x", "n")
