"""RecordFailure: every Catch in the state machine lands here. Marks the document FAILED with the named
error and its cause, creating the row if the failure came before Register could (empty, unsupported, ...).

Input: {"input": <the failed state's input, with "error": {"Error", "Cause"}>, "execution_arn"}
Output: {"document_id", "Error", "Cause"} — the Fail state that follows shows the same Error and Cause."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from invoice_pipeline.adapters import aws, repository, slots
from invoice_pipeline.dispatch import Slots, dispatch
from invoice_pipeline.domain.events import source_of_state
from invoice_pipeline.observability import count, lambda_entry, logger
from invoice_pipeline.ports import Documents, StepFunctions
from invoice_pipeline.publish import PUBLISHER, Events


@dataclass(frozen=True)
class Ports:
    documents: Documents
    slots: Slots
    sfn: StepFunctions
    events: Events | None = None  # publishes the committed DocumentFailed at once (the schedule would, later)


PORTS = Ports(documents=repository, slots=slots, sfn=aws.LazyClient("stepfunctions"),  # type: ignore[arg-type]
              events=PUBLISHER)

# Errors raised by Step Functions itself get a name of ours (a Fail state may not report a "States." name)
# and words a person reading the API would want.
_STATES_ERRORS = {
    "States.Timeout": ("TaskTimedOut", "the task did not finish within its TimeoutSeconds (for StartAnalysis: "
                                       "Textract's completion notification never came)"),
    "States.HeartbeatTimeout": ("TaskTimedOut", "no heartbeat from the task"),
    "States.TaskFailed": ("TaskFailed", "a task failed"),
    "States.Runtime": ("StateMachineRuntimeError", "the state machine could not process a payload"),
    "States.Permissions": ("StateMachinePermissionError", "the state machine role may not call a resource"),
}


def _readable_cause(error: str, cause: str) -> str:
    """Lambda errors arrive as a JSON Cause ({"errorMessage", "errorType", "stackTrace"}): keep the message."""
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict) and parsed.get("errorMessage"):
            return str(parsed["errorMessage"])
    except (TypeError, json.JSONDecodeError):
        pass
    return cause or _STATES_ERRORS.get(error, (error, error))[1]


def named_error(error: str, cause: str) -> tuple[str, str]:
    """The error name and cause recorded for the document and reported by the Fail state."""
    if error in _STATES_ERRORS:
        name, words = _STATES_ERRORS[error]
        return name, f"{words} ({error}{': ' + cause if cause else ''})"
    if error.startswith("States."):
        return "StateMachineError", f"{error}: {cause}"
    return error, _readable_cause(error, cause)


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    state = event.get("input") or {}
    failure = state.get("error") or {}
    error, cause = named_error(str(failure.get("Error") or "UnknownError"), str(failure.get("Cause") or ""))
    document = state.get("document") or {}
    source = source_of_state(state)
    doc = ports.documents.record_failure(
        error_code=error, error_message=cause, execution_arn=event.get("execution_arn"),
        doc_id=document.get("document_id"),
        source=(source.bucket, source.key, source.version_id) if source else None,
        size=source.size if source else None,
    )
    count(f"Failed.{error}")
    logger.set_correlation_id(str(doc.id))
    logger.error("document failed", extra={"error": error, "cause": cause})
    if ports.slots.release(str(doc.id)):  # it failed waiting for, or holding, a Textract slot
        dispatch(ports.slots, ports.sfn)
    if ports.events is not None:
        ports.events.drain_after_commit()
    return {"document_id": str(doc.id), "Error": error, "Cause": cause}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
