"""`invoices trace`: an execution's history the way the Step Functions console's "Events" and "Graph" views
show it: one line per state with its type, status and duration, the failing state in red with its Error and
Cause, and (with --io) each state's input and output."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.highlighter import JSONHighlighter
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from invoice_local.console import COLUMN_GAP, PLAIN_WIDTH, to_text
from invoice_local.terminal_text import printable


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


def _status_style(status: str) -> str:
    if status in ("Failed", "TimedOut", "Caught error"):
        return "red"
    return "green" if status.startswith("Succeeded") else ""


def view(execution: dict[str, Any], events: list[dict[str, Any]], *, show_io: bool = False) -> RenderableType:
    """The execution as rich renderables: a header, one table row per state visit, and (show_io) each
    state's input and output below the table."""
    status = execution["status"]
    start, stop = execution["startDate"], execution.get("stopDate")
    took = f"{(stop - start).total_seconds():.2f} s" if stop else "running"
    head_style = "green" if status == "SUCCEEDED" else "red" if status in ("FAILED", "TIMED_OUT", "ABORTED") else ""
    parts: list[RenderableType] = [
        Text.assemble((printable(f"Execution {execution['name']}"), "bold"), "  ", (status, head_style), f"  ({took})"),
        Text(printable(execution["executionArn"]), style="dim"),
    ]
    if execution.get("error"):
        parts.append(Text(printable(f"Error: {execution['error']}"), style="red"))
        parts.append(Text(printable(f"Cause: {_cause_text(execution.get('cause'))}"), style="red"))
    parts.append(Text(""))

    states = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=COLUMN_GAP, header_style="bold")
    states.add_column("#", justify="right", no_wrap=True, min_width=2)
    for name in ("State", "Type", "Status"):
        states.add_column(name, no_wrap=True)
    states.add_column("Duration", justify="right", no_wrap=True)
    states.add_column("Detail", ratio=1, overflow="fold")
    runs = state_runs(events)
    for i, run in enumerate(runs, 1):
        duration = f"{(run.exited - run.entered).total_seconds():.2f} s" if run.exited else "-"
        style = _status_style(run.status)
        if style == "red" and run.error:
            detail = Text(printable(f"Error: {run.error}\nCause: {_cause_text(run.cause)}"), style="red")
        elif run.retries:
            detail = Text(f"retried after: {', '.join(run.retries)}", style="dim")
        else:
            detail = Text("")
        states.add_row(str(i), printable(run.name, newlines=False), run.type, Text(run.status, style=style), duration,
                       detail)
    parts.append(states)

    if show_io:
        for i, run in enumerate(runs, 1):
            parts += [Text(""), Rule(printable(f"{i} {run.name}", newlines=False), align="left", style="dim")]
            for label, value in (("input", run.input), ("output", run.output)):
                body = Text(printable(_short(value)))
                if isinstance(value, dict | list):
                    JSONHighlighter().highlight(body)
                parts.append(Text.assemble((f"{label}: ", "bold"), body))
    return Group(*parts)


def render(execution: dict[str, Any], events: list[dict[str, Any]], *, show_io: bool = False,
           color: bool = True, width: int = PLAIN_WIDTH) -> str:
    """The execution as text (ANSI colours when `color`), as `invoices trace` prints it off a terminal."""
    return to_text(view(execution, events, show_io=show_io), color=color, width=width)


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
