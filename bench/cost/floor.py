"""The fixed monthly floor: what the deployed resources cost with no document at all, read from a Terraform
plan (`terraform show -json`), so that it follows the configuration and its variables.

Only what a plan shows goes here: the database instance and its storage, interface endpoints per zone, NAT
gateways, KMS keys, alarms, dashboards, secrets, and the SQS pollers Lambda runs for an event source mapping.
What the always-on functions do (the dispatch schedule's invocations, their logs and metrics) needs measured
durations: usage.py prices it. Resources billed only per use (buckets, functions, queues, topics, state
machines, the API, the user pool) cost nothing here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bench.cost.prices import Prices

# Lambda polls a standard queue with long polls of up to 20 s, and keeps five pollers when the queue is idle
# (it scales down to two only for a mapping without MaximumConcurrency; ours has one). AWS Lambda developer
# guide, "Configuring scaling behavior for SQS event source mappings"; their ReceiveMessage calls are billed
# to the queue's owner, messages or not (AWS Knowledge Center, "Why are my Amazon SQS charges higher...").
IDLE_POLLERS = 5
LONG_POLL_SECONDS = 20


@dataclass(frozen=True)
class FloorItem:
    what: str  # the row's label
    resources: str  # the Terraform addresses it is counted from
    quantity: str  # what is billed, in words ("2 x 730 instance-hours")
    monthly_usd: float


def created(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The managed resources the plan creates: address, type and planned values."""
    out = []
    for rc in plan["resource_changes"]:
        if rc["mode"] == "managed" and "create" in rc["change"]["actions"]:
            out.append({"address": rc["address"], "type": rc["type"], "after": rc["change"]["after"] or {},
                        "unknown": rc["change"].get("after_unknown") or {}})
    return out


def _variable(plan: dict[str, Any], name: str) -> Any:
    return (plan.get("variables") or {}).get(name, {}).get("value")


def _addresses(resources: list[dict[str, Any]]) -> str:
    names = sorted({re.sub(r"\[.*\]$", "", r["address"]) for r in resources})
    return ", ".join(names)


def _endpoint_zones(plan: dict[str, Any], endpoint: dict[str, Any], subnets: int) -> int:
    """Zones an interface endpoint is billed in. Its subnet_ids are known in the plan when they come from
    variables (an existing VPC); for a created VPC they are not, and network.tf places endpoints in the
    created private subnets (one per zone), the first vpc_endpoint_az_count of them. tests/iac/test_cost_floor
    checks that network.tf still says so."""
    ids = endpoint["after"].get("subnet_ids")
    if ids is not None:
        return len(ids)
    cap = _variable(plan, "vpc_endpoint_az_count")
    return subnets if cap is None else min(int(cap), subnets)


def inventory(plan: dict[str, Any], prices: Prices) -> list[FloorItem]:
    res = created(plan)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in res:
        by_type.setdefault(r["type"], []).append(r)
    hours = prices.hours_per_month
    items: list[FloorItem] = []

    for db in by_type.get("aws_db_instance", []):
        a = db["after"]
        copies = 2 if a.get("multi_az") else 1
        deployment = "Multi-AZ" if copies == 2 else "Single-AZ"
        items.append(FloorItem(f"RDS PostgreSQL {a['instance_class']}, {deployment}", db["address"],
                               f"{copies} x {hours:g} instance-hours",
                               copies * hours * prices.rds_hour(a["instance_class"])))
        items.append(FloorItem(f"RDS storage {a.get('storage_type', 'gp3')}, {deployment}", db["address"],
                               f"{copies} x {a['allocated_storage']} GB-month",
                               copies * a["allocated_storage"] * prices["rds_postgres_gp3_gb_month"]))

    endpoints = by_type.get("aws_vpc_endpoint", [])
    interface = [e for e in endpoints if e["after"].get("vpc_endpoint_type") == "Interface"]
    if interface:
        subnets = len(by_type.get("aws_subnet", []))
        zones = sum(_endpoint_zones(plan, e, subnets) for e in interface)
        services = sorted(e["after"]["service_name"].rsplit(".", 1)[-1] for e in interface)
        items.append(FloorItem(f"Interface VPC endpoints ({', '.join(services)})", _addresses(interface),
                               f"{zones} endpoint-zones x {hours:g} hours",
                               zones * hours * prices["vpc_interface_endpoint_az_hour"]))
    gateway = [e for e in endpoints if e["after"].get("vpc_endpoint_type") == "Gateway"]
    if gateway:
        items.append(FloorItem("Gateway VPC endpoint (S3)", _addresses(gateway), f"{len(gateway)} (free)", 0.0))
    nat = by_type.get("aws_nat_gateway", [])
    items.append(FloorItem("NAT gateways", _addresses(nat) or "none", f"{len(nat)} x {hours:g} hours",
                           len(nat) * hours * prices["nat_gateway_hour"]))

    keys = by_type.get("aws_kms_key", [])
    items.append(FloorItem("KMS customer managed keys", _addresses(keys), f"{len(keys)} keys",
                           len(keys) * prices["kms_key_month"]))
    alarms = by_type.get("aws_cloudwatch_metric_alarm", [])
    items.append(FloorItem("CloudWatch alarms (standard resolution)", _addresses(alarms), f"{len(alarms)} alarms",
                           len(alarms) * prices["cloudwatch_alarm_month"]))
    dashboards = by_type.get("aws_cloudwatch_dashboard", [])
    items.append(FloorItem("CloudWatch dashboards", _addresses(dashboards), f"{len(dashboards)} dashboards",
                           len(dashboards) * prices["cloudwatch_dashboard_month"]))
    secrets = by_type.get("aws_secretsmanager_secret", [])
    items.append(FloorItem("Secrets Manager secrets", _addresses(secrets) or "none", f"{len(secrets)} secrets",
                           len(secrets) * prices["secretsmanager_secret_month"]))

    mappings = [m for m in by_type.get("aws_lambda_event_source_mapping", [])]
    if mappings:
        receives = len(mappings) * IDLE_POLLERS * (60 / LONG_POLL_SECONDS) * 60 * hours
        items.append(FloorItem("SQS long polls of idle event source mappings", _addresses(mappings),
                               f"{receives:,.0f} ReceiveMessage ({IDLE_POLLERS} pollers, {LONG_POLL_SECONDS} s polls)",
                               receives * prices["sqs_request"]))
    return items


def schedules(plan: dict[str, Any], hours_per_month: float) -> dict[str, float]:
    """Scheduled rules (address -> invocations a month) from their rate(...) expressions."""
    out = {}
    minutes = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}
    for r in created(plan):
        expression = r["after"].get("schedule_expression") if r["type"] == "aws_cloudwatch_event_rule" else None
        match = re.fullmatch(r"rate\((\d+) (\w+)\)", expression or "")
        if match:
            every = int(match.group(1)) * minutes[match.group(2)]
            out[r["address"]] = hours_per_month * 60 / every
        elif expression:
            raise ValueError(f"{r['address']}: only rate(...) schedules are modelled, not {expression!r}")
    return out


def total(items: list[FloorItem]) -> float:
    return sum(i.monthly_usd for i in items)
