"""The reprocess routes' guard of a person's review (domain/reprocess_review.py): a document whose invoices a
reviewer decided, corrected or cleared is not reprocessed unless asked with discard_review=true, by a reviewer;
then the replacement is recorded in the audit trail, in the request's own transaction."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from invoice_pipeline.adapters import reprocess_review as store
from invoice_pipeline.api import roles
from invoice_pipeline.api.auth import Principal
from invoice_pipeline.api.errors import ApiError, Code
from invoice_pipeline.domain.reprocess_review import ReviewWork, refusal

if TYPE_CHECKING:
    from invoice_pipeline.adapters.db import Connection

DISCARD_REVIEW_HELP = ("reprocess even though a reviewer approved, rejected, corrected or cleared one of its "
                       "invoices (reviewers only): the new reading replaces that work, and the audit trail "
                       "records it (REPROCESS) beside the corrections, which it keeps. Without it such a "
                       "document is refused with 409 REVIEW_WOULD_BE_LOST")


def guard(con: Connection, document_id: uuid.UUID, principal: Principal, *, discard_review: bool,
          request_key: str) -> list[ReviewWork]:
    """Refuse (409 REVIEW_WOULD_BE_LOST) a reprocess that would replace review work, unless `discard_review`;
    with it, 403 FORBIDDEN for anyone but a reviewer, and otherwise the REPROCESS audit rows, written in `con`
    (the request's transaction: they commit with it, or not at all). Returns the work replaced."""
    work = store.work_in(con, [document_id]).get(document_id, [])
    if not work:
        return []
    if not discard_review:
        raise ApiError(Code.REVIEW_WOULD_BE_LOST, refusal(document_id, work))
    if not roles.can_review(principal):
        raise ApiError(Code.FORBIDDEN, f"only members of the {roles.REVIEWERS} group may discard review work")
    store.record_replaced(con, document_id, work, actor=principal.subject, request_key=request_key)
    return work


def skipped(document_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The bulk reprocess's candidates that carry review work, each with the reason it is skipped (it takes
    no discard_review: such a document is reprocessed one at a time, on purpose)."""
    return {doc: refusal(doc, work) for doc, work in store.work_of(document_ids).items()}
