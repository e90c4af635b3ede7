"""Who is calling. API Gateway authenticates before the Lambda runs and writes the outcome into the event:
a Cognito JWT's claims under requestContext.authorizer.jwt (routes with the JWT authorizer), or the SigV4
caller under requestContext.authorizer.iam (the machine routes under /iam/, AWS_IAM authorization). The local
API server checks its own token and fills authorizer.jwt the same way.

The handler checks again (defence in depth): an event without an authorizer context reached us through a
misconfigured route, and gets 401 on every path but /health."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ANONYMOUS_PATHS = frozenset({"/health"})
# Machine clients call every route under this prefix; API Gateway authorizes it with AWS_IAM.
MACHINE_PREFIX = "/iam"


@dataclass(frozen=True)
class Principal:
    kind: Literal["jwt", "iam"]
    subject: str  # the token's `sub`, or the caller's IAM ARN
    groups: frozenset[str] = field(default=frozenset())  # the token's cognito:groups (api/roles.py)

    @property
    def label(self) -> str:
        """What the pipeline records as who asked (S3 metadata, execution input): ASCII, bounded."""
        text = f"{self.kind}:{self.subject}"
        return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)[:256]


def _jwt_principal(authorizer: dict[str, Any]) -> Principal | None:
    jwt = authorizer.get("jwt")
    claims = jwt.get("claims") if isinstance(jwt, dict) else None
    if not isinstance(claims, dict):
        return None
    subject = claims.get("sub") or claims.get("client_id")  # client-credentials tokens carry no `sub`
    return Principal("jwt", str(subject), _groups(claims.get("cognito:groups"))) if subject else None


def _groups(claim: Any) -> frozenset[str]:
    """cognito:groups as API Gateway hands it over, a string "[a b]" (or a list, from a test's event)."""
    if isinstance(claim, list):
        return frozenset(str(g) for g in claim)
    if isinstance(claim, str):
        return frozenset(claim.strip().removeprefix("[").removesuffix("]").replace(",", " ").split())
    return frozenset()


def _iam_principal(authorizer: dict[str, Any]) -> Principal | None:
    iam = authorizer.get("iam")
    if not isinstance(iam, dict):
        return None
    subject = iam.get("userArn") or iam.get("callerId") or iam.get("userId")
    return Principal("iam", str(subject)) if subject else None


def route_path(event: dict[str, Any]) -> str:
    """The request path without the stage name, which rawPath carries when the stage is not $default."""
    path = str(event.get("rawPath") or "/")
    context = event.get("requestContext")
    stage = context.get("stage") if isinstance(context, dict) else None
    if isinstance(stage, str) and stage not in ("", "$default") and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1:]
    return path


def principal_of(event: dict[str, Any]) -> Principal | None:
    """The authenticated caller of an HTTP API (payload 2.0) event, or None. A path under /iam/ must have been
    authorized by IAM and any other path by the JWT authorizer: an event that says otherwise came through a
    route with the wrong authorizer and is not trusted."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    if not isinstance(authorizer, dict):
        return None
    path = route_path(event)
    if path == MACHINE_PREFIX or path.startswith(MACHINE_PREFIX + "/"):
        return _iam_principal(authorizer)
    return _jwt_principal(authorizer)


def is_anonymous_route(event: dict[str, Any]) -> bool:
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, dict) else None
    method = http.get("method") if isinstance(http, dict) else None
    return method == "GET" and route_path(event) in ANONYMOUS_PATHS
