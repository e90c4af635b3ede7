"""What a reprocess would throw away of a person's review, pure. Reprocessing a document replaces its invoice
rows with a fresh reading (Register clears them, Persist writes the new set), so an invoice a reviewer
approved, rejected, corrected or cleared of a duplicate hold would silently go back to the engine's values.
POST /documents/{id}/reprocess therefore refuses such a document (REVIEW_WOULD_BE_LOST) unless asked with
`discard_review=true` by a reviewer, and then records what it replaces in the audit trail first (one REPROCESS
row per invoice, naming its status, decision and number of corrections). The trail itself, with every EDIT's
old and new value, is never touched: it outlives the invoice rows (migrations/0006_review.sql). The bulk
reprocess skips such documents; they are reprocessed one at a time, on purpose."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from invoice_pipeline.domain.status import DECISIONS


@dataclass(frozen=True)
class ReviewWork:
    """A person's work on one invoice that a reprocess would replace."""

    invoice_id: uuid.UUID
    status: str
    decided_by: str | None
    corrections: int  # EDIT rows in the audit trail
    cleared_duplicate: bool

    def describe(self) -> str:
        parts = []
        if self.status in DECISIONS:
            parts.append(f"{self.status} by {self.decided_by or 'a reviewer'}")
        if self.corrections:
            parts.append(f"{self.corrections} correction{'' if self.corrections == 1 else 's'}")
        if self.cleared_duplicate:
            parts.append("its duplicate hold cleared")
        return f"invoice {self.invoice_id}: {', '.join(parts)}"

    def snapshot(self) -> str:
        """What the REPROCESS audit row keeps as its old value: the review state being replaced."""
        return json.dumps({"status": self.status, "decided_by": self.decided_by, "corrections": self.corrections,
                           "cleared_duplicate": self.cleared_duplicate}, sort_keys=True)


def at_stake(invoices: Sequence[Mapping[str, object]]) -> list[ReviewWork]:
    """The invoices (rows with id, validation_status, decided_by, corrections, cleared_duplicate) whose review
    a reprocess would replace: decided (APPROVED, REJECTED), corrected, or cleared of a duplicate hold. An open
    claim or a NEEDS_REVIEW invoice nobody has changed is not review work yet."""
    work = []
    for inv in invoices:
        item = ReviewWork(invoice_id=uuid.UUID(str(inv["id"])), status=str(inv["validation_status"]),
                          decided_by=None if inv.get("decided_by") is None else str(inv["decided_by"]),
                          corrections=int(str(inv.get("corrections") or 0)),
                          cleared_duplicate=bool(inv.get("cleared_duplicate")))
        if item.status in DECISIONS or item.corrections or item.cleared_duplicate:
            work.append(item)
    return work


def refusal(document_id: uuid.UUID, work: Sequence[ReviewWork]) -> str:
    """The message of REVIEW_WOULD_BE_LOST: what would be lost, and how to go ahead anyway."""
    return (f"document {document_id} has review work a reprocess would replace with a fresh reading: "
            f"{'; '.join(w.describe() for w in work)}. To reprocess it anyway, a reviewer asks again with "
            "discard_review=true (the audit trail keeps every correction and records the reprocess)")


def audit_reason(work: ReviewWork, *, request_key: str) -> str:
    """The REPROCESS audit row's reason."""
    return f"reprocess requested with discard_review=true (request {request_key}) replaces: {work.describe()}"
