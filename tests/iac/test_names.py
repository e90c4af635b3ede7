"""Generated names against their services' limits (issue 10, item 6), and the regions the pipeline refuses
(item 7). One extra AWS-shaped plan with the longest project, environment and region the variable validations
accept: every name it plans must fit the limit AWS documents for that resource (~40 s, the plan)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.iac.conftest import ACCOUNT_ID, Terraform
from tests.shared_data import REPO_ROOT

# The longest values variables.tf accepts (the test below reads the limits back from its validations).
LONGEST_PROJECT = "p" * 12
LONGEST_ENVIRONMENT = "e" * 10

# (resource type, attribute) -> the longest name AWS accepts there.
LIMITS: dict[tuple[str, str], int] = {
    ("aws_s3_bucket", "bucket"): 63,
    ("aws_lambda_function", "function_name"): 64,
    ("aws_lambda_layer_version", "layer_name"): 140,
    ("aws_iam_role", "name"): 64,
    ("aws_iam_role_policy", "name"): 128,
    ("aws_iam_policy", "name"): 128,
    ("aws_sqs_queue", "name"): 80,
    ("aws_sns_topic", "name"): 256,
    ("aws_sfn_state_machine", "name"): 80,
    ("aws_cloudwatch_log_group", "name"): 512,
    ("aws_cloudwatch_event_rule", "name"): 64,
    ("aws_cloudwatch_event_target", "target_id"): 64,
    ("aws_cloudwatch_metric_alarm", "alarm_name"): 255,
    ("aws_cloudwatch_dashboard", "dashboard_name"): 255,
    ("aws_db_instance", "identifier"): 63,
    ("aws_db_instance", "final_snapshot_identifier"): 255,
    ("aws_db_subnet_group", "name"): 255,
    ("aws_db_parameter_group", "name"): 255,
    ("aws_security_group", "name"): 255,
    ("aws_secretsmanager_secret", "name"): 512,
    ("aws_kms_alias", "name"): 256,
    ("aws_cognito_user_pool", "name"): 128,
    ("aws_cognito_user_pool_client", "name"): 128,
    ("aws_cognito_user_pool_domain", "domain"): 63,
    ("aws_apigatewayv2_api", "name"): 128,
    ("aws_scheduler_schedule", "name"): 64,
}


def allowed_regions() -> list[str]:
    text = (REPO_ROOT / "terraform" / "variables.tf").read_text()
    block = re.search(r'variable "region" \{.*?\n\}', text, re.S)
    assert block, "variable region not found"
    listed = re.search(r"contains\(\[(.*?)\], var\.region\)", block.group(0), re.S)
    assert listed, "the region validation is no longer a list of regions"
    return json.loads(f"[{listed.group(1)}]")


def test_the_longest_values_are_what_the_validations_allow() -> None:
    text = (REPO_ROOT / "terraform" / "variables.tf").read_text()
    assert '"^[a-z][a-z0-9-]{1,10}[a-z0-9]$"' in text  # project: 3-12
    assert '"^[a-z][a-z0-9]{0,9}$"' in text  # environment: 1-10


@pytest.fixture(scope="module")
def longest_plan(tf: Terraform, moto_endpoint: str) -> dict[str, Any]:
    region = max(allowed_regions(), key=len)
    return tf.plan_json("longest", f"-var=account_id={ACCOUNT_ID}", f"-var=local_endpoint={moto_endpoint}",
                        f"-var=project={LONGEST_PROJECT}", f"-var=environment={LONGEST_ENVIRONMENT}",
                        f"-var=region={region}")


def test_every_name_fits_its_limit_with_the_longest_inputs(longest_plan: dict[str, Any]) -> None:
    checked, too_long = {}, []
    for rc in longest_plan["resource_changes"]:
        after = (rc.get("change") or {}).get("after") or {}
        for (kind, attr), limit in LIMITS.items():
            value = after.get(attr) if rc["type"] == kind else None
            if isinstance(value, str):
                checked[(kind, attr)] = checked.get((kind, attr), 0) + 1
                if len(value) > limit:
                    too_long.append(f"{rc['address']}.{attr} = {value!r}: {len(value)} > {limit}")
    assert not too_long, "\n".join(too_long)
    # Not vacuous: the buckets, functions, roles, queues and the database were all there to check.
    for must in [("aws_s3_bucket", "bucket"), ("aws_lambda_function", "function_name"), ("aws_iam_role", "name"),
                 ("aws_sqs_queue", "name"), ("aws_db_instance", "identifier"),
                 ("aws_cognito_user_pool_domain", "domain")]:
        assert checked.get(must), f"no {must} in the plan"


@pytest.mark.parametrize(("region", "reason"), [
    ("us-gov-west-1", "partition"),  # GovCloud: another partition (arn:aws-us-gov), not supported
    ("eu-north-1", "AnalyzeExpense"),  # a commercial region without Textract
])
def test_unsupported_regions_are_refused_at_plan_time(tf: Terraform, region: str, reason: str) -> None:
    result = tf.run("plan", "-input=false", "-lock=false", "-no-color", tf.state, f"-var=account_id={ACCOUNT_ID}",
                    f"-var=region={region}", check=False)
    assert result.returncode != 0
    assert reason in result.stderr, result.stderr
