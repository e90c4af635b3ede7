"""Intake (SQS event source mapping, batches of up to 10): one execution per message, at a bounded rate.

The mapping's maximum concurrency (INTAKE_POLLERS) bounds how many batches run at once, and each one paces its
starts at INTAKE_START_RATE / INTAKE_POLLERS per second, so executions start at most at INTAKE_START_RATE
whatever the size of the burst behind them: the rest wait in the queue. A message delivered twice starts one
execution (its name is derived from it, domain/intake.py). A message that cannot start now (throttled, a
Step Functions error) is reported as a batch item failure and comes back after the visibility timeout; one
that can never start (not an S3 event) comes back too, and after maxReceiveCount lands in the intake DLQ,
whose depth has an alarm: nothing is dropped here.

Input: an SQS event; output: {"batchItemFailures": [{"itemIdentifier": messageId}]}."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import ClientError

from invoice_pipeline import config
from invoice_pipeline.adapters import aws
from invoice_pipeline.domain.intake import execution_name
from invoice_pipeline.errors import InvalidEvent
from invoice_pipeline.observability import count, lambda_entry, logger


class Executions(Protocol):
    """boto3 Step Functions: starting an execution."""

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]: ...


@dataclass
class Pacer:
    """Spaces this environment's starts `interval` seconds apart; kept across warm invocations."""

    clock: Any = time.monotonic
    sleep: Any = time.sleep
    last: float | None = field(default=None)

    def wait(self, interval: float) -> None:
        now = self.clock()
        if self.last is not None and now < self.last + interval:
            self.sleep(self.last + interval - now)
            now = self.last + interval
        self.last = now


@dataclass(frozen=True)
class Ports:
    sfn: Executions
    pacer: Pacer


PORTS = Ports(sfn=aws.LazyClient("stepfunctions"), pacer=Pacer())


def _start(record: dict[str, Any], ports: Ports, state_machine_arn: str, interval: float) -> str:
    """"started", "duplicate", or raise: the message is then retried."""
    body = json.loads(record["body"])
    name = execution_name(body)
    ports.pacer.wait(interval)
    try:
        ports.sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=record["body"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return "duplicate"
        raise
    logger.info("execution started", extra={"execution_name": name})
    return "started"


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    settings = config.settings()
    interval = settings.intake_pollers / settings.intake_start_rate
    failures: list[dict[str, str]] = []
    outcomes = {"started": 0, "duplicate": 0, "retry": 0}
    for record in event.get("Records", []):
        try:
            outcomes[_start(record, ports, settings.state_machine_arn, interval)] += 1
        except (json.JSONDecodeError, InvalidEvent) as exc:
            logger.error("intake message is not an S3 event: it goes to the DLQ after its retries",
                         extra={"message_id": record.get("messageId"), "error": str(exc)})
            count("IntakeUnreadable")
            failures.append({"itemIdentifier": record["messageId"]})
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            logger.warning("cannot start an execution now: the message comes back later",
                           extra={"message_id": record.get("messageId"), "code": code})
            outcomes["retry"] += 1
            failures.append({"itemIdentifier": record["messageId"]})
    for outcome, n in outcomes.items():
        if n:
            count(f"Intake.{outcome}", n)
    return {"batchItemFailures": failures}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
