"""Execution names derived from intake messages: one per object version or reprocess request, always
within Step Functions' limits, so a message delivered twice starts one execution."""

from __future__ import annotations

import re
import uuid

import pytest
from invoice_pipeline.domain.intake import NAME_MAX, execution_name
from invoice_pipeline.errors import InvalidEvent

from tests.events import load_event

_ALLOWED = re.compile(r"^[0-9A-Za-z_-]+$")


def _event(key: str, version: str | None = "v1") -> dict:
    event = load_event("s3_object_created")
    event["detail"]["object"]["key"] = key
    if version is None:
        event["detail"]["object"].pop("version-id", None)
    else:
        event["detail"]["object"]["version-id"] = version
    return event


def test_same_object_version_same_name_and_readable() -> None:
    key = "incoming/ACME invoice #42.pdf"
    a, b = execution_name(_event(key)), execution_name(_event(key))
    assert a == b
    assert a.startswith("s3-ACME_invoice_42_pdf-")


@pytest.mark.parametrize("other", [_event("incoming/ACME invoice #42.pdf", "v2"),
                                   _event("incoming/b/ACME invoice #42.pdf")])
def test_another_version_or_key_another_name(other: dict) -> None:
    assert execution_name(other) != execution_name(_event("incoming/ACME invoice #42.pdf"))


def test_names_stay_within_step_functions_limits() -> None:
    for key in ("incoming/" + "x" * 900 + ".pdf", "incoming/ü€ 日本.pdf", "incoming/.pdf", "incoming/%%%"):
        name = execution_name(_event(key))
        assert len(name) <= NAME_MAX and _ALLOWED.match(name), name


def test_reprocess_named_by_document_and_request() -> None:
    doc = uuid.uuid4()
    body = {**_event("incoming/a.pdf"), "reprocess": {"document_id": str(doc), "request_key": "r1"}}
    assert execution_name(body) == f"reprocess-{doc.hex}-r1"
    assert len(execution_name({**body, "reprocess": {"document_id": str(doc), "request_key": "k" * 32}})) <= NAME_MAX


@pytest.mark.parametrize("body", [[], {"detail": {}}, {**_event("incoming/a.pdf"), "reprocess": {"document_id": "x"}},
                                  {**_event("incoming/a.pdf"), "reprocess": {"document_id": str(uuid.uuid4()),
                                                                             "request_key": "bad key!"}}])
def test_unreadable_messages_are_a_named_error(body: object) -> None:
    with pytest.raises(InvalidEvent):
        execution_name(body)
