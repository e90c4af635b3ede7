"""Admit (the Queue state, invoked with .waitForTaskToken): the document waits, QUEUED, for a Textract slot.

It stores the task token with the document's place in the queue, then dispatches: if a slot is free now the
execution is answered at once with its start time; otherwise it waits, at no cost, until a completion or a
failure frees a slot and that function's dispatch answers it.

Input: {"document": <Register output>, "task_token", "execution_arn"}
Output (through the token, from whichever dispatch grants the slot): {"start_at", "start_at_precise",
"expires_at"} (dispatch.slot_output)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from invoice_pipeline.adapters import aws, slots
from invoice_pipeline.dispatch import Slots, dispatch
from invoice_pipeline.observability import count, lambda_entry, logger
from invoice_pipeline.ports import StepFunctions


class Queueing(Slots, Protocol):
    def enqueue(self, document_id: str, task_token: str, execution_arn: str | None) -> bool: ...


@dataclass(frozen=True)
class Ports:
    slots: Queueing
    sfn: StepFunctions


PORTS = Ports(slots=slots, sfn=aws.LazyClient("stepfunctions"))  # type: ignore[arg-type]


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    document_id = event["document"]["document_id"]
    if ports.slots.enqueue(document_id, event["task_token"], event.get("execution_arn")):
        # Textract refused the start even after its retries (throttled, or over its job limit): wait again
        logger.warning("queued again after Textract refused the start")
        count("Requeued")
    outcome = dispatch(ports.slots, ports.sfn)
    logger.info("queued for a Textract slot", extra={"granted_now": outcome.granted})
    return {"document_id": document_id, "queued": True}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
