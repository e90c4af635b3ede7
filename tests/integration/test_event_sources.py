"""Event sources as the intake path uses them, against the emulation server: S3 "Object Created" → EventBridge
rule → SQS queue → Lambda through an event source mapping (emulation/event_sources.py polls it the way Lambda
does), and scheduled EventBridge rules firing their Lambda targets (emulation/eventbridge.py). The functions
are small handlers of tests/integration/event_source_handlers.py, deployed as a code package and run in worker
processes; what they were given is read from the runner's record of invocations.

No assertion here depends on timing: each test waits for a condition (with a deadline) and then asserts on
counts."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from invoice_local.deployment import REGION
from invoice_local.emulation import event_sources, eventbridge, lambda_runner, server, snapshot

HANDLERS = Path(__file__).with_name("event_source_handlers.py")


def calls_of(function_name: str) -> list[dict[str, Any]]:
    """The function's invocations as the runner recorded them (event, result, the thread that invoked)."""
    return [c for c in list(lambda_runner.invocations) if c["function"] == function_name]


def records_of(function_name: str) -> list[dict[str, Any]]:
    return [r for c in calls_of(function_name) for r in c["event"].get("Records", [])]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


class Emulated:
    """Clients of the emulation server, and what a test creates in it (removed afterwards)."""

    def __init__(self, endpoint: str) -> None:
        def client(service: str) -> Any:
            return boto3.client(service, region_name=REGION, endpoint_url=endpoint)

        self.sqs, self.lam, self.events, self.iam = (client(s) for s in ("sqs", "lambda", "events", "iam"))
        self.suffix = uuid.uuid4().hex[:8]
        self.mappings: list[str] = []
        self.rules: list[str] = []
        self.functions: list[str] = []
        self._role: str | None = None

    def queue(self, name: str, **attributes: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=f"{name}-{self.suffix}", Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def function(self, handler: str) -> tuple[str, str]:
        if self._role is None:
            self._role = self.iam.create_role(RoleName=f"esm-test-{self.suffix}", AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                         "Principal": {"Service": "lambda.amazonaws.com"}}]}),
            )["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(HANDLERS.name, HANDLERS.read_text())
        name = f"{handler.replace('_', '-')[:40]}-{self.suffix}-{len(self.functions)}"
        self.functions.append(name)
        arn = self.lam.create_function(FunctionName=name, Runtime="python3.12", Role=self._role, Timeout=30,
                                       Handler=f"{HANDLERS.stem}.{handler}", Code={"ZipFile": buf.getvalue()},
                                       )["FunctionArn"]
        return name, arn

    def mapping(self, queue_arn: str, function: str, **settings: Any) -> str:
        mapping_id: str = self.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=function,
                                                               **settings)["UUID"]
        self.mappings.append(mapping_id)
        return mapping_id

    def send(self, queue_url: str, bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):
            self.sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start:start + 10])])

    def counts(self, queue_url: str) -> tuple[int, int]:
        """(visible, in flight) messages of a queue."""
        a = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])

    def cleanup(self) -> None:
        for mapping_id in self.mappings:
            with contextlib.suppress(self.lam.exceptions.ResourceNotFoundException):
                self.lam.delete_event_source_mapping(UUID=mapping_id)
        for rule in self.rules:
            targets = self.events.list_targets_by_rule(Rule=rule)["Targets"]
            if targets:
                self.events.remove_targets(Rule=rule, Ids=[t["Id"] for t in targets])
            self.events.delete_rule(Name=rule)


@pytest.fixture
def aws(emulation: server.EmulationServer) -> Iterator[Emulated]:
    emulated = Emulated(emulation.endpoint)
    yield emulated
    emulated.cleanup()


def stats_of(mapping_id: str) -> event_sources.MappingStats:
    return event_sources.stats().get(mapping_id) or event_sources.MappingStats(mapping_id, "", "")


# --- SQS event source mappings ----------------------------------------------------------------------------------

def test_each_message_is_delivered_once_in_batches_within_the_mapping_limits(aws: Emulated) -> None:
    queue_url, queue_arn = aws.queue("intake")
    function, _ = aws.function("succeed")
    mapping_id = aws.mapping(queue_arn, function, BatchSize=3, ScalingConfig={"MaximumConcurrency": 2})
    bodies = [f"m{i}" for i in range(24)]

    aws.send(queue_url, bodies)
    wait_for(lambda: stats_of(mapping_id).deleted == len(bodies), "every message deleted")

    delivered = Counter(r["body"] for r in records_of(function))
    assert delivered == Counter(bodies)  # each once: none lost, none twice
    calls = calls_of(function)
    assert max(len(c["event"]["Records"]) for c in calls) <= 3
    assert lambda_runner.stats()[function]["peak"] == 2  # the backlog kept both slots busy, never a third
    # run by the mapping's pollers, not inline on the thread that sent the message (moto's own delivery)
    assert {c["caller"] for c in calls} == {f"esm-batch-{mapping_id[:8]}"}
    stats = stats_of(mapping_id)
    assert (stats.batches, stats.delivered, stats.failed, stats.throttles) == (len(calls), 24, 0, 0)
    assert stats.peak_concurrency <= 2 and stats.largest_batch <= 3
    assert aws.counts(queue_url) == (0, 0)


def test_records_carry_the_messages_own_attributes(aws: Emulated) -> None:
    queue_url, queue_arn = aws.queue("intake")
    function, _ = aws.function("record")
    mapping_id = aws.mapping(queue_arn, function)
    before = int(time.time() * 1000)

    sent = aws.sqs.send_message(QueueUrl=queue_url, MessageBody='{"key": "incoming/a.pdf"}', MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "invoice"}})
    wait_for(lambda: stats_of(mapping_id).deleted == 1, "the message deleted")

    (record,) = records_of(function)
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"key": "incoming/a.pdf"}'
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    assert record["messageAttributes"] == {"kind": {"stringValue": "invoice", "stringListValues": [],
                                                    "binaryListValues": [], "dataType": "String"}}
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert before <= int(attributes["SentTimestamp"]) <= int(attributes["ApproximateFirstReceiveTimestamp"])
    assert attributes["SenderId"]
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == ("aws:sqs", queue_arn, REGION)
    assert record["receiptHandle"]


def test_reported_item_failures_alone_come_back(aws: Emulated) -> None:
    queue_url, queue_arn = aws.queue("intake", VisibilityTimeout="1")
    function, _ = aws.function("fail_first_receive_of_fail_bodies")
    mapping_id = aws.mapping(queue_arn, function, BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    bodies = ["ok-1", "fail-1", "ok-2", "ok-3", "fail-2", "ok-4"]

    aws.send(queue_url, bodies)
    wait_for(lambda: stats_of(mapping_id).deleted == len(bodies), "every message deleted")

    receive_counts: dict[str, list[str]] = {}
    for r in records_of(function):
        receive_counts.setdefault(r["body"], []).append(r["attributes"]["ApproximateReceiveCount"])
    assert receive_counts == {"ok-1": ["1"], "ok-2": ["1"], "ok-3": ["1"], "ok-4": ["1"],
                              "fail-1": ["1", "2"], "fail-2": ["1", "2"]}
    stats = stats_of(mapping_id)
    assert (stats.delivered, stats.failed, stats.deleted) == (8, 2, 6)
    assert aws.counts(queue_url) == (0, 0)


def test_a_function_error_returns_the_whole_batch_until_redrive_moves_it_to_the_dead_letter_queue(
        aws: Emulated) -> None:
    dlq_url, dlq_arn = aws.queue("intake-dlq")
    queue_url, queue_arn = aws.queue("intake", VisibilityTimeout="1", RedrivePolicy=json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}))
    function, _ = aws.function("raise_error")
    mapping_id = aws.mapping(queue_arn, function, BatchSize=10)
    bodies = ["a", "b", "c"]

    aws.send(queue_url, bodies)
    wait_for(lambda: aws.counts(dlq_url)[0] == len(bodies), "every message in the dead-letter queue")

    receive_counts: dict[str, list[str]] = {}
    for r in records_of(function):
        receive_counts.setdefault(r["body"], []).append(r["attributes"]["ApproximateReceiveCount"])
    assert receive_counts == {body: ["1", "2"] for body in bodies}  # the whole batch, twice, then no more
    stats = stats_of(mapping_id)
    assert (stats.delivered, stats.failed, stats.deleted) == (6, 6, 0)
    assert aws.counts(queue_url) == (0, 0)
    in_dlq = aws.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in in_dlq) == bodies


def throttled_while(monkeypatch: pytest.MonkeyPatch, function_arn: str,
                    condition: Callable[[dict[str, Any]], bool]) -> list[str]:
    """Make a synchronous invoke of the function fail as Lambda's runner does over its concurrency limit
    (TooManyRequestsException, HTTP 429) while `condition(event)` holds; returns a log of the throttles."""
    from moto.awslambda.models import LambdaBackend
    from moto.core.exceptions import JsonRESTError

    original = LambdaBackend.invoke
    throttles: list[str] = []

    def invoke(self: LambdaBackend, function_name: str, qualifier: str | None, body: Any, headers: Any,
               response_headers: Any) -> Any:
        if function_name == function_arn and condition(json.loads(body)):
            throttles.append(function_name)
            error = JsonRESTError("TooManyRequestsException", "Rate Exceeded.")
            error.code = 429
            raise error
        return original(self, function_name, qualifier, body, headers, response_headers)

    monkeypatch.setattr(LambdaBackend, "invoke", invoke)
    return throttles


def test_a_throttled_batch_stays_in_flight_and_is_retried(aws: Emulated, monkeypatch: pytest.MonkeyPatch) -> None:
    queue_url, queue_arn = aws.queue("intake", VisibilityTimeout="30")
    function, function_arn = aws.function("record")
    mapping_id = aws.mapping(queue_arn, function)
    throttles = throttled_while(monkeypatch, function_arn, lambda _event: len(throttles) < 2)

    aws.send(queue_url, ["x"])
    wait_for(lambda: stats_of(mapping_id).deleted == 1, "the message deleted")

    (record,) = records_of(function)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"  # retried in flight, not received again
    stats = stats_of(mapping_id)
    assert (stats.throttles, stats.batches, stats.failed) == (2, 1, 0)


def test_a_batch_throttled_past_its_visibility_timeout_is_received_again(
        aws: Emulated, monkeypatch: pytest.MonkeyPatch) -> None:
    queue_url, queue_arn = aws.queue("intake", VisibilityTimeout="1")
    function, function_arn = aws.function("record")
    mapping_id = aws.mapping(queue_arn, function)
    throttled_while(monkeypatch, function_arn,
                    lambda event: event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "1")

    aws.send(queue_url, ["x"])
    wait_for(lambda: stats_of(mapping_id).deleted == 1, "the message deleted")

    assert [r["attributes"]["ApproximateReceiveCount"] for r in records_of(function)] == ["2"]
    stats = stats_of(mapping_id)
    assert stats.throttles >= 1 and (stats.batches, stats.failed) == (1, 1)


def test_the_mapping_is_managed_through_the_lambda_api(aws: Emulated) -> None:
    queue_url, queue_arn = aws.queue("intake")
    function, function_arn = aws.function("record")
    mapping_id = aws.mapping(queue_arn, function, BatchSize=5, ScalingConfig={"MaximumConcurrency": 2},
                             FunctionResponseTypes=["ReportBatchItemFailures"])
    got = aws.lam.get_event_source_mapping(UUID=mapping_id)
    assert (got["State"], got["BatchSize"], got["ScalingConfig"], got["FunctionArn"]) == (
        "Enabled", 5, {"MaximumConcurrency": 2}, function_arn)
    assert [m["UUID"] for m in aws.lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]
            ] == [mapping_id]

    aws.lam.update_event_source_mapping(UUID=mapping_id, Enabled=False)
    poller = f"esm-poller-{mapping_id[:8]}"
    wait_for(lambda: not any(t.name == poller for t in threading.enumerate()),
             "the disabled mapping's poller to end")
    aws.send(queue_url, ["held-1", "held-2"])
    assert aws.counts(queue_url) == (2, 0) and not calls_of(function)  # no poller: nobody took them

    aws.lam.update_event_source_mapping(UUID=mapping_id, Enabled=True)
    wait_for(lambda: stats_of(mapping_id).deleted == 2, "the held messages delivered once enabled again")
    assert sorted(r["body"] for r in records_of(function)) == ["held-1", "held-2"]

    aws.lam.delete_event_source_mapping(UUID=mapping_id)
    assert not aws.lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]


def test_pollers_follow_the_mappings_through_a_snapshot_restore(aws: Emulated) -> None:
    """snapshot.loads swaps every backend object: a poller holding the old queue or mapping would deliver
    nothing, or deliver from a queue nobody sends to any more."""
    queue_url, queue_arn = aws.queue("intake")
    function, _ = aws.function("record")
    mapping_id = aws.mapping(queue_arn, function)
    aws.send(queue_url, ["before"])
    wait_for(lambda: stats_of(mapping_id).deleted == 1, "the first message deleted")
    saved = snapshot.dumps()
    aws.lam.delete_event_source_mapping(UUID=mapping_id)
    aws.sqs.delete_queue(QueueUrl=queue_url)

    snapshot.loads(saved)
    aws.send(queue_url, ["after"])
    wait_for(lambda: stats_of(mapping_id).deleted == 2, "the message sent after the restore deleted")

    assert [r["body"] for r in records_of(function)] == ["before", "after"]


# --- scheduled rules --------------------------------------------------------------------------------------------

@pytest.fixture
def fast_clock() -> Iterator[None]:
    eventbridge.configure(schedule_speedup=600)  # rate(1 minute) every 0.1 s
    yield
    eventbridge.configure()


def scheduled_rule(aws: Emulated, name: str, expression: str, function_arn: str, state: str = "ENABLED") -> str:
    rule = f"{name}-{aws.suffix}"
    arn: str = aws.events.put_rule(Name=rule, ScheduleExpression=expression, State=state)["RuleArn"]
    aws.events.put_targets(Rule=rule, Targets=[{"Id": "fn", "Arn": function_arn}])
    aws.rules.append(rule)
    return arn


def test_fire_scheduled_sends_the_scheduled_event_to_the_lambda_target(aws: Emulated) -> None:
    function, function_arn = aws.function("record")
    rule_arn = scheduled_rule(aws, "dispatch", "rate(1 minute)", function_arn)

    sent = eventbridge.fire_scheduled(rule_arn.rpartition("/")[2])
    wait_for(lambda: calls_of(function), "the dispatcher invoked")

    (call,) = calls_of(function)
    event = call["event"]
    assert event == sent
    assert (event["source"], event["detail-type"], event["resources"], event["detail"]) == (
        "aws.events", "Scheduled Event", [rule_arn], {})
    assert (event["account"], event["region"], event["version"]) == (rule_arn.split(":")[4], REGION, "0")
    assert event["time"].endswith("Z") and uuid.UUID(event["id"])


def test_fire_scheduled_refuses_a_disabled_rule(aws: Emulated) -> None:
    function, function_arn = aws.function("record")
    rule_arn = scheduled_rule(aws, "dispatch", "rate(1 minute)", function_arn, state="DISABLED")

    with pytest.raises(ValueError, match="disabled"):
        eventbridge.fire_scheduled(rule_arn.rpartition("/")[2])
    assert not calls_of(function)


def test_a_scheduled_rule_gets_no_event_of_its_bus(aws: Emulated) -> None:
    """EventBridge: a rule without an event pattern matches no event. moto's empty pattern matched them all,
    so the scheduled dispatch function ran once per upload. put_events delivers on the caller's thread, so
    the record of deliveries is complete when it returns."""
    _, scheduled_arn = aws.function("record")
    _, matching_arn = aws.function("record")
    scheduled_rule(aws, "dispatch", "rate(1 minute)", scheduled_arn)
    matching = f"uploads-{aws.suffix}"
    aws.events.put_rule(Name=matching, EventPattern=json.dumps({"source": ["test.uploads"]}))
    aws.events.put_targets(Rule=matching, Targets=[{"Id": "fn", "Arn": matching_arn}])
    aws.rules.append(matching)
    before = len(eventbridge.deliveries)

    aws.events.put_events(Entries=[{"Source": "test.uploads", "DetailType": "Object Created", "Detail": "{}"}])

    assert [d["rule"] for d in eventbridge.deliveries[before:]] == [matching]


def test_the_scheduler_fires_enabled_rate_rules_on_the_fast_clock(aws: Emulated, fast_clock: None) -> None:
    function, function_arn = aws.function("record")
    idle, idle_arn = aws.function("record")
    rule_arn = scheduled_rule(aws, "dispatch", "rate(1 minute)", function_arn)
    scheduled_rule(aws, "disabled", "rate(1 minute)", idle_arn, state="DISABLED")
    scheduled_rule(aws, "nightly", "cron(0 2 * * ? *)", idle_arn)

    wait_for(lambda: len(calls_of(function)) >= 3, "three firings of the rate rule")

    events = [c["event"] for c in calls_of(function)]
    assert all(e["detail-type"] == "Scheduled Event" and e["resources"] == [rule_arn] for e in events)
    assert len({e["id"] for e in events}) == len(events)
    assert {c["caller"] for c in calls_of(function)} == {f"eventbridge-schedule-dispatch-{aws.suffix}"}
    # The scheduler went round several times: a disabled rule and a cron rule would have fired by now.
    assert not calls_of(idle)
