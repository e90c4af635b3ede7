"""`invoices up` and `invoices run` take the limits the local stack enforces and hand them to stack.up."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from invoice_local import commands, stack
from invoice_local.cli import build_parser
from invoice_local.textract_quotas import DEFAULTS, Quotas

LIMIT_FLAGS = ["--textract-start-tps", "2", "--textract-get-tps", "3", "--textract-max-jobs", "4",
               "--textract-job-seconds", "1.5", "--db-max-connections", "20", "--lambda-concurrency", "150"]


@pytest.mark.parametrize("command", ["up", "run"])
def test_without_flags_the_limits_are_aws_us_east_1_quotas_and_postgres_own(command: str) -> None:
    options = commands.stack_options(build_parser().parse_args([command]))
    assert (options["textract_start_tps"], options["textract_get_tps"], options["textract_max_jobs"]) == (
        DEFAULTS.start_tps, DEFAULTS.get_tps, DEFAULTS.max_jobs)
    assert options["textract_job_seconds"] == 0.0
    assert options["db_max_connections"] is None
    assert options["lambda_concurrency"] == 1000  # AWS's default account quota


@pytest.mark.parametrize("command", ["up", "run"])
def test_the_flags_reach_stack_up(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    received: dict[str, Any] = {}

    def fake_up(**kwargs: Any) -> None:
        received.update(kwargs)
        raise SystemExit(0)  # nothing to serve: `up` would wait, `run` process the samples

    monkeypatch.setattr(stack, "up", fake_up)
    args = build_parser().parse_args([command, *LIMIT_FLAGS])
    with pytest.raises(SystemExit):
        args.handler(args)

    assert {k: received[k] for k in ("textract_start_tps", "textract_get_tps", "textract_max_jobs",
                                     "textract_job_seconds", "db_max_connections", "lambda_concurrency")} == {
        "textract_start_tps": 2, "textract_get_tps": 3, "textract_max_jobs": 4, "textract_job_seconds": 1.5,
        "db_max_connections": 20, "lambda_concurrency": 150}
    inspect.signature(stack.up).bind(**received)  # the real up takes every one of them


@pytest.mark.parametrize("flag, value", [("--textract-start-tps", "0"), ("--textract-get-tps", "1.5"),
                                         ("--textract-max-jobs", "many"), ("--textract-job-seconds", "-1"),
                                         ("--db-max-connections", "3"), ("--lambda-concurrency", "0")])
def test_an_impossible_limit_is_a_usage_error(flag: str, value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["up", flag, value])
    assert exit_.value.code == 2
    assert flag in capsys.readouterr().err


def test_stack_up_refuses_a_bad_quota_before_starting_anything(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_jobs"):
        stack.up(state_dir=tmp_path / "state", textract_max_jobs=0)
    assert not (tmp_path / "state").exists()


def test_the_deployed_admission_control_follows_the_emulated_quotas() -> None:
    variables = stack.deploy_variables("postgresql://x", Quotas(start_tps=2, get_tps=3, max_jobs=4), 10)
    assert (variables["textract_start_rate"], variables["textract_max_jobs"]) == (2, 4)
    assert variables["database_url"] == "postgresql://x"
    # The emulated account's Lambda limit too: on a limit of 10 Terraform plans no reservations, which the
    # emulation would refuse as AWS does (tests/iac/test_lambda_concurrency.py plans that case).
    assert variables["lambda_account_concurrency"] == 10
    default = stack.deploy_variables("postgresql://x", Quotas(start_tps=2, get_tps=3, max_jobs=4))
    assert default["lambda_account_concurrency"] == 1000
