"""The review work a reprocess would replace (domain/reprocess_review.py), read from the invoices and their
audit trail, and the REPROCESS audit rows that record its replacement. Both run as the API's role: it reads
invoices and invoice_audit, and may add audit rows (migrations/0006_review.sql, 0009)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from invoice_pipeline.adapters.db import rows, transaction
from invoice_pipeline.domain.reprocess_review import ReviewWork, at_stake, audit_reason
from invoice_pipeline.domain.review import Action

if TYPE_CHECKING:  # pg8000 is imported by the first connection (adapters/db.py)
    from invoice_pipeline.adapters.db import Connection

_INVOICES = """
SELECT i.document_id, i.id, i.validation_status, i.decided_by,
       (SELECT count(*) FROM invoice_audit a WHERE a.invoice_id = i.id AND a.action = 'EDIT') AS corrections,
       EXISTS (SELECT 1 FROM invoice_audit a WHERE a.invoice_id = i.id AND a.action = 'CLEAR_DUPLICATE')
           AS cleared_duplicate
FROM invoices i WHERE i.document_id = ANY(CAST(:ids AS uuid[])) ORDER BY i.document_id, i.seq"""


def work_in(con: Connection, document_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ReviewWork]]:
    """Each document's review work that a reprocess would replace (documents without any are left out)."""
    by_doc: dict[uuid.UUID, list[dict[str, object]]] = defaultdict(list)
    for row in rows(con, _INVOICES, ids=[str(d) for d in document_ids]):
        by_doc[uuid.UUID(str(row["document_id"]))].append(row)
    found = {doc: at_stake(invoices) for doc, invoices in by_doc.items()}
    return {doc: work for doc, work in found.items() if work}


def work_of(document_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ReviewWork]]:
    """`work_in` in a transaction of its own (the bulk reprocess: one statement for all its candidates)."""
    if not document_ids:
        return {}
    with transaction() as con:
        return work_in(con, document_ids)


def record_replaced(con: Connection, document_id: uuid.UUID, work: Sequence[ReviewWork], *, actor: str,
                    request_key: str) -> None:
    """One REPROCESS audit row per invoice whose review the reprocess replaces, in the caller's transaction
    (the one that records the request): old_value keeps the review state replaced; status_after is the
    invoice's status as it stands until the new reading replaces the row."""
    for item in work:
        con.run(
            "INSERT INTO invoice_audit (invoice_id, document_id, actor, action, old_value, engine, vendor_name,"
            " status_after, reason) SELECT i.id, i.document_id, :a, :act, :o, i.provenance->>'engine',"
            " i.vendor_name, :s, :r FROM invoices i WHERE i.id = :i AND i.document_id = :d",
            i=item.invoice_id, d=document_id, a=actor, act=Action.REPROCESS.value, o=item.snapshot(),
            s=item.status, r=audit_reason(item, request_key=request_key))
