"""The duplicate-invoice link as the API shows it (GET /documents/{id}/invoice: `duplicate_of`)."""

from __future__ import annotations

from typing import Any

from invoice_pipeline.api.models import DuplicateLink


def duplicate_link(row: dict[str, Any]) -> DuplicateLink | None:
    """From an invoices row (adapters/migrations/0007_duplicate_invoices.sql); None when it was never flagged."""
    if row.get("duplicate_tier") is None:
        return None
    return DuplicateLink(invoice_id=row["duplicate_of_invoice"], document_id=row["duplicate_of_document"],
                         tier=row["duplicate_tier"], review=row["duplicate_review"])
