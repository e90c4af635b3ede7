"""What runs whether documents come or not, priced a month: the scheduled dispatch function (its invocations,
duration, log lines and traces, measured warm in the emulation), the custom metrics the functions publish,
and the data keys of the KMS-encrypted intake queue. The resources themselves are in floor.py."""

from __future__ import annotations

from dataclasses import dataclass

from bench.cost.prices import Prices
from bench.cost.usage import FunctionUsage

# SQS asks KMS for a data key once per reuse period (300 s by default) per principal that sends or receives:
# here EventBridge (sending uploads' events) and the intake's pollers (receiving), while messages flow.
SQS_KEY_REUSE_SECONDS = 300
SQS_KMS_PRINCIPALS = 2


@dataclass(frozen=True)
class ActivityItem:
    what: str
    quantity: str
    monthly_usd: float
    basis: str


def activity(scheduled_invocations: float, scheduled: FunctionUsage, metrics_always: int, metrics_documents: int,
             prices: Prices) -> list[ActivityItem]:
    """`scheduled`: the scheduled function measured over some invocations (cold ones included: only their warm
    part is used). `metrics_always`: custom metrics it publishes every run; `metrics_documents`: those only
    document processing publishes (billed for the hours they are sent, so this is their most)."""
    n = max(scheduled.invocations, 1)
    warm_ms = (scheduled.billed_ms - scheduled.init_ms) / n
    gbs = scheduled_invocations * warm_ms / 1000 * scheduled.memory_mb / 1024
    log_bytes = scheduled_invocations * (scheduled.log_bytes + scheduled.platform_bytes) / n
    hours = prices.hours_per_month
    key_requests = SQS_KMS_PRINCIPALS * hours * 3600 / SQS_KEY_REUSE_SECONDS
    return [
        ActivityItem("Scheduled dispatch: invocations", f"{scheduled_invocations:,.0f} requests",
                     scheduled_invocations * prices["lambda_request"], "from the plan's rate(...)"),
        ActivityItem("Scheduled dispatch: duration",
                     f"{gbs:,.0f} GB-s ({warm_ms:.0f} ms warm x {scheduled.memory_mb} MB)",
                     gbs * prices["lambda_arm_gb_second"], "measured"),
        ActivityItem("Scheduled dispatch: log lines", f"{log_bytes / 1e9:.3f} GB",
                     log_bytes / 1e9 * prices["logs_ingest_gb"], "measured + modelled"),
        ActivityItem("Scheduled dispatch: X-Ray traces", f"{scheduled_invocations:,.0f} traces",
                     scheduled_invocations * prices["xray_trace_recorded"], "modelled"),
        ActivityItem("Custom metrics published every minute (dispatch's gauges)", f"{metrics_always} metrics",
                     metrics_always * prices["cloudwatch_custom_metric_month"], "measured (EMF lines)"),
        ActivityItem("Custom metrics of document processing (at most: documents in every hour)",
                     f"{metrics_documents} metrics", metrics_documents * prices["cloudwatch_custom_metric_month"],
                     "measured (EMF lines)"),
        ActivityItem("KMS data keys of the encrypted intake queue (at most: messages all month)",
                     f"{key_requests:,.0f} requests", key_requests * prices["kms_request"], "modelled"),
    ]


def total(items: list[ActivityItem]) -> float:
    return sum(i.monthly_usd for i in items)
