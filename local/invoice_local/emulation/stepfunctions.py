"""Two gaps in moto's Step Functions interpreter.

SendTaskFailure keeps its Cause: moto's response handler reads `taskToken` and `error` but drops `cause`, so a
failed callback shows no reason in the execution history, where AWS shows the one the caller sent. The
interpreter behind it already carries a cause: we only pass it through.

A Lambda service error in a Task whose Resource is a function ARN is named as AWS names it: moto's
`StateTaskLambda._from_error` calls every ClientError "Exception", while AWS reports `Lambda.<Code>` (a
throttled invoke is `Lambda.TooManyRequestsException`, which the ASL's Retry matches), with the cause in the
SDK's "(Service: AWSLambda; Status Code: 429; ...)" form. moto's `arn:aws:states:::lambda:invoke`
integration already does this; we reuse its naming. The interpreter's Lambda client makes one attempt (its
`boto_client_for` sets total_max_attempts=1), so the throttle reaches the state machine's Retry, as in AWS."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from moto.core.responses import EmptyResult
from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
    StateTaskServiceLambda,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.responses import StepFunctionResponse

_original_lambda_from_error: Any = None


def send_task_failure(self: StepFunctionResponse) -> Any:
    backend = self.stepfunction_backend
    token, error, cause = self._get_param("taskToken"), self._get_param("error"), self._get_param("cause")
    try:
        backend.send_task_failure(token, error=error, cause=cause)  # type: ignore[call-arg]
    except TypeError:  # the backend without the interpreter (execution off) takes no cause
        backend.send_task_failure(token, error=error)
    return EmptyResult()


def lambda_task_error(self: StateTaskLambda, env: Environment, ex: Exception) -> FailureEvent:
    """Replacement for StateTaskLambda._from_error: Lambda's own errors as `Lambda.<Code>`."""
    if not isinstance(ex, ClientError):
        return _original_lambda_from_error(self, env, ex)  # type: ignore[no-any-return]
    error, cause = StateTaskServiceLambda._error_cause_from_client_error(ex)
    return FailureEvent(
        env=env, error_name=CustomErrorName(error), event_type=HistoryEventType.LambdaFunctionFailed,
        # moto builds these TypedDicts with only the one key its event needs, as here
        event_details=EventDetails(lambdaFunctionFailedEventDetails=LambdaFunctionFailedEventDetails(  # type: ignore[typeddict-item]
            error=error, cause=cause)))


def install() -> None:
    global _original_lambda_from_error
    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]
    if StateTaskLambda._from_error.__module__ != __name__:
        _original_lambda_from_error = StateTaskLambda._from_error
        StateTaskLambda._from_error = lambda_task_error  # type: ignore[method-assign]
