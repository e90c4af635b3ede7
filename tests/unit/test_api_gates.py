"""The checks the API handler makes before routing, which need no database: authentication and the request
body. Every answer is the JSON error shape with a stable code."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from invoice_local.api_server import LocalContext, build_event

Handle = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(scope="module")
def handle() -> Handle:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POWERTOOLS_SERVICE_NAME", "invoice-api")
        mp.setenv("POWERTOOLS_METRICS_NAMESPACE", "InvoicePipeline")
        from invoice_pipeline.handlers.api import handler
    return handler  # type: ignore[no-any-return]


def _error(response: dict[str, Any]) -> tuple[int, str]:
    return response["statusCode"], json.loads(response["body"])["error"]["code"]


@pytest.mark.parametrize("path", ["/documents", "/documents/x", "/invoices/export", "/nothing", "/iam/documents",
                                  "/health/x", "/"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "OPTIONS"])
def test_no_credentials_no_entry(handle: Handle, method: str, path: str) -> None:
    response = handle(build_event(method=method, target=path, headers=[], body=b"", claims=None), LocalContext())
    assert _error(response) == (401, "UNAUTHORIZED")
    assert response["headers"]["WWW-Authenticate"] == 'Bearer realm="invoices"'
    assert response["headers"]["Content-Type"] == "application/json"


def test_body_limits(handle: Handle) -> None:
    claims = {"sub": "u"}
    big = build_event(method="POST", target="/documents", headers=[("content-type", "application/json")],
                      body=b'{"a":"' + b"x" * 17_000 + b'"}', claims=claims)
    assert _error(handle(big, LocalContext())) == (413, "PAYLOAD_TOO_LARGE")
    event = build_event(method="POST", target="/documents", headers=[], body=b"", claims=claims)
    event.update(body="***not base64***", isBase64Encoded=True)
    assert _error(handle(event, LocalContext())) == (400, "BAD_REQUEST")
    event.update(body=base64.b64encode(b"\xff\xfe\x00").decode(), isBase64Encoded=True)
    assert _error(handle(event, LocalContext())) == (400, "BAD_REQUEST")
    deep = build_event(method="POST", target="/documents", headers=[("content-type", "application/json")],
                       body=b"[" * 6000 + b"]" * 6000, claims=claims)
    assert _error(handle(deep, LocalContext())) == (400, "BAD_REQUEST")
