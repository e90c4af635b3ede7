from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.shared_data import TEXTRACT_DIR, in_ci, require

# Postgres, the emulation and the deployed pipeline, for the integration, iac and e2e tests.
pytest_plugins = ["tests.pipeline_fixtures"]


@pytest.fixture(scope="session")
def textract_dir() -> Path:
    return require(TEXTRACT_DIR)


def load_textract(name: str) -> dict[str, Any]:
    """A recorded real Textract response from ../shared/data/textract."""
    return json.loads(require(TEXTRACT_DIR / name).read_text())


def _stage(item: pytest.Item) -> int:
    fixtures = getattr(item, "fixturenames", ())
    if "stack_dir" in fixtures:  # tests/e2e/test_local_cli.py, on its own `invoices run`
        return 2
    return 1 if "emulation" in fixtures else 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need no emulation run first, then those on the session's emulation, then those on local
    mode's own `invoices run`. The session's deployment (tests/deploy_ahead.py) and `invoices run`
    (tests/e2e/local_run.py) start when collection ends and spend minutes in the AWS provider's fixed waits:
    the tests that need neither run meanwhile. The order within each stage is collection's."""
    items.sort(key=_stage)  # stable


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI=true a skip of any kind (a missing tool, missing data) is a failure: nothing may be skipped."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"CI=true forbids skipping: {report.longrepr}"
