"""The functions' Powertools Tracer, built only where it traces.

`Tracer()` imports the X-Ray SDK whatever its configuration (its default provider is the SDK's recorder), and
that import alone costs more than `import boto3` (outside Lambda it even builds a botocore client for
centralized sampling). Where Powertools would not trace anyway (POWERTOOLS_TRACE_DISABLED, which Terraform sets
in local mode; outside Lambda; under SAM or Chalice local) the decorators here return the function unchanged
and nothing of X-Ray is imported. Where it would trace (a deployed function: AWS sets LAMBDA_TASK_ROOT and the
function's tracing is Active), the Tracer is built on the first decoration, at import time as before, patches
every supported library, and wraps the handler exactly as `Tracer().capture_lambda_handler` did."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer
    from aws_lambda_powertools.tracing.base import BaseProvider


def tracing_enabled() -> bool:
    """Powertools' own rule (the same environment variables, read the same way), without building a Tracer."""
    from aws_lambda_powertools.tracing.tracer import Tracer

    return not Tracer._is_tracer_disabled()  # noqa: SLF001


class LazyTracer:
    """Stands for a Powertools Tracer: `capture_lambda_handler` and `capture_method` decorate with the real
    Tracer when tracing is enabled and are the identity otherwise; any other attribute is the real Tracer's
    (built on demand). `provider` replaces the X-Ray recorder (tests pass a fake)."""

    def __init__(self, provider: BaseProvider | None = None) -> None:
        self._provider = provider
        self._tracer: Tracer | None = None

    @property
    def enabled(self) -> bool:
        return tracing_enabled()

    def get(self) -> Tracer:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(provider=self._provider)
        return self._tracer

    def capture_lambda_handler(self, fn: Callable[..., Any], **options: Any) -> Callable[..., Any]:
        if not self.enabled:
            return fn
        return self.get().capture_lambda_handler(fn, **options)

    def capture_method(self, fn: Callable[..., Any] | None = None, **options: Any) -> Any:
        if fn is None:  # used as @tracer.capture_method(...)
            return lambda f: self.capture_method(f, **options)
        if not self.enabled:
            return fn
        return self.get().capture_method(fn, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)
