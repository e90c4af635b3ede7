"""SendTaskFailure keeps its Cause.

moto's response handler reads `taskToken` and `error` but drops `cause`, so a failed callback shows no reason
in the execution history, where AWS shows the one the caller sent. The interpreter behind it already carries
a cause: we only pass it through."""

from __future__ import annotations

from typing import Any

from moto.core.responses import EmptyResult
from moto.stepfunctions.responses import StepFunctionResponse


def send_task_failure(self: StepFunctionResponse) -> Any:
    backend = self.stepfunction_backend
    token, error, cause = self._get_param("taskToken"), self._get_param("error"), self._get_param("cause")
    try:
        backend.send_task_failure(token, error=error, cause=cause)  # type: ignore[call-arg]
    except TypeError:  # the backend without the interpreter (execution off) takes no cause
        backend.send_task_failure(token, error=error)
    return EmptyResult()


def install() -> None:
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]
