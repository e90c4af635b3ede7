"""parliament (pinned, in its own environment as checkov is: `make parliament-venv`) over every IAM policy,
trust policy, key policy and resource policy of terraform/, as rendered by applying it: the session's
`terraform apply` to the emulation (tests/pipeline_fixtures.py). Each finding is fixed in terraform/ or
suppressed, with its reason, in tests/iac/parliament_suppressions.toml, the one reviewed list; a finding
outside it fails, and so does a suppression that matches nothing any more.

Where the documents come from:
- the applied Terraform state: every role's trust policy and inline policies, the managed policy, the key
  policy, the bucket, queue and topic policies, as the provider read them back after writing them;
- the emulation: the Lambda functions' resource policies (GetPolicy), which Terraform keeps as separate
  permission statements only (named after the function: aws_lambda_function.fn["api"]);
- the trust policies of the two roles local mode does not create (RDS enhanced monitoring, VPC flow logs):
  their documents are rendered all the same (data sources with no unknown input).
Local mode turns the database and the network off (README, "Local mode"), so three pieces are never
rendered offline: the flow-logs role's policy and fn_common's ReadDatabaseSecret and VpcNetworkInterfaces
statements. test_what_is_not_rendered_is_known holds that list, so that nothing joins it unseen.

parliament has no trust-policy mode: it reports every statement of one as MALFORMED (no Resource). A trust
policy governs one resource, its role, so each of its statements is given that role's ARN as Resource
before the check, and the rest of parliament's checks (actions, principals, conditions) still apply.

Cost: one parliament process (about 2 s) over the deployment the session applies anyway."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
from invoice_local.deployment import Deployment
from invoice_local.emulation import snapshot

from tests import tool_venvs
from tests.shared_data import REPO_ROOT

# The first test's setup waits for the session's deployment and plans when nothing before it did.
pytestmark = pytest.mark.timeout(900)

PARLIAMENT_PYTHON = REPO_ROOT / "build" / "parliament-venv" / "bin" / "python"
RUNNER = Path(__file__).with_name("parliament_run.py")
SUPPRESSIONS = Path(__file__).with_name("parliament_suppressions.toml")

# Where each applied resource keeps its document. aws_sns_topic.policy is left out on purpose: the state keeps
# the topic's creation-time default there, which aws_sns_topic_policy replaces.
POLICY_ATTRIBUTES = {
    "aws_iam_role": "assume_role_policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
    "aws_kms_key": "policy",
    "aws_s3_bucket_policy": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_sqs_queue": "policy",  # queue_policies.tf: each policy is its queue's own attribute
}
# Roles only a real deployment creates, by the data source that renders their trust policy.
AWS_ONLY_TRUST = {"aws_iam_role.flow_logs": "flow_logs_trust", "aws_iam_role.rds_monitoring": "rds_monitoring_trust"}
# Never rendered offline (see the docstring): policy-bearing resources of the AWS plan and dynamic statements.
NOT_RENDERED_RESOURCES = {"aws_iam_role_policy.flow_logs"}
NOT_RENDERED_STATEMENTS = {"ReadDatabaseSecret", "VpcNetworkInterfaces"}

# A policy parliament must fault, checked in the same run: the check is not vacuous.
CANARY = "canary (not in terraform/)"
CANARY_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "iam:PassRole"], "Resource": "*"}]}


def parliament_version() -> str:
    match = re.search(r"^PARLIAMENT_VERSION := (\S+)$", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, "PARLIAMENT_VERSION missing from the Makefile"
    return match.group(1)


def _address(resource: dict[str, Any], instance: dict[str, Any]) -> str:
    key = instance.get("index_key")
    index = "" if key is None else f"[{json.dumps(key)}]"
    prefix = "data." if resource["mode"] == "data" else ""
    return f"{prefix}{resource['type']}.{resource['name']}{index}"


def _trust(document: str, role_arn: str) -> str:
    """A trust policy with its role as every statement's Resource (parliament has no trust-policy mode)."""
    policy = json.loads(document)
    statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
    for statement in statements:
        assert "Resource" not in statement and "NotResource" not in statement, statement
        statement["Resource"] = role_arn
    return json.dumps(policy)


def _plan_role_name(aws_plan: dict[str, Any], address: str) -> str:
    [name] = [rc["change"]["after"]["name"] for rc in aws_plan["resource_changes"]
              if rc["address"].startswith(address + "[") or rc["address"] == address]
    return str(name)


def rendered_policies(state: dict[str, Any], stack: Deployment, aws_plan: dict[str, Any]) -> dict[str, str]:
    policies: dict[str, str] = {}
    account = ""
    data_documents: dict[str, str] = {}
    for resource in state["resources"]:
        for instance in resource["instances"]:
            attributes = instance["attributes"]
            if resource["mode"] == "data" and resource["type"] == "aws_iam_policy_document":
                data_documents[resource["name"]] = attributes["json"]
            if resource["mode"] != "managed" or resource["type"] not in POLICY_ATTRIBUTES:
                continue
            document = attributes[POLICY_ATTRIBUTES[resource["type"]]]
            if not document:  # a queue without a policy of its own (the intake's dead-letter queue)
                continue
            if resource["type"] == "aws_iam_role":
                account = attributes["arn"].split(":")[4]
                document = _trust(document, attributes["arn"])
            policies[_address(resource, instance)] = document
    for role, data_name in AWS_ONLY_TRUST.items():
        arn = f"arn:aws:iam::{account}:role/{_plan_role_name(aws_plan, role)}"
        policies[f"data.aws_iam_policy_document.{data_name}"] = _trust(data_documents[data_name], arn)
    lam = stack.client("lambda")
    for key, function in stack.function_names.items():
        try:
            policies[f'aws_lambda_function.fn["{key}"]'] = lam.get_policy(FunctionName=function)["Policy"]
        except lam.exceptions.ResourceNotFoundException:
            continue  # no resource policy: nothing invokes it but its role's callers
    return policies


@pytest.fixture(scope="module")
def parliament_python() -> Path:
    tool_venvs.make("parliament-venv", "parliament")  # made ahead while the first tests ran (tests/tool_venvs.py)
    return PARLIAMENT_PYTHON


@pytest.fixture(scope="module")
def policies(deployed: tuple[Deployment, bytes], plans: dict[str, dict[str, Any]]) -> dict[str, str]:
    deployment, saved = deployed
    snapshot.loads(saved)  # the emulation as Terraform left it (an earlier test may have destroyed it)
    state = json.loads((deployment.state_dir / "terraform.tfstate").read_text())
    return rendered_policies(state, deployment, plans["aws"])


@pytest.fixture(scope="module")
def report(parliament_python: Path, policies: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run([str(parliament_python), str(RUNNER)], capture_output=True, text=True, timeout=300,
                            input=json.dumps({**policies, CANARY: json.dumps(CANARY_POLICY)}))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def suppressions() -> list[dict[str, str]]:
    return tomllib.loads(SUPPRESSIONS.read_text())["suppress"]  # type: ignore[no-any-return]


def matches(suppression: dict[str, str], finding: dict[str, Any]) -> bool:
    """`policy` is the address, where `*` stands for any text (and nothing else is special: addresses hold
    brackets and quotes)."""
    text = json.dumps([finding["detail"], finding["location"]])
    address = ".*".join(re.escape(part) for part in suppression["policy"].split("*"))
    return (suppression["issue"] == finding["issue"] and re.fullmatch(address, finding["policy"]) is not None
            and suppression.get("detail", "") in text)


def findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["policy"] != CANARY]


def test_pinned_version(report: dict[str, Any]) -> None:
    assert report["version"] == parliament_version()


def test_parliament_faults_a_bad_policy(report: dict[str, Any]) -> None:
    issues = {f["issue"] for f in report["findings"] if f["policy"] == CANARY}
    assert {"RESOURCE_STAR", "PERMISSIONS_MANAGEMENT_ACTIONS"} <= issues, issues


def test_every_kind_of_policy_is_rendered(policies: dict[str, str]) -> None:
    kinds: dict[str, int] = {}
    for name in policies:
        kind = name.split(".")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds["aws_iam_role"] >= 15 and kinds["aws_iam_role_policy"] >= 15, kinds
    assert kinds["aws_kms_key"] == 1 and kinds["aws_s3_bucket_policy"] == 4, kinds
    # The queues AWS services write to (queue_policies.tf) and local mode's events tap (downstream_events.tf).
    assert kinds["aws_sqs_queue"] == 4 and kinds["aws_sns_topic_policy"] == 2, kinds
    assert kinds["aws_iam_policy"] >= 1 and kinds["aws_lambda_function"] >= 2, kinds
    for name, document in policies.items():
        assert json.loads(document)["Statement"], name


def test_trust_policies_trust_services_only(policies: dict[str, str]) -> None:
    """What the CREDENTIALS_EXPOSURE suppression rests on: every trust policy lets an AWS service, and nothing
    else, assume its role."""
    trusts = {name: json.loads(doc) for name, doc in policies.items()
              if name.startswith("aws_iam_role.") or name.endswith("_trust")}
    assert len(trusts) >= 17
    for name, policy in trusts.items():
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole", name
            assert set(statement["Principal"]) == {"Service"}, name


def test_what_is_not_rendered_is_known(policies: dict[str, str], plans: dict[str, dict[str, Any]]) -> None:
    """Every resource of the configuration that sets a policy is rendered, but for the known few."""
    planned = {f"{r['type']}.{r['name']}" for r in plans["aws"]["configuration"]["root_module"]["resources"]
               if r["mode"] == "managed" and POLICY_ATTRIBUTES.get(r["type"]) in r.get("expressions", {})}
    rendered = {name.split("[")[0] for name in policies if name.startswith("aws_")}
    assert planned - rendered - set(AWS_ONLY_TRUST) == NOT_RENDERED_RESOURCES
    text = "\n".join(p.read_text() for p in (REPO_ROOT / "terraform").glob("*.tf"))
    # A statement switched on by the database or the network (whatever else its for_each also asks).
    dynamic = set(re.findall(r'dynamic "statement" \{\s*for_each = local\.(?:database|network)_enabled\b[^\n]*'
                             r'\s*content \{\s*sid\s*= "(\w+)"', text))
    assert dynamic == NOT_RENDERED_STATEMENTS


def test_no_finding_outside_the_suppressions(report: dict[str, Any], policies: dict[str, str]) -> None:
    rules = suppressions()
    found = findings(report)
    left = [f for f in found if not any(matches(s, f) for s in rules)]
    print(f"\nparliament {report['version']}: {len(policies)} policies, {len(found)} findings, "
          f"{len(found) - len(left)} suppressed, {len(left)} left")
    assert not left, "\n".join(f"{f['issue']} ({f['severity']}) in {f['policy']}: {f['detail']} {f['location']}"
                               for f in left)


def test_every_suppression_still_matches_a_finding(report: dict[str, Any]) -> None:
    found = findings(report)
    stale = [s for s in suppressions() if not any(matches(s, f) for f in found)]
    assert not stale, f"suppressions that match nothing any more (remove them): {stale}"


def test_every_suppression_says_why() -> None:
    for suppression in suppressions():
        assert set(suppression) <= {"issue", "policy", "detail", "reason"}, suppression
        assert re.fullmatch(r"[A-Z_]+", suppression["issue"]) and suppression["policy"], suppression
        assert len(suppression["reason"]) >= 40, suppression
