"""Who is calling, from the authorizer context API Gateway writes into the event."""

from __future__ import annotations

from typing import Any

import pytest
from invoice_pipeline.api import auth


def event(path: str, authorizer: dict[str, Any] | None, *, stage: str = "$default",
          method: str = "GET") -> dict[str, Any]:
    context: dict[str, Any] = {"stage": stage, "http": {"method": method, "path": path}}
    if authorizer is not None:
        context["authorizer"] = authorizer
    return {"rawPath": path, "requestContext": context}


JWT = {"jwt": {"claims": {"sub": "abc-123", "email": "a@b"}, "scopes": None}}
IAM = {"iam": {"userArn": "arn:aws:iam::111122223333:user/exporter", "callerId": "AIDA"}}


def test_jwt_claims_make_a_principal() -> None:
    principal = auth.principal_of(event("/documents", JWT))
    assert principal == auth.Principal("jwt", "abc-123")
    assert principal.label == "jwt:abc-123"


def test_client_credentials_tokens_use_the_client_id() -> None:
    principal = auth.principal_of(event("/documents", {"jwt": {"claims": {"client_id": "machine-app"}}}))
    assert principal == auth.Principal("jwt", "machine-app")


def test_iam_caller_on_machine_routes() -> None:
    assert auth.principal_of(event("/iam/documents", IAM)) == auth.Principal(
        "iam", "arn:aws:iam::111122223333:user/exporter")


@pytest.mark.parametrize(("path", "authorizer"), [
    ("/documents", None), ("/documents", {}), ("/documents", {"jwt": {"claims": {}}}),
    ("/documents", {"jwt": {"claims": "sub=x"}}), ("/documents", IAM), ("/iam/documents", JWT),
    ("/iam", JWT), ("/documents", {"lambda": {"sub": "x"}}),
])
def test_no_principal(path: str, authorizer: dict[str, Any] | None) -> None:
    assert auth.principal_of(event(path, authorizer)) is None


def test_named_stage_is_stripped_from_the_path() -> None:
    assert auth.route_path(event("/prod/iam/documents", None, stage="prod")) == "/iam/documents"
    assert auth.principal_of(event("/prod/iam/documents", IAM, stage="prod")) is not None
    assert auth.is_anonymous_route(event("/prod/health", None, stage="prod"))


def test_only_get_health_is_anonymous() -> None:
    assert auth.is_anonymous_route(event("/health", None))
    assert not auth.is_anonymous_route(event("/health", None, method="POST"))
    assert not auth.is_anonymous_route(event("/health/", None))
    assert not auth.is_anonymous_route(event("/documents", None))


def test_labels_are_ascii_and_bounded() -> None:
    assert auth.Principal("jwt", "jörg\n" + "x" * 500).label == "jwt:j?rg?" + "x" * 247
