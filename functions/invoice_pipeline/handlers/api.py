"""API: the HTTP API's one Lambda. API Gateway (payload format 2.0) -> the Powertools resolver of
invoice_pipeline.api; the local API server calls this same handler with the events it builds.

The resolver (Powertools' OpenAPI machinery, pydantic, the route models) is built by the first request, not
by importing this module: importing it costs several times `import boto3` on its own, while a Lambda
environment's init should stay short (docs/performance.md gives both figures: the import, and the import
with the first request)."""

from __future__ import annotations

import gc
from typing import Any

from invoice_pipeline.observability import lambda_entry

_resolve: Any = None


def _resolver() -> Any:
    global _resolve
    if _resolve is None:
        from invoice_pipeline.api.app import handle

        _resolve = handle
        # Everything imported by now (pydantic, boto3, the route models) lives as long as the execution
        # environment. Moving it out of the collector's generations keeps each full collection from re-scanning
        # it: without this, a request that happens to trigger one pays several milliseconds (bench/bench_api.py's
        # p99).
        gc.collect()
        gc.freeze()
    return _resolve


def handle(event: dict[str, Any], context: Any) -> Any:
    return _resolver()(event, context)


handler = lambda_entry(handle)
