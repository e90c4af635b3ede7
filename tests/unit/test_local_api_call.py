"""The CLI's one caller of the local API (reprocess_cmd.call_api), as `invoices accuracy` (GET) and `invoices
reprocess` (POST) use it: against a real HTTP server on 127.0.0.1, the method, path, token and body arrive as
sent; a refusal and a server that is gone are one readable ReprocessError each."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from invoice_local import accuracy_cmd
from invoice_local.reprocess_cmd import ReprocessError, call_api
from invoice_local.stack import StackInfo

SEEN: list[dict[str, Any]] = []


class _Api(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        SEEN.append({"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"),
                     "body": self.rfile.read(length).decode() if length else None})
        if self.path.startswith("/refuse"):
            body, status = {"error": {"code": "CONFLICT", "message": "already running"}}, 409
        else:
            body, status = {"groups": []}, 200
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def info() -> Iterator[StackInfo]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    SEEN.clear()
    try:
        yield StackInfo(endpoint="", region="us-east-1", database_url="", ingest_bucket="", results_bucket="",
                        state_machine_arn="", drop_folder="", pid=0, postgres="",
                        api_url=f"http://127.0.0.1:{server.server_port}", api_token="tok")
    finally:
        server.shutdown()
        server.server_close()


def test_accuracy_gets_its_period_with_the_token(info: StackInfo) -> None:
    assert accuracy_cmd.fetch(info, "2026-03-01T00:00:00Z", None) == {"groups": []}
    assert SEEN == [{"method": "GET", "path": "/metrics/accuracy?from=2026-03-01T00%3A00%3A00Z",
                     "auth": "Bearer tok", "body": None}]


def test_a_post_sends_its_body_and_a_refusal_is_one_line(info: StackInfo) -> None:
    assert call_api(info, {"status": ["FAILED"]}, "/documents/reprocess") == {"groups": []}
    assert SEEN[-1]["method"] == "POST" and json.loads(SEEN[-1]["body"]) == {"status": ["FAILED"]}
    with pytest.raises(ReprocessError, match="already running"):
        call_api(info, None, "/refuse")


def test_a_stack_that_is_gone_is_named() -> None:
    gone = StackInfo(endpoint="", region="", database_url="", ingest_bucket="", results_bucket="",
                     state_machine_arn="", drop_folder="", pid=0, postgres="", api_url="http://127.0.0.1:9",
                     api_token="t")
    with pytest.raises(ReprocessError, match="did not answer"):
        accuracy_cmd.fetch(gone, "2026-03-01", None)
