"""GET /metrics/accuracy: the field accuracy measured on the team's own invoices, from review's audit trail
(domain/accuracy.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from invoice_pipeline.adapters import review_store
from invoice_pipeline.api.models import IsoDateTime
from invoice_pipeline.api.review import responses
from invoice_pipeline.api.review_models import AccuracyGroup, AccuracyReport, FieldAccuracy
from invoice_pipeline.domain.accuracy import correction_rates

router = APIGatewayHttpRouter()


@router.get("/metrics/accuracy", summary="Per-field correction rate by engine and by vendor, from the audit trail "
            "of the invoices approved in a period", operation_id="getAccuracy", tags=["review"],
            responses=responses(AccuracyReport, "one group per engine and per vendor", 400, 401, 413, 415, 503))
def accuracy(
    since: Annotated[IsoDateTime, Query(alias="from", description="approved at or after (RFC 3339)")],
    until: Annotated[IsoDateTime | None, Query(alias="to", description="approved before (default: now)")] = None,
) -> AccuracyReport:
    # An empty or inverted period approves nothing, as the other routes' date filters match nothing.
    until = until or datetime.now(UTC)
    groups = correction_rates(*review_store.accuracy_rows(since, until))
    return AccuracyReport(since=since, until=until, groups=[AccuracyGroup(
        by=g.by, key=g.key, reviewed=g.reviewed,
        fields=[FieldAccuracy(field=f.field, corrected=f.corrected, rate=f.rate) for f in g.fields]) for g in groups])
