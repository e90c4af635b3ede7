"""PublishEvents (scheduled, every minute): publish the downstream events still in the outbox, those whose
first attempt, right after their commit, found the bus unavailable or refused them. Reports what is left
(PendingEvents, and OldestPendingEventSeconds, which terraform's outbox-oldest-event alarm watches), and deletes
the published events older than the retention (terraform var.outbox_retention_days), a bounded batch a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from invoice_pipeline.observability import lambda_entry, logger, metrics
from invoice_pipeline.publish import PUBLISHER, Events


@dataclass(frozen=True)
class Ports:
    events: Events


PORTS = Ports(events=PUBLISHER)


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    drained = ports.events.drain()
    purged = ports.events.purge()
    backlog = ports.events.backlog()
    metrics.add_metric(name="PendingEvents", unit=MetricUnit.Count, value=backlog.pending)
    metrics.add_metric(name="OldestPendingEventSeconds", unit=MetricUnit.Seconds, value=backlog.oldest_seconds)
    if purged:
        metrics.add_metric(name="EventsPurged", unit=MetricUnit.Count, value=purged)
    logger.info("events published", extra={"published": drained.published, "refused": drained.refused,
                                            "outage": drained.outage, "busy": drained.busy, "pending": backlog.pending,
                                            "oldest_pending_seconds": backlog.oldest_seconds, "purged": purged})
    return {"published": drained.published, "refused": drained.refused, "outage": drained.outage,
            "busy": drained.busy, "pending": backlog.pending, "oldest_pending_seconds": backlog.oldest_seconds,
            "purged": purged}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
