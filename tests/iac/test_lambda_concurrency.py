"""Reserved concurrency against the account's Lambda limit (issue 10, item 3). AWS refuses a reservation that
would leave less than min(100, limit) of the account's concurrency unreserved, so the default reservations
(82 in all) failed terraform apply on any account whose limit is under 182, a new account's 10 included.

lambda_account_concurrency says what the account's limit is. At most database_connection_budget, the limit
bounds the Postgres connections itself and no function gets a reservation; above it the reservations are
required and a plan whose reservations AWS would refuse stops at validation, saying what to do. Cost: one
local-mode plan for the small account, and two plans refused at validation (on this loaded 2-core machine
81 s, 48 s and 23 s; the default case reads the session's plans)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.iac.conftest import ACCOUNT_ID, Terraform, local_plan_args


def _functions(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rc["address"]: rc["change"]["after"] for rc in plan["resource_changes"]
            if rc["type"] == "aws_lambda_function"}


def test_default_reservations_fit_the_default_account(plans: dict[str, dict[str, Any]]) -> None:
    """AWS's default limit (1000) is over the connection budget (100): every function that connects to
    Postgres is reserved, and the plan's output says how the connections are bounded."""
    for mode in ("aws", "local"):
        reserved = {a: f["reserved_concurrent_executions"] for a, f in _functions(plans[mode]).items()}
        assert reserved['aws_lambda_function.fn["register"]'] == 10, mode
        assert sum(v for v in reserved.values() if v > 0) <= 1000 - 100, mode
        output = plans[mode]["planned_values"]["outputs"]["lambda_concurrency"]["value"]
        assert output["reserved"] and "bounds Postgres connections" in output["note"], mode


@pytest.fixture(scope="module")
def small_account_plan(tf: Terraform) -> dict[str, Any]:
    return tf.plan_json("small-account", *local_plan_args(), "-var=lambda_account_concurrency=10")


def test_a_new_accounts_limit_gets_no_reservations(small_account_plan: dict[str, Any]) -> None:
    """A limit of 10 (a new account's) is within the connection budget: nothing is reserved (AWS would
    refuse any reservation there), and the plan says why."""
    functions = _functions(small_account_plan)
    assert len(functions) >= 11
    assert {f["reserved_concurrent_executions"] for f in functions.values()} == {-1}
    output = small_account_plan["planned_values"]["outputs"]["lambda_concurrency"]["value"]
    assert output["reserved"] == {}
    assert "No reserved concurrency" in output["note"] and "(10)" in output["note"]
    # The intake's event source mapping fits in such an account: 2 pollers, AWS's minimum.
    [mapping] = [rc["change"]["after"] for rc in small_account_plan["resource_changes"]
                 if rc["type"] == "aws_lambda_event_source_mapping"
                 and rc["change"]["after"].get("scaling_config")]
    assert mapping["scaling_config"][0]["maximum_concurrency"] <= 10


def _refused(tf: Terraform, *var_args: str) -> str:
    result = tf.run("plan", "-input=false", "-lock=false", "-no-color", tf.state, f"-var=account_id={ACCOUNT_ID}",
                    *var_args, check=False)
    assert result.returncode != 0, result.stdout
    return re.sub(r"\s+", " ", result.stderr.replace("│", " "))


def test_reservations_an_account_cannot_hold_are_refused_at_plan(tf: Terraform) -> None:
    """150 is over the budget (so reservations are required) but leaves only 50 to reserve, under the
    defaults' 82: the plan stops and says what to do."""
    message = _refused(tf, "-var=lambda_account_concurrency=150")
    assert "reserves 82 in all" in message and "reserve at most 50" in message, message
    assert "Service Quotas" in message and "lower reserved_concurrency" in message, message


def test_an_account_under_100_cannot_reserve_at_all(tf: Terraform) -> None:
    """Under 100 AWS keeps the whole limit unreserved: with a smaller connection budget the reservations
    would be required and none can be held."""
    message = _refused(tf, "-var=lambda_account_concurrency=60", "-var=database_connection_budget=50",
                       '-var=reserved_concurrency={register=5,admit=4,start_analysis=4,callback=5,parse=5,'
                       'validate=4,persist=5,record_failure=4,dispatch=1,migrate=1,api=10}')
    assert "reserve at most 0" in message, message
