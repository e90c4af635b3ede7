"""The review queue's read: the invoices a person has to look at (validation_status NEEDS_REVIEW, which includes
the POSSIBLE_DUPLICATE holds), oldest first, with what the web page's queue shows of each."""

from __future__ import annotations

from typing import Any

from invoice_pipeline.adapters.db import rows, transaction
from invoice_pipeline.domain.status import InvoiceStatus

QUEUED = (InvoiceStatus.NEEDS_REVIEW,)


def pending(limit: int) -> list[dict[str, Any]]:
    with transaction() as con:
        return rows(con, "SELECT i.id, i.document_id, i.vendor_name, i.invoice_number, i.total, i.currency,"
                         " i.issues, i.validation_status, i.created_at, i.claimed_by, i.claim_expires_at,"
                         " d.created_at AS received_at, d.media_type, d.object_key, now() AS now"
                         " FROM invoices i JOIN documents d ON d.id = i.document_id"
                         " WHERE i.validation_status = ANY(CAST(:s AS text[]))"
                         " ORDER BY d.created_at, i.id LIMIT :n",
                    s=[s.value for s in QUEUED], n=limit)
