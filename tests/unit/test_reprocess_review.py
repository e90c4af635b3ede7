"""What a reprocess would replace of a reviewer's work (domain/reprocess_review.py), from the rows the adapter
reads: decided, corrected or cleared invoices count; an untouched NEEDS_REVIEW one does not."""

from __future__ import annotations

import json
import uuid
from typing import Any

from invoice_pipeline.domain import reprocess_review as rr

DOC = uuid.UUID("0f6b2c7e-4a1d-4c57-9b8e-2d6a3f1c9e04")


def row(status: str = "NEEDS_REVIEW", **extra: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "validation_status": status, "decided_by": None, "corrections": 0,
            "cleared_duplicate": False, **extra}


def test_only_decided_corrected_or_cleared_invoices_are_at_stake() -> None:
    untouched, completed = row(), row("COMPLETED")
    approved = row("APPROVED", decided_by="rev-1", corrections=2)
    rejected = row("REJECTED", decided_by="rev-2")
    corrected = row(corrections=1)
    cleared = row("COMPLETED", cleared_duplicate=True)
    work = rr.at_stake([untouched, completed, approved, rejected, corrected, cleared])
    assert [w.invoice_id for w in work] == [approved["id"], rejected["id"], corrected["id"], cleared["id"]]
    assert [w.describe().split(": ", 1)[1] for w in work] == [
        "APPROVED by rev-1, 2 corrections", "REJECTED by rev-2", "1 correction", "its duplicate hold cleared"]
    assert rr.at_stake([untouched, completed]) == []


def test_the_refusal_says_what_would_be_lost_and_how_to_go_ahead() -> None:
    (work,) = rr.at_stake([row("APPROVED", decided_by="rev-1", corrections=1)])
    message = rr.refusal(DOC, [work])
    assert str(DOC) in message and f"invoice {work.invoice_id}: APPROVED by rev-1, 1 correction" in message
    assert "discard_review=true" in message
    assert json.loads(work.snapshot()) == {"status": "APPROVED", "decided_by": "rev-1", "corrections": 1,
                                           "cleared_duplicate": False}
    assert rr.audit_reason(work, request_key="1767225600000000").startswith(
        "reprocess requested with discard_review=true (request 1767225600000000) replaces: invoice ")
