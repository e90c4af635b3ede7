"""`invoices trace`: an execution's history the way the Step Functions console's "Events" and "Graph" views
show it: one line per state with its type, status and duration, the failing state in red with its Error and
Cause, and (with --io) each state's input and output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RED, GREEN, DIM, BOLD, RESET = "\033[31m", "\033[32m", "\033[2m", "\033[1m", "\033[0m"


@dataclass
class StateRun:
    name: str
    type: str
    entered: datetime
    exited: datetime | None = None
    input: Any = None
    output: Any = None
    status: str = "Running"
    error: str | None = None
    cause: str | None = None
    attempts: int = 0
    retries: list[str] = field(default_factory=list)


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return text


def state_runs(events: list[dict[str, Any]]) -> list[StateRun]:
    """Fold the flat event list into one entry per state visit, as the console's table does."""
    runs: list[StateRun] = []
    current: StateRun | None = None
    for ev in events:
        kind: str = ev["type"]
        if kind.endswith("StateEntered"):
            d = ev["stateEnteredEventDetails"]
            current = StateRun(name=d["name"], type=kind.removesuffix("StateEntered"), entered=ev["timestamp"],
                               input=_json(d.get("input")))
            runs.append(current)
        elif kind.endswith("StateExited") and current is not None:
            d = ev["stateExitedEventDetails"]
            # A caught failure exits too (with the error in its output): the console calls it "Caught error".
            current.exited, current.output = ev["timestamp"], _json(d.get("output"))
            current.status = "Caught error" if current.status in ("Failed", "TimedOut") else "Succeeded"
        elif current is not None and kind in ("TaskScheduled", "LambdaFunctionScheduled"):
            current.attempts += 1
            if current.status in ("Failed", "TimedOut"):
                current.status = "Retrying"
        elif current is not None and kind.endswith(("Failed", "TimedOut")) and kind != "ExecutionFailed":
            details: dict[str, Any] = next((v for k, v in ev.items() if k.endswith("EventDetails")), {}) or {}
            current.error, current.cause = details.get("error"), details.get("cause")
            current.status = "TimedOut" if kind.endswith("TimedOut") else "Failed"
            current.retries.append(str(current.error))
        elif kind == "ExecutionFailed":
            d = ev.get("executionFailedEventDetails", {})
            if current is not None and current.type == "Fail":
                current.status, current.error, current.cause = "Failed", d.get("error"), d.get("cause")
                current.exited = ev["timestamp"]
    # A state retried and then succeeded shows the failures it recovered from, not a failure.
    for run in runs:
        if run.status == "Caught error":
            run.retries.pop()  # the last failure is the one caught, not one recovered from
        if run.status == "Succeeded" and run.retries:
            run.status = f"Succeeded after {len(run.retries)} retr{'y' if len(run.retries) == 1 else 'ies'}"
    return runs


def _short(value: Any, limit: int = 2000) -> str:
    text = json.dumps(value, indent=2, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def _cause_text(cause: str | None) -> str:
    parsed = _json(cause)
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        return str(parsed["errorMessage"])
    return str(cause or "")


def render(execution: dict[str, Any], events: list[dict[str, Any]], *, show_io: bool = False,
           color: bool = True) -> str:
    def c(code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    status = execution["status"]
    start, stop = execution["startDate"], execution.get("stopDate")
    took = f"{(stop - start).total_seconds():.2f} s" if stop else "running"
    head_color = GREEN if status == "SUCCEEDED" else RED if status in ("FAILED", "TIMED_OUT", "ABORTED") else ""
    lines = [c(BOLD, f"Execution {execution['name']}") + "  " + c(head_color, status) + f"  ({took})",
             c(DIM, execution["executionArn"])]
    if execution.get("error"):
        lines.append(c(RED, f"Error: {execution['error']}"))
        lines.append(c(RED, f"Cause: {_cause_text(execution.get('cause'))}"))
    lines.append("")
    lines.append(f"{'#':>2}  {'State':<18} {'Type':<8} {'Status':<26} {'Duration':>9}")
    for i, run in enumerate(state_runs(events), 1):
        dur = f"{(run.exited - run.entered).total_seconds():.2f} s" if run.exited else "-"
        st = run.status
        failed = st in ("Failed", "TimedOut", "Caught error")
        colored = c(RED, f"{st:<26}") if failed else c(GREEN, f"{st:<26}") if st.startswith("Succeeded") \
            else f"{st:<26}"
        lines.append(f"{i:>2}  {run.name:<18} {run.type:<8} {colored} {dur:>9}")
        if failed and run.error:
            lines.append(c(RED, f"      Error: {run.error}"))
            lines.append(c(RED, f"      Cause: {_cause_text(run.cause)}"))
        elif run.retries:
            lines.append(c(DIM, f"      retried after: {', '.join(run.retries)}"))
        if show_io:
            lines.append(c(DIM, "      input:  ") + _short(run.input).replace("\n", "\n      "))
            lines.append(c(DIM, "      output: ") + _short(run.output).replace("\n", "\n      "))
    return "\n".join(lines)


def fetch(sfn: Any, execution_arn: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    execution = sfn.describe_execution(executionArn=execution_arn)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return execution, events
        kwargs["nextToken"] = page["nextToken"]
