"""The functions' tracing (invoice_pipeline.tracing, invoice_pipeline.xray): where Powertools would trace, a
handler call sends X-Ray subsegment documents to the daemon (here a UDP socket on 127.0.0.1 that the test
reads): the handler's, each AWS SDK call's (a real botocore client, answered by botocore's Stubber) and each
Postgres statement's, all under the invocation's trace; where it would not, handlers are left as they are."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSRequest
from botocore.client import BaseClient
from botocore.endpoint import Endpoint
from botocore.stub import Stubber
from invoice_pipeline import observability, xray
from invoice_pipeline.tracing import FunctionTracer, trace_aws_sdk, traced_connection, tracing_enabled

TRACE_ID = "1-6763a0b1-0123456789abcdef01234567"
FACADE_ID = "53995c3f42cd8ad8"


@dataclass
class Context:
    function_name: str = "invoice-pipeline-persist"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:invoice-pipeline-persist"
    aws_request_id: str = "req-1"


class FakeConnection:
    """pg8000.native.Connection's `run`, as far as tracing sees it."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def run(self, sql: str, **params: Any) -> list[list[Any]]:
        self.statements.append(sql)
        return [[1]]


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> None:
    """What AWS gives a deployed function with Active tracing."""
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED", raising=False)
    monkeypatch.delenv("AWS_SAM_LOCAL", raising=False)
    monkeypatch.delenv("AWS_CHALICE_CLI_MODE", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "invoice-pipeline")
    # Tracing patches botocore for the process: undone after the test, so other tests see botocore as it is.
    monkeypatch.setattr(BaseClient, "_make_api_call", BaseClient._make_api_call)
    monkeypatch.setattr(Endpoint, "prepare_request", Endpoint.prepare_request)


@pytest.fixture
def daemon(monkeypatch: pytest.MonkeyPatch, traced: None) -> Iterator[socket.socket]:
    """A fake X-Ray daemon, and a sampled invocation's trace header (as the Lambda runtime sets it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{sock.getsockname()[1]}")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={TRACE_ID};Parent={FACADE_ID};Sampled=1")
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[dict[str, Any]]:
    docs = []
    sock.settimeout(0.2)
    with contextlib.suppress(TimeoutError):
        while True:
            header, _, body = sock.recv(65536).partition(b"\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            docs.append(json.loads(body))
    return docs


def test_enabled_follows_powertools(monkeypatch: pytest.MonkeyPatch, traced: None) -> None:
    assert tracing_enabled()
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    assert not tracing_enabled()
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED")
    monkeypatch.delenv("LAMBDA_TASK_ROOT")  # outside Lambda: Powertools does not trace
    assert not tracing_enabled()


def test_traced_handler_sends_its_aws_and_sql_subsegments(monkeypatch: pytest.MonkeyPatch,
                                                          daemon: socket.socket) -> None:
    monkeypatch.setattr(observability, "tracer", FunctionTracer())
    trace_aws_sdk()  # what importing adapters/aws.py does
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    con = traced_connection(FakeConnection(), "invoices", "db.internal", "persist")

    def persist(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with Stubber(s3) as stub:
            stub.add_response("head_object", {"ContentLength": 3, "ResponseMetadata": {
                "RequestId": "r-1", "HTTPStatusCode": 200, "HTTPHeaders": {}}}, {"Bucket": "b", "Key": "k"})
            s3.head_object(Bucket="b", Key="k")
        con.run("SELECT 1 WHERE id = :id", id=7)
        return {"ok": True}

    handler = observability.lambda_entry(persist)
    assert handler({"document": {"document_id": "d-1"}}, Context()) == {"ok": True}
    handler({"document": {"document_id": "d-2"}}, Context())
    docs = received(daemon)
    assert all(d["type"] == "subsegment" and d["trace_id"] == TRACE_ID and d["end_time"] >= d["start_time"]
               for d in docs)
    first = docs[:3]  # children end, and are sent, before their parent
    by_name = {d["name"]: d for d in first}
    assert sorted(by_name) == ["## persist", "invoices@db.internal", "s3"]
    handler_doc = by_name["## persist"]
    assert handler_doc["parent_id"] == FACADE_ID
    assert handler_doc["annotations"] == {"ColdStart": True, "Service": "invoice-pipeline"}
    call = by_name["s3"]
    assert call["parent_id"] == handler_doc["id"] and call["namespace"] == "aws"
    assert call["aws"] == {"operation": "HeadObject", "region": "us-east-1", "request_id": "r-1"}
    assert call["http"] == {"response": {"status": 200}}
    sql = by_name["invoices@db.internal"]
    assert sql["parent_id"] == handler_doc["id"] and sql["namespace"] == "remote"
    assert sql["sql"]["sanitized_query"] == "SELECT 1 WHERE id = :id" and sql["sql"]["user"] == "persist"
    assert [d["annotations"]["ColdStart"] for d in docs if d["name"] == "## persist"] == [True, False]


def test_errors_are_recorded_and_propagate(monkeypatch: pytest.MonkeyPatch, daemon: socket.socket) -> None:
    tracer = FunctionTracer()
    trace_aws_sdk()
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")

    @tracer.capture_method
    def step() -> None:
        with Stubber(s3) as stub:
            stub.add_client_error("head_object", "404", "Not Found", 404)
            s3.head_object(Bucket="b", Key="k")

    with pytest.raises(s3.exceptions.ClientError):
        step()
    call, method = received(daemon)
    assert method["name"] == f"## {__name__}.test_errors_are_recorded_and_propagate.locals.step"
    assert method["parent_id"] == FACADE_ID and method["fault"] is True
    assert method["cause"]["exceptions"][0]["type"] == "ClientError"
    assert call["parent_id"] == method["id"] and call["error"] is True and "fault" not in call
    assert call["http"] == {"response": {"status": 404}} and call["cause"]["exceptions"][0]["remote"] is True


def test_the_trace_header_is_passed_on(daemon: socket.socket) -> None:
    trace_aws_sdk()
    endpoint = boto3.client("s3", region_name="us-east-1")._endpoint  # noqa: SLF001
    with xray.subsegment("## outer") as segment:
        assert segment is not None
        prepared = endpoint.prepare_request(AWSRequest(method="GET", url="https://s3.amazonaws.com/"))
    assert prepared.headers[xray.TRACE_HEADER] == f"Root={TRACE_ID};Parent={segment.id};Sampled=1".encode()


def test_unsampled_invocation_sends_nothing(monkeypatch: pytest.MonkeyPatch, daemon: socket.socket) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={TRACE_ID};Parent={FACADE_ID};Sampled=0")
    tracer = FunctionTracer()
    handler = tracer.capture_lambda_handler(lambda event, context: "done")
    assert handler({}, Context()) == "done"
    assert received(daemon) == []


def test_daemon_address_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000")
    assert xray.daemon_address() == ("169.254.79.129", 2000)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "tcp:10.0.0.1:3000 udp:10.0.0.2:2001")
    assert xray.daemon_address() == ("10.0.0.2", 2001)
    monkeypatch.delenv("AWS_XRAY_DAEMON_ADDRESS")
    assert xray.daemon_address() == ("127.0.0.1", 2000)


def test_untraced_handler_is_left_alone(monkeypatch: pytest.MonkeyPatch, traced: None) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    tracer = FunctionTracer()

    def handler(event: dict[str, Any], context: Any) -> None: ...

    assert tracer.capture_lambda_handler(handler, capture_response=False) is handler
    assert tracer.capture_method(handler) is handler
    assert tracer.capture_method()(handler) is handler
    con = FakeConnection()
    assert traced_connection(con, "invoices", "db", "persist").run == con.run
    trace_aws_sdk()
    assert not hasattr(BaseClient._make_api_call, "_xray")  # botocore left as it is
