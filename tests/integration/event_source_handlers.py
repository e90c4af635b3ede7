"""Lambda handlers that tests/integration/test_event_sources.py deploys into the emulation (the in-process
runner imports them by name). Each records the events it was given, on which thread, and the most
invocations of its function that ran at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Long enough that a second batch starts while the first still runs whenever the poller runs them at once.
BATCH_SECONDS = 0.1

_lock = threading.Lock()
calls: list[dict[str, Any]] = []  # {"function", "event", "thread"}
_running: dict[str, int] = {}
peak: dict[str, int] = {}


def of(function_name: str) -> list[dict[str, Any]]:
    with _lock:
        return [c for c in calls if c["function"] == function_name]


def records(function_name: str) -> list[dict[str, Any]]:
    return [r for c in of(function_name) for r in c["event"].get("Records", [])]


@contextmanager
def _invocation(event: dict[str, Any], context: Any) -> Iterator[None]:
    name = context.function_name
    with _lock:
        calls.append({"function": name, "event": event, "thread": threading.current_thread().name})
        _running[name] = _running.get(name, 0) + 1
        peak[name] = max(peak.get(name, 0), _running[name])
    try:
        yield
    finally:
        with _lock:
            _running[name] -= 1


def succeed(event: dict[str, Any], context: Any) -> None:
    with _invocation(event, context):
        time.sleep(BATCH_SECONDS)


def fail_first_receive_of_fail_bodies(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A partial batch response: a message whose body starts with "fail" fails on its first delivery only."""
    with _invocation(event, context):
        failed = [r["messageId"] for r in event["Records"]
                  if r["body"].startswith("fail") and r["attributes"]["ApproximateReceiveCount"] == "1"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}


def raise_error(event: dict[str, Any], context: Any) -> None:
    with _invocation(event, context):
        raise RuntimeError("this batch is refused")


def record(event: dict[str, Any], context: Any) -> None:
    with _invocation(event, context):
        pass
