"""Review's roles, before any database: cognito:groups as API Gateway hands it to the function, who is a
reviewer, the 403 a viewer's write gets through the handler, and the Cognito groups Terraform creates."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from invoice_local.api_server import LocalContext, build_event
from invoice_pipeline.api import auth, roles

ROOT = Path(__file__).resolve().parents[2]


def _principal(claims: dict[str, Any], path: str = "/invoices/x") -> auth.Principal | None:
    return auth.principal_of(build_event(method="GET", target=path, headers=[], body=b"", claims=claims))


@pytest.mark.parametrize(("claim", "groups"), [
    (["reviewers"], {"reviewers"}), (["viewers", "reviewers"], {"viewers", "reviewers"}), ([], set()),
    ("[reviewers viewers]", {"reviewers", "viewers"}), ("reviewers", {"reviewers"}), (None, set()),
])
def test_groups_from_the_jwt_as_api_gateway_passes_them(claim: Any, groups: set[str]) -> None:
    claims: dict[str, Any] = {"sub": "u"} | ({"cognito:groups": claim} if claim is not None else {})
    principal = _principal(claims)
    assert principal is not None and principal.groups == groups
    assert roles.can_review(principal) is ("reviewers" in groups)


def test_machine_clients_never_review() -> None:
    assert not roles.can_review(auth.Principal("iam", "arn:aws:sts::1:assumed-role/x/y", frozenset({"reviewers"})))


@pytest.fixture(scope="module")
def handle() -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POWERTOOLS_SERVICE_NAME", "invoice-api")
        mp.setenv("POWERTOOLS_METRICS_NAMESPACE", "InvoicePipeline")
        mp.delenv("DATABASE_URL", raising=False)  # a write refused for its role never reaches the database
        from invoice_pipeline.handlers.api import handler
    return handler


@pytest.mark.parametrize(("method", "tail", "body"), [
    ("PATCH", "", {"total": "1.00"}), ("POST", "/claim", None), ("POST", "/release", None),
    ("POST", "/approve", None), ("POST", "/reject", {"reason": "no"}),
])
@pytest.mark.parametrize("claims", [{"sub": "v", "cognito:groups": ["viewers"]}, {"sub": "n"}],
                         ids=["viewer", "no-group"])
def test_a_viewers_write_is_403(handle: Any, claims: dict[str, Any], method: str, tail: str, body: Any) -> None:
    event = build_event(method=method, target=f"/invoices/{uuid.uuid4()}{tail}",
                        headers=[("content-type", "application/json"), ("if-match", '"1"')],
                        body=json.dumps(body).encode() if body is not None else b"", claims=claims)
    response = handle(event, LocalContext())
    assert response["statusCode"] == 403, response
    assert json.loads(response["body"])["error"]["code"] == "FORBIDDEN"


def test_terraform_creates_the_groups_the_api_checks() -> None:
    tf = (ROOT / "terraform" / "auth.tf").read_text(encoding="utf-8")
    block = re.search(r'resource "aws_cognito_user_group" "review" \{\s*for_each\s*=\s*\{(.*?)\}', tf, re.DOTALL)
    assert block, "terraform/auth.tf no longer declares the review groups as the test reads them"
    assert set(re.findall(r"(\w+)\s*=", block.group(1))) == set(roles.GROUPS)
