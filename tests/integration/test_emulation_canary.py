"""Canary: our patches into moto sit on named seams of one exact moto version. If an upgrade moves a seam,
these tests fail loudly here instead of the pipeline tests failing mysteriously."""

from __future__ import annotations

import inspect
import io
import json
import time
import zipfile
from importlib.metadata import version
from typing import Any

import boto3
import pytest
from invoice_local import emulation
from invoice_local.deployment import REGION
from invoice_local.emulation import (
    event_sources,
    eventbridge,
    lambda_runner,
    policy_conditions,
    s3_post_policy,
    stepfunctions,
)
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
    from moto.awslambda.models import LambdaBackend

    assert LambdaBackend.create_event_source_mapping.__module__ == "invoice_local.emulation.event_sources"
    assert list(inspect.signature(event_sources._original).parameters) == ["self", "spec"]
    from moto.iam.access_control import IAMPolicyStatement

    assert IAMPolicyStatement.is_action_permitted.__module__ == "invoice_local.emulation.policy_conditions"
    assert list(inspect.signature(policy_conditions._original).parameters) == [
        "self", "action", "resource", "principal", "incoming_condition_values"]
    assert StepFunctionResponse.send_task_failure.__module__ == "invoice_local.emulation.stepfunctions"
    for api in ("start_expense_analysis", "get_expense_analysis", "analyze_expense"):
        assert getattr(TextractResponse, api).__module__ == "invoice_local.emulation.textract"
    from moto.core.responses import BaseResponse
    from moto.s3.responses import S3Response

    # A form upload: the fields in form_data, the file's bytes in raw_body, then the original stores it.
    assert S3Response._bucket_response_post is s3_post_policy._checked_post
    assert list(inspect.signature(s3_post_policy._original).parameters) == ["self", "request", "bucket_name"]
    assert "self.form_data = request.form" in inspect.getsource(BaseResponse.setup_class)
    assert "self.raw_body = self.body" in inspect.getsource(BaseResponse.setup_class)


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


def test_moto_delivers_sqs_mappings_inline_where_we_cut_it() -> None:
    """moto invokes an SQS mapping's function from `Queue.add_message`, through the mappings registered on the
    queue, which our create_event_source_mapping leaves empty. If moto delivers from anywhere else, the
    pollers of event_sources.py would race it: every message would be processed twice."""
    from moto.sqs.models import Queue

    assert "lambda_event_source_mappings" in inspect.getsource(Queue.add_message)
    assert "send_sqs_batch" in inspect.getsource(Queue.add_message)


def test_an_sqs_mapping_is_kept_but_delivers_nothing_by_itself(canary_function: str) -> None:
    from moto.sqs.models import sqs_backends

    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="canary-intake")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam = boto3.client("lambda", region_name=REGION)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=canary_function, BatchSize=10,
                                              ScalingConfig={"MaximumConcurrency": 2},
                                              FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
    invoked = len(lambda_runner.invocations)

    sqs.send_message(QueueUrl=url, MessageBody="m")

    assert len(lambda_runner.invocations) == invoked  # not inline: only a poller delivers
    assert not sqs_backends["123456789012"][REGION].get_queue("canary-intake").lambda_event_source_mappings
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["m"]
    got = lam.get_event_source_mapping(UUID=mapping)
    assert (got["ScalingConfig"], got["FunctionResponseTypes"], got["State"]) == (
        {"MaximumConcurrency": 2}, ["ReportBatchItemFailures"], "Enabled")
    lam.delete_event_source_mapping(UUID=mapping)


def test_the_moto_calls_the_pollers_make_keep_their_shape() -> None:
    from moto.awslambda.models import EventSourceMapping, LambdaBackend
    from moto.sqs.models import Message, Queue, SQSBackend

    def parameters(method: object) -> list[str]:
        return list(inspect.signature(method).parameters)  # type: ignore[arg-type]

    assert parameters(SQSBackend.receive_message) == [
        "self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"]
    assert parameters(SQSBackend.delete_message) == ["self", "queue_name", "receipt_handle"]
    assert parameters(Queue.wait_for_messages) == ["self", "timeout"]
    assert parameters(LambdaBackend.invoke) == [
        "self", "function_name", "qualifier", "body", "headers", "response_headers"]
    assert parameters(LambdaBackend.list_event_source_mappings) == ["self", "event_source_arn", "function_name"]
    assert parameters(LambdaBackend.get_event_source_mapping) == ["self", "uuid"]
    esm = EventSourceMapping({"RegionName": REGION, "AccountId": "123456789012",  # type: ignore[abstract]
                              "FunctionName": "f", "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                              "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q"})
    for attribute in ("uuid", "account_id", "region", "function_arn", "event_source_arn", "batch_size", "enabled",
                      "max_batch_window", "scaling_config", "function_response_types"):
        assert hasattr(esm, attribute), attribute
    message = Message("id", "body")
    for attribute in ("approximate_receive_count", "sent_timestamp", "sender_id", "approximate_first_receive_timestamp",
                      "body_md5", "attribute_md5", "message_attributes", "group_id", "deduplication_id",
                      "sequence_number", "receipt_handle"):
        assert hasattr(message, attribute), attribute


def test_moto_redrives_to_the_dead_letter_queue_on_the_receive_after_max_receive_count(aws_env: None) -> None:
    """The pollers leave a failed batch in flight and rely on moto's receive to move a message that was
    received maxReceiveCount times to the queue's dead-letter queue, as SQS does."""
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="canary-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="canary-source", Attributes={"RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")

    counts = [m["Attributes"]["ApproximateReceiveCount"] for _ in range(3) for m in sqs.receive_message(
        QueueUrl=url, VisibilityTimeout=0, AttributeNames=["ApproximateReceiveCount"]).get("Messages", [])]

    assert counts == ["1", "2"]
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq)["Messages"]] == ["poison"]


def test_a_queue_redrive_policy_comes_back_as_compact_json_as_sqs_returns_it(aws_env: None) -> None:
    """sqs_attributes.py re-dumps moto's RedrivePolicy without spaces, as SQS (and Terraform's jsonencode)
    writes it; otherwise every plan over an existing state updates the intake queue for whitespace."""
    from moto.sqs.models import Queue

    assert isinstance(Queue.attributes, property)
    assert Queue.attributes.fget.__module__ == "invoice_local.emulation.sqs_attributes"
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="canary-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}, separators=(",", ":"))
    url = sqs.create_queue(QueueName="canary-source", Attributes={"RedrivePolicy": policy})["QueueUrl"]

    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]

    assert got["RedrivePolicy"] == policy
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]


def test_moto_keeps_schedules_where_the_scheduler_reads_them(canary_function: str) -> None:
    """moto stores a rule's ScheduleExpression and never fires it; eventbridge.py's scheduler reads the rules
    of each account's default bus and fires them through send_to_targets."""
    from moto.events.models import EventsBackend, Rule, events_backends

    assert "scheduled_expression" in inspect.signature(EventsBackend.put_rule).parameters
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="canary-schedule", ScheduleExpression="rate(5 minutes)")
    events.put_targets(Rule="canary-schedule", Targets=[{"Id": "fn", "Arn": canary_function}])
    rule = events_backends["123456789012"][REGION].event_buses["default"].rules["canary-schedule"]
    assert isinstance(rule, Rule)
    assert (rule.scheduled_expression, rule.state) == ("rate(5 minutes)", "ENABLED")
    assert [r.name for r in eventbridge._scheduled_rules()] == ["canary-schedule"]
    invoked = len(lambda_runner.invocations)

    eventbridge.fire_scheduled("canary-schedule")

    (call,) = list(lambda_runner.invocations)[invoked:]
    assert call["function"] == "canary" and call["result"]["echo"]["detail-type"] == "Scheduled Event"


def test_distributed_map_seam_and_the_interpreter_parts_it_relies_on() -> None:
    """emulation/distributed_map.py replaces one function, moto's ASL parse, and subclasses the parts of the
    interpreter it upgrades a parsed Distributed Map with: their names and signatures must stay."""
    from invoice_local.emulation import distributed_map
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3 import (
        ResourceEvalS3,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        distributed_item_processor as processor,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor import (
        distributed_item_processor_worker as worker,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record import (
        ProgressCounter,
    )
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    emulation.install()
    assert AmazonStateLanguageParser.parse is distributed_map.parse
    assert list(inspect.signature(distributed_map._original).parameters) == ["definition"]
    assert list(inspect.signature(ResourceEvalS3._handle_list_objects_v2).parameters) == [
        "env", "resource_runtime_part", "state_credentials"]
    assert list(inspect.signature(processor.DistributedItemProcessor._map_run).parameters) == [
        "self", "env", "eval_input"]
    assert list(inspect.signature(processor.DistributedItemProcessor._create_worker).parameters) == [
        "self", "env", "eval_input", "job_pool"]
    assert list(inspect.signature(worker.DistributedItemProcessorWorker._eval_job).parameters) == [
        "self", "env", "job"]
    assert list(inspect.signature(worker.DistributedItemProcessorWorker.__init__).parameters) == [
        "self", "work_name", "job_pool", "env", "item_reader", "parameters", "item_selector", "map_run_record"]
    assert set(inspect.get_annotations(ProgressCounter)) == {
        "aborted", "failed", "pending", "results_written", "running", "succeeded", "timed_out", "total"}
    # What the patch exists for: moto's own grammar still refuses a batcher and EXPRESS children.
    batched = {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemBatcher": {"MaxItemsPerBatch": 2},
                                                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED",
                                                                                      "ExecutionType": "EXPRESS"},
                                                                  "StartAt": "P",
                                                                  "States": {"P": {"Type": "Pass", "End": True}}},
                                                "End": True}}}
    with pytest.raises(Exception, match="ItemBatcher"):
        distributed_map._original(json.dumps(batched))
    distributed_map.parse(json.dumps(batched))


def _finished(sfn: Any, arn: str) -> dict[str, Any]:
    for _ in range(600):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"{arn} still running")


def test_distributed_map_lists_every_page_in_batches_and_fails_past_its_threshold(canary_function: str) -> None:
    """A Distributed Map over an S3 listing runs as Step Functions runs it: every page of ListObjectsV2 (more
    than 1,000 keys), items in Step Functions' shape, batched with their BatchInput, EXPRESS children, item
    and execution counts apart, States.ItemReaderFailed for a bucket that is not there, and a failed child
    ends the Map Run with States.ExceedToleratedFailureThreshold."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="canary-listing")
    for i in range(1001):
        s3.put_object(Bucket="canary-listing", Key=f"in/{i:04d}.pdf", Body=b"%PDF")
    s3.put_object(Bucket="canary-listing", Key="elsewhere.pdf", Body=b"%PDF")
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {"StartAt": "Map", "States": {
        "Map": {"Type": "Map", "Label": "canary", "MaxConcurrency": 3, "ToleratedFailurePercentage": 0,
                "ItemReader": {"Resource": "arn:aws:states:::s3:listObjectsV2",
                               "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"}},
                "ItemBatcher": {"MaxItemsPerBatch": 500, "BatchInput": {"bucket.$": "$.bucket", "fail.$": "$.fail"}},
                "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                                  "StartAt": "Call",
                                  "States": {"Call": {"Type": "Task", "Resource": canary_function,
                                                      "Parameters": {"fail.$": "$.BatchInput.fail",
                                                                     "bucket.$": "$.BatchInput.bucket",
                                                                     "n.$": "States.ArrayLength($.Items)",
                                                                     "first.$": "$.Items[0]"},
                                                      "End": True}}},
                "Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "ResultPath": "$.error",
                           "Next": "Incomplete"}],
                "End": True},
        "Incomplete": {"Type": "Fail", "Error": "Incomplete", "CausePath": "$.error.Cause"}}}
    machine = sfn.create_state_machine(name="canary-map", definition=json.dumps(definition),
                                       roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]

    def run(name: str, **state_input: Any) -> dict[str, Any]:
        arn = sfn.start_execution(stateMachineArn=machine, name=name,
                                  input=json.dumps({"fail": False, **state_input}))["executionArn"]
        return _finished(sfn, arn)

    done = run("all", bucket="canary-listing", prefix="in/")
    assert done["status"] == "SUCCEEDED", done
    batches = [b["echo"] for b in json.loads(done["output"])]
    assert [b["n"] for b in batches] == [500, 500, 1]
    assert {b["bucket"] for b in batches} == {"canary-listing"}
    first = batches[0]["first"]
    assert set(first) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
    assert first["Key"] == "in/0000.pdf" and first["Size"] == 4 and isinstance(first["LastModified"], int)
    map_run = sfn.describe_map_run(mapRunArn=sfn.list_map_runs(executionArn=done["executionArn"])["mapRuns"][0][
        "mapRunArn"])
    assert (map_run["itemCounts"]["total"], map_run["itemCounts"]["succeeded"]) == (1001, 1001)
    assert (map_run["executionCounts"]["total"], map_run["executionCounts"]["succeeded"]) == (3, 3)

    empty = run("empty", bucket="canary-listing", prefix="nothing-here/")
    assert (empty["status"], json.loads(empty["output"])) == ("SUCCEEDED", [])
    missing = run("missing", bucket="canary-no-such-bucket", prefix="in/")
    assert (missing["status"], missing["error"]) == ("FAILED", "States.ItemReaderFailed")
    failed = run("failed", bucket="canary-listing", prefix="in/", fail=True)
    assert (failed["status"], failed["error"]) == ("FAILED", "Incomplete")
    assert "tolerated failure threshold" in failed["cause"]


def test_object_versions_list_keys_xml_cannot_hold(aws_env: None) -> None:
    """s3_listing.py: botocore asks ListObjectVersions for url-encoded keys (moto 5.2.5 ignored that and
    answered 500 for a key holding a control character); the keys come back as they were written."""
    from invoice_local.emulation import s3_listing
    from moto.s3.responses import S3Response

    assert S3Response.list_object_versions is s3_listing.list_object_versions
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="canary-keys")
    s3.put_bucket_versioning(Bucket="canary-keys", VersioningConfiguration={"Status": "Enabled"})
    keys = ["incoming/\x1b[2Jclear.pdf", "incoming/a b+c%d.pdf", "incoming/plain.pdf"]
    for key in keys:
        s3.put_object(Bucket="canary-keys", Key=key, Body=b"x")
    s3.delete_object(Bucket="canary-keys", Key=keys[0])  # a delete marker with that key too
    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket="canary-keys", Prefix="incoming/",
                                                                    PaginationConfig={"PageSize": 2}))
    assert sorted(v["Key"] for p in pages for v in p.get("Versions", [])) == sorted(keys)
    assert [m["Key"] for p in pages for m in p.get("DeleteMarkers", [])] == [keys[0]]
