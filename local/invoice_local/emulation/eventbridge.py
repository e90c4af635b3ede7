"""EventBridge rule targets that moto drops: state machines and Lambda functions.

moto delivers S3 "Object Created" events to rules, but `Rule.send_to_targets` only knows log groups, SQS,
archives and event buses (anything else raises, and S3 swallows the error). We deliver state machine
targets with StartExecution (a unique name each time, as EventBridge does) and Lambda targets with an
asynchronous invoke, and hand every other target to moto. moto also stamps every event with one fixed id and
a numeric time; AWS sends a unique id and an ISO 8601 time, so we do too. moto's own targets get the unique id
but keep the numeric time: its SQS and log group paths format the time themselves and fail (silently, under
S3) on a string."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.events.models import Rule
from moto.events.utils import _BASE_EVENT_MESSAGE
from moto.utilities.arns import parse_arn

_lock = threading.Lock()
_original: Any = None
deliveries: list[dict[str, Any]] = []  # what was delivered where, for tests


def _realistic(event: dict[str, Any]) -> dict[str, Any]:
    event = dict(event)
    if event.get("id") == _BASE_EVENT_MESSAGE["id"]:
        event["id"] = str(uuid.uuid4())
    if isinstance(event.get("time"), (int, float)):
        event["time"] = datetime.fromtimestamp(event["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event.pop("ingestion-time", None)  # moto's bookkeeping for its input transformer; AWS sends no such key
    return event


def _deliver(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = parse_arn(target["Arn"])
    payload = target.get("Input") or json.dumps(event)
    if arn.service == "states":
        from moto.stepfunctions.responses import get_backend

        execution = get_backend(arn.account, arn.region).start_execution(
            state_machine_arn=target["Arn"], name=str(uuid.uuid4()), execution_input=payload,
        )
        deliveries.append({"rule": rule.name, "target": target["Arn"], "execution_arn": execution.execution_arn})
    else:
        from moto.awslambda.utils import get_backend as lambda_backend

        lambda_backend(arn.account, arn.region).invoke(
            function_name=target["Arn"], qualifier=None, body=payload,
            headers={"x-amz-invocation-type": "Event"}, response_headers={},
        )
        deliveries.append({"rule": rule.name, "target": target["Arn"]})


def send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
    if not self.event_pattern.matches_event(original_event):  # type: ignore[arg-type]
        return
    event = _realistic(original_event)
    ours = [t for t in self.targets if parse_arn(t["Arn"]).service in ("states", "lambda")]
    for target in ours:
        _deliver(self, target, event)
    theirs = [t for t in self.targets if t not in ours]
    if theirs:
        with _lock:  # moto's method reads self.targets: show it only the targets it supports
            saved = self.targets
            self.targets = theirs
            try:
                _original(self, {**original_event, "id": event["id"]}, transform_input)
            finally:
                self.targets = saved


def install() -> None:
    global _original
    if getattr(Rule.send_to_targets, "__name__", "") == send_to_targets.__name__ and _original is not None:
        return
    _original = Rule.send_to_targets
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]
