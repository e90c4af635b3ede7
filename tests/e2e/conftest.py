"""`invoices run` starts as soon as collection selects tests/e2e/test_local_cli.py (tests/e2e/local_run.py)."""

from __future__ import annotations

import pytest

from tests.e2e import local_run
from tests.e2e.browser import browser  # noqa: F401 - the browser tests' Chromium fixture


def pytest_collection_finish(session: pytest.Session) -> None:
    if not session.config.option.collectonly and any("stack_dir" in getattr(item, "fixturenames", ())
                                                     for item in session.items):
        local_run.start_early()


def pytest_sessionfinish(session: pytest.Session) -> None:
    local_run.stop_early()
