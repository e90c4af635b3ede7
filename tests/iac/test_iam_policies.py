"""IAM in terraform/: every policy comes from aws_iam_policy_document, and a statement may name "*" as its
resource only where the service has no resource-level permissions (Textract, X-Ray, CloudWatch Logs'
log-delivery APIs, the network-interface calls Lambda makes for a function in a VPC), with a comment saying
so. The KMS key policy is the exception by nature: there "*" means the key itself.

The .tf files are read as text (terraform fmt keeps them canonical) because Terraform's plan JSON leaves out
dynamic blocks; the statements that plan JSON does show are cross-checked against this reading."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.iac.conftest import TF_DIR

# Actions that AWS only authorizes on "*", by why.
STAR_ONLY_ACTIONS = {
    # Textract's asynchronous expense APIs have no resource types.
    "textract:StartExpenseAnalysis", "textract:GetExpenseAnalysis",
    # X-Ray trace writes have no resource types.
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    # CloudWatch Logs vended-log delivery (Step Functions execution logs).
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    # Lambda's VPC network interfaces, documented as working only on "*".
    "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses",
    # Step Functions' task-token answers: the Service Authorization Reference ("Actions, resources, and
    # condition keys for AWS Step Functions") lists no resource type for them.
    "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat",
}
KEY_POLICY_DOCUMENTS = {"kms"}


@dataclass
class Statement:
    file: str
    document: str
    body: str
    comment: str  # the comment lines right above the statement (or its dynamic block, or its document)
    document_comment: str  # the comment lines right above the policy document

    def value(self, key: str) -> str | None:
        match = re.search(rf"^\s*{key}\s*=\s*", self.body, re.MULTILINE)
        return _expression(self.body, match.end()) if match else None

    @property
    def actions(self) -> list[str]:
        return re.findall(r'"([^"]+)"', self.value("actions") or "")

    @property
    def star_resource(self) -> bool:
        return (self.value("resources") or "").replace(" ", "") == '["*"]'

    @property
    def deny(self) -> bool:
        return self.value("effect") == '"Deny"'


def _expression(text: str, start: int) -> str:
    """The expression starting at `start`: up to the end of the line, or of its brackets if it opens some."""
    depth, i, in_string = 0, start, False
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
        elif c == "\n" and depth == 0:
            break
        i += 1
    return text[start:i].strip()


def _block_end(text: str, open_brace: int) -> int:
    """Index just past the brace that closes the one at `open_brace`, ignoring braces inside strings."""
    depth, i, in_string = 0, open_brace, False
    while i < len(text):
        c = text[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced braces")


def _comment_above(text: str, pos: int) -> str:
    lines = text[:pos].splitlines()[:-1] if not text[:pos].endswith("\n") else text[:pos].splitlines()
    out = []
    for line in reversed(lines):
        if line.strip().startswith("#"):
            out.append(line.strip())
        else:
            break
    return "\n".join(reversed(out))


def statements() -> list[Statement]:
    found = []
    for path in sorted(TF_DIR.glob("*.tf")):
        text = path.read_text()
        for doc in re.finditer(r'^data "aws_iam_policy_document" "(\w+)" \{', text, re.MULTILINE):
            doc_end = _block_end(text, doc.end() - 1)
            body = text[doc.end():doc_end - 1]
            doc_comment = _comment_above(text, doc.start())
            for st in re.finditer(r'^(\s*)(statement|dynamic "statement") \{', body, re.MULTILINE):
                st_end = _block_end(body, st.end() - 1)
                block = body[st.end():st_end - 1]
                if st.group(2).startswith("dynamic"):
                    content = re.search(r"^\s*content \{", block, re.MULTILINE)
                    assert content, f"{path.name}: dynamic statement without content"
                    block = block[content.end():_block_end(block, content.end() - 1) - 1]
                comment = _comment_above(body, st.start()) or doc_comment
                found.append(Statement(path.name, doc.group(1), block, comment, doc_comment))
    return found


def test_the_reader_finds_the_policies() -> None:
    docs = {s.document for s in statements()}
    assert {"kms", "state_machine", "fn_common", "start_expense_analysis", "get_expense_analysis",
            "answer_task_tokens", "queue", "consume_intake"} <= docs


def test_star_resources_only_where_the_service_has_none_and_commented() -> None:
    offenders = []
    for st in statements():
        if not st.star_resource or st.deny:
            continue
        if st.document in KEY_POLICY_DOCUMENTS:
            assert "this key" in st.document_comment, f"{st.file}: the key policy's '*' needs its comment"
            continue
        extra = set(st.actions) - STAR_ONLY_ACTIONS
        if extra:
            offenders.append(f"{st.file} {st.document}: {sorted(extra)} on '*'")
        if '"*"' not in st.comment:
            offenders.append(f"{st.file} {st.document}: '*' resource without a comment saying why")
    assert not offenders, "\n".join(offenders)


def test_no_wildcard_actions_in_allow_statements() -> None:
    for st in statements():
        if st.deny or st.document in KEY_POLICY_DOCUMENTS:
            continue
        assert not [a for a in st.actions if a.endswith("*")], f"{st.file} {st.document}: {st.actions}"


def test_every_policy_is_a_policy_document() -> None:
    for path in TF_DIR.glob("*.tf"):
        text = path.read_text()
        for match in re.finditer(r"^\s*(policy|assume_role_policy)\s*=\s*(.+)$", text, re.MULTILINE):
            assert match.group(2).startswith("data.aws_iam_policy_document."), f"{path.name}: {match.group(0)}"


def test_the_state_machine_invokes_exactly_the_state_functions() -> None:
    [invoke] = [s for s in statements() if s.document == "state_machine" and "lambda:InvokeFunction" in s.actions]
    assert invoke.actions == ["lambda:InvokeFunction"]
    assert invoke.value("resources") == "[for k in local.state_functions : aws_lambda_function.fn[k].arn]"


def test_task_token_answers_name_every_resource_as_aws_documents() -> None:
    """SendTaskSuccess/SendTaskFailure have no resource types (Service Authorization Reference): a state
    machine ARN there is not a scope AWS documents, so the statement names "*" and cites the page."""
    [answer] = [s for s in statements()
                if s.document == "answer_task_tokens" and "states:SendTaskSuccess" in s.actions]
    assert answer.actions == ["states:SendTaskSuccess", "states:SendTaskFailure"]
    assert answer.star_resource
    assert "Service Authorization Reference" in answer.comment


def test_eventbridge_may_use_the_key_in_the_form_aws_documents() -> None:
    """EventBridge writing to the encrypted intake queue and events DLQ: the key policy grants the service
    the two KMS calls without a condition (SQS Developer Guide, "Configure KMS permissions for AWS
    services"); a condition key absent from the request would deny it and drop the message. The queues'
    own policies scope the sender by the rule's ARN instead."""
    key_statements = [s for s in statements() if s.document == "kms"]
    [events] = [s for s in key_statements if "events.${local.dns_suffix}" in s.body
                and s.value("sid") == '"EventBridgeWritesToItsEncryptedQueues"']
    assert sorted(events.actions) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "condition" not in events.body
    cited = " ".join(line.lstrip("# ") for line in events.comment.splitlines())
    assert "Configure KMS permissions for AWS services" in cited
    assert "Using dead-letter queues to process undelivered events" in cited
    queue = [s for s in statements() if s.document == "queue" and "sqs:SendMessage" in s.actions]
    assert queue and all('variable = "aws:SourceArn"' in s.body for s in queue)


def test_the_events_bus_uses_the_key_for_itself_only() -> None:
    """The downstream events' bus (downstream_events.tf) encrypts under the pipeline's key: EventBridge may
    describe the key (no encryption context there) and encrypt and decrypt only under the context of that
    bus (EventBridge User Guide, "Authorizing EventBridge to use a customer managed key")."""
    key_statements = {s.value("sid"): s for s in statements() if s.document == "kms"}
    check = key_statements['"EventBridgeChecksTheKeyOfTheEventsBus"']
    assert check.actions == ["kms:DescribeKey"] and "condition" not in check.body
    use = key_statements['"EventBridgeEncryptsTheEventsBus"']
    assert sorted(use.actions) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert use.value("variable") == '"kms:EncryptionContext:aws:events:event-bus:arn"'
    assert use.value("values") == "[local.events_bus_arn]"
    [publish] = [s for s in statements() if s.document == "publish_events"]
    assert publish.actions == ["events:PutEvents"]
    assert publish.value("resources") == "[aws_cloudwatch_event_bus.invoices.arn]"
    assert publish.value("variable") == '"events:source"'


def test_reading_agrees_with_terraform(plans: dict[str, dict[str, Any]]) -> None:
    """Statements with a literal "*" resource in Terraform's own view of the configuration (static blocks
    only) are all found by the text reading above."""
    config = plans["aws"]["configuration"]["root_module"]["resources"]
    from_terraform = set()
    for res in config:
        if res["type"] != "aws_iam_policy_document":
            continue
        # A document of dynamic statements only (list_backfill_sources) has no static expressions at all.
        for st in res.get("expressions", {}).get("statement", []):
            if st.get("resources", {}).get("constant_value") == ["*"]:
                from_terraform.add((res["name"], tuple(st["actions"]["constant_value"])))
    from_text = {(s.document, tuple(s.actions)) for s in statements() if s.star_resource}
    assert from_terraform and from_terraform <= from_text


def test_each_state_machine_role_uses_the_key_for_its_own_state_machine_only() -> None:
    """Both state machines are encrypted with the pipeline's key: each role may use it only in its own state
    machine's encryption context, and make the data key its encrypted logs need."""
    for document, arn in (("state_machine", "local.state_machine_arn"),
                          ("backfill", "local.backfill_state_machine_arn")):
        found = {s.value("sid"): s for s in statements() if s.document == document}
        key = found['"StateMachineKey"']
        assert sorted(key.actions) == ["kms:Decrypt", "kms:GenerateDataKey"], document
        assert "kms:EncryptionContext:aws:states:stateMachineArn" in key.body and f"[{arn}]" in key.body, document
        assert found['"EncryptedLogDelivery"'].actions == ["kms:GenerateDataKey"], document
