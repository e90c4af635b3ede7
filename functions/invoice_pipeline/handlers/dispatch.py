"""Dispatch (scheduled, every minute): the safety net of admission control and its gauge.

Completions and failures dispatch as they happen; this catches what they cannot: a slot held by an execution
that died without releasing it is reclaimed once its lease expires, and the freed slot goes to the next
waiting document. It also publishes the queue's gauges, which the oldest-waiting-document alarm watches:
QueuedDocuments, HeldSlots, OldestQueuedSeconds. One invocation a minute, whatever the backlog: waiting
costs no state transitions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from invoice_pipeline.adapters import aws, slots
from invoice_pipeline.dispatch import Slots, dispatch
from invoice_pipeline.observability import lambda_entry, logger, metrics
from invoice_pipeline.ports import StepFunctions


@dataclass(frozen=True)
class Ports:
    slots: Slots
    sfn: StepFunctions


PORTS = Ports(slots=slots, sfn=aws.LazyClient("stepfunctions"))  # type: ignore[arg-type]


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    outcome = dispatch(ports.slots, ports.sfn)
    queue = ports.slots.queue()
    metrics.add_metric(name="QueuedDocuments", unit=MetricUnit.Count, value=queue.waiting)
    metrics.add_metric(name="HeldSlots", unit=MetricUnit.Count, value=queue.held)
    metrics.add_metric(name="OldestQueuedSeconds", unit=MetricUnit.Seconds, value=queue.oldest_waiting_seconds)
    logger.info("dispatched", extra={"granted": outcome.granted, "reclaimed": outcome.reclaimed,
                                      "waiting": queue.waiting, "held": queue.held,
                                      "oldest_waiting_seconds": round(queue.oldest_waiting_seconds, 1)})
    return {"granted": outcome.granted, "reclaimed": outcome.reclaimed, "gone": outcome.gone,
            "waiting": queue.waiting, "held": queue.held,
            "oldest_waiting_seconds": round(queue.oldest_waiting_seconds, 3)}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
