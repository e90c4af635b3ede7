"""The cost model's counting rules (bench/cost/): billed state transitions and log records from a history,
and the floor's inventory from a plan, on small hand-made inputs whose answer is known."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bench.cost import floor, usage
from bench.cost.prices import load
from bench.cost.transitions import billed_transitions, express_billed_gb_seconds, log_record_bytes

ARN = "arn:aws:states:us-east-1:123456789012:execution:p:e"


def _history(*types: str) -> list[dict[str, Any]]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return [{"id": i + 1, "previousEventId": i, "type": t, "timestamp": now,
             "stateEnteredEventDetails": {"name": "S", "input": "{}"}} for i, t in enumerate(types)]


def test_a_step_entered_is_a_transition_and_each_retry_one_more() -> None:
    history = _history("ExecutionStarted",
                       "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionFailed",  # Register, then
                       "LambdaFunctionScheduled", "LambdaFunctionFailed",  # two retries
                       "LambdaFunctionScheduled", "LambdaFunctionSucceeded", "TaskStateExited",
                       "ChoiceStateEntered", "ChoiceStateExited",
                       "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded",
                       "TaskStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded")
    counted = billed_transitions(history, map_children=3)
    assert (counted.entered, counted.retries, counted.billed) == (4, 2, 9)


def test_log_levels_keep_what_they_say() -> None:
    ok = _history("ExecutionStarted", "TaskStateEntered", "TaskStateExited", "ExecutionSucceeded")
    failed = _history("ExecutionStarted", "TaskStateEntered", "LambdaFunctionFailed", "ExecutionFailed")
    assert log_record_bytes(ok, ARN, "ERROR") == 0 == log_record_bytes(ok, ARN, "FATAL")
    assert log_record_bytes(ok, ARN, "ALL") > 0
    assert 0 < log_record_bytes(failed, ARN, "FATAL") < log_record_bytes(failed, ARN, "ERROR")
    assert log_record_bytes(ok, ARN, "ALL", include_execution_data=False) < log_record_bytes(ok, ARN, "ALL")


def test_express_rounds_to_100_ms_and_64_mb() -> None:
    assert express_billed_gb_seconds(0.01, 10) == pytest.approx(0.1 * 64 / 1024)
    assert express_billed_gb_seconds(0.25, 65) == pytest.approx(0.3 * 128 / 1024)


def _plan(*resources: tuple[str, dict[str, Any], dict[str, Any]], variables: dict[str, Any] | None = None
          ) -> dict[str, Any]:
    changes = [{"address": address, "mode": "managed", "type": address.split(".")[0],
                "change": {"actions": ["create"], "after": after, "after_unknown": unknown}}
               for address, after, unknown in resources]
    return {"resource_changes": changes, "variables": {k: {"value": v} for k, v in (variables or {}).items()}}


def test_floor_doubles_multi_az_and_counts_endpoint_zones() -> None:
    prices = load()
    plan = _plan(("aws_db_instance.main[0]", {"instance_class": "db.t4g.small", "multi_az": True,
                                              "allocated_storage": 20, "storage_type": "gp3"}, {}),
                 ("aws_subnet.private[0]", {}, {}), ("aws_subnet.private[1]", {}, {}),
                 ("aws_vpc_endpoint.interface[\"states\"]", {"vpc_endpoint_type": "Interface",
                                                            "service_name": "com.amazonaws.us-east-1.states"},
                  {"subnet_ids": True}),
                 ("aws_vpc_endpoint.interface[\"sqs\"]", {"vpc_endpoint_type": "Interface", "subnet_ids": ["subnet-1"],
                                                         "service_name": "com.amazonaws.us-east-1.sqs"}, {}),
                 ("aws_vpc_endpoint.s3[0]", {"vpc_endpoint_type": "Gateway"}, {}),
                 ("aws_kms_key.main", {}, {}))
    items = {i.what.split(" (")[0].split(",")[0]: i for i in floor.inventory(plan, prices)}
    hours = prices.hours_per_month
    assert items["RDS PostgreSQL db.t4g.small"].monthly_usd == pytest.approx(2 * hours * 0.032)
    assert items["RDS storage gp3"].monthly_usd == pytest.approx(2 * 20 * prices["rds_postgres_gp3_gb_month"])
    # unknown subnets: the two created private subnets; known ones: as many as listed
    assert items["Interface VPC endpoints"].monthly_usd == pytest.approx(3 * hours * 0.01)
    assert items["Gateway VPC endpoint"].monthly_usd == 0
    assert items["NAT gateways"].monthly_usd == 0
    capped = _plan(*[(r["address"], r["change"]["after"], r["change"]["after_unknown"])
                     for r in plan["resource_changes"]], variables={"vpc_endpoint_az_count": 1})
    lean = {i.what.split(" (")[0]: i for i in floor.inventory(capped, prices)}
    assert lean["Interface VPC endpoints"].monthly_usd == pytest.approx(2 * hours * 0.01)


def test_a_class_without_a_price_is_named() -> None:
    plan = _plan(("aws_db_instance.main[0]", {"instance_class": "db.x9.huge", "multi_az": False,
                                              "allocated_storage": 20}, {}))
    with pytest.raises(KeyError, match="db.x9.huge"):
        floor.inventory(plan, load())


def test_schedules_from_rate_expressions() -> None:
    plan = _plan(("aws_cloudwatch_event_rule.a", {"schedule_expression": "rate(1 minute)"}, {}),
                 ("aws_cloudwatch_event_rule.b", {"schedule_expression": "rate(2 hours)"}, {}),
                 ("aws_cloudwatch_event_rule.c", {"event_pattern": "{}"}, {}))
    assert floor.schedules(plan, 730) == {"aws_cloudwatch_event_rule.a": 43800, "aws_cloudwatch_event_rule.b": 365}


def test_cold_starts_bound() -> None:
    fn = usage.FunctionUsage(memory_mb=1024, invocations=10, cold_starts=2, billed_ms=2 * 600 + 10 * 100,
                             init_ms=2 * 500)
    assert fn.gb_seconds == pytest.approx(2.2)
    assert fn.all_cold_gb_seconds() == pytest.approx(2.2 + 8 * 0.5)
    assert fn.platform_bytes > 10 * len("START RequestId: ")
