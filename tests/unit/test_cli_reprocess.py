"""`invoices reprocess` against a stand-in of the local API: the flags become POST /documents/reprocess's body
(with the stack's token), the answer becomes one line per outcome, and every expected failure is one line
with exit status 2, never a traceback. The route itself is tested in tests/integration/test_api_reprocess.py."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from invoice_local import cli

TOKEN = "token-of-the-stack"
IDS = ["5f0c1a2e-0000-4000-8000-000000000001", "9a1b2c3d-0000-4000-8000-000000000002",
       "77e0aa01-0000-4000-8000-000000000003"]


@dataclass
class FakeApi:
    url: str
    answer: tuple[int, dict[str, Any]] = (202, {})
    requests: list[dict[str, Any]] = field(default_factory=list)


def _accepted(**fields: Any) -> dict[str, Any]:
    return {"dry_run": False, "matched": 0, "truncated": False, "eligible": 0, "queued": 0, "skipped_count": 0,
            "skipped": [], "failed_to_queue": 0, "failed": [], **fields}


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            fake.requests.append({"path": self.path, "authorization": self.headers["Authorization"],
                                  "content_type": self.headers["Content-Type"],
                                  "body": json.loads(body) if body else None})
            status, answer = fake.answer
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def _stack(state_dir: Path, api_url: str) -> Path:
    """The stack.json a running stack leaves (this process stands in for the stack's)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "stack.json").write_text(json.dumps({
        "endpoint": "http://127.0.0.1:1", "region": "us-east-1", "database_url": "postgresql://x", "pid": os.getpid(),
        "ingest_bucket": "ingest", "results_bucket": "results", "state_machine_arn": "arn", "drop_folder": "drop",
        "postgres": "binaries", "api_url": api_url, "api_token": TOKEN}))
    return state_dir


def _run(state_dir: Path, *args: str) -> int:
    return cli.main(["reprocess", *args, "--state-dir", str(state_dir)])


def test_the_flags_are_the_request(api: FakeApi, tmp_path: Path) -> None:
    api.answer = (202, _accepted(dry_run=True, matched=2, eligible=2))
    state = _stack(tmp_path / "state", api.url)
    assert _run(state, "--status", "FAILED", "--status", "FAILED", "--status", "NEEDS_REVIEW", "--error",
                "TextractJobFailed", "--from", "2026-03-01", "--to", "2026-03-01", "--limit", "50",
                "--dry-run") == 0
    (request,) = api.requests
    assert (request["path"], request["authorization"], request["content_type"]) == (
        "/documents/reprocess", f"Bearer {TOKEN}", "application/json")
    body = request["body"]
    # A day is local midnight; --to's day is included, so it ends at the next midnight.
    assert datetime.fromisoformat(body.pop("received_from")) == datetime(2026, 3, 1).astimezone()
    assert datetime.fromisoformat(body.pop("received_to")) == datetime(2026, 3, 2).astimezone()
    assert body == {"status": ["FAILED", "NEEDS_REVIEW"], "error_code": ["TextractJobFailed"], "limit": 50,
                    "dry_run": True}


def test_a_moment_with_its_offset_is_sent_as_given(api: FakeApi, tmp_path: Path) -> None:
    api.answer = (202, _accepted())
    state = _stack(tmp_path / "state", api.url)
    assert _run(state, "--status", "FAILED", "--from", "2026-03-01T08:30:00+02:00") == 0
    assert api.requests[0]["body"] == {"status": ["FAILED"], "received_from": "2026-03-01T08:30:00+02:00",
                                       "limit": 1000, "dry_run": False}


def test_queued_with_skips_one_line_then_one_per_document(api: FakeApi, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    api.answer = (202, _accepted(matched=315, eligible=312, queued=312, skipped_count=3, skipped=[
        {"document_id": IDS[0], "code": "SOURCE_GONE", "reason": "s3://ingest/incoming/x.pdf no longer exists"},
        {"document_id": IDS[1], "code": "SOURCE_GONE", "reason": "s3://ingest/incoming/y.pdf no longer exists"},
        {"document_id": IDS[2], "code": "CONFLICT",
         "reason": f"the same content is now document {IDS[0]}: reprocess that one instead"}]))
    assert _run(_stack(tmp_path / "state", api.url), "--status", "FAILED") == 0
    assert capsys.readouterr().out.splitlines() == [
        "queued 312 documents for reprocessing (3 skipped: 2 SOURCE_GONE, 1 CONFLICT); the intake starts them at "
        "its own rate",
        "  skipped 5f0c1a2e  SOURCE_GONE  s3://ingest/incoming/x.pdf no longer exists",
        "  skipped 9a1b2c3d  SOURCE_GONE  s3://ingest/incoming/y.pdf no longer exists",
        f"  skipped 77e0aa01  CONFLICT  the same content is now document {IDS[0]}: reprocess that one instead"]


@pytest.mark.parametrize(("answer", "lines"), [
    (_accepted(), ["no document matches the filter: nothing queued"]),
    (_accepted(dry_run=True, matched=1, eligible=1), [
        "dry run: 1 document would be queued for reprocessing; nothing was sent"]),
    (_accepted(matched=2, eligible=2, queued=2, truncated=True), [
        "queued 2 documents for reprocessing; the intake starts them at its own rate",
        "more documents match than --limit 1000: run again once these have run, or narrow --from/--to"]),
])
def test_other_outcomes(api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                        answer: dict[str, Any], lines: list[str]) -> None:
    api.answer = (202, answer)
    assert _run(_stack(tmp_path / "state", api.url), "--status", "FAILED") == 0
    assert capsys.readouterr().out.splitlines() == lines


def test_documents_not_queued_are_listed_and_the_exit_status_says_so(
        api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer = (202, _accepted(matched=3, eligible=3, queued=1, failed_to_queue=2, failed=[
        {"document_id": IDS[1], "reason": "not attempted: the request ran out of time; calling again is safe"}]))
    assert _run(_stack(tmp_path / "state", api.url), "--status", "FAILED") == 1
    assert capsys.readouterr().out.splitlines() == [
        "queued 1 document for reprocessing; the intake starts them at its own rate",
        "could not queue 2 documents: running the same command again is safe",
        "  not queued 9a1b2c3d  not attempted: the request ran out of time; calling again is safe",
        "  ... and 1 more (see the api function's log)"]


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert "Traceback" not in captured.err
    return line


def test_a_refusal_by_the_api_is_one_line(api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api.answer = (400, {"error": {"code": "BAD_REQUEST", "message": "invalid request: body.limit",
                                  "details": [{"field": "body.limit", "problem": "too big"}]}})
    assert _run(_stack(tmp_path / "state", api.url), "--status", "FAILED") == 2
    assert _one_error_line(capsys) == ("invoices: error: the API refused the request (400 BAD_REQUEST): invalid "
                                       "request: body.limit (body.limit: too big)")


def test_no_stack_running_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path / "nothing", "--status", "FAILED") == 2
    assert _one_error_line(capsys).startswith("invoices: error: no local stack: ")


def test_an_api_that_does_not_answer_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    assert _run(_stack(tmp_path / "state", url), "--status", "FAILED") == 2
    assert _one_error_line(capsys).startswith(f"invoices: error: the local API at {url} did not answer (")


@pytest.mark.parametrize("args", [["--status", "DUPLICATE"], ["--status", "ANALYZING"],
                                  ["--status", "FAILED", "--limit", "0"], ["--status", "FAILED", "--limit", "10001"],
                                  ["--status", "FAILED", "--from", "yesterday"]])
def test_bad_flags_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _run(tmp_path, *args)
    assert exit_.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_one_document_started_or_refused_in_one_line(api: FakeApi, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    state = _stack(tmp_path / "state", api.url)
    arn = f"arn:aws:states:us-east-1:123456789012:execution:invoices-local-pipeline:reprocess-{IDS[0][:8]}"
    api.answer = (202, {"document_id": IDS[0], "execution_arn": arn, "console_url": "https://console"})
    assert _run(state, IDS[0]) == 0
    assert api.requests[-1]["path"] == f"/documents/{IDS[0]}/reprocess"
    assert capsys.readouterr().out.splitlines() == [f"reprocessing {IDS[0]}: execution {arn}"]
    # A request while that execution has not moved the document on: the API's 409, one line, exit 2.
    refusal = f"document {IDS[0]} is already being reprocessed from this state by execution {arn}"
    api.answer = (409, {"error": {"code": "CONFLICT", "message": refusal}})
    assert _run(state, IDS[0]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"invoices: error: the API refused the request (409 CONFLICT): {refusal}"]
    assert _run(state, IDS[0], "--status", "FAILED") == 2  # a document or filters, not both
    assert _run(state) == 2


def test_discarding_review_work_is_asked_for_explicitly_for_one_document(
        api: FakeApi, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = _stack(tmp_path / "state", api.url)
    refusal = f"document {IDS[0]} has review work a reprocess would replace with a fresh reading: ..."
    api.answer = (409, {"error": {"code": "REVIEW_WOULD_BE_LOST", "message": refusal}})
    assert _run(state, IDS[0]) == 2
    assert api.requests[-1]["path"] == f"/documents/{IDS[0]}/reprocess"
    assert capsys.readouterr().err.splitlines() == [
        f"invoices: error: the API refused the request (409 REVIEW_WOULD_BE_LOST): {refusal}"]
    arn = f"arn:aws:states:us-east-1:123456789012:execution:invoices-local-pipeline:reprocess-{IDS[0][:8]}"
    api.answer = (202, {"document_id": IDS[0], "execution_arn": arn, "console_url": "https://console"})
    assert _run(state, IDS[0], "--discard-review") == 0
    assert api.requests[-1]["path"] == f"/documents/{IDS[0]}/reprocess?discard_review=true"
    capsys.readouterr()
    sent = len(api.requests)
    assert _run(state, "--status", "FAILED", "--discard-review") == 2  # never in bulk
    assert len(api.requests) == sent and "--discard-review is for one document" in capsys.readouterr().err
