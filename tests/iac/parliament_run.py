"""Runs inside parliament's own virtual environment (`make parliament-venv`), not the project's: reads
{"name": "policy JSON", ...} on stdin and prints every finding of parliament's own and community auditors as
a JSON list of {"policy", "issue", "severity", "title", "detail", "location"}.

parliament's library, not its CLI: the CLI writes every policy it reads to /tmp/parliament.log, and takes one
file per policy. Nothing is filtered here (no minimum severity, no ignore list): tests/iac/test_parliament.py
applies the reviewed suppressions itself, so that one it no longer needs shows."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import parliament
from parliament import analyze_policy_string, enhance_finding, override_config


def main() -> int:
    policies: dict[str, str] = json.load(sys.stdin)
    override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")
    findings = []
    for name, document in sorted(policies.items()):
        policy = analyze_policy_string(document, name, include_community_auditors=True,
                                       config=parliament.config)
        for finding in policy.findings:
            finding = enhance_finding(finding)
            findings.append({"policy": name, "issue": finding.issue, "severity": finding.severity,
                             "title": finding.title, "detail": finding.detail,
                             "location": {k: v for k, v in (finding.location or {}).items()
                                          if k not in ("line", "column", "filepath")}})
    json.dump({"version": parliament.__version__, "findings": findings}, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
