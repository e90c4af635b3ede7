"""Reserved concurrency against the account's Lambda limit (issue 10, item 3). AWS refuses a reservation that
would leave less than min(100, limit) of the account's concurrency unreserved, so the default reservations
(82 in all) failed terraform apply on any account whose limit is under 182, a new account's 10 included.

lambda_account_concurrency says what the account's limit is. At most database_connection_budget, the limit
bounds the Postgres connections itself and no function gets a reservation; above it the reservations are
required and a plan whose reservations AWS would refuse stops at validation, saying what to do. Cost: no
plan of its own. The session's plans serve it (tests/iac/conftest.py): the defaults, the longest-names plan
in eu-central-1, which also carries a limit of 10, and two refused plans that also refuse a region for
test_names.py (Terraform reports every refused variable of a plan; each test reads its own)."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import pytest


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
def small_account_plan(terraform_runs: dict[str, Future[Any]]) -> dict[str, Any]:
    plan: dict[str, Any] = terraform_runs["longest-eu-central-1"].result()
    assert str(plan["variables"]["lambda_account_concurrency"]["value"]) == "10"
    return plan


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


def _refused(terraform_runs: dict[str, Future[Any]], run: str) -> str:
    errors: dict[str, str] = terraform_runs[run].result()
    assert "lambda_account_concurrency" in errors, errors
    return errors["lambda_account_concurrency"]


def test_reservations_an_account_cannot_hold_are_refused_at_plan(terraform_runs: dict[str, Future[Any]]) -> None:
    """150 is over the budget (so reservations are required) but leaves only 50 to reserve, under the
    defaults' 88: the plan stops and says what to do."""
    message = _refused(terraform_runs, "us-gov-west-1, limit 150")
    assert "is 150" in message, message
    assert "reserves 88 in all" in message and "reserve at most 50" in message, message
    assert "Service Quotas" in message and "lower reserved_concurrency" in message, message


def test_an_account_under_100_cannot_reserve_at_all(terraform_runs: dict[str, Future[Any]]) -> None:
    """Under 100 AWS keeps the whole limit unreserved: with a smaller connection budget the reservations
    would be required and none can be held."""
    message = _refused(terraform_runs, "eu-north-1, limit 60")
    assert "is 60" in message and "reserves 50 in all" in message, message
    assert "reserve at most 0" in message, message
