"""GET /invoices/review-queue: what waits for a person (NEEDS_REVIEW, POSSIBLE_DUPLICATE holds included), oldest
first, with why (the error issues) and who holds a live claim. The web page's review queue reads it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from invoice_pipeline.adapters import review_queue
from invoice_pipeline.api.models import Amount, _Model
from invoice_pipeline.api.review import responses
from invoice_pipeline.api.review_models import Claim
from invoice_pipeline.domain import review
from invoice_pipeline.domain.duplicates import ISSUE_CODE as POSSIBLE_DUPLICATE
from invoice_pipeline.domain.status import InvoiceStatus

router = APIGatewayHttpRouter()


class QueueItem(_Model):
    invoice_id: uuid.UUID
    document_id: uuid.UUID
    file: str = Field(description="the document's file name (last segment of its object key)")
    media_type: str | None
    status: InvoiceStatus
    vendor_name: str | None
    invoice_number: str | None
    total: Amount | None
    currency: str | None
    reasons: list[str] = Field(description="the codes of the error issues that hold it for review")
    possible_duplicate: bool = Field(description="held as a possible duplicate of an earlier invoice")
    received_at: datetime = Field(description="when its document arrived (the queue's order)")
    claim: Claim | None = Field(description="a live claim; none once it expired or was released")


class ReviewQueue(_Model):
    items: list[QueueItem]


def _item(row: dict[str, Any]) -> QueueItem:
    reasons = list(dict.fromkeys(str(i.get("code")) for i in row["issues"] or [] if i.get("severity") == "error"))
    return QueueItem(
        invoice_id=row["id"], document_id=row["document_id"], file=row["object_key"].rsplit("/", 1)[-1],
        media_type=row["media_type"], status=row["validation_status"], vendor_name=row["vendor_name"],
        invoice_number=row["invoice_number"], total=None if row["total"] is None else format(row["total"], "f"),
        currency=row["currency"], reasons=reasons, possible_duplicate=POSSIBLE_DUPLICATE in reasons,
        received_at=row["received_at"],
        claim=Claim(by=row["claimed_by"], expires_at=row["claim_expires_at"]) if review.claim_live(row, row["now"])
        else None)


@router.get("/invoices/review-queue", summary="The invoices waiting for a reviewer, oldest first",
            operation_id="getReviewQueue", tags=["review"],
            responses=responses(ReviewQueue, "NEEDS_REVIEW invoices (POSSIBLE_DUPLICATE holds included)",
                                400, 401, 413, 415, 503))
def review_queue_route(
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many, the oldest")] = 200,
) -> ReviewQueue:
    return ReviewQueue(items=[_item(r) for r in review_queue.pending(limit)])
