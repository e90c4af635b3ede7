"""The local API server's stand-ins for API Gateway: its HS256 tokens and the payload 2.0 events it builds."""

from __future__ import annotations

import base64
import json
import time

from invoice_local.api_server import LocalTokens, _b64url, build_event


def test_tokens_verify_and_carry_claims() -> None:
    tokens = LocalTokens()
    claims = tokens.verify(tokens.issue("alice"))
    assert claims is not None
    assert claims["sub"] == "alice" and claims["iss"] == "invoice-local" and claims["exp"] > time.time()


def test_forged_expired_and_foreign_tokens_are_refused() -> None:
    tokens = LocalTokens()
    token = tokens.issue()
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    elevated = _b64url(json.dumps({**claims, "sub": "admin"}).encode())
    none_header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    for bad in (f"{header}.{elevated}.{signature}", f"{none_header}.{payload}.", f"{none_header}.{payload}.{signature}",
                LocalTokens().issue(), tokens.issue(seconds=-1), "", "a.b", "a.b.c.d", "!!.!!.!!", token[:-2]):
        assert tokens.verify(bad) is None, bad


def test_event_is_payload_format_2() -> None:
    event = build_event(method="GET", target="/documents?status=FAILED&status=COMPLETED&q=a%20b",
                        headers=[("Host", "127.0.0.1:8080"), ("X-Thing", "1"), ("x-thing", "2"),
                                 ("Cookie", "a=1; b=2")],
                        body=b"", claims={"sub": "u", "exp": 5, "groups": ["a", "b"], "ok": True})
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/documents"
    assert event["rawQueryString"] == "status=FAILED&status=COMPLETED&q=a%20b"
    # API Gateway joins repeated parameters and headers with commas.
    assert event["queryStringParameters"] == {"status": "FAILED,COMPLETED", "q": "a b"}
    assert event["headers"]["x-thing"] == "1,2"
    assert event["cookies"] == ["a=1", "b=2"]
    context = event["requestContext"]
    assert context["http"]["method"] == "GET" and context["stage"] == "$default"
    assert context["authorizer"]["jwt"]["claims"] == {"sub": "u", "exp": "5", "groups": "[a b]", "ok": "true"}
    assert "body" not in event and event["isBase64Encoded"] is False


def test_without_claims_there_is_no_authorizer_context() -> None:
    event = build_event(method="GET", target="/documents", headers=[], body=b"", claims=None)
    assert "authorizer" not in event["requestContext"]
    assert "queryStringParameters" not in event


def test_bodies_are_text_when_textual_else_base64() -> None:
    text = build_event(method="POST", target="/documents", headers=[("Content-Type", "application/json")],
                       body=b'{"a": 1}', claims=None)
    assert (text["body"], text["isBase64Encoded"]) == ('{"a": 1}', False)
    binary = build_event(method="POST", target="/documents", headers=[("Content-Type", "application/pdf")],
                         body=b"%PDF\xff", claims=None)
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"%PDF\xff"
    broken = build_event(method="POST", target="/documents", headers=[("Content-Type", "application/json")],
                         body=b"\xff\xfe", claims=None)
    assert broken["isBase64Encoded"] is True
