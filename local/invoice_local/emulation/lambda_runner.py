"""Run Lambda functions in this process instead of in Docker.

moto invokes every Lambda (from the Step Functions interpreter, boto3 Invoke, SNS, S3, EventBridge) through
one method, `LambdaFunction._invoke_lambda`, which starts a Docker container. We replace that method: the
function's `Handler` ("package.module.function") is imported and called here, with the function's
environment applied and a Lambda-like context. An exception becomes a function error whose payload has the
same shape as AWS's ({"errorType": <class name>, "errorMessage", "stackTrace"}), so the state machine catches
errors by name exactly as in AWS. Each call runs in `function_context`, which sends its log lines to the
function's own file in local mode and keeps its Powertools keys (correlation id, ...) to itself.

Handlers share this process's os.environ and module state. The pipeline's functions all take the same
settings, so applying each function's environment before its call is faithful for them; the handlers read
their settings on every call, so a changed value is never shadowed by a cache."""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction

from invoice_local.logs import function_context

_env_lock = threading.RLock()
_original: Any = None
# The latest calls (function, event, result or error type), for tests and debugging; bounded for long runs.
invocations: deque[dict[str, Any]] = deque(maxlen=2000)


class LambdaContext:
    """The attributes Powertools and our handlers read from the real context object."""

    def __init__(self, fn: LambdaFunction) -> None:
        self.function_name = fn.function_name
        self.function_version = fn.version
        self.invoked_function_arn = fn.function_arn
        self.memory_limit_in_mb = int(fn.memory_size or 128)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{fn.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self._deadline = time.monotonic() + float(fn.timeout or 3)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _apply_environment(variables: dict[str, str]) -> None:
    with _env_lock:
        changed = {k: v for k, v in variables.items() if os.environ.get(k) != v}
        if changed:
            os.environ.update(changed)


def _runtime_environment(fn: LambdaFunction) -> dict[str, str]:
    """What the Lambda runtime adds to every function's environment (moto's Docker path sets the same):
    region and the execution role's credentials, here the emulation's fake ones unless some are set."""
    return {
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "role-account-id",
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "role-secret-key",
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
    }


def resolve_handler(handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {handler!r} is not of the form module.function")
    return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]


def invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    """Replacement for LambdaFunction._invoke_lambda: returns (payload, errored, logs) like the original."""
    if event is None or event == "":
        event = {}
    if isinstance(event, (str, bytes)):
        event = json.loads(event)
    _apply_environment({**_runtime_environment(self), **dict(self.environment_vars or {})})
    record: dict[str, Any] = {"function": self.function_name, "handler": self.handler, "event": event}
    try:
        handler = resolve_handler(str(self.handler))
        with function_context(self.function_name):
            result = handler(event, LambdaContext(self))
        record.update(ok=True, result=result)
        invocations.append(record)
        return json.dumps(result, default=str), False, ""
    except Exception as exc:  # noqa: BLE001 - every error becomes a Lambda function error, as in AWS
        record.update(ok=False, error=type(exc).__name__)
        invocations.append(record)
        payload = {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-10:],
        }
        return json.dumps(payload), True, ""


def install() -> None:
    global _original
    if getattr(LambdaFunction._invoke_lambda, "__name__", "") == invoke_in_process.__name__:
        return
    _original = LambdaFunction._invoke_lambda
    LambdaFunction._invoke_lambda = invoke_in_process  # type: ignore[method-assign]
