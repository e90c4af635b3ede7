"""Local mode's logs: each function's lines in its own file (handlers run concurrently on threads of one
process), the emulator's and libraries' in emulator.log, nothing on the terminal; `invoices logs` merging
them back for one document."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from invoice_local import cli, logs
from invoice_local.emulation.lambda_runner import invoke_in_process
from invoice_pipeline.observability import lambda_entry, logger

DOC_A = "aaaaaaaa-0000-4000-8000-000000000001"
DOC_B = "bbbbbbbb-0000-4000-8000-000000000002"
_both_started = threading.Barrier(2, timeout=10)


@lambda_entry
def handler_a(event: dict[str, Any], context: Any) -> dict[str, str]:
    logger.info("a started", extra={"step": 1})
    _both_started.wait()  # b clears and sets the Logger's keys while a is still running
    logger.info("a finished", extra={"step": 2})
    return {"ok": "a"}


@lambda_entry
def handler_b(event: dict[str, Any], context: Any) -> dict[str, str]:
    logger.info("b started")
    _both_started.wait()
    logger.warning("b finished")
    return {"ok": "b"}


def _function(name: str, handler: str) -> Any:
    return SimpleNamespace(function_name=name, handler=f"{__name__}.{handler}", environment_vars={},
                           region="us-east-1", version="$LATEST", memory_size=128, timeout=30,
                           function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}")


@pytest.fixture
def routed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # the runner applies each function's runtime environment to os.environ: give it back afterwards
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_LAMBDA_FUNCTION_NAME"):
        monkeypatch.setenv(var, "x")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    routing = logs.setup(tmp_path / "logs")
    try:
        yield routing.folder
    finally:
        routing.close()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.filterwarnings("ignore:No application metrics")
def test_concurrent_functions_log_to_their_own_files_with_their_own_correlation_id(
        routed: Path, capfd: pytest.CaptureFixture[str]) -> None:
    results: dict[str, Any] = {}
    calls = [("invoices-local-parse", "handler_a", DOC_A), ("invoices-local-validate", "handler_b", DOC_B)]
    threads = [threading.Thread(target=lambda f=f, h=h, d=d: results.__setitem__(
        f, invoke_in_process(_function(f, h), {"document": {"document_id": d}}))) for f, h, d in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    assert all(errored is False for _payload, errored, _logs in results.values()), results
    parse, validate = _lines(routed / "invoices-local-parse.log"), _lines(routed / "invoices-local-validate.log")
    assert [r["message"] for r in parse] == ["a started", "a finished"]
    assert [r["message"] for r in validate] == ["b started", "b finished"]
    assert {r["correlation_id"] for r in parse} == {DOC_A}
    assert {r["correlation_id"] for r in validate} == {DOC_B}
    assert {r["function_name"] for r in parse} == {"invoices-local-parse"}
    assert parse[1]["step"] == 2 and validate[1]["level"] == "WARNING"
    out, err = capfd.readouterr()
    assert "a started" not in out + err and "b finished" not in out + err


def test_emulator_and_library_logs_go_to_emulator_log_not_the_terminal(
        routed: Path, capfd: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("moto.stepfunctions.parser.asl").error(
        "Exception=FailureEventException (StateFail| {'state_entered_event_type': ...})")
    noisy = logging.getLogger("some.library")  # a library that prints to the terminal by itself
    noisy.propagate = False
    noisy.addHandler(logging.StreamHandler())
    try:
        routed_routing = logs.setup(routed)  # already set up: the same routing, which adopts the new handler
        routed_routing.adopt()
        noisy.warning("library chatter")
    finally:
        noisy.handlers.clear()
        noisy.propagate = True
    emulator = (routed / logs.EMULATOR_LOG).read_text()
    assert "FailureEventException" in emulator and "library chatter" in emulator
    out, err = capfd.readouterr()
    assert "FailureEventException" not in out + err and "library chatter" not in out + err


def _write(folder: Path, function: str, *records: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{function}.log").open("a") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")


def _record(time: str, message: str, document: str | None, **extra: Any) -> dict[str, Any]:
    return {"level": extra.pop("level", "INFO"), "location": "handler:1", "message": message,
            "timestamp": f"2025-06-01 10:00:{time}+0000", "service": "invoice-pipeline",
            "correlation_id": document, **extra}


@pytest.fixture
def log_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    _write(folder, "invoices-local-register",
           _record("00,100", "registered", DOC_A, key="incoming/a.pdf"),
           _record("00,200", "registered", DOC_B),
           _record("05,000", "object version already registered: skipping", None, document_id=DOC_A))
    _write(folder, "invoices-local-parse", _record("01,500", "parsed", DOC_A, pages=2),
           _record("02,000", "parsed", DOC_B))
    _write(folder, "invoices-local-record_failure",
           _record("03,000", "document failed", DOC_A, level="ERROR", error="CorruptDocument",
                   exception="Traceback (most recent call last):\n  ...\nCorruptDocument: no %%EOF marker"))
    with (folder / "invoices-local-parse.log").open("a") as out:
        out.write(f"a line that is not JSON {DOC_A}\n")
    (folder / logs.EMULATOR_LOG).write_text(f"2025-06-01 INFO moto something about {DOC_A}\n")
    return folder


def test_read_merges_functions_in_time_order_for_one_document(log_folder: Path) -> None:
    lines = logs.read(log_folder, DOC_A[:8])
    assert [(line.function, line.message) for line in lines] == [
        ("invoices-local-register", "registered"), ("invoices-local-parse", "parsed"),
        ("invoices-local-record_failure", "document failed"),
        ("invoices-local-register", "object version already registered: skipping")]
    assert {line.document_id for line in lines} == {DOC_A}


def _invoices(capsys: pytest.CaptureFixture[str], state: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main([*args, "--state-dir", str(state)])
    out, err = capsys.readouterr()
    return code, out, err


def test_logs_command_prints_readable_lines_and_raw_json(log_folder: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    state = log_folder.parent  # no stack.json: the id is taken as a prefix of the documents' ids
    code, out, err = _invoices(capsys, state, "logs", DOC_A[:8])
    assert code == 0, err
    order = [out.index(text) for text in ("registered  key=incoming/a.pdf", "parsed  pages=2", "document failed",
                                          "already registered")]
    assert order == sorted(order)
    assert "register " in out and "record_failure" in out and "ERROR" in out
    assert "error=CorruptDocument" in out and "CorruptDocument: no %%EOF marker" in out
    assert "pages=2" in out and DOC_B not in out and "\x1b[" not in out
    assert "Traceback" not in out

    code, out, _err = _invoices(capsys, state, "logs", DOC_A, "--json")
    assert code == 0
    assert [json.loads(line)["message"] for line in out.splitlines()] == [
        "registered", "parsed", "document failed", "object version already registered: skipping"]


def test_logs_command_refuses_an_ambiguous_prefix_and_a_missing_folder(log_folder: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    _write(log_folder, "invoices-local-parse", _record("09,000", "parsed", "aaaaaaaa-ffff-4000-8000-000000000009"))
    code, _out, err = _invoices(capsys, log_folder.parent, "logs", "aaaa")
    assert code == 2 and "several documents" in err and len(err.strip().splitlines()) == 1

    code, _out, err = _invoices(capsys, tmp_path / "nowhere", "logs", "aaaa")
    assert code == 2 and "no logs yet" in err
