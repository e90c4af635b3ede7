"""terraform apply of the real configuration, with local.tfvars, to the AWS emulation; then the resources
are checked for existence and wiring, a real invoice goes through what Terraform deployed, and destroy
leaves nothing behind.

The emulation (local/invoice_local/emulation) supplies what moto lacks and the provider calls:
states:ValidateStateMachineDefinition and states:ListStateMachineVersions (server.ADDED_APIS)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from invoice_local import asl
from invoice_local.emulation import server
from invoice_local.emulation import textract as standin
from invoice_local.postgres import create_database, start_postgres
from invoice_pipeline.adapters import aws, db, repository

from tests.iac.conftest import Terraform
from tests.shared_data import TEXTRACT_DIR, require

ACCOUNT = "123456789012"


@pytest.fixture(scope="module")
def emulation() -> Iterator[server.EmulationServer]:
    # The functions run in this process and the runner applies their environment (DATABASE_URL of this
    # module's throwaway Postgres among it) to os.environ: give later tests the environment back.
    saved = dict(os.environ)
    emu = server.start()
    try:
        yield emu
    finally:
        emu.stop()
        os.environ.clear()
        os.environ.update(saved)
        db.close()
        aws.reset()


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with start_postgres() as pg:
        url = create_database(pg, "tf_apply")
        yield url
    db.close()


@pytest.fixture(scope="module")
def applied(tf: Terraform, emulation: server.EmulationServer, database: str) -> Iterator[dict[str, Any]]:
    args = ["-var-file=local.tfvars", f"-var=local_endpoint={emulation.endpoint}", f"-var=database_url={database}",
            f"-var=account_id={ACCOUNT}"]
    state = f"-state={tf.work / 'local-apply.tfstate'}"
    tf.run("apply", "-auto-approve", "-input=false", "-lock=false", "-no-color", state, *args, timeout=600)
    outputs = {k: v["value"] for k, v in json.loads(tf.run("output", "-json", state).stdout).items()}
    try:
        yield outputs
    finally:
        destroyed = tf.run("destroy", "-auto-approve", "-input=false", "-lock=false", "-no-color", state, *args,
                           timeout=600)
        assert "Destroy complete" in destroyed.stdout
        left = json.loads(tf.run("show", "-json", state.removeprefix("-state=")).stdout)
        assert not left.get("values", {}).get("root_module", {}).get("resources"), "resources left after destroy"


def _client(emulation: server.EmulationServer, service: str) -> Any:
    return boto3.client(service, endpoint_url=emulation.endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_resources_exist_and_are_wired(applied: dict[str, Any], emulation: server.EmulationServer) -> None:
    s3, sfn, events, sns = (_client(emulation, s) for s in ("s3", "stepfunctions", "events", "sns"))
    ingest = applied["ingest_bucket"]

    # moto stores the EventBridge flag but leaves it out of GetBucketNotificationConfiguration (hence the
    # known re-plan drift): read it from the emulation's backend, which runs in this process.
    from moto.s3.models import s3_backends

    assert s3.head_bucket(Bucket=ingest)
    assert s3_backends[ACCOUNT]["aws"].get_bucket(ingest).notification_configuration.event_bridge is not None
    rules = [r for r in events.list_rules()["Rules"] if ingest in r.get("EventPattern", "")]
    assert rules, "no EventBridge rule matches the ingest bucket"
    targets = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"]
    assert [t["Arn"] for t in targets] == [applied["state_machine_arn"]]
    assert targets[0].get("DeadLetterConfig", {}).get("Arn"), "the rule target has no dead-letter queue"

    definition = sfn.describe_state_machine(stateMachineArn=applied["state_machine_arn"])["definition"]
    functions = applied["function_names"]
    lam = _client(emulation, "lambda")
    arns = {name: lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"] for name, fn in functions.items()}
    expected = asl.render({
        **{f"{name}_function_arn": arns[name] for name in ("register", "start_analysis", "parse", "validate",
                                                          "persist", "record_failure")},
        "analysis_timeout_seconds": 300, "textract_retry_interval_seconds": 1, "textract_retry_max_attempts": 3,
    })
    assert json.loads(definition) == json.loads(expected)

    subs = sns.list_subscriptions_by_topic(TopicArn=applied["textract_topic_arn"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("lambda", arns["callback"])]
    for name, fn in functions.items():
        conf = lam.get_function(FunctionName=fn)["Configuration"]
        assert conf["Runtime"] == "python3.12" and conf["Architectures"] == ["arm64"], name
        assert conf["Handler"] == f"invoice_pipeline.handlers.{name}.handler", name


def test_an_invoice_goes_through_what_terraform_deployed(applied: dict[str, Any], database: str,
                                                         emulation: server.EmulationServer) -> None:
    os.environ["DATABASE_URL"] = database
    db.close()
    db.migrate()
    aws.reset()
    engine = standin.RecordedResponses()
    standin.configure(engine=engine, faults=standin.Faults(job_seconds=0.1))
    content = require(TEXTRACT_DIR / "default_invoice_1.png").read_bytes()
    engine.add(content, [json.loads((TEXTRACT_DIR / "default_invoice_1.analyze_expense.json").read_text())])
    _client(emulation, "s3").put_object(Bucket=applied["ingest_bucket"], Key="incoming/tf.png", Body=content)

    sfn = _client(emulation, "stepfunctions")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = sfn.list_executions(stateMachineArn=applied["state_machine_arn"])["executions"]
        if runs and all(r["status"] != "RUNNING" for r in runs):
            break
        time.sleep(0.3)
    assert [r["status"] for r in runs] == ["SUCCEEDED"], runs
    with db.transaction() as con:
        (doc,) = db.rows(con, "SELECT id, status FROM documents")
    (invoice,) = repository.invoices_for(doc["id"])
    assert str(invoice["total"]) == "6231.09"
