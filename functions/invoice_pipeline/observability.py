"""Powertools Logger, Tracer and Metrics, configured once for every function.

Service name, namespace and log level come from the POWERTOOLS_* variables Terraform sets. The correlation
id of every log line is the document id, so one filter in CloudWatch Logs Insights shows a document's whole
journey across the functions.

Tracing costs nothing where it is off, and little where it is on: the functions do not import the X-Ray SDK
or Powertools' Tracer (they cost main's cold start, init and first call, about a fifth more; docs/performance.md).
Where Powertools would trace, i.e. in Lambda without POWERTOOLS_TRACE_DISABLED, tracing.py records the same
subsegments itself; elsewhere handlers are left unwrapped."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from invoice_pipeline.tracing import FunctionTracer

logger = Logger()
tracer = FunctionTracer()
# Powertools reads the namespace when this module is imported; without a default, a process that imports a
# handler before setting POWERTOOLS_METRICS_NAMESPACE fails every later metrics flush.
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "InvoicePipeline")

# Most API requests and many tasks add no metric; Powertools then warns on every flush. That is expected here,
# and the warning would be one more line in every cold start's log.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

Handler = Callable[[dict[str, Any], Any], Any]


def document_id_of(event: Any) -> str | None:
    """The document id wherever the state machine put it in a handler's input."""
    if not isinstance(event, dict):
        return None
    for path in (("document", "document_id"), ("input", "document", "document_id"), ("document_id",)):
        node: Any = event
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str):
            return node
    return None


def lambda_entry(fn: Handler) -> Handler:
    """Wrap a handler with context logging, tracing and metrics flushing. Exceptions propagate unchanged:
    their class name is the Error that the state machine catches by name."""

    @functools.wraps(fn)
    def wrapper(event: dict[str, Any], context: Any) -> Any:
        logger.set_correlation_id(document_id_of(event))
        try:
            return fn(event, context)
        except Exception as exc:
            metrics.add_metric(name=f"Error.{type(exc).__name__}", unit=MetricUnit.Count, value=1)
            logger.exception("handler failed", extra={"error": type(exc).__name__})
            raise

    with_logging: Handler = logger.inject_lambda_context(clear_state=True)(wrapper)
    with_tracing: Handler = tracer.capture_lambda_handler(with_logging, capture_response=False)
    return metrics.log_metrics(with_tracing)  # type: ignore[no-any-return]


def count(name: str, value: float = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
