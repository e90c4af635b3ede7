"""The intake function: one execution per message, named after it, paced, and every message that did not
start reported back to the queue (never dropped)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from invoice_pipeline.domain.intake import execution_name
from invoice_pipeline.handlers import intake

from tests.events import load_event
from tests.fakes import client_error

ARN = "arn:aws:states:eu-west-1:111122223333:stateMachine:invoices-prod-pipeline"


class Sfn:
    def __init__(self, errors: dict[int, str] | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.errors = errors or {}

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        n = len(self.calls)
        self.calls.append({"stateMachineArn": stateMachineArn, "name": name, "input": input})
        if n in self.errors:
            raise client_error(self.errors[n], "StartExecution")
        return {"executionArn": f"{ARN}:{name}"}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_MACHINE_ARN", ARN)
    monkeypatch.setenv("INTAKE_START_RATE", "4")
    monkeypatch.setenv("INTAKE_POLLERS", "2")


def _batch(n: int) -> dict[str, Any]:
    template = load_event("sqs_intake_batch")["Records"][0]
    records = []
    for i in range(n):
        body = load_event("s3_object_created", **{"detail__object__key": f"incoming/inv-{i}.pdf"})
        records.append({**template, "messageId": f"m{i}", "body": json.dumps(body)})
    return {"Records": records}


def _ports(sfn: Sfn, clock: Clock) -> intake.Ports:
    return intake.Ports(sfn=sfn, pacer=intake.Pacer(clock=clock, sleep=clock.sleep))


def test_each_message_starts_its_named_execution_with_the_body_as_input() -> None:
    sfn, clock = Sfn(), Clock()
    event = load_event("sqs_intake_batch")
    assert intake.handle(event, _ports(sfn, clock)) == {"batchItemFailures": []}
    body = event["Records"][0]["body"]
    assert sfn.calls == [{"stateMachineArn": ARN, "name": execution_name(json.loads(body)), "input": body}]


def test_starts_are_paced_at_this_pollers_share_of_the_rate() -> None:
    sfn, clock = Sfn(), Clock()
    intake.handle(_batch(5), _ports(sfn, clock))
    # 4 a second over 2 pollers: one start every 0.5 s from this environment
    assert clock.slept == [0.5] * 4
    assert len(sfn.calls) == 5


def test_a_message_delivered_twice_is_not_a_failure() -> None:
    sfn, clock = Sfn(errors={1: "ExecutionAlreadyExists"}), Clock()
    assert intake.handle(_batch(2), _ports(sfn, clock)) == {"batchItemFailures": []}


def test_a_throttled_start_returns_only_its_message() -> None:
    sfn, clock = Sfn(errors={1: "ThrottlingException"}), Clock()
    assert intake.handle(_batch(3), _ports(sfn, clock)) == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert len(sfn.calls) == 3


def test_an_unreadable_message_goes_back_towards_the_dlq_without_a_start() -> None:
    sfn, clock = Sfn(), Clock()
    event = _batch(2)
    event["Records"][0]["body"] = "not json"
    event["Records"][1]["body"] = json.dumps({"detail": {"bucket": {"name": "b"}}})
    assert intake.handle(event, _ports(sfn, clock)) == {
        "batchItemFailures": [{"itemIdentifier": "m0"}, {"itemIdentifier": "m1"}]}
    assert sfn.calls == []
