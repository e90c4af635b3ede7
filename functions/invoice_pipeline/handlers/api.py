"""API: the HTTP API's one Lambda. API Gateway (payload format 2.0) -> the Powertools resolver of
invoice_pipeline.api; the local API server calls this same handler with the events it builds."""

from __future__ import annotations

import gc

from invoice_pipeline.api.app import handle
from invoice_pipeline.observability import lambda_entry

handler = lambda_entry(handle)

# Everything imported by now (pydantic, boto3, the route models) lives as long as the execution environment.
# Moving it out of the collector's generations keeps each full collection from re-scanning it: without this,
# a request that happens to trigger one pays several milliseconds (bench/bench_api.py's p99).
gc.collect()
gc.freeze()
