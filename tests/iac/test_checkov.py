"""checkov finds nothing wrong in terraform/: zero failed checks, and every suppression is inline, gives its
reason, and is listed in the README (tests/iac/test_readme_tf_tables.py checks the listing).

checkov runs from its own virtual environment (`make checkov-venv`, pinned version): its bc-python-hcl2
installs a module named hcl2 that would clash with the project's environment. --skip-download keeps it off
the network."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests import tool_venvs
from tests.iac.conftest import TF_DIR
from tests.shared_data import REPO_ROOT

CHECKOV = REPO_ROOT / "build" / "checkov-venv" / "bin" / "checkov"
SKIP_COMMENT = re.compile(r"#checkov:skip=([A-Z0-9_]+):(.*)$", re.MULTILINE)


def checkov_version() -> str:
    match = re.search(r"^CHECKOV_VERSION := (\S+)$", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "CHECKOV_VERSION missing from the Makefile"
    return match.group(1)


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    tool_venvs.make("checkov-venv", "checkov")  # made ahead while the first tests ran (tests/tool_venvs.py)
    result = subprocess.run([str(CHECKOV), "-d", str(TF_DIR), "--framework", "terraform", "--skip-download",
                             "--compact", "--output", "json"], capture_output=True, text=True, timeout=600)
    # checkov exits 1 when a check fails: the report says which, so read it either way.
    assert result.returncode in (0, 1), result.stderr
    data = json.loads(result.stdout)
    return data[0] if isinstance(data, list) else data  # type: ignore[no-any-return]


def test_pinned_version(report: dict[str, Any]) -> None:
    assert report["summary"]["checkov_version"] == checkov_version()


def test_no_failed_checks(report: dict[str, Any]) -> None:
    summary = report["summary"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
              for c in report["results"]["failed_checks"]]
    print(f"\ncheckov: {summary['passed']} passed, {summary['failed']} failed, {summary['skipped']} skipped")
    assert summary["parsing_errors"] == 0
    assert summary["resource_count"] > 100, "checkov did not read the configuration"
    assert not failed, "\n".join(failed)


def test_every_skip_is_inline_with_a_reason(report: dict[str, Any]) -> None:
    inline = {m.group(1): m.group(2).strip() for p in TF_DIR.glob("*.tf") for m in SKIP_COMMENT.finditer(p.read_text())}
    assert all(len(reason) >= 20 for reason in inline.values()), inline
    for skipped in report["results"]["skipped_checks"]:
        assert skipped["check_result"]["suppress_comment"].strip(), skipped["check_id"]
        assert skipped["check_id"] in inline, f"{skipped['check_id']} skipped but not by an inline comment"
    # No suppression outside the .tf files (a .checkov.yaml or a skip list would hide it from review).
    assert not list(Path(TF_DIR).glob(".checkov*")) and not list(REPO_ROOT.glob(".checkov*"))
