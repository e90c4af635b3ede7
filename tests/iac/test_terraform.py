"""terraform/ is formatted, initializes from the offline mirror, validates, and plans completely, both the
way the local stack applies it and the way a real account gets it, without reaching any network."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from invoice_local import manifest

from tests.iac.conftest import (
    ACCOUNT_ID,
    LOCAL_DATABASE_URL,
    MIRROR,
    PROVIDER_VERSION,
    TF_DIR,
    Terraform,
    local_plan_args,
)
from tests.shared_data import REPO_ROOT, skip_or_fail

FUNCTIONS = set(manifest.functions())
# What functions/invoice_pipeline/config.py and observability.py read.
REQUIRED_ENV = {"RESULTS_BUCKET", "TEXTRACT_SNS_TOPIC_ARN", "TEXTRACT_ROLE_ARN", "TEXTRACT_OUTPUT_BUCKET",
                "TEXTRACT_OUTPUT_PREFIX", "TEXTRACT_OUTPUT_KMS_KEY", "ANALYSIS_TIMEOUT_SECONDS", "WORK_DIR",
                "ANALYSIS_SECONDS_PER_PAGE", "ANALYSIS_TIMEOUT_MAX_SECONDS",
                "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
# Resources that only exist with the database and network on (local mode turns both off).
AWS_ONLY_TYPES = {"aws_db_instance", "aws_db_subnet_group", "aws_db_parameter_group", "aws_secretsmanager_secret",
                  "aws_secretsmanager_secret_version", "aws_lambda_invocation", "aws_vpc", "aws_subnet",
                  "aws_vpc_endpoint", "aws_security_group", "aws_flow_log"}


def created(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Managed resources the plan creates, by address, with their planned values."""
    out = {}
    for rc in plan["resource_changes"]:
        if rc["mode"] == "managed":
            assert rc["change"]["actions"] == ["create"], rc["address"]
            out[rc["address"]] = rc["change"]["after"]
    return out


def of_type(plan: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {a: v for a, v in created(plan).items() if a.split("[")[0].split(".")[0] == kind}


# --- format, init, validate ---------------------------------------------------------------------------


def test_fmt_check() -> None:
    try:
        result = subprocess.run(["terraform", "fmt", "-check", "-recursive", "-diff", "-no-color", str(TF_DIR)],
                                capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        skip_or_fail("terraform is not on PATH")
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


def test_init_is_offline_from_the_mirror(tf: Terraform) -> None:
    # The provider in the data directory is the mirror's (a link into it or a copy of it), at the pinned version.
    installed = list((tf.work / "data" / "providers" / "registry.terraform.io" / "hashicorp" / "aws").iterdir())
    assert [p.name for p in installed] == [PROVIDER_VERSION]
    platform_dir = next(installed[0].iterdir())
    if platform_dir.is_symlink():
        assert str(platform_dir.resolve()).startswith(str(MIRROR.resolve()))
    lock = (TF_DIR / ".terraform.lock.hcl").read_text()
    assert re.search(r'provider "registry.terraform.io/hashicorp/aws" \{\s*version\s*=\s*"' + PROVIDER_VERSION, lock)


def test_validate(tf: Terraform) -> None:
    result = json.loads(tf.run("validate", "-json", "-no-color").stdout)
    assert result["valid"], result["diagnostics"]
    assert result["error_count"] == 0 and result["warning_count"] == 0, result["diagnostics"]


# --- the local plan: what the local stack applies to the emulation --------------------------------------


def test_local_plan_has_no_database_or_network(plans: dict[str, dict[str, Any]]) -> None:
    kinds = {a.split(".")[0] for a in created(plans["local"])}
    assert not kinds & AWS_ONLY_TYPES, kinds & AWS_ONLY_TYPES
    for address, fn in of_type(plans["local"], "aws_lambda_function").items():
        assert fn["vpc_config"] == [], address


def test_local_plan_passes_the_database_url_and_points_everything_local(plans: dict[str, dict[str, Any]]) -> None:
    config = plans["local"]["configuration"]["provider_config"]["aws"]["expressions"]
    # Every endpoint is the one variable, so no service can be missed when local_endpoint is set.
    endpoints = config["endpoints"][0]
    assert endpoints and all(e == {"references": ["var.local_endpoint"]} for e in endpoints.values())
    assert plans["local"]["variables"]["database_url"]["value"] == LOCAL_DATABASE_URL
    fn_config = next(r for r in plans["local"]["configuration"]["root_module"]["resources"]
                     if r["address"] == "aws_lambda_function.fn")
    assert "local.function_environment" in json.dumps(fn_config["expressions"]["environment"])


# --- both plans ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["local", "aws"])
def test_functions(plans: dict[str, dict[str, Any]], mode: str) -> None:
    functions = of_type(plans[mode], "aws_lambda_function")
    assert {a.split('"')[1] for a in functions} == FUNCTIONS
    hashes = set()
    for address, fn in functions.items():
        name = address.split('"')[1]
        assert fn["runtime"] == "python3.12" and fn["architectures"] == ["arm64"], address
        assert fn["handler"] == manifest.functions()[name].handler
        assert fn["timeout"] == manifest.functions()[name].timeout_seconds
        assert fn["tracing_config"] == [{"mode": "Active"}]
        # from the versioned artifacts bucket, never a local file (the provider serializes those)
        assert fn.get("filename") is None and fn["s3_key"] == "lambda/code.zip", address
        hashes.add(fn["source_code_hash"])
        if name == "register":
            assert fn["ephemeral_storage"][0]["size"] >= 768  # a 500 MB upload streamed to /tmp
    assert len(hashes) == 1  # one code package
    layer = of_type(plans[mode], "aws_lambda_layer_version")
    assert [v["compatible_architectures"] for v in layer.values()] == [["arm64"]]
    assert functions['aws_lambda_function.fn["start_analysis"]']["reserved_concurrent_executions"] > 0


@pytest.mark.parametrize("mode", ["local", "aws"])
def test_every_function_has_an_explicit_log_group_with_retention(plans: dict[str, dict[str, Any]],
                                                                  mode: str) -> None:
    groups = of_type(plans[mode], "aws_cloudwatch_log_group")
    names = {g["name"] for g in groups.values()}
    for fn in of_type(plans[mode], "aws_lambda_function").values():
        assert f"/aws/lambda/{fn['function_name']}" in names
    assert all(g["retention_in_days"] > 0 for g in groups.values())


@pytest.mark.parametrize("mode", ["local", "aws"])
def test_events_state_machine_and_textract_wiring(plans: dict[str, dict[str, Any]], mode: str) -> None:
    res = created(plans[mode])
    target = res["aws_cloudwatch_event_target.pipeline"]
    assert target["retry_policy"][0]["maximum_retry_attempts"] >= 1
    assert target["dead_letter_config"] and target["target_id"] == "pipeline"
    rule = json.loads(res["aws_cloudwatch_event_rule.object_created"]["event_pattern"])
    assert rule["source"] == ["aws.s3"] and rule["detail-type"] == ["Object Created"]
    assert rule["detail"]["bucket"]["name"] == [res["aws_s3_bucket.ingest"]["bucket"]]
    assert rule["detail"]["object"]["key"] == [{"prefix": "incoming/"}]
    sm = res["aws_sfn_state_machine.pipeline"]
    assert sm["type"] == "STANDARD"
    assert sm["tracing_configuration"] == [{"enabled": True}]
    assert sm["logging_configuration"][0]["level"] in ("ALL", "ERROR")
    # Execution data would put every $$.Task.Token of StartAnalysis's parameters in CloudWatch Logs.
    assert sm["logging_configuration"][0]["include_execution_data"] is False
    assert [e["type"] for e in sm["encryption_configuration"]] == ["CUSTOMER_MANAGED_KMS_KEY"]
    config = {r["address"]: r for r in plans[mode]["configuration"]["root_module"]["resources"]}
    encryption = config["aws_sfn_state_machine.pipeline"]["expressions"]["encryption_configuration"][0]
    assert "aws_kms_key.main.arn" in encryption["kms_key_id"]["references"]
    # The backfill's state machine likewise: its data is object keys (uploaders' file names).
    backfill = res["aws_sfn_state_machine.backfill"]
    assert backfill["logging_configuration"][0]["include_execution_data"] is False
    assert [e["type"] for e in backfill["encryption_configuration"]] == ["CUSTOMER_MANAGED_KMS_KEY"]
    encryption = config["aws_sfn_state_machine.backfill"]["expressions"]["encryption_configuration"][0]
    assert "aws_kms_key.main.arn" in encryption["kms_key_id"]["references"]
    sub = res["aws_sns_topic_subscription.callback"]
    assert sub["protocol"] == "lambda"
    assert res["aws_lambda_permission.callback_from_sns"]["principal"] == "sns.amazonaws.com"
    assert res["aws_lambda_function_event_invoke_config.callback"]["destination_config"][0]["on_failure"]
    resources = plans[mode]["configuration"]["root_module"]["resources"]
    permission = next(r for r in resources if r["address"] == "aws_lambda_permission.callback_from_sns")
    assert permission["expressions"]["source_arn"]["references"][0] == "aws_sns_topic.textract.arn"


@pytest.mark.parametrize("mode", ["local", "aws"])
def test_storage(plans: dict[str, dict[str, Any]], mode: str) -> None:
    res = created(plans[mode])
    buckets = of_type(plans[mode], "aws_s3_bucket")
    assert len(buckets) == 4  # ingest, results, artifacts, access logs
    assert all(ACCOUNT_ID in b["bucket"] for b in buckets.values())
    for kind in ("aws_s3_bucket_public_access_block", "aws_s3_bucket_versioning", "aws_s3_bucket_policy",
                 "aws_s3_bucket_lifecycle_configuration", "aws_s3_bucket_server_side_encryption_configuration"):
        assert len(of_type(plans[mode], kind)) == 4, kind
    for pab in of_type(plans[mode], "aws_s3_bucket_public_access_block").values():
        assert all(pab[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                    "restrict_public_buckets"))
    assert len(of_type(plans[mode], "aws_s3_bucket_logging")) == 3  # all but the access-log bucket itself
    assert res["aws_s3_bucket_notification.ingest"]["eventbridge"] is True
    assert res["aws_kms_key.main"]["enable_key_rotation"] is True


@pytest.mark.parametrize("mode", ["local", "aws"])
def test_api_and_alarms(plans: dict[str, dict[str, Any]], mode: str) -> None:
    res = created(plans[mode])
    routes = of_type(plans[mode], "aws_apigatewayv2_route")
    by_auth: dict[str, set[str]] = {}
    for r in routes.values():
        by_auth.setdefault(r["authorization_type"], set()).add(r["route_key"])
    # The handler's contract (schemas/openapi.json, api/auth.py): JWT everywhere but GET /health, and every
    # route again under /iam/ with SigV4.
    assert by_auth["NONE"] == {"GET /health"}
    assert all(" /iam/" in k for k in by_auth["AWS_IAM"])
    assert {k.replace(" /iam/", " /") for k in by_auth["AWS_IAM"]} == by_auth["JWT"] | by_auth["NONE"]
    openapi = json.loads((REPO_ROOT / "schemas" / "openapi.json").read_text())
    documented = {f"{method.upper()} {path}" for path, item in openapi["paths"].items() for method in item}
    assert by_auth["JWT"] | by_auth["NONE"] == documented
    stage = res["aws_apigatewayv2_stage.default"]
    assert stage["default_route_settings"][0]["throttling_rate_limit"] > 0
    assert stage["access_log_settings"]
    alarms = {a["metric_name"] for a in of_type(plans[mode], "aws_cloudwatch_metric_alarm").values()}
    assert {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionTime", "ApproximateNumberOfMessagesVisible",
            "Errors", "5xx", "Failed.TaskTimedOut", "OldestPendingEventSeconds"} <= alarms


# --- the production-shaped plan -----------------------------------------------------------------------


def test_aws_plan_database(plans: dict[str, dict[str, Any]]) -> None:
    res = created(plans["aws"])
    db = res["aws_db_instance.main[0]"]
    assert db["storage_encrypted"] and not db["publicly_accessible"]
    assert db["iam_database_authentication_enabled"] and db["multi_az"] and db["deletion_protection"]
    assert db["backup_retention_period"] >= 1
    assert "password" not in db or db["password"] is None  # write-only: never in the plan or state
    assert "aws_secretsmanager_secret_version.db[0]" in res
    assert {'aws_secretsmanager_secret_version.db_role["api"]',
            'aws_secretsmanager_secret_version.db_role["pipeline"]'} <= set(res)
    assert "aws_lambda_invocation.migrate[0]" in res
    for address, fn in of_type(plans["aws"], "aws_lambda_function").items():
        assert fn["vpc_config"], f"{address} is not in the VPC"
    endpoints = {v["service_name"].rsplit(".", 1)[1]: v["vpc_endpoint_type"]
                 for v in of_type(plans["aws"], "aws_vpc_endpoint").values()}
    assert endpoints == {"s3": "Gateway", "secretsmanager": "Interface", "states": "Interface", "sqs": "Interface",
                         "textract": "Interface", "events": "Interface"}
    assert not of_type(plans["aws"], "aws_nat_gateway")


@pytest.mark.parametrize("mode", ["local", "aws"])
def test_function_environment(tf: Terraform, plans: dict[str, dict[str, Any]], moto_endpoint: str,
                              mode: str) -> None:
    args = local_plan_args() if mode == "local" else [f"-var=account_id={ACCOUNT_ID}",
                                                      f"-var=local_endpoint={moto_endpoint}"]
    # The names only: nonsensitive() because DATABASE_URL makes the whole map sensitive.
    env = tf.console("jsonencode({common = nonsensitive(sort(keys(local.function_environment))), "
                     "api = sort(keys(local.extra_environment)), "
                     "database = {for k, v in local.database_environment : k => nonsensitive(sort(keys(v)))}, "
                     "secrets = local.function_database_secrets})", *args)
    keys = set(env["common"])
    assert keys >= REQUIRED_ENV
    assert not keys & {"DATABASE_URL", "DATABASE_SECRET_ARN"}  # per function: as its own role
    connecting = {k for k, f in manifest.functions().items() if f.database}
    assert {k for k, v in env["database"].items() if v} == connecting
    for key in connecting:
        expected = ["DATABASE_URL"] if mode == "local" else ["DATABASE_SECRET_ARN"]
        if key == "migrate" and mode == "aws":
            expected = ["DATABASE_ROLE_SECRETS", "DATABASE_SECRET_ARN"]
        assert env["database"][key] == expected, key
    # IAM (functions.tf ReadDatabaseSecret reads this map): the master secret is the migrate function's only.
    assert {k for k, v in env["secrets"].items() if "master" in v} == {"migrate"}
    assert env["secrets"]["api"] == ["api"]
    assert all(env["secrets"][k] == ["pipeline"] for k in connecting - {"api", "migrate"})
    assert {"INGEST_BUCKET", "STATE_MACHINE_ARN"} <= set(env["api"])


def test_plan_sizes(plans: dict[str, dict[str, Any]]) -> None:
    local, aws = len(created(plans["local"])), len(created(plans["aws"]))
    print(f"\nplanned resources: local {local}, aws {aws}")
    assert aws > local
