"""The local API server over real HTTP: the Lambda handler behind it, its token, the web page, and that it
goes away when stopped."""

from __future__ import annotations

import http.client
import io
import json
from collections.abc import Iterator

import pytest
from invoice_local.api_server import ApiServer, LocalTokens
from openpyxl import load_workbook

from tests.integration.test_api_routes import (
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    insert_completed,
    invoice,
)


@pytest.fixture
def server(api: str) -> Iterator[ApiServer]:
    with ApiServer() as running:
        yield running


def request(server: ApiServer, method: str, path: str, *, token: str | None = None, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        hdrs = dict(headers or {})
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=body, headers=hdrs)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_token_is_required_and_checked(server: ApiServer) -> None:
    status, headers, body = request(server, "GET", "/documents")
    assert status == 401 and json.loads(body)["error"]["code"] == "UNAUTHORIZED"
    assert headers["www-authenticate"].startswith("Bearer")
    assert request(server, "GET", "/documents", token=server.token[:-3] + "abc")[0] == 401
    assert request(server, "GET", "/documents", token=server.tokens.issue(seconds=-5))[0] == 401  # expired
    assert request(server, "GET", "/documents", token=LocalTokens().issue())[0] == 401  # another server's
    status, _, body = request(server, "GET", "/documents", token=server.token)
    assert status == 200 and json.loads(body) == {"items": [], "next_cursor": None}
    assert request(server, "GET", "/health")[0] == 200


def test_routes_work_over_http(server: ApiServer) -> None:
    insert_completed(invoices=[invoice(number="H-1", total="42.00")])
    status, _, body = request(server, "GET", "/documents?status=COMPLETED&status=NEEDS_REVIEW", token=server.token)
    assert status == 200 and json.loads(body)["items"][0]["invoice_number"] == "H-1"
    payload = json.dumps({"filename": "a.pdf", "content_type": "application/pdf", "size": 10}).encode()
    status, _, body = request(server, "POST", "/documents", token=server.token, body=payload,
                              headers={"Content-Type": "application/json"})
    assert status == 201 and json.loads(body)["fields"]["x-amz-meta-uploaded-by"] == "jwt:local-user"
    status, headers, body = request(server, "GET", "/invoices/export?format=xlsx", token=server.token)
    assert status == 200 and headers["content-type"].startswith("application/vnd.openxml")
    header, values = list(load_workbook(io.BytesIO(body))["Invoices"].values)
    assert dict(zip(header, values, strict=True))["invoice_number"] == "H-1"
    status, headers, _ = request(server, "PATCH", "/documents", token=server.token)
    assert status == 405 and headers["allow"] == "GET, POST"


def test_serves_the_web_page_and_its_config(server: ApiServer) -> None:
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html") and b"<title>Invoices" in body
    for path, kind in (("/app.js", "javascript"), ("/style.css", "text/css")):
        status, headers, _ = request(server, "GET", path)
        assert status == 200 and kind in headers["content-type"], path
    status, _, body = request(server, "GET", "/config.json")
    assert status == 200 and json.loads(body) == {"auth": {"mode": "local"}, "apiBaseUrl": ""}


def test_oversized_body_is_refused_before_reading(server: ApiServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("POST", "/documents")
        conn.putheader("Authorization", f"Bearer {server.token}")
        conn.putheader("Content-Length", str(11 * 1024 * 1024))
        conn.endheaders()
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "PAYLOAD_TOO_LARGE"
    finally:
        conn.close()


def test_huge_paths_are_answered_in_json_without_being_echoed(server: ApiServer) -> None:
    long_path = "/" + "a" * 50_000  # within http.server's 64 KB request line: the API answers
    status, headers, body = request(server, "GET", long_path, token=server.token)
    error = json.loads(body)["error"]
    assert (status, error["code"]) == (404, "NOT_FOUND")
    assert len(error["message"]) < 300 and "(50001 characters)" in error["message"]
    status, headers, body = request(server, "GET", "/" + "a" * 70_000, token=server.token)  # past it
    assert status == 414 and headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert error["code"] == "URI_TOO_LONG" and "aaaa" not in error["message"]
    status, headers, body = request(server, "GET", "/health", headers={"X-Big": "b" * 70_000})
    assert (status, json.loads(body)["error"]["code"]) == (431, "HEADERS_TOO_LARGE")


def test_stopped_means_gone(api: str) -> None:
    running = ApiServer().start()
    port = running.port
    assert request(running, "GET", "/health")[0] == 200
    running.stop()
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/health")
