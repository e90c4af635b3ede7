"""Hand free Textract slots to waiting documents: reserve them in Postgres (adapters/slots.py), then answer
each waiting execution's task token with its start time. Called wherever a slot may have freed or a document
queued: Admit, Callback (a job ended), RecordFailure, and the scheduled Dispatch function (reclaims slots of
executions that died, and reports the queue's age).

A grant whose execution is gone (aborted, timed out) frees its slot again; one that could not be delivered
for a passing reason (throttled) goes back to waiting, in its place."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from invoice_pipeline import config
from invoice_pipeline.adapters.slots import Queue
from invoice_pipeline.domain.admission import Grant, Limits
from invoice_pipeline.observability import count, logger
from invoice_pipeline.ports import StepFunctions

# The execution no longer waits for this token.
CLOSED_TOKEN_CODES = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
# After a lease this much longer than the analysis wait, the execution that held it is surely gone.
LEASE_GRACE_SECONDS = 300
_MAX_ROUNDS = 20  # each round after the first only runs when gone executions freed slots


class Slots(Protocol):
    def reserve(self, limits: Limits) -> tuple[list[Grant], list[str]]: ...

    def requeue(self, document_id: str) -> None: ...

    def release(self, document_id: str) -> bool: ...

    def queue(self) -> Queue: ...


@dataclass
class Outcome:
    granted: int = 0
    gone: int = 0
    requeued: int = 0
    reclaimed: int = 0


def limits() -> Limits:
    settings = config.settings()
    # A document may wait up to the longest analysis wait (Register grows it with the page count).
    longest_wait = max(settings.analysis_timeout_seconds, settings.analysis_timeout_max_seconds)
    return Limits(max_jobs=settings.textract_max_jobs, start_rate=settings.textract_start_rate,
                  lease_seconds=longest_wait + LEASE_GRACE_SECONDS)


def slot_output(grant: Grant) -> dict[str, Any]:
    """What the Queue state returns: the Wait state reads start_at (whole seconds: Step Functions truncates
    a timestamp's milliseconds), StartAnalysis waits out the fraction."""
    return {"start_at": grant.start_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start_at_precise": grant.start_at.isoformat(), "expires_at": grant.expires_at.isoformat()}


def dispatch(slots: Slots, sfn: StepFunctions, admission: Limits | None = None) -> Outcome:
    admission = admission or limits()
    out = Outcome()
    for _ in range(_MAX_ROUNDS):
        grants, reclaimed = slots.reserve(admission)
        out.reclaimed += len(reclaimed)
        if reclaimed:
            logger.warning("reclaimed Textract slots whose executions never released them",
                           extra={"documents": reclaimed})
        freed = False
        for grant in grants:
            try:
                sfn.send_task_success(taskToken=grant.task_token, output=json.dumps(slot_output(grant)))
                out.granted += 1
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in CLOSED_TOKEN_CODES:
                    slots.release(grant.document_id)
                    out.gone += 1
                    freed = True
                else:
                    slots.requeue(grant.document_id)
                    out.requeued += 1
                logger.warning("a granted slot was not delivered", extra={"document_id": grant.document_id,
                                                                           "code": code})
        if not freed:
            break
    for name in ("granted", "gone", "requeued", "reclaimed"):
        if getattr(out, name):
            count(f"Slots.{name}", getattr(out, name))
    return out
