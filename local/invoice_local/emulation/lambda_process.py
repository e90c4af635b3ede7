"""The emulation's side of one execution environment (lambda_worker.py): start it, hand it an invocation with
the function's deadline, kill it.

A worker that misses the deadline is killed and the invocation fails as AWS reports it, `Sandbox.Timedout`
with "Task timed out after N seconds"; one that dies mid-invocation fails it with `Runtime.ExitError`."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("lambda_worker.py")


@dataclass(frozen=True)
class Outcome:
    """What one invocation gave: the payload as AWS returns it (JSON text), whether it is a function error
    (and of which kind, the x-amz-function-error header), and the time it ran."""

    payload: str
    function_error: str | None  # None, "Handled" (the handler raised) or "Unhandled" (timeout, crash)
    duration_ms: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.function_error is None


class EnvironmentGone(Exception):
    """The worker exited or broke the protocol."""


def runtime_failure(error_type: str, message: str) -> str:
    return json.dumps({"errorType": error_type, "errorMessage": message})


class WorkerProcess:
    def __init__(self, *, handler: str, env: dict[str, str], path_first: list[str], path_last: list[str],
                 log_file: Path | None, init_seconds: float) -> None:
        """Start the interpreter and import the handler (the cold start); raises EnvironmentGone if it does
        not come up within `init_seconds`. An error raised by the function's own code at import is kept in
        `init_error` (the process has then exited): the invocation reports it, as Lambda does."""
        self._buffer = b""
        # A session of its own: Ctrl-C in local mode's terminal reaches the emulation, which stops the workers,
        # instead of interrupting whatever they run.
        self.process = subprocess.Popen([sys.executable, "-P", str(WORKER)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=env, start_new_session=True)
        self.pid = self.process.pid
        started = time.monotonic()
        try:
            self._send({"handler": handler, "parent_pid": os.getpid(),
                        "log_file": str(log_file) if log_file else None,
                        "path_first": path_first, "path_last": path_last})
            ready = self._receive(started + init_seconds)
        except EnvironmentGone:
            self.kill()
            raise
        if ready is None:
            self.kill()
            raise EnvironmentGone(f"the environment did not start within {init_seconds:.0f} s")
        self.init_ms: float = float(ready["init_ms"])
        self.init_error: dict[str, Any] | None = ready.get("init_error")
        if self.init_error is not None:
            self.kill()

    def invoke(self, event: Any, context: dict[str, Any], timeout: float) -> Outcome:
        started = time.monotonic()
        try:
            self._send({"event": event, "context": context})
            answer = self._receive(started + timeout)
        except EnvironmentGone:
            self.kill()
            code = self.process.returncode
            reason = f"signal: {-code}" if code is not None and code < 0 else f"exit status {code}"
            return Outcome(runtime_failure("Runtime.ExitError",
                                           f"RequestId: {context['aws_request_id']} Error: Runtime exited with "
                                           f"error: {reason}"), "Unhandled", (time.monotonic() - started) * 1000)
        if answer is None:
            self.kill()
            return Outcome(runtime_failure("Sandbox.Timedout",
                                           f"RequestId: {context['aws_request_id']} Error: Task timed out after "
                                           f"{timeout:.2f} seconds"), "Unhandled", timeout * 1000, timed_out=True)
        return Outcome(answer["payload"], None if answer["ok"] else "Handled", float(answer["duration_ms"]))

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def _send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        try:
            assert stdin is not None
            stdin.write(json.dumps(message, default=str).encode() + b"\n")
            stdin.flush()
        except (OSError, ValueError) as exc:
            raise EnvironmentGone(str(exc)) from exc

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The next answer, or None once `deadline` (monotonic) passes; EnvironmentGone if the worker exits."""
        stdout = self.process.stdout
        if stdout is None or stdout.closed:
            raise EnvironmentGone("no answer channel")
        fd = stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise EnvironmentGone("the worker exited")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            answer: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EnvironmentGone(f"unreadable answer: {line[:200]!r}") from exc
        return answer
