"""Lambda's execution environments and concurrency quotas in the emulation (emulation/lambda_pool.py): every
concurrent invocation in a process of its own, warm reuse, AWS's throttling errors for synchronous calls and
waiting for asynchronous ones, one Postgres connection per environment, the function timeout.

The functions here are small handlers (tests/lambda_handlers.py) deployed with CreateFunction into the
emulation server, without the pipeline's Terraform deployment. They meet the test through files (a gate, a
rendezvous folder), so nothing here depends on how fast the machine is: waits are bounded, never asserted."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from invoice_local import logs
from invoice_local.deployment import REGION
from invoice_local.emulation import lambda_runner, server

HANDLERS = Path(__file__).parents[1] / "lambda_handlers.py"
NO_RETRIES = Config(retries={"total_max_attempts": 1}, read_timeout=120)


def wait_until(condition: Callable[[], Any], what: str, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return "State:\tZ" in Path(f"/proc/{pid}/status").read_text()  # exited, not yet reaped
    except (ProcessLookupError, FileNotFoundError):
        return True


class Functions:
    """Deploys test handlers into the emulation and invokes them."""

    def __init__(self, endpoint: str, folder: Path) -> None:
        self.folder = folder
        self.client = boto3.client("lambda", endpoint_url=endpoint, region_name=REGION, config=NO_RETRIES)
        self.sfn = boto3.client("stepfunctions", endpoint_url=endpoint, region_name=REGION)
        iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION)
        self.role = iam.create_role(RoleName=f"test-{uuid.uuid4().hex[:8]}",
                                    AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("lambda_handlers.py", HANDLERS.read_text())
        self.package = buf.getvalue()
        self.pool = ThreadPoolExecutor(max_workers=8)

    def deploy(self, handler: str, *, timeout: int = 60, reserved: int | None = None,
               env: dict[str, str] | None = None, memory: int = 256) -> str:
        name = f"{handler}-{uuid.uuid4().hex[:6]}"
        self.client.create_function(FunctionName=name, Runtime="python3.12", Role=self.role,
                                    Handler=f"lambda_handlers.{handler}", Code={"ZipFile": self.package},
                                    Timeout=timeout, MemorySize=memory, Environment={"Variables": env or {}})
        if reserved is not None:
            self.client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
        return name

    def invoke(self, name: str, event: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        out = self.client.invoke(FunctionName=name, Payload=json.dumps(event or {}), **kwargs)
        out["payload"] = json.loads(out["Payload"].read() or b"null")
        return out  # type: ignore[no-any-return]

    def start(self, name: str, event: dict[str, Any] | None = None) -> Future[dict[str, Any]]:
        return self.pool.submit(self.invoke, name, event)

    def rendezvous(self, expected: int) -> dict[str, Any]:
        folder = Path(self.folder) / f"meet-{uuid.uuid4().hex[:6]}"
        folder.mkdir()
        return {"meet": str(folder), "expected": expected}

    def gate(self) -> Path:
        return Path(self.folder) / f"gate-{uuid.uuid4().hex[:6]}"

    def finished(self, execution_arn: str) -> dict[str, Any] | None:
        described: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
        return described if described["status"] != "RUNNING" else None

    def concurrent(self, name: str) -> int:
        return int(lambda_runner.stats().get(name, {}).get("concurrent", 0))


@pytest.fixture
def functions(emulation: server.EmulationServer, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Functions]:
    """A Lambda service with none of the pipeline's functions (their reservations would shrink the account's
    unreserved pool), no environments and default quotas."""
    from moto.awslambda.models import lambda_backends

    for per_account in lambda_backends.values():
        per_account.reset()
    lambda_runner.reset()
    lambda_runner.invocations.clear()
    settings = lambda_runner.pool.settings
    saved = (settings.account_concurrency, settings.idle_seconds, settings.unreserved_minimum)
    made = Functions(emulation.endpoint, tmp_path)
    try:
        yield made
    finally:
        for gate in tmp_path.glob("gate-*"):
            gate.touch()
        (tmp_path / "release-all").touch()
        made.pool.shutdown(wait=False, cancel_futures=True)
        settings.account_concurrency, settings.idle_seconds, settings.unreserved_minimum = saved
        lambda_runner.reset()


def test_concurrent_invocations_run_in_separate_processes_with_their_own_state(functions: Functions) -> None:
    name = functions.deploy("identify", env={"COLOUR": "blue"}, memory=512)
    meet = functions.rendezvous(2)
    first, second = (f.result(timeout=120)["payload"] for f in [functions.start(name, meet) for _ in range(2)])

    assert first["pid"] != second["pid"]
    assert first["met"] == second["met"] == 2  # each saw the other's marker: they overlapped
    assert first["calls"] == second["calls"] == 1  # module state is per process
    for seen in (first, second):
        assert seen["env"] == {"COLOUR": "blue", "AWS_LAMBDA_FUNCTION_NAME": name,
                               "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_REGION": REGION,
                               "AWS_ENDPOINT_URL": lambda_runner.pool.settings.endpoint}
        assert seen["function"] == name and seen["memory"] == 512
        assert 0 < seen["remaining_ms"] <= 60_000
    stats = lambda_runner.stats()[name]
    assert stats["cold_starts"] == 2 and stats["peak"] == 2 and stats["peak_environments"] == 2
    assert first["pid"] != os.getpid()
    # What CloudWatch shows for the function: AWS/Lambda ConcurrentExecutions, Maximum.
    cloudwatch = boto3.client("cloudwatch", endpoint_url=lambda_runner.pool.settings.endpoint, region_name=REGION)
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="ConcurrentExecutions", Statistics=["Maximum"], Period=60,
        Dimensions=[{"Name": "FunctionName", "Value": name}], StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1))["Datapoints"]
    assert max(p["Maximum"] for p in points) == 2


def test_a_warm_environment_is_reused_and_retired_when_the_configuration_changes(functions: Functions) -> None:
    name = functions.deploy("identify", env={"COLOUR": "red"})
    calls = [functions.invoke(name)["payload"] for _ in range(3)]
    assert len({c["pid"] for c in calls}) == 1
    assert [c["calls"] for c in calls] == [1, 2, 3]
    stats = lambda_runner.stats()[name]
    assert stats["cold_starts"] == 1 and stats["invocations"] == 3 and stats["environments"] == 1
    assert len(stats["billed_ms"]) == 3 and all(isinstance(ms, int) and ms >= 1 for ms in stats["billed_ms"])
    assert stats["gb_seconds"] == pytest.approx(sum(stats["billed_ms"]) / 1000 * 256 / 1024)

    functions.client.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOUR": "green"}})
    after = functions.invoke(name)["payload"]
    assert after["pid"] != calls[0]["pid"] and after["calls"] == 1 and after["env"]["COLOUR"] == "green"
    wait_until(lambda: gone(calls[0]["pid"]), "the environment of the old configuration ends")


def test_an_idle_environment_is_retired(functions: Functions) -> None:
    name = functions.deploy("identify")
    pid = functions.invoke(name)["payload"]["pid"]
    lambda_runner.configure(idle_seconds=0.2)
    wait_until(lambda: lambda_runner.stats()[name]["environments"] == 0, "the idle environment retires")
    wait_until(lambda: gone(pid), "its process ends")


def test_reserved_concurrency_refuses_the_next_synchronous_invocation(functions: Functions) -> None:
    name = functions.deploy("identify", reserved=2)
    gate = functions.gate()
    held = [functions.start(name, {"gate": str(gate)}) for _ in range(2)]
    wait_until(lambda: functions.concurrent(name) == 2, "two invocations in flight")

    with pytest.raises(ClientError) as refused:
        functions.invoke(name)
    error = refused.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Error"]["Message"] == "Rate Exceeded."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"

    # The state machine sees Lambda's error by its name, from a function-ARN Task and the lambda:invoke
    # integration alike (the interpreter's client does not retry it away).
    arn = functions.client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    failures = {}
    for kind, task in {"arn": {"Resource": arn},
                       "integration": {"Resource": "arn:aws:states:::lambda:invoke",
                                       "Parameters": {"FunctionName": arn, "Payload": {}}}}.items():
        definition = {"StartAt": "Call", "States": {"Call": {"Type": "Task", **task, "End": True}}}
        machine = functions.sfn.create_state_machine(
            name=f"throttled-{kind}-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition),
            roleArn=functions.role)["stateMachineArn"]
        execution = functions.sfn.start_execution(stateMachineArn=machine, name=f"x-{uuid.uuid4().hex[:6]}",
                                                  input="{}")["executionArn"]
        failures[kind] = wait_until(lambda execution=execution: functions.finished(execution),
                                    f"the {kind} execution ends")
    for kind, failed in failures.items():
        assert failed["status"] == "FAILED", kind
        assert failed["error"] == "Lambda.TooManyRequestsException", kind
        assert "Status Code: 429" in failed["cause"], kind

    gate.touch()
    assert all(f.result(timeout=120)["StatusCode"] == 200 for f in held)
    stats = lambda_runner.stats()[name]
    assert stats["peak"] == 2 and stats["throttles"] >= 3 and stats["invocations"] == 2


def test_a_reservation_must_leave_the_account_its_minimum_unreserved_concurrency(functions: Functions) -> None:
    first, second = functions.deploy("identify"), functions.deploy("identify")
    functions.client.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=850)
    with pytest.raises(ClientError) as refused:  # 1000 - 850 - 51 leaves 99 unreserved, under AWS's 100
        functions.client.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=51)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert "below its minimum value of [100]" in refused.value.response["Error"]["Message"]
    functions.client.put_function_concurrency(FunctionName=second, ReservedConcurrentExecutions=50)
    functions.client.put_function_concurrency(FunctionName=first, ReservedConcurrentExecutions=850)  # its own

    lambda_runner.configure(account_concurrency=10)  # a new account's limit: nothing can be reserved
    third = functions.deploy("identify")
    with pytest.raises(ClientError, match=r"minimum value of \[10\]"):
        functions.client.put_function_concurrency(FunctionName=third, ReservedConcurrentExecutions=1)


def test_the_account_limit_is_shared_by_unreserved_functions(functions: Functions) -> None:
    # Three at most, as on an account whose limit is small; AWS's unreserved minimum would forbid the reservation.
    lambda_runner.configure(account_concurrency=3, unreserved_minimum=0)
    reserved = functions.deploy("identify", reserved=1)  # unreserved functions share 3 - 1 = 2
    first, second, third = (functions.deploy("identify") for _ in range(3))
    gate = functions.gate()
    held = [functions.start(fn, {"gate": str(gate)}) for fn in (first, second)]
    wait_until(lambda: lambda_runner.account_stats()["concurrent"] == 2, "two unreserved invocations in flight")

    with pytest.raises(ClientError) as refused:
        functions.invoke(third)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert refused.value.response["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert functions.invoke(reserved)["StatusCode"] == 200  # its reservation is its own

    gate.touch()
    assert all(f.result(timeout=120)["StatusCode"] == 200 for f in held)
    assert lambda_runner.account_stats()["peak"] == 3  # the whole account limit: two unreserved, one reserved


def test_asynchronous_invocations_over_the_limit_wait_and_all_complete(functions: Functions) -> None:
    name = functions.deploy("identify", reserved=1)
    gate = functions.gate()
    for n in range(4):
        out = functions.client.invoke(FunctionName=name, InvocationType="Event",
                                      Payload=json.dumps({"gate": str(gate), "n": n}))
        assert out["StatusCode"] == 202
    wait_until(lambda: lambda_runner.stats().get(name, {}).get("throttles") == 3,
               "three events held back behind the one running")
    assert lambda_runner.stats()[name]["concurrent"] == 1
    gate.touch()
    done = wait_until(lambda: (calls := [c for c in list(lambda_runner.invocations) if c["function"] == name])
                      and len(calls) == 4 and calls, "all four events run")
    assert all(c["ok"] and c["invocation_type"] == "Event" for c in done)
    assert sorted(c["event"]["n"] for c in done) == [0, 1, 2, 3]
    stats = lambda_runner.stats()[name]
    assert stats["peak"] == 1 and stats["invocations"] == 4 and stats["environments"] == 1


def test_a_notification_from_moto_itself_over_the_limit_waits_rather_than_fails(functions: Functions) -> None:
    """SNS (like S3, EventBridge and the pollers) invokes through moto with no request headers: asynchronous
    in AWS, so never refused; it waits on the publisher's thread for a free slot."""
    name = functions.deploy("identify", reserved=1)
    arn = functions.client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    sns = boto3.client("sns", endpoint_url=lambda_runner.pool.settings.endpoint, region_name=REGION,
                       config=NO_RETRIES)
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:6]}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    gate = functions.gate()
    held = functions.start(name, {"gate": str(gate)})
    wait_until(lambda: functions.concurrent(name) == 1, "the function's one slot taken")
    published = functions.pool.submit(sns.publish, TopicArn=topic, Message="hello")
    wait_until(lambda: lambda_runner.stats()[name]["throttles"] == 1, "the notification held back")
    gate.touch()
    assert held.result(timeout=120)["StatusCode"] == 200
    assert published.result(timeout=120)["MessageId"]
    delivered = [c for c in list(lambda_runner.invocations) if c["invocation_type"] == "internal"]
    assert [c["event"]["Records"][0]["Sns"]["Message"] for c in delivered] == ["hello"]
    assert delivered[0]["ok"]


def test_each_environment_holds_its_own_postgres_connection(functions: Functions, database_url: str) -> None:
    name = functions.deploy("database", env={"DATABASE_URL": database_url})
    meet = functions.rendezvous(3)
    results = [f.result(timeout=120)["payload"] for f in [functions.start(name, meet) for _ in range(3)]]

    assert len({r["pid"] for r in results}) == 3
    assert len({r["backend"] for r in results}) == 3
    assert all(r["backends_seen"] == 3 for r in results)  # all three connections open at once
    assert lambda_runner.stats()[name]["peak_environments"] == 3
    # A warm environment keeps its connection for the next invocation.
    again = functions.invoke(name)["payload"]
    assert {again["pid"]: again["backend"]}.items() <= {r["pid"]: r["backend"] for r in results}.items()


def test_the_function_timeout_kills_a_hung_invocation(functions: Functions) -> None:
    name = functions.deploy("hang", timeout=1)
    out = functions.invoke(name)
    assert out["FunctionError"] == "Unhandled"
    assert out["payload"]["errorType"] == "Sandbox.Timedout"
    assert out["payload"]["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert out["payload"]["errorMessage"].startswith("RequestId: ")
    (call,) = [c for c in lambda_runner.invocations if c["function"] == name]
    assert call["error"] == "Sandbox.Timedout" and call["billed_ms"] >= 1000
    wait_until(lambda: gone(call["pid"]), "the timed-out environment is killed")
    stats = lambda_runner.stats()[name]
    assert stats["timeouts"] == 1 and stats["environments"] == 0


def test_a_handler_error_keeps_aws_shape_and_the_environment_warm(functions: Functions) -> None:
    name = functions.deploy("fail")
    first, second = functions.invoke(name), functions.invoke(name)
    assert first["FunctionError"] == "Handled"
    assert first["payload"]["errorType"] == "ValueError" and first["payload"]["errorMessage"] == "asked to fail"
    assert isinstance(first["payload"]["stackTrace"], list)
    assert second["payload"]["errorType"] == "ValueError"
    assert lambda_runner.stats()[name]["cold_starts"] == 1


def test_worker_log_lines_go_to_the_function_log_file(functions: Functions, tmp_path: Path) -> None:
    routing = logs.setup(tmp_path / "logs")
    try:
        name = functions.deploy("logged", env={"POWERTOOLS_TRACE_DISABLED": "true",
                                               "POWERTOOLS_METRICS_NAMESPACE": "Test"})
        document = str(uuid.uuid4())
        pid = functions.invoke(name, {"document": {"document_id": document}})["payload"]["pid"]
    finally:
        routing.close()
    (line,) = logs.read(tmp_path / "logs", document[:8])
    assert line.function == name and line.message == "worker says hello"
    assert line.record["pid"] == pid and line.record["function_name"] == name
