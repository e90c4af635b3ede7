"""schemas/openapi.json, generated from the routes and models, so the document cannot drift from the code:
tests/unit/test_api_openapi.py fails when the file differs from what this module generates.

    python -m invoice_pipeline.api.openapi --write     # regenerate schemas/openapi.json
    python -m invoice_pipeline.api.openapi --check     # exit 1 when it is stale"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import Server

from invoice_pipeline.api.app import app
from invoice_pipeline.api.models import GatewayUnauthorized

PATH = Path(__file__).resolve().parents[3] / "schemas" / "openapi.json"
TITLE = "Invoice pipeline API"
VERSION = "1.0.0"
DESCRIPTION = """Documents (uploaded invoices), their processing status and timeline, the invoices found in them,
exports, presigned uploads and reprocessing.

Authentication: every route but GET /health needs a bearer token: a Cognito user pool access token (API
Gateway's JWT authorizer) or, in local mode, the token the local API server prints at start. Machine clients call
the same routes under the `/iam` prefix with SigV4-signed requests (API Gateway's AWS_IAM authorization).

Errors are JSON, {"error": {"code", "message", "details"?}}, with a stable `code`. Bad input is a 4xx, never a
500. Amounts are decimal strings."""

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
               "description": "Cognito access token (JWT authorizer); locally the local API server's token"},
    "sigv4": {"type": "apiKey", "in": "header", "name": "Authorization",
              "description": "AWS SigV4 signature (AWS_IAM authorization), for machine clients under /iam"},
}


def build() -> dict[str, Any]:
    raw = app.get_openapi_json_schema(
        title=TITLE, version=VERSION, description=DESCRIPTION,
        servers=[Server(url="/", description="the API (people: bearer token)"),
                 Server(url="/iam", description="the same routes for machine clients (SigV4)")],
        security_schemes=SECURITY_SCHEMES,  # type: ignore[arg-type]
        security=[{"bearer": []}, {"sigv4": []}],
    )
    doc: dict[str, Any] = json.loads(raw)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    # The resolver documents its own 422 validation answer; ours is 400 with ErrorResponse (app.py).
    for path in doc["paths"].values():
        for operation in path.values():
            operation["responses"].pop("422", None)
            operation["responses"] = dict(sorted(operation["responses"].items()))
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    doc["paths"] = dict(sorted(doc["paths"].items()))
    # Referenced from the 401 response's anyOf, which the generator does not follow.
    schemas["GatewayUnauthorized"] = GatewayUnauthorized.model_json_schema()
    # The one anonymous route: an empty requirement list overrides the document-wide security.
    doc["paths"]["/health"]["get"]["security"] = []
    return doc


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help=f"write {PATH}")
    group.add_argument("--check", action="store_true", help=f"exit 1 when {PATH} is not what the code says")
    args = parser.parse_args(argv)
    text = render()
    if args.write:
        PATH.write_text(text, encoding="utf-8")
        print(f"wrote {PATH}")
        return 0
    if not PATH.exists() or PATH.read_text(encoding="utf-8") != text:
        print(f"{PATH} is stale: run python -m invoice_pipeline.api.openapi --write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
