"""Where the test data lives (../shared/data next to the repository) and how its absence is handled.

The data is never copied into the repository (its licenses stay with it). A test that needs it and does not
find it skips with a clear message; under CI=true every such skip is a failure instead."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("INVOICE_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
TEXTRACT_DIR = SHARED_DATA / "textract"
INVOICES_DIR = SHARED_DATA / "invoices"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip on a user's machine; fail under CI, where nothing may be skipped."""
    if in_ci():
        pytest.fail(f"CI=true forbids skipping: {reason}")
    pytest.skip(reason)


def require(path: Path) -> Path:
    if not path.exists():
        skip_or_fail(f"test data not found at {path} (expected ../shared/data beside the repository)")
    return path
