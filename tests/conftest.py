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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI=true a skip of any kind (a missing tool, missing data) is a failure: nothing may be skipped."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"CI=true forbids skipping: {report.longrepr}"
