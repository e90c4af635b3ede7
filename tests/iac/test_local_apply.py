"""terraform apply of the real configuration, with local.tfvars, to the AWS emulation (the session's
deployment, tests/pipeline_fixtures.py): the resources exist and are wired as terraform/ and
functions/manifest.json say, a real invoice goes through what Terraform deployed, and destroy leaves nothing
behind.

The emulation (local/invoice_local/emulation) supplies what moto lacks and the provider calls:
states:ValidateStateMachineDefinition and states:ListStateMachineVersions (server.ADDED_APIS)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from invoice_local import asl, manifest, terraform
from invoice_local.deployment import Deployment
from invoice_local.emulation import textract as standin
from invoice_pipeline.adapters import db, repository

from tests.pipeline_fixtures import TEST_VARIABLES
from tests.shared_data import TEXTRACT_DIR, require


def test_resources_exist_and_are_wired(stack: Deployment) -> None:
    s3, sfn, events, sns = (stack.client(s) for s in ("s3", "stepfunctions", "events", "sns"))
    ingest = stack.ingest_bucket

    # moto stores the EventBridge flag but leaves it out of GetBucketNotificationConfiguration (hence the
    # known re-plan drift): read it from the emulation's backend, which runs in this process.
    from moto.s3.models import s3_backends

    assert s3.head_bucket(Bucket=ingest)
    account = stack.state_machine_arn.split(":")[4]
    assert s3_backends[account]["aws"].get_bucket(ingest).notification_configuration.event_bridge is not None
    rules = [r for r in events.list_rules()["Rules"] if ingest in r.get("EventPattern", "")]
    assert rules, "no EventBridge rule matches the ingest bucket"
    targets = events.list_targets_by_rule(Rule=rules[0]["Name"])["Targets"]
    intake_arn = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.intake_queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert [t["Arn"] for t in targets] == [intake_arn]
    assert targets[0].get("DeadLetterConfig", {}).get("Arn"), "the rule target has no dead-letter queue"

    definition = sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"]
    lam = stack.client("lambda")
    arns = {name: lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
            for name, fn in stack.function_names.items()}
    expected = asl.render({
        **{f"{name}_function_arn": arns[name] for name in manifest.state_functions()},
        "textract_retry_interval_seconds": TEST_VARIABLES["textract_retry_interval_seconds"],
        "textract_retry_max_attempts": TEST_VARIABLES["textract_retry_max_attempts"],
    })
    assert json.loads(definition) == json.loads(expected)

    subs = sns.list_subscriptions_by_topic(TopicArn=stack.topic_arn)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("lambda", arns["callback"])]


def test_local_mode_deploys_the_functions_of_the_manifest(stack: Deployment) -> None:
    """What local mode runs is what terraform/ deploys from functions/manifest.json: every function, with its
    handler, memory, timeout and environment, and nothing else."""
    functions = manifest.functions()
    lam = stack.client("lambda")
    deployed = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    assert set(stack.function_names) == set(functions)
    assert set(deployed) == set(stack.function_names.values())
    common = None
    for key, fn in functions.items():
        conf = deployed[stack.function_names[key]]
        assert conf["Handler"] == fn.handler, key
        assert conf["MemorySize"] == fn.memory_mb, key
        assert conf["Timeout"] == fn.timeout_seconds, key
        assert conf["Runtime"] == "python3.12" and conf["Architectures"] == ["arm64"], key
        env = conf["Environment"]["Variables"]
        # The database's URL is per function, as its own role (tests/integration/test_database_roles.py).
        assert ("DATABASE_URL" in env) == fn.database, key
        extra = set(fn.environment) | ({"DATABASE_URL"} if fn.database else set())
        base = set(env) - extra
        common = base if common is None else common
        assert base == common, f"{key} gets another common environment"
        assert extra <= set(env), f"{key} lacks {extra - set(env)}"
    assert common and {"RESULTS_BUCKET", "TEXTRACT_SNS_TOPIC_ARN"} <= common


def test_an_invoice_goes_through_what_terraform_deployed(stack: Deployment) -> None:
    engine = standin.RecordedResponses()
    standin.configure(engine=engine, faults=standin.Faults(job_seconds=0.1))
    content = require(TEXTRACT_DIR / "default_invoice_1.png").read_bytes()
    engine.add(content, [json.loads((TEXTRACT_DIR / "default_invoice_1.analyze_expense.json").read_text())])
    stack.upload("incoming/tf.png", content)
    runs = stack.wait_for_executions(1, timeout=120)
    assert [r["status"] for r in runs] == ["SUCCEEDED"], runs
    with db.transaction() as con:
        (doc,) = db.rows(con, "SELECT id, status FROM documents")
    (invoice,) = repository.invoices_for(doc["id"])
    assert str(invoice["total"]) == "6231.09"


def test_destroy_leaves_nothing_behind(stack: Deployment, tmp_path: Path) -> None:
    # A copy of the state: the session's deployment stays restorable for the tests after this one.
    state = tmp_path / "destroy.tfstate"
    shutil.copy(stack.state_dir / "terraform.tfstate", state)
    out = terraform.destroy(stack.state_dir, stack.variables, state)
    assert "Destroy complete" in out
    left = json.loads(state.read_text())
    assert not left.get("resources"), "resources left after destroy"
    assert not stack.client("lambda").list_functions()["Functions"]
    assert not stack.client("stepfunctions").list_state_machines()["stateMachines"]
