"""`invoices trace` on real executions: what someone debugging a failure reads first."""

from __future__ import annotations

from invoice_local import trace
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import textract as standin_mod

from tests.integration.test_pipeline import _default_invoice


def _render(stack: Stack, **kwargs: object) -> str:
    (execution,) = stack.wait_for_executions(1)
    described, events = trace.fetch(stack.client("stepfunctions"), execution["executionArn"])
    return trace.render(described, events, color=False, **kwargs)  # type: ignore[arg-type]


def test_failed_execution_names_the_failing_state_error_and_cause(stack: Stack) -> None:
    stack.upload("incoming/notes.pdf", b"plain text, not a PDF\n" * 10)
    out = _render(stack)
    lines = out.splitlines()
    assert "FAILED" in lines[0]
    register = next(line for line in lines if " Register " in line)
    assert "Caught error" in register
    assert "Error: UnsupportedDocumentType" in out
    assert "Cause: " in out and "text" in out.split("Cause: ", 1)[1].splitlines()[0].lower()
    assert [line.split()[1] for line in lines if line[:4].strip().isdigit()] == ["Register", "RecordFailure", "Failed"]


def test_retried_state_shows_what_it_recovered_from_and_io_on_demand(stack: Stack,
                                                                     standin: standin_mod._State) -> None:
    standin.faults.throttle_starts = 4
    stack.upload("incoming/a.png", _default_invoice(standin))
    out = _render(stack, show_io=True)
    start = next(line for line in out.splitlines() if " StartAnalysis " in line)
    assert "Succeeded after 1 retry" in start
    assert "retried after: TextractThrottled" in out
    register_io = out.split("1 Register ─", 1)[1].split("2 StartAnalysis ─", 1)[0]
    assert "output:" in register_io and '"task_token"' not in register_io
    assert "input:" in out and "output:" in out and "SUCCEEDED" in out.splitlines()[0]
