"""What the backfill adds per document to the pipeline's own cost (a backfilled document then goes through the
intake like an upload, without the upload's PUT): its Standard parent execution's transitions, one more per
child it starts; the Express children (one per batch of ten objects), billed per request and GB-second; the
backfill function; the listing, a HEAD per object and a SendMessageBatch per batch; their log lines."""

from __future__ import annotations

from dataclasses import dataclass

from bench.cost.prices import Prices
from bench.cost.transitions import express_billed_gb_seconds
from bench.cost.usage import FunctionUsage, LineItem

# An Express child is its one Task (the backfill function) plus Step Functions' own overhead, and is billed
# in 64 MB steps of the memory its definition and payload take (ten small items: the first step).
CHILD_OVERHEAD_SECONDS = 0.05
CHILD_MEMORY_MB = 64


@dataclass
class BackfillUsage:
    documents: int
    parent_transitions: int  # entered states and retries of the Standard parent, plus one per child started
    children: int
    function: FunctionUsage
    list_requests: int
    head_requests: int
    send_batches: int
    parent_log_bytes: int


def line_items(run: BackfillUsage, prices: Prices) -> list[LineItem]:
    n = run.documents
    fn = run.function
    child_seconds = fn.billed_ms / max(fn.invocations, 1) / 1000 + CHILD_OVERHEAD_SECONDS
    child_gbs = run.children * express_billed_gb_seconds(child_seconds, CHILD_MEMORY_MB)
    logs = fn.log_bytes + fn.platform_bytes + run.parent_log_bytes
    return [
        LineItem("Step Functions", "backfill (Standard): transitions, one per child started",
                 run.parent_transitions / n, "transitions",
                 run.parent_transitions / n * prices["sfn_standard_transition"], "measured"),
        LineItem("Step Functions", "Express children (one per 10 objects): requests", run.children / n, "requests",
                 run.children / n * prices["sfn_express_request"], "measured"),
        LineItem("Step Functions", f"Express children: duration x {CHILD_MEMORY_MB} MB", child_gbs / n, "GB-seconds",
                 child_gbs / n * prices["sfn_express_gb_second"], "modelled from the function's duration"),
        LineItem("Lambda", "backfill function: invocations", fn.invocations / n, "requests",
                 fn.invocations / n * prices["lambda_request"], "measured"),
        LineItem("Lambda", "backfill function: duration x configured memory", fn.gb_seconds / n, "GB-seconds",
                 fn.gb_seconds / n * prices["lambda_arm_gb_second"], "measured"),
        LineItem("S3", "ListObjectsV2 (1,000 keys a page)", run.list_requests / n, "requests",
                 run.list_requests / n * prices["s3_put_request"], "measured"),
        LineItem("S3", "HEAD of each object", run.head_requests / n, "requests",
                 run.head_requests / n * prices["s3_get_request"], "measured"),
        LineItem("SQS", "SendMessageBatch to the intake (10 a batch)", run.send_batches / n, "requests",
                 run.send_batches / n * prices["sqs_request"], "measured"),
        LineItem("CloudWatch Logs", "backfill function and execution log", logs / n / 1e9, "GB ingested",
                 logs / n / 1e9 * prices["logs_ingest_gb"], "measured + modelled"),
    ]
