"""The backfill on the deployed stack (terraform/backfill.tf applied to the emulation): invoices already in the
ingest bucket, stored without any upload event, go through the pipeline once each when the backfill state
machine runs, as `aws stepfunctions start-execution` starts it, and as `invoices backfill` does with its bars
and table. Folders, empty objects and keys outside incoming/ are left out; a second backfill starts nothing
new (its messages carry the uploads' names); a bucket that is not there is a named failure."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from invoice_local import asl, backfill_cmd, cli
from invoice_local.commands import CommandError
from invoice_local.deployment import REGION, Deployment
from invoice_local.emulation import event_sources, lambda_runner
from invoice_local.emulation import textract as standin_mod
from invoice_local.stack import StackInfo
from invoice_pipeline.domain.intake import execution_name
from invoice_pipeline.domain.status import TERMINAL
from invoice_pipeline.schemas import validate_definition

from tests.integration.test_pipeline import CASES, _document_bytes, _documents, png, recorded

INVOICES = ["default_invoice_1", "receipt", "trp2_expense_sample2"]
PREFIX = "incoming/backfill/"


def _finished(stack: Deployment, execution_arn: str, timeout: float = 120) -> dict[str, Any]:
    import time

    sfn = stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise TimeoutError(f"{execution_arn} still running after {timeout}s")


def intake_deleted(stack: Deployment) -> int:
    """Messages the intake function has taken off the queue (started, or found already started)."""
    return sum(s.deleted for s in event_sources.stats().values()
               if s.function_arn.endswith(f":{stack.function_names['intake']}"))


def wait_for_intake(stack: Deployment, deleted: int, timeout: float = 60) -> None:
    """Until the intake has handled `deleted` messages in all: only then may a test count executions."""
    import time

    deadline = time.monotonic() + timeout
    while intake_deleted(stack) < deleted:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the intake handled {intake_deleted(stack)} messages, not {deleted}")
        time.sleep(0.2)


def run_backfill(stack: Deployment, name: str, bucket: str, prefix: str) -> dict[str, Any]:
    """What the README's `aws stepfunctions start-execution` does, waited for."""
    started = stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.backfill_state_machine_arn, name=name,
        input=json.dumps({"bucket": bucket, "prefix": prefix}))
    return _finished(stack, started["executionArn"])


def upload_name(bucket: str, key: str, version: str) -> str:
    """The execution name an upload of this version got (S3's event, through the intake)."""
    return execution_name({"detail": {"bucket": {"name": bucket}, "object": {"key": key, "version-id": version}}})


@pytest.fixture
def stored(stack: Deployment, standin: standin_mod._State) -> Iterator[dict[str, str]]:
    """Three invoices (with their recorded Textract responses), a folder marker, an empty object and an
    invoice outside incoming/, put into the ingest bucket while the upload rule had no target, so nothing
    announced them: {key: version id} of the invoices."""
    events, s3, sqs = stack.client("events"), stack.client("s3"), stack.client("sqs")
    handled = intake_deleted(stack)
    (rule,) = [r["Name"] for r in events.list_rules()["Rules"] if r["Name"].endswith("-object-created")]
    targets = events.list_targets_by_rule(Rule=rule)["Targets"]
    events.remove_targets(Rule=rule, Ids=[t["Id"] for t in targets])
    versions = {}
    for name in INVOICES:
        content = _document_bytes(name, CASES[name])
        standin.engine.add(content, recorded(*CASES[name]["pages"]))  # type: ignore[attr-defined]
        key = f"{PREFIX}{name}{'.jpg' if name == 'receipt' else '.png'}"
        versions[key] = s3.put_object(Bucket=stack.ingest_bucket, Key=key, Body=content)["VersionId"]
    s3.put_object(Bucket=stack.ingest_bucket, Key=f"{PREFIX}scans/", Body=b"")
    s3.put_object(Bucket=stack.ingest_bucket, Key=f"{PREFIX}empty.pdf", Body=b"")
    s3.put_object(Bucket=stack.ingest_bucket, Key="archive/2019/old-invoice.png", Body=png("archived"))
    events.put_targets(Rule=rule, Targets=targets)
    # Nothing reached the intake: no message waits or is in flight (checked first), none was handled since.
    waiting = sqs.get_queue_attributes(QueueUrl=stack.intake_queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    assert set(waiting.values()) == {"0"} and intake_deleted(stack) == handled, "the objects were announced"
    yield versions


def _backfill_calls(stack: Deployment) -> list[dict[str, Any]]:
    return [c for c in lambda_runner.invocations if c["function"] == stack.function_names["backfill"]]


def test_every_stored_invoice_becomes_one_document_and_a_second_backfill_starts_nothing(
        stack: Deployment, stored: dict[str, str]) -> None:
    # The whole bucket, as anyone with the AWS CLI may ask: the backfill function leaves out what Register
    # may not read (archive/), folders and empty objects.
    first = run_backfill(stack, "first", stack.ingest_bucket, "")
    assert first["status"] == "SUCCEEDED", first
    executions = stack.wait_for_executions(len(stored))
    assert {e["name"] for e in executions} == {upload_name(stack.ingest_bucket, k, v) for k, v in stored.items()}
    documents = _documents()
    assert sorted((d["object_key"], d["version_id"]) for d in documents) == sorted(stored.items())
    assert {d["status"] for d in documents} <= TERMINAL and {d["status"] for d in documents} & {
        "COMPLETED", "NEEDS_REVIEW"}

    sfn = stack.client("stepfunctions")
    (map_run,) = sfn.list_map_runs(executionArn=first["executionArn"])["mapRuns"]
    counts = sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])["itemCounts"]
    assert (counts["total"], counts["succeeded"]) == (len(stored) + 3, len(stored) + 3)
    calls = _backfill_calls(stack)
    for call in calls:  # the contract of schemas/states.schema.json, on real batches
        validate_definition("states", "backfill_input", call["event"])
        validate_definition("states", "backfill_output", call["result"])
    assert sum(c["result"]["sent"] for c in calls) == len(stored)
    assert sum(c["result"]["skipped"] for c in calls) == 3

    handled = intake_deleted(stack)
    again = run_backfill(stack, "again", stack.ingest_bucket, PREFIX)
    assert again["status"] == "SUCCEEDED", again
    assert sum(c["result"]["sent"] for c in _backfill_calls(stack)) == 2 * len(stored)  # sent again ...
    wait_for_intake(stack, handled + len(stored))
    assert len(stack.executions()) == len(stored)  # ... and started nothing: the names are the uploads'
    assert len(_documents()) == len(stored)


def test_a_bucket_that_is_not_there_is_a_named_failure(stack: Deployment) -> None:
    ended = run_backfill(stack, "nowhere", "no-such-bucket-anywhere", "incoming/")
    assert (ended["status"], ended["error"]) == ("FAILED", "BackfillSourceUnreadable")
    assert "NoSuchBucket" in ended["cause"]
    assert stack.executions() == [] and _backfill_calls(stack) == []


def test_the_backfill_is_deployed_as_terraform_says(stack: Deployment) -> None:
    sfn, lam, iam = (stack.client(s) for s in ("stepfunctions", "lambda", "iam"))
    described = sfn.describe_state_machine(stateMachineArn=stack.backfill_state_machine_arn)
    function_arn = lam.get_function(FunctionName=stack.function_names["backfill"])["Configuration"]["FunctionArn"]
    assert described["type"] == "STANDARD"
    assert json.loads(described["definition"]) == json.loads(asl.render(
        {"backfill_function_arn": function_arn, "backfill_max_concurrency": 10}, asl.BACKFILL_TEMPLATE))
    role = described["roleArn"].rsplit("/", 1)[1]
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    statements = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]["Statement"]
    by_action = {a: s for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    listing = by_action["s3:ListBucket"]
    assert listing["Resource"] == f"arn:aws:s3:::{stack.ingest_bucket}"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": "incoming/*"}}
    assert by_action["lambda:InvokeFunction"]["Resource"] == function_arn
    assert by_action["states:StartExecution"]["Resource"] == stack.backfill_state_machine_arn
    assert "s3:GetObject" not in by_action and "sqs:SendMessage" not in by_action  # the function's, not its
    environment = lam.get_function_configuration(FunctionName=function_arn)["Environment"]["Variables"]
    assert json.loads(environment["BACKFILL_SOURCES"]) == [f"{stack.ingest_bucket}/incoming/"]
    assert environment["INTAKE_QUEUE_URL"] == stack.intake_queue_url


@pytest.fixture
def state_dir(stack: Deployment, tmp_path: Path) -> Path:
    """A stack.json for the CLI, naming this process's emulation and database."""
    info = StackInfo(endpoint=stack.endpoint, region=REGION, database_url=os.environ["DATABASE_URL"],
                     ingest_bucket=stack.ingest_bucket, results_bucket=stack.results_bucket,
                     state_machine_arn=stack.state_machine_arn, drop_folder=str(tmp_path / "drop"),
                     pid=os.getpid(), postgres="test", api_url="", api_token="",
                     backfill_state_machine_arn=stack.backfill_state_machine_arn)
    (tmp_path / "stack.json").write_text(json.dumps(asdict(info)))
    return tmp_path


def test_invoices_backfill_shows_progress_then_the_results(stack: Deployment, stored: dict[str, str],
                                                          state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"s3://{stack.ingest_bucket}"  # the bucket: its incoming/, all the backfill may read of it
    assert cli.main(["backfill", url, "--state-dir", str(state_dir)]) == 0
    out, err = capsys.readouterr()
    # The functions run in this process and write JSON logs and metrics to its stdout here (local mode gives
    # each its own log file).
    out = "\n".join(line for line in out.splitlines() if not line.startswith("{"))
    summary = out.splitlines()[0]
    assert summary.startswith(f"backfill s3://{stack.ingest_bucket}/incoming/: 5 objects listed, 3 sent "
                              "(left out: 1 empty, 1 folder); 3 started the pipeline, 0 had been processed before")
    assert "id" in out and "status" in out and "Traceback" not in out + err
    for key in stored:
        assert key.removeprefix("incoming/") in out
    assert "backfill " in err and "objects handled" in err and "documents done" in err  # the two bars

    handled = intake_deleted(stack)
    again = backfill_cmd.backfill(StackInfo.load(state_dir), f"{url}/{PREFIX}")
    assert (again.started, len(again.plan.send), len(again.document_ids)) == (0, 3, 3)
    assert sum(again.statuses.values()) == 3 and set(again.statuses) <= TERMINAL
    wait_for_intake(stack, handled + 3)
    assert len(stack.executions()) == 3


@pytest.mark.parametrize(("url", "says"), [
    ("s3://{ingest}/archive/", "outside what the backfill may read"),
    ("s3://no-such-bucket-anywhere/incoming/", "outside what the backfill may read"),
    ("incoming/", "not an S3 URL"),
])
def test_invoices_backfill_says_what_is_wrong_in_one_line(stack: Deployment, state_dir: Path, url: str,
                                                          says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["backfill", url.format(ingest=stack.ingest_bucket), "--state-dir", str(state_dir)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and says in err
    assert stack.executions() == []


def test_a_source_bucket_that_is_not_there_is_one_line(stack: Deployment, state_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from invoice_pipeline.domain.backfill import Source

    monkeypatch.setattr(backfill_cmd, "deployed_sources", lambda info: [Source("gone-bucket", "")])
    with pytest.raises(CommandError, match="no bucket 'gone-bucket'"):
        backfill_cmd.backfill(StackInfo.load(state_dir), "s3://gone-bucket/x/")
