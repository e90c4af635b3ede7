"""Canary: our patches into moto sit on named seams of one exact moto version. If an upgrade moves a seam,
these tests fail loudly here instead of the pipeline tests failing mysteriously."""

from __future__ import annotations

import inspect
import io
import json
import zipfile
from importlib.metadata import version

import boto3
import pytest
from invoice_local import emulation
from invoice_local.deployment import REGION
from invoice_local.emulation import lambda_runner, policy_conditions, stepfunctions
from moto import mock_aws


def test_moto_is_the_pinned_version() -> None:
    assert version("moto") == emulation.MOTO_VERSION


def test_seams_exist_with_the_expected_signatures() -> None:
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    from moto.awslambda.responses import LambdaResponse
    from moto.events.models import Rule
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
        StateTaskServiceLambda,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
    from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
    from moto.stepfunctions.responses import StepFunctionResponse
    from moto.textract.responses import TextractResponse

    emulation.install()
    assert list(inspect.signature(lambda_runner._original).parameters) == ["self", "event"]
    assert LambdaFunction._invoke_lambda is lambda_runner.invoke_in_process
    # Every invocation passes through LambdaFunction.invoke, the one place that sees the request headers
    # (hence the invocation type): the API through the backend, moto's own services with empty headers.
    assert list(inspect.signature(lambda_runner._original_invoke).parameters) == [
        "self", "body", "request_headers", "response_headers"]
    assert LambdaFunction.invoke is lambda_runner.invoke
    assert "fn.invoke(body, headers, response_headers)" in inspect.getsource(LambdaBackend.invoke)
    assert "self.backend.invoke(" in inspect.getsource(LambdaResponse.invoke)
    for internal in (LambdaBackend.send_sns_message, LambdaBackend.send_log_event):
        assert "func.invoke(json.dumps(event), {}, {})" in inspect.getsource(internal)
    from moto.events import notifications as events_notifications
    from moto.s3 import notifications as s3_notifications

    assert "func.invoke(json.dumps(event_body), {}, {})" in inspect.getsource(s3_notifications)
    assert "headers={}," in inspect.getsource(events_notifications._invoke_lambda)
    # Lambda's own errors in a function-ARN Task are named Lambda.<Code>, with the integration's naming; the
    # interpreter's Lambda client makes one attempt, so a throttle reaches the state machine's Retry.
    assert StateTaskLambda._from_error is stepfunctions.lambda_task_error
    assert list(inspect.signature(stepfunctions._original_lambda_from_error).parameters) == ["self", "env", "ex"]
    assert list(inspect.signature(StateTaskServiceLambda._error_cause_from_client_error).parameters) == [
        "client_error"]
    assert boto_client_for(region=REGION, service="lambda").meta.config.retries["total_max_attempts"] == 1
    assert Rule.send_to_targets.__module__ == "invoice_local.emulation.eventbridge"
    from moto.iam.access_control import IAMPolicyStatement

    assert IAMPolicyStatement.is_action_permitted.__module__ == "invoice_local.emulation.policy_conditions"
    assert list(inspect.signature(policy_conditions._original).parameters) == [
        "self", "action", "resource", "principal", "incoming_condition_values"]
    assert StepFunctionResponse.send_task_failure.__module__ == "invoice_local.emulation.stepfunctions"
    for api in ("start_expense_analysis", "get_expense_analysis", "analyze_expense"):
        assert getattr(TextractResponse, api).__module__ == "invoice_local.emulation.textract"


def echo(event: dict, context: object) -> dict:  # the handler the canary function runs
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"echo": event, "function": context.function_name}  # type: ignore[attr-defined]


@pytest.fixture
def canary_function(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    emulation.install()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(RoleName="canary", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("x.txt", "x")
        lam = boto3.client("lambda", region_name=REGION)
        arn = lam.create_function(FunctionName="canary", Runtime="python3.12", Role=role,
                                  Handler=f"{__name__}.echo", Code={"ZipFile": buf.getvalue()})["FunctionArn"]
        yield arn


def test_boto3_invoke_runs_in_process(canary_function: str) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    out = lam.invoke(FunctionName=canary_function, Payload=json.dumps({"x": 1}))
    assert json.loads(out["Payload"].read()) == {"echo": {"x": 1}, "function": "canary"}
    failed = lam.invoke(FunctionName=canary_function, Payload=json.dumps({"fail": True}))
    assert failed["FunctionError"] == "Handled"
    payload = json.loads(failed["Payload"].read())
    assert payload["errorType"] == "ValueError" and payload["errorMessage"] == "asked to fail"


def test_state_machine_calls_the_function_and_catches_by_error_name(canary_function: str) -> None:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {"StartAt": "Call", "States": {
        "Call": {"Type": "Task", "Resource": canary_function, "Catch": [
            {"ErrorEquals": ["ValueError"], "ResultPath": "$.error", "Next": "Caught"}], "End": True},
        "Caught": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}}}
    arn = sfn.create_state_machine(name="canary", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    ok = sfn.start_execution(stateMachineArn=arn, name="ok", input=json.dumps({"x": 2}))["executionArn"]
    bad = sfn.start_execution(stateMachineArn=arn, name="bad", input=json.dumps({"fail": True}))["executionArn"]
    import time

    for _ in range(100):
        states = [sfn.describe_execution(executionArn=a) for a in (ok, bad)]
        if all(s["status"] != "RUNNING" for s in states):
            break
        time.sleep(0.1)
    assert states[0]["status"] == "SUCCEEDED"
    assert json.loads(states[0]["output"])["echo"] == {"x": 2}
    assert states[1]["status"] == "FAILED" and states[1]["error"] == "ValueError"


def test_bucket_policy_conditions_are_evaluated_as_iam_does() -> None:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    emulation.install()

    def deny_when(secure: str) -> IAMPolicyStatement:
        return IAMPolicyStatement({"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
                                   "Resource": "arn:aws:s3:::b/*",
                                   "Condition": {"Bool": {"aws:SecureTransport": secure}}})

    # loopback counts as secure transport: the TLS-only statement does not apply, its opposite does
    assert deny_when("false").is_action_permitted("s3:PutObject", "arn:aws:s3:::b/k") == PermissionResult.NEUTRAL
    assert deny_when("true").is_action_permitted("s3:PutObject", "arn:aws:s3:::b/k") == PermissionResult.DENIED
    assert policy_conditions.conditions_met({"StringLike": {"aws:SourceArn": "arn:aws:s3:::b*"}},
                                            {"aws:SourceArn": "arn:aws:s3:::bucket"})
    assert not policy_conditions.conditions_met({"StringEquals": {"aws:SourceAccount": "1"}}, {})
    assert policy_conditions.conditions_met({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {})
    assert not policy_conditions.conditions_met({"NumericLessThan": {"aws:x": "1"}}, {"aws:x": "0"})


def test_a_snapshot_carries_every_backend_the_deployment_uses(canary_function: str) -> None:
    """emulation/snapshot.py pickles moto's backends with reducers for what pickle cannot carry (locks, keys,
    lambdas in defaultdicts, weak indexes). Resources of each kind the pipeline deploys, including the
    objects that once broke it (a KMS key, a Cognito pool, a queue, a Lambda function in a weak index), must
    come back usable: read, invoked, deleted."""
    from invoice_local.emulation import snapshot
    from moto.core.base_backend import BackendDict

    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="canary")["QueueUrl"]
    pool = boto3.client("cognito-idp", region_name=REGION).create_user_pool(PoolName="canary")["UserPool"]["Id"]
    saved = snapshot.dumps()

    BackendDict.reset()  # a fresh emulation
    with pytest.raises(Exception, match="ResourceNotFound|Function not found"):
        boto3.client("lambda", region_name=REGION).get_function(FunctionName="canary")
    snapshot.loads(saved)

    lam = boto3.client("lambda", region_name=REGION)
    out = lam.invoke(FunctionName=canary_function, Payload=json.dumps({"x": 3}))
    assert json.loads(out["Payload"].read())["echo"] == {"x": 3}
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Enabled"]
    assert kms.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    sqs.send_message(QueueUrl=queue, MessageBody="m")
    assert boto3.client("cognito-idp", region_name=REGION).describe_user_pool(UserPoolId=pool)
    lam.delete_function(FunctionName="canary")  # the function's ARN index came back too
    assert not lam.list_functions()["Functions"]


def test_a_snapshot_refuses_an_object_it_cannot_restore() -> None:
    import collections
    import pickle

    from invoice_local.emulation import snapshot

    made = collections.defaultdict(lambda: {"not": "empty"})
    with pytest.raises(pickle.PicklingError, match="not restorable"):
        snapshot._reduce_defaultdict(made)
