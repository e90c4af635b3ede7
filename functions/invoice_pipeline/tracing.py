"""The functions' tracer: X-Ray subsegments where Powertools would trace, nothing at all where it would not.

Where tracing is off (POWERTOOLS_TRACE_DISABLED, which Terraform sets in local mode; outside Lambda; under SAM
or Chalice local: Powertools' own rule, `tracing_enabled`) the decorators return the function unchanged. Where
it is on (a deployed function: AWS sets LAMBDA_TASK_ROOT and the function's tracing is Active), importing
adapters/aws.py, where every boto3 client is made, patches botocore (`trace_aws_sdk`), and the decorators
record subsegments with invoice_pipeline.xray, which sends them to the X-Ray daemon itself: Powertools' Tracer
and the X-Ray SDK behind it cost main's cold start (init and first call) about a fifth more (docs/performance.md).
What is recorded is what the Tracer recorded: a "## <handler>" subsegment per invocation, annotated ColdStart
and Service, with the handler's exception; a "## <module>.<function>" subsegment per traced method; one per AWS
SDK call; and, which the SDK's pg8000 patch never recorded for pg8000.native, one per statement sent to
Postgres (adapters/db.py, `traced_connection`)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

from invoice_pipeline import xray


def tracing_enabled() -> bool:
    """Powertools' own rule (the same environment variables, read the same way), without building a Tracer."""
    from aws_lambda_powertools.tracing.tracer import Tracer

    return not Tracer._is_tracer_disabled()  # noqa: SLF001


class FunctionTracer:
    """`capture_lambda_handler` and `capture_method`, as Powertools' Tracer names them: they record X-Ray
    subsegments where tracing is enabled and are the identity otherwise."""

    def __init__(self) -> None:
        self._cold_start = True

    @property
    def enabled(self) -> bool:
        return tracing_enabled()

    def capture_lambda_handler(self, fn: Callable[..., Any], **_options: Any) -> Callable[..., Any]:
        if not self.enabled:
            return fn
        name = f"## {fn.__name__}"
        service = os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")

        @functools.wraps(fn)
        def traced(event: Any, context: Any) -> Any:
            cold_start, self._cold_start = self._cold_start, False
            with xray.subsegment(name) as segment:
                if segment is not None:
                    segment.annotate("ColdStart", cold_start)
                    segment.annotate("Service", service)
                return fn(event, context)

        return traced

    def capture_method(self, fn: Callable[..., Any] | None = None, **options: Any) -> Any:
        if fn is None:  # used as @tracer.capture_method(...)
            return lambda f: self.capture_method(f, **options)
        if not self.enabled:
            return fn
        name = f"## {fn.__module__}.{fn.__qualname__}".replace("<", "").replace(">", "")

        @functools.wraps(fn)
        def traced(*args: Any, **kwargs: Any) -> Any:
            with xray.subsegment(name):
                return fn(*args, **kwargs)

        return traced


def trace_aws_sdk() -> None:
    """Where tracing is enabled, record every AWS SDK call from now on (botocore patched once)."""
    if tracing_enabled():
        xray.patch_botocore()


def traced_connection(con: Any, database: str, host: str, user: str) -> Any:
    """A new Postgres connection, recording its statements where tracing is enabled; unchanged otherwise."""
    return xray.traced_connection(con, database, host, user) if tracing_enabled() else con
