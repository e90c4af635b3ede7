"""Run Lambda functions as AWS does, in execution environments of their own, instead of in Docker.

moto invokes every Lambda (from the Step Functions interpreter, boto3 Invoke, SNS, S3, EventBridge) through
`LambdaFunction.invoke(body, request_headers, response_headers)`, which calls `_invoke_lambda` (Docker). We
replace `invoke`, the one place that sees the request's headers and so the invocation type:

- RequestResponse (boto3's default; the Step Functions interpreter's calls): runs now, in an environment
  (lambda_pool.py); over the function's or the account's concurrency it is refused with AWS's
  TooManyRequestsException (HTTP 429, with the throttle's `Reason`).
- Event (InvocationType=Event, our EventBridge targets): answered 202 at once and run on a queue thread, which
  waits for a free slot instead of being refused, as Lambda's internal queue retries it.
- moto's own services (SNS, S3 notifications, EventBridge, SQS/Kinesis/DynamoDB pollers) call `invoke` with
  empty headers: asynchronous in AWS too, so never refused; they run on the caller's thread, waiting for a
  slot, because some of those callers read the function error from the response headers.
- DryRun: answered without running the function, as AWS does.

Server mode (`attach(endpoint)`, called by server.start) runs every invocation in a worker process. Under
moto's decorator (`mock_aws`, no server) a worker could not reach the in-memory emulation, so the function
runs here, in this process, as before (`invoke_in_process`, through moto's original `invoke`).

`invocations` keeps the latest calls (function, event, ok, result or error, timing) for tests and debugging."""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError
from moto.awslambda.models import LambdaBackend, LambdaFunction

from invoice_local import logs
from invoice_local.emulation.lambda_pool import Invocation, Pool, Settings, Superseded, Throttled, refuse_reservation
from invoice_local.logs import function_context

log = logging.getLogger(__name__)

_env_lock = threading.RLock()
_original_invoke: Any = None
_original: Any = None  # moto's _invoke_lambda (Docker), kept for the canary test
# The latest calls (function, event, result or error type), for tests and debugging; bounded for long runs.
invocations: deque[dict[str, Any]] = deque(maxlen=2000)
pool = Pool()
pool.settings.log_file = logs.function_log_file

# Environment variables that set what configure() sets, read when the emulation starts (attach).
ENV_CONCURRENCY = "INVOICES_LAMBDA_CONCURRENCY"
ENV_IDLE_SECONDS = "INVOICES_LAMBDA_IDLE_SECONDS"
ENV_CODE = "INVOICES_LAMBDA_CODE"
_configured: set[str] = set()


class TooManyRequestsException(LambdaClientError):
    """What Lambda answers an invocation over a concurrency limit (the Invoke API's modeled error: botocore
    puts `Reason` and `Type` beside `Error` in the response)."""

    code = 429

    def __init__(self, reason: str) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.description = json.dumps({"Reason": reason, "Type": "User", "message": "Rate Exceeded."})


# --- settings and the public surface ------------------------------------------------------------------------
def configure(*, account_concurrency: int | None = None, idle_seconds: float | None = None,
              async_max_wait_seconds: float | None = None, code: str | None = None,
              unreserved_minimum: int | None = None) -> Settings:
    """Set the account's concurrency limit (AWS's default quota: 1000) and the part of it reservations must
    leave unreserved (AWS: 100), how long an idle environment stays
    warm, how long an asynchronous event may wait for a slot, and which code the workers import first
    ("deployed": the function's package as moto holds it; "repo": this checkout's functions/). Unset values
    keep theirs; ones never set come from INVOICES_LAMBDA_CONCURRENCY, INVOICES_LAMBDA_IDLE_SECONDS and
    INVOICES_LAMBDA_CODE when the emulation starts."""
    settings = pool.settings
    given = {"account_concurrency": account_concurrency, "idle_seconds": idle_seconds,
             "async_max_wait_seconds": async_max_wait_seconds, "code": code,
             "unreserved_minimum": unreserved_minimum}
    for name, value in given.items():
        if value is not None:
            setattr(settings, name, value)
            _configured.add(name)
    if settings.code not in ("deployed", "repo"):
        raise ValueError(f"code must be 'deployed' or 'repo', not {settings.code!r}")
    if settings.account_concurrency < 1:
        raise ValueError(f"account_concurrency must be at least 1, not {settings.account_concurrency}")
    pool.settings_changed()
    return settings


def attach(endpoint: str) -> None:
    """Server mode: from now on every invocation runs in a worker process that reaches the emulation at
    `endpoint`."""
    from_env: dict[str, Callable[[str], Any]] = {ENV_CONCURRENCY: int, ENV_IDLE_SECONDS: float, ENV_CODE: str}
    names = {ENV_CONCURRENCY: "account_concurrency", ENV_IDLE_SECONDS: "idle_seconds", ENV_CODE: "code"}
    for var, parse in from_env.items():
        if os.environ.get(var) and names[var] not in _configured:
            setattr(pool.settings, names[var], parse(os.environ[var]))
    configure()  # validates
    pool.settings.endpoint = endpoint


def detach() -> None:
    """The emulation stops: every worker ends."""
    pool.settings.endpoint = None
    pool.reset()


def reset() -> None:
    """Retire every environment (the functions of a restored snapshot may differ), drop asynchronous events
    still waiting, and forget the statistics."""
    pool.reset()


def reset_stats() -> None:
    pool.reset_stats()


def stats() -> dict[str, dict[str, Any]]:
    """Per function name: environments (live now) and peak_environments; concurrent (in flight now, what
    CloudWatch's ConcurrentExecutions shows) and peak; invocations, cold_starts, throttles, errors, timeouts;
    init_ms, durations_ms and billed_ms per invocation; memory_mb and gb_seconds for a cost model."""
    return pool.stats()


def account_stats() -> dict[str, int]:
    """The same counts over every function: environments, peak_environments, concurrent, peak."""
    return pool.account_stats()


# --- the seam -------------------------------------------------------------------------------------------------
def invocation_type(request_headers: Mapping[str, str] | None) -> str:
    """RequestResponse, Event or DryRun as the caller asked; "internal" for moto's own services, which pass
    no headers at all."""
    if not request_headers:
        return "internal"
    for name in ("x-amz-invocation-type", "X-Amz-Invocation-Type"):
        value = request_headers.get(name)
        if value:
            return str(value)
    return "RequestResponse"


def _workers_enabled() -> bool:
    from moto.core.models import botocore_stubber

    return pool.settings.endpoint is not None and not botocore_stubber.enabled


def _event(body: Any) -> Any:
    if body is None or body == "" or body == b"":
        return {}
    return json.loads(body) if isinstance(body, (str, bytes)) else body


def invoke(self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> str | bytes:
    """Replacement for LambdaFunction.invoke: the payload (bytes for RequestResponse, as moto returns it)."""
    if not _workers_enabled():
        return _original_invoke(self, body, request_headers, response_headers)  # type: ignore[no-any-return]
    kind = invocation_type(request_headers)
    event = _event(body)
    if kind == "DryRun":
        return b""
    caller = threading.current_thread().name  # who invoked (a poller, the scheduler, a request), for tests
    if kind == "Event":
        threading.Thread(target=_run_queued, args=(self, event, caller), daemon=True,
                         name=f"lambda-event-{self.function_name}").start()
        return b""
    try:
        invocation = pool.run(self, event, wait=kind == "internal")
    except Throttled as exc:
        if kind == "internal":  # waited as long as Lambda retries an event: it would go to a DLQ now
            log.warning("%s: event dropped after waiting for concurrency (%s)", self.function_name, exc.reason)
            return ""
        raise TooManyRequestsException(exc.reason) from None
    except Superseded:
        return ""
    _record(self, event, invocation, kind, caller)
    if invocation.outcome.function_error:
        response_headers["x-amz-function-error"] = invocation.outcome.function_error
    if kind == "RequestResponse":
        response_headers["x-amz-executed-version"] = str(self.version)
        response_headers["x-amz-log-result"] = base64.b64encode(b"").decode()
        return invocation.outcome.payload.encode("utf-8")
    return invocation.outcome.payload


def _run_queued(fn: LambdaFunction, event: Any, caller: str) -> None:
    try:
        invocation = pool.run(fn, event, wait=True)
    except Throttled as exc:
        log.warning("%s: event dropped after waiting for concurrency (%s)", fn.function_name, exc.reason)
        return
    except Superseded:
        return
    _record(fn, event, invocation, "Event", caller)


def _record(fn: LambdaFunction, event: Any, invocation: Invocation, kind: str, caller: str) -> None:
    outcome = invocation.outcome
    record: dict[str, Any] = {
        "function": fn.function_name, "handler": fn.handler, "event": event, "ok": outcome.ok,
        "invocation_type": kind, "caller": caller, "request_id": invocation.request_id, "pid": invocation.pid,
        "cold": invocation.cold, "init_ms": invocation.init_ms, "duration_ms": outcome.duration_ms,
        "billed_ms": invocation.billed_ms, "memory_mb": invocation.memory_mb,
    }
    payload = json.loads(outcome.payload) if outcome.payload else None
    if outcome.ok:
        record["result"] = payload
    else:
        record["error"] = payload.get("errorType") if isinstance(payload, dict) else "Unknown"
        record["error_message"] = payload.get("errorMessage") if isinstance(payload, dict) else None
    invocations.append(record)


# --- in this process, under moto's decorator ------------------------------------------------------------------
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
    """Replacement for LambdaFunction._invoke_lambda under moto's decorator: the handler is imported and called
    in this process, with the function's environment applied to os.environ (shared by every function here:
    the pipeline's functions all take the same settings, and read them on every call). Returns (payload,
    errored, logs) like the original."""
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


def put_function_concurrency(self: LambdaBackend, function_name: str, reserved_concurrency: str) -> str:
    """PutFunctionConcurrency (Terraform's reserved_concurrent_executions), refused as Lambda refuses a
    reservation that leaves the account less than its minimum unreserved concurrency (moto checks it only
    under MOTO_LAMBDA_CONCURRENCY_QUOTA, against a fixed 100)."""
    fn = self.get_function(function_name)
    reason = refuse_reservation(pool.settings, fn.account_id, fn.region, fn.function_name, int(reserved_concurrency))
    if reason:
        raise InvalidParameterValueException(reason)
    fn.reserved_concurrency = reserved_concurrency
    return fn.reserved_concurrency


def install() -> None:
    global _original, _original_invoke
    if getattr(LambdaFunction.invoke, "__module__", "") == __name__:
        return
    LambdaBackend.put_function_concurrency = put_function_concurrency  # type: ignore[method-assign]
    _original = LambdaFunction._invoke_lambda
    _original_invoke = LambdaFunction.invoke
    LambdaFunction._invoke_lambda = invoke_in_process  # type: ignore[method-assign]
    LambdaFunction.invoke = invoke  # type: ignore[method-assign]
