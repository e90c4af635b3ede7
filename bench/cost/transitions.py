"""What Step Functions bills for an execution, read from its history as GetExecutionHistory returns it.

Standard workflows bill state transitions: "Step Functions counts a state transition each time a step of
your workflow is executed ... including retries" (aws.amazon.com/step-functions/pricing). In a history a
step executed is a `<Type>StateEntered` event, and a retry is a second (third, ...) `*Scheduled` event of
the same state entry, with no new StateEntered. ExecutionStarted, the Exited, Started, Submitted and
Succeeded events are not transitions. A Distributed Map adds one transition per child execution it starts
(developer guide, "Transitions"); its Express children are billed per request and GB-second instead.

The execution's CloudWatch Logs records (logging level ALL, ERROR or FATAL, with execution data) are the same
events, one JSON record each, in the shape the developer guide shows for Standard workflows' log records."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SCHEDULED = ("LambdaFunctionScheduled", "TaskScheduled", "ActivityScheduled")
# Events each logging level records (developer guide, "Log levels"): ERROR the failures, FATAL the ends.
FATAL_EVENTS = ("ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut")


@dataclass(frozen=True)
class Transitions:
    entered: int
    retries: int
    map_children: int = 0

    @property
    def billed(self) -> int:
        return self.entered + self.retries + self.map_children


def billed_transitions(history: list[dict[str, Any]], map_children: int = 0) -> Transitions:
    entered = retries = scheduled = 0
    for event in sorted(history, key=lambda e: int(e["id"])):
        kind = event["type"]
        if kind.endswith("StateEntered"):
            entered += 1
            scheduled = 0
        elif kind in SCHEDULED:
            scheduled += 1
            retries += scheduled > 1
    return Transitions(entered, retries, map_children)


def transitions_by_state(history: list[dict[str, Any]]) -> dict[str, int]:
    """Billed transitions per state name ("Queue", "Queue (retries)"), to see where they go."""
    out: dict[str, int] = {}
    state, scheduled = "", 0
    for event in sorted(history, key=lambda e: int(e["id"])):
        kind = event["type"]
        if kind.endswith("StateEntered"):
            state, scheduled = event["stateEnteredEventDetails"]["name"], 0
            out[state] = out.get(state, 0) + 1
        elif kind in SCHEDULED:
            scheduled += 1
            if scheduled > 1:
                out[f"{state} (retries)"] = out.get(f"{state} (retries)", 0) + 1
    return out


def failures_by_state(history: list[dict[str, Any]]) -> dict[str, int]:
    """Failed attempts per "state: error" (a Lambda throttled, Textract throttled, ...): what caused retries."""
    out: dict[str, int] = {}
    state = ""
    for event in sorted(history, key=lambda e: int(e["id"])):
        if event["type"].endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
        elif event["type"].endswith(("Failed", "TimedOut")) and not event["type"].startswith("Execution"):
            details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            key = f"{state}: {details.get('error', event['type'])}"
            out[key] = out.get(key, 0) + 1
    return out


def _logged(kind: str, level: str) -> bool:
    if level == "ALL":
        return True
    if level == "ERROR":
        return kind in FATAL_EVENTS or kind.endswith(("Failed", "TimedOut", "Aborted"))
    if level == "FATAL":
        return kind in FATAL_EVENTS
    return False  # OFF


def log_record_bytes(history: list[dict[str, Any]], execution_arn: str, level: str,
                     include_execution_data: bool = True) -> int:
    """Bytes of the CloudWatch Logs records the execution's logging writes at `level`."""
    total = 0
    for event in history:
        if not _logged(event["type"], level):
            continue
        details: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
        if not include_execution_data:
            details = {k: v for k, v in details.items() if k not in ("input", "output", "inputDetails",
                                                                       "outputDetails")}
        when = event["timestamp"]
        millis = int(when.timestamp() * 1000) if isinstance(when, datetime) else int(when)
        record = {"id": str(event["id"]), "type": event["type"], "details": details,
                  "previous_event_id": str(event.get("previousEventId", 0)), "event_timestamp": str(millis),
                  "execution_arn": execution_arn, "redrive_count": "0"}
        total += len(json.dumps(record, default=str, separators=(",", ":")).encode())
    return total


def express_billed_gb_seconds(duration_seconds: float, memory_mb: float) -> float:
    """An Express execution's billed GB-seconds: duration rounded up to 100 ms, memory to 64 MB."""
    seconds = math.ceil(duration_seconds * 10) / 10
    memory_gb = math.ceil(max(memory_mb, 1) / 64) * 64 / 1024
    return seconds * memory_gb
