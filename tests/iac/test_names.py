"""Generated names against their services' limits (issue 10, item 6), and the regions the pipeline refuses
(item 7). The longest project and environment the variable validations accept, planned as a real deployment
(database and network on) in three regions: the longest region the validation accepts, which binds the bucket
names (<project>-<environment>-access-logs-<account>-<region>), and us-east-1 and eu-central-1, the ones the
issue names. GovCloud (us-gov-west-1, another partition) and a commercial region without AnalyzeExpense are
refused at plan time with a message that says so.

The three plans are the session's (tests/iac/conftest.py, session_plan_args), made concurrently with the
others: us-east-1 is the session's aws plan itself (the defaults, with the longest names), the other two are
plans of their own, one of which also serves test_lambda_concurrency.py. The refusals share their runs with
test_lambda_concurrency.py's too (REFUSALS). Region enters the names only as a string today (the bucket
suffix), so the shorter regions could not fail where the longest passes; they are planned all the same, so
that a name or resource that depends on the region shows: one plan more than before this test covered three
regions, offset by the refusals and small-account plan it now shares."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest

from tests.iac.conftest import (
    ACCOUNT_ID,
    DEFAULT_REGION,
    LONGEST_ENVIRONMENT,
    LONGEST_PROJECT,
    NAME_REGIONS,
    allowed_regions,
)
from tests.shared_data import REPO_ROOT

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
    ("aws_cloudwatch_event_bus", "name"): 256,
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


def test_the_longest_values_are_what_the_validations_allow() -> None:
    text = (REPO_ROOT / "terraform" / "variables.tf").read_text()
    assert '"^[a-z][a-z0-9-]{1,10}[a-z0-9]$"' in text  # project: 3-12
    assert '"^[a-z][a-z0-9]{0,9}$"' in text  # environment: 1-10


def test_the_regions_planned_are_the_longest_and_the_named_ones() -> None:
    assert NAME_REGIONS[0] == max(allowed_regions(), key=len) and len(NAME_REGIONS[0]) == 14
    assert {"us-east-1", "eu-central-1"} <= set(NAME_REGIONS) <= set(allowed_regions())


@pytest.mark.parametrize("region", NAME_REGIONS)
def test_every_name_fits_its_limit_with_the_longest_inputs(terraform_runs: dict[str, Future[Any]],
                                                           region: str) -> None:
    plan = terraform_runs["aws" if region == DEFAULT_REGION else f"longest-{region}"].result()
    assert plan["variables"]["region"]["value"] == region
    assert plan["variables"]["project"]["value"] == LONGEST_PROJECT
    assert plan["variables"]["environment"]["value"] == LONGEST_ENVIRONMENT
    checked: dict[tuple[str, str], int] = {}
    too_long: list[str] = []
    for rc in plan["resource_changes"]:
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
    buckets = [rc["change"]["after"]["bucket"] for rc in plan["resource_changes"] if rc["type"] == "aws_s3_bucket"]
    assert buckets and all(b.endswith(f"-{ACCOUNT_ID}-{region}") for b in buckets), buckets


@pytest.mark.parametrize(("run", "region", "reason"), [
    # GovCloud: another partition (arn:aws-us-gov), not supported.
    ("us-gov-west-1, limit 150", "us-gov-west-1", "Other partitions (GovCloud, China) are not supported"),
    # A commercial region without Textract's AnalyzeExpense.
    ("eu-north-1, limit 60", "eu-north-1", "the pipeline cannot run where AnalyzeExpense is not"),
])
def test_unsupported_regions_are_refused_at_plan_time(terraform_runs: dict[str, Future[Any]], run: str, region: str,
                                                      reason: str) -> None:
    errors = terraform_runs[run].result()
    assert "region" in errors, errors
    assert f'var.region is "{region}"' in errors["region"] and reason in errors["region"], errors["region"]
