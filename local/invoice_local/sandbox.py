"""The pipeline deployed into the in-process moto emulation with boto3: for integration tests and the demo.

This mirrors what terraform/ deploys (the same functions, handlers, environment, state machine rendered from
the real ASL, EventBridge rule and SNS subscription), minus what moto ignores anyway (IAM policies, KMS,
alarms). Terraform itself is applied to the emulation by the iac tests."""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3

from invoice_local import asl

REGION = "us-east-1"
NAME = "invoices-test"  # default resource prefix
FUNCTIONS = {
    "register": "invoice_pipeline.handlers.register.handler",
    "start_analysis": "invoice_pipeline.handlers.start_analysis.handler",
    "callback": "invoice_pipeline.handlers.callback.handler",
    "parse": "invoice_pipeline.handlers.parse.handler",
    "validate": "invoice_pipeline.handlers.validate.handler",
    "persist": "invoice_pipeline.handlers.persist.handler",
    "record_failure": "invoice_pipeline.handlers.record_failure.handler",
}


def _zip() -> bytes:
    # The in-process runner imports handlers from this checkout; moto still wants a code package.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "code runs in-process")
    return buf.getvalue()


@dataclass
class Stack:
    ingest_bucket: str
    results_bucket: str
    state_machine_arn: str
    topic_arn: str
    function_arns: dict[str, str]
    clients: dict[str, Any] = field(repr=False, default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(service, region_name=REGION)
        return self.clients[service]

    def upload(self, key: str, body: bytes) -> None:
        self.client("s3").put_object(Bucket=self.ingest_bucket, Key=key, Body=body)

    def executions(self) -> list[dict[str, Any]]:
        out = self.client("stepfunctions").list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return sorted(out, key=lambda e: e["startDate"])

    def wait_for_executions(self, count: int, timeout: float = 90) -> list[dict[str, Any]]:
        """Wait until `count` executions exist and none is running; return their descriptions."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.executions()
            if len(found) >= count and all(e["status"] != "RUNNING" for e in found):
                return [sfn.describe_execution(executionArn=e["executionArn"]) for e in found]
            time.sleep(0.2)
        raise TimeoutError(f"executions did not finish in {timeout}s: {self.executions()}")

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.client("stepfunctions").get_execution_history(executionArn=execution_arn,
                                                                  maxResults=1000)["events"]


def deploy(database_url: str, *, name: str = NAME, analysis_timeout_seconds: int = 6,
           retry_interval_seconds: int = 1, retry_max_attempts: int = 3, log_level: str = "INFO") -> Stack:
    s3 = boto3.client("s3", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    lam = boto3.client("lambda", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    events = boto3.client("events", region_name=REGION)

    ingest, results = f"{name}-ingest", f"{name}-results"
    for bucket in (ingest, results):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=ingest, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    role_arn = iam.create_role(RoleName=f"{name}-fn", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    textract_role = iam.create_role(RoleName=f"{name}-textract", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    sfn_role = iam.create_role(RoleName=f"{name}-sfn", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    topic_arn = sns.create_topic(Name=f"{name}-textract")["TopicArn"]

    env = {
        "DATABASE_URL": database_url,
        "RESULTS_BUCKET": results,
        "TEXTRACT_SNS_TOPIC_ARN": topic_arn,
        "TEXTRACT_ROLE_ARN": textract_role,
        "TEXTRACT_OUTPUT_BUCKET": results,
        "TEXTRACT_OUTPUT_PREFIX": "textract-output",
        "ANALYSIS_TIMEOUT_SECONDS": str(analysis_timeout_seconds),
        "POWERTOOLS_SERVICE_NAME": "invoice-pipeline",
        "POWERTOOLS_METRICS_NAMESPACE": "InvoicePipeline",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": log_level,
    }
    arns: dict[str, str] = {}
    for fn, handler in FUNCTIONS.items():
        arns[fn] = lam.create_function(
            FunctionName=f"{name}-{fn.replace('_', '-')}", Runtime="python3.12", Role=role_arn,
            Handler=handler, Code={"ZipFile": _zip()}, Timeout=60, MemorySize=512,
            Architectures=["arm64"], Environment={"Variables": env},
        )["FunctionArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="lambda", Endpoint=arns["callback"])

    definition = asl.render({
        **{f"{fn}_function_arn": arn for fn, arn in arns.items() if fn != "callback"},
        "analysis_timeout_seconds": analysis_timeout_seconds,
        "textract_retry_interval_seconds": retry_interval_seconds,
        "textract_retry_max_attempts": retry_max_attempts,
    })
    sm_arn = sfn.create_state_machine(name=f"{name}-pipeline", definition=definition, roleArn=sfn_role,
                                      type="STANDARD")["stateMachineArn"]
    events.put_rule(Name=f"{name}-object-created", EventPattern=json.dumps({
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [ingest]}, "object": {"key": [{"prefix": "incoming/"}]}},
    }))
    events.put_targets(Rule=f"{name}-object-created", Targets=[{"Id": "pipeline", "Arn": sm_arn,
                                                                  "RoleArn": sfn_role}])
    return Stack(ingest_bucket=ingest, results_bucket=results, state_machine_arn=sm_arn, topic_arn=topic_arn,
                 function_arns=arns)
