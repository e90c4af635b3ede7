"""PublishEvents (scheduled, every minute): publish the downstream events still in the outbox, those whose
first attempt, right after their commit, found the bus unavailable or refused them. Reports what is left."""

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
    pending = ports.events.pending()
    metrics.add_metric(name="PendingEvents", unit=MetricUnit.Count, value=pending)
    logger.info("events published", extra={"published": drained.published, "refused": drained.refused,
                                            "outage": drained.outage, "busy": drained.busy, "pending": pending})
    return {"published": drained.published, "refused": drained.refused, "outage": drained.outage,
            "busy": drained.busy, "pending": pending}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
