"""One Lambda execution environment: a process of its own that imports a function's handler once (the cold
start) and then runs one invocation at a time, as the Lambda runtime does.

lambda_process.py starts it as `python -P <this file>`, a fresh interpreter (never a fork of the emulation,
which has many threads): its module state, os.environ (the function's environment and what the runtime adds),
boto3 clients and Postgres connection are its own. It imports nothing of invoice_local, so the function sees
only its own code and the venv's libraries.

Protocol, one JSON object per line: the parent sends an init message, then one invocation per line on stdin;
answers go to the file descriptor that was stdout at start. stdout and stderr are then pointed at the
function's log file (as CloudWatch Logs receives a function's output), so nothing the function prints can
corrupt an answer. The process ends when stdin closes or its parent is gone."""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import IO, Any

Handler = Callable[[Any, Any], Any]


class LambdaContext:
    """The attributes Powertools and our handlers read from the real context object."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.function_name: str = fields["function_name"]
        self.function_version: str = fields["function_version"]
        self.invoked_function_arn: str = fields["invoked_function_arn"]
        self.memory_limit_in_mb: int = int(fields["memory_limit_in_mb"])
        self.aws_request_id: str = fields["aws_request_id"]
        self.log_group_name: str = fields["log_group_name"]
        self.log_stream_name: str = fields["log_stream_name"]
        self._deadline_ms: int = int(fields["deadline_ms"])

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def error_payload(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    return {"errorType": error_type or type(exc).__name__, "errorMessage": message if message is not None else str(exc),
            "stackTrace": traceback.format_exception(exc)[-10:]}


def load_handler(spec: str) -> tuple[Handler | None, dict[str, Any] | None]:
    """Import `module.function` as the Python runtime does, with its error names for what goes wrong."""
    module_name, _, attr = spec.rpartition(".")
    if not module_name:
        return None, {"errorType": "Runtime.MalformedHandlerName",
                      "errorMessage": f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
                      "stackTrace": []}
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return None, error_payload(exc, "Runtime.ImportModuleError",
                                   f"Unable to import module '{module_name}': {exc}")
    except SyntaxError as exc:
        return None, error_payload(exc, "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}")
    except Exception as exc:  # noqa: BLE001 - an error at import is the function's error, by its class name
        return None, error_payload(exc)
    handler = getattr(module, attr, None)
    if not callable(handler):
        return None, {"errorType": "Runtime.HandlerNotFound",
                      "errorMessage": f"Handler '{attr}' missing on module '{module_name}'", "stackTrace": []}
    return handler, None


def invoke(handler: Handler, request: dict[str, Any]) -> dict[str, Any]:
    context = LambdaContext(request["context"])
    started = time.perf_counter()
    try:
        result = handler(request["event"], context)
        answer: dict[str, Any] = {"ok": True, "payload": json.dumps(result, default=str)}
    except Exception as exc:  # noqa: BLE001 - every error becomes a Lambda function error, as in AWS
        answer = {"ok": False, "payload": json.dumps(error_payload(exc))}
    answer["duration_ms"] = (time.perf_counter() - started) * 1000
    return answer


def _send(out: IO[bytes], message: dict[str, Any]) -> None:
    out.write(json.dumps(message).encode() + b"\n")
    out.flush()


def _point_output_at(log_file: str | None) -> None:
    """fd 1 and 2 to the function's log file (append: several environments write to it, a line at a time), or
    both to the inherited stderr when there is none."""
    if log_file:
        fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    else:
        os.dup2(2, 1)
    # Powertools writes each record in one call: line buffering makes that one write(2) per line.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]


def _exit_with_parent(parent_pid: int) -> None:
    """stdin closing ends an idle worker; this ends one that is busy when the emulation's process dies.
    (PR_SET_PDEATHSIG would fire when the parent *thread* that spawned us ends: a request thread, soon.)"""
    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main() -> None:
    answers = os.fdopen(os.dup(1), "wb")
    requests = sys.stdin.buffer
    init = json.loads(requests.readline() or b"{}")
    if not init:
        return
    _point_output_at(init.get("log_file"))
    _exit_with_parent(int(init["parent_pid"]))
    sys.path[:0] = init["path_first"]
    sys.path.extend(init["path_last"])
    started = time.perf_counter()
    handler, init_error = load_handler(init["handler"])
    _send(answers, {"ready": True, "pid": os.getpid(), "init_ms": (time.perf_counter() - started) * 1000,
                    "init_error": init_error})
    if handler is None:
        return
    for line in requests:
        _send(answers, invoke(handler, json.loads(line)))


if __name__ == "__main__":
    main()
