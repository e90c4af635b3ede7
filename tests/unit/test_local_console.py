"""The local terminal off a terminal (captured, piped): tables, progress and the trace view as plain text, and
the CLI's errors as one line."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from invoice_local import cli, commands, console, terminal_text, trace
from rich.text import Text

ANSI = "\x1b["
ROWS = [
    {"id": "64010c51", "file": "de-ch-rechnung-scan.jpg", "status": "COMPLETED", "invoice": "24911",
     "vendor": "Bergmatter Haustechnik AG " * 4, "date": "2024-07-25", "total": Decimal("975.09"), "cur": "CHF",
     "items": 0, "issues / error": "LOW_CONFIDENCE"},
    {"id": "8d1b821c", "file": "broken-[truncated].pdf", "status": "FAILED", "invoice": None, "vendor": None,
     "date": None, "total": None, "cur": None, "items": None, "issues / error": "CorruptDocument"},
]


def test_results_table_is_plain_one_line_per_row_and_keeps_every_value(capsys: pytest.CaptureFixture[str]) -> None:
    console.show(console.table(ROWS, commands.RESULT_COLUMNS))
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert ANSI not in out
    assert len(lines) == 2 + len(ROWS)  # header, rule, one line per row
    assert lines[0].split() == ["id", "file", "status", "invoice", "vendor", "date", "total", "cur", "items",
                                "issues", "/", "error"]
    assert all(len(line) <= console.PLAIN_WIDTH and line == line.rstrip() for line in lines)
    completed, failed = lines[2], lines[3]
    assert completed.split()[:3] == ["64010c51", "de-ch-rechnung-scan.jpg", "COMPLETED"]
    assert "975.09" in completed and "…" in completed  # the long vendor is cut, not wrapped
    assert failed.split()[:4] == ["8d1b821c", "broken-[truncated].pdf", "FAILED", "-"]  # no markup eaten
    assert failed.endswith("CorruptDocument")


def test_on_a_narrow_width_long_text_gives_way_and_ids_statuses_amounts_stay_whole() -> None:
    lines = console.to_text(console.table(ROWS, commands.RESULT_COLUMNS), width=110).splitlines()
    assert all(len(line) <= 110 for line in lines)
    assert lines[2].split()[0] == "64010c51" and "COMPLETED" in lines[2] and "975.09" in lines[2]
    assert "CorruptDocument" in lines[3] and "…" in lines[2]


def test_progress_off_a_terminal_is_a_few_plain_lines() -> None:
    out = io.StringIO()
    with console.LiveProgress("deploy", 40, "resources", file=out) as progress:
        for done in range(41):
            progress(done, f"aws_thing.r{done}")
    lines = out.getvalue().splitlines()
    assert ANSI not in out.getvalue() and "\r" not in out.getvalue()
    assert 2 <= len(lines) <= 6, lines
    assert lines[0].startswith("deploy") and "0/40 resources" in lines[0]
    assert "40/40 resources" in lines[-1] and "aws_thing.r40" in lines[-1]


def test_deploy_progress_api_ends_itself_at_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    progress = console.deploy_progress(3)
    for done, address in enumerate(["aws_s3_bucket.ingest", "aws_sqs_queue.dlq", "aws_sfn_state_machine.p"], 1):
        progress(done, address)
    progress(3, "late call after the end")  # ignored
    progress.close()  # idempotent
    err = capsys.readouterr().err
    assert "3/3 resources" in err and "late call" not in err and ANSI not in err


def test_stage_lines_are_one_line_each_even_when_long(capsys: pytest.CaptureFixture[str]) -> None:
    console.stage("postgres", "ready in 0.8s")
    console.stage("api", "http://127.0.0.1:8080/#token=" + "x" * 300)
    console.stage("drop folder", "/tmp/drop; Ctrl-C to stop")
    assert capsys.readouterr().out.splitlines() == ["postgres    ready in 0.8s",
                                                    "api         http://127.0.0.1:8080/#token=" + "x" * 300,
                                                    "drop folder /tmp/drop; Ctrl-C to stop"]


def test_show_puts_each_renderable_on_its_own_line(capsys: pytest.CaptureFixture[str]) -> None:
    console.show(Text("9 documents in 144.2s"), Text("Try: invoices status"))
    assert capsys.readouterr().out.splitlines() == ["9 documents in 144.2s", "Try: invoices status"]


def _event(kind: str, at: float, **details: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": datetime(2025, 6, 1, tzinfo=UTC) + timedelta(seconds=at), **details}


def test_trace_view_plain() -> None:
    cause = '{"errorMessage": "the PDF is truncated or damaged: no %%EOF marker at its end"}'
    events = [
        _event("TaskStateEntered", 0, stateEnteredEventDetails={"name": "Register", "input": "{}"}),
        _event("TaskScheduled", 0.01),
        _event("TaskFailed", 0.3, taskFailedEventDetails={"error": "CorruptDocument", "cause": cause}),
        _event("TaskStateExited", 0.39, stateExitedEventDetails={"name": "Register", "output": '{"e": 1}'}),
        _event("FailStateEntered", 0.4, stateEnteredEventDetails={"name": "Failed", "input": "{}"}),
        _event("ExecutionFailed", 0.45, executionFailedEventDetails={"error": "CorruptDocument", "cause": cause}),
    ]
    execution = {"name": "5deebb4d", "status": "FAILED", "executionArn": "arn:aws:states:::execution:x:5deebb4d",
                 "startDate": events[0]["timestamp"], "stopDate": events[-1]["timestamp"],
                 "error": "CorruptDocument", "cause": cause}
    out = trace.render(execution, events, color=False, show_io=True)
    lines = out.splitlines()
    assert ANSI not in out
    assert lines[0] == "Execution 5deebb4d  FAILED  (0.45 s)"
    assert [line.split()[1] for line in lines if line[:4].strip().isdigit()] == ["Register", "Failed"]
    register = next(line for line in lines if " Register " in line)
    assert "Caught error" in register and "Error: CorruptDocument" in register
    assert "Cause: the PDF is truncated or damaged" in out and "input:" in out and '"e": 1' in out
    assert ANSI in trace.render(execution, events, color=True)


def test_unexpected_error_is_one_line_naming_the_traceback_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    def broken(args: Any) -> int:
        raise RuntimeError("database said no\nwith a second line")

    monkeypatch.setattr(commands, "cmd_status", broken)
    code = cli.main(["status", "--state-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == cli.EXIT_UNEXPECTED
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"invoices: error: RuntimeError: database said no (traceback in {tmp_path / 'logs' / 'cli.log'})"]
    written = (tmp_path / "logs" / "cli.log").read_text()
    assert "Traceback (most recent call last)" in written and "invoices status" in written
    assert "with a second line" in written


def test_expected_error_stays_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["status", "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err and "invoices up" in err


def test_missing_terraform_is_one_line_saying_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from invoice_local import terraform

    monkeypatch.setattr(terraform.shutil, "which", lambda _name: None)

    def up(args: Any) -> int:
        terraform.binary()
        return 0

    monkeypatch.setattr(commands, "cmd_status", up)
    code = cli.main(["status", "--state-dir", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == cli.EXIT_USAGE
    assert captured.err.splitlines() == [
        "invoices: error: terraform is not on PATH: install Terraform >= 1.11: "
        "https://developer.hashicorp.com/terraform/install"]
    assert not (tmp_path / "logs" / "cli.log").exists()


# Clears the screen, sets the window title, recolours, returns the carriage, rings the bell, reverses the line,
# and carries rich markup: printed, it must read as what it is and do none of that.
HOSTILE = "in\x1b[2Jvoice\x1b]0;pwned\x07\x1b[31m\r\x9b1m[red]x[/red]\u202efdp.exe"
RAW_CONTROLS = ("\x1b", "\x07", "\r", "\x9b", "\u202e")


def _harmless(out: str, *, terminal_styles: bool = False, whole: bool = True) -> None:
    body = out.replace("\x1b[0m", "").replace("\x1b[1;31m", "").replace("\x1b[31m", "").replace(
        "\x1b[1m", "").replace("\x1b[2m", "").replace("\x1b[32m", "") if terminal_styles else out
    assert not any(c in body for c in RAW_CONTROLS), repr(out)
    assert "in\\x1b[2Jvoice" in out
    if whole:
        assert "\\x1b]0;pwned\\x07" in out and "\\r" in out and "\\x9b1m" in out and "\\u202efdp.exe" in out
        assert "[red]x[/red]" in out  # markup printed, not applied


def test_text_from_outside_is_printed_escaped_by_every_printer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{**ROWS[1], "file": HOSTILE, "vendor": HOSTILE, "issues / error": HOSTILE}]
    console.show(console.table(rows, commands.RESULT_COLUMNS))  # invoices status / submit / run
    table = capsys.readouterr().out
    _harmless(table, whole=False)  # long cells end in an ellipsis
    assert len(table.splitlines()) == 3  # still one line per row
    # On a terminal: rich's own colours, nothing of the file name's.
    _harmless(console.to_text(console.table(rows, commands.RESULT_COLUMNS), color=True), terminal_styles=True,
              whole=False)
    console.show(Text(f"document 1  {HOSTILE}"))  # a Text made without printable: show escapes it still
    _harmless(capsys.readouterr().out, whole=False)  # (rich itself drops a Text's carriage returns and bells)

    cause = f'{{"errorMessage": "cannot read {HOSTILE}"}}'
    execution = {"name": "x", "status": "FAILED", "executionArn": "arn:x", "error": "CorruptDocument",
                 "cause": cause, "startDate": datetime(2025, 6, 1, tzinfo=UTC),
                 "stopDate": datetime(2025, 6, 1, 0, 0, 1, tzinfo=UTC)}
    events = [_event("TaskStateEntered", 0, stateEnteredEventDetails={"name": "Register", "input": "{}"}),
              _event("TaskFailed", 0.3, taskFailedEventDetails={"error": "CorruptDocument", "cause": cause})]
    _harmless(trace.render(execution, events, color=False, show_io=True))  # invoices trace

    out = io.StringIO()
    with console.LiveProgress("processing", 2, "documents done", file=out) as progress:
        progress(1, HOSTILE)
    _harmless(out.getvalue())

    def refuses(args: Any) -> int:
        raise commands.CommandError(f"no document matches {HOSTILE}")

    monkeypatch.setattr(commands, "cmd_status", refuses)
    assert cli.main(["status", "--state-dir", str(tmp_path)]) == cli.EXIT_USAGE
    _harmless(capsys.readouterr().err)  # errors, as every command reports them
    terminal_text.line(HOSTILE)  # what the CLI prints without rich: reprocess's summary
    _harmless(capsys.readouterr().out)
    as_json = terminal_text.printable_json(json.dumps({"key": HOSTILE}, ensure_ascii=False))  # logs --json, normalize
    assert not any(c in as_json for c in RAW_CONTROLS) and json.loads(as_json) == {"key": HOSTILE}
