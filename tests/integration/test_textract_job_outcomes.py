"""What a Textract job's end looks like from outside, on the deployed pipeline (the `stack` fixture):
- a failed job's reason (GetExpenseAnalysis' StatusMessage; the SNS notification carries none) reaches the
  document's error, the API and the trace (issue 10, item 11);
- the local engine refuses a page beyond its render budget as a FAILED job with a StatusMessage, within
  bounded memory (issue 10, item 12; the figures are bench/bench_engine_limits.py's);
- a document's wait grows with its pages, and a job whose wait timed out is stopped, not left analysing for
  nobody (issue 10, item 13).
About 30 s together, most of it the 14 s wait that test_a_timed_out_job_is_stopped watches expire."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from fpdf import FPDF
from invoice_local import abandoned_jobs, trace
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import textract as standin_mod
from invoice_local.engine import LocalExpenseEngine
from invoice_pipeline.adapters import repository

from tests.integration.test_api_routes import api_fixture, call  # noqa: F401 - registers the `api` fixture
from tests.integration.test_pipeline import _assert_failed, png


def _wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def test_a_failed_jobs_reason_reaches_the_document_the_api_and_the_trace(stack: Stack, api: str,
                                                                         standin: standin_mod._State,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing recorded for these bytes: the stand-in's job ends FAILED, its StatusMessage saying so.
    stack.upload("incoming/unknown.png", png("no recorded response"))
    doc = _assert_failed(stack, "TextractJobFailed")
    reason = f"no recorded Textract response for s3://{stack.ingest_bucket}/incoming/unknown.png"
    assert doc.error_message == f"Textract job FAILED: {reason} (JobId {doc.textract_job_id})"

    monkeypatch.setenv("STATE_MACHINE_ARN", stack.state_machine_arn)
    body = call("GET", f"/documents/{doc.id}").json()
    assert body["error"]["code"] == "TextractJobFailed" and reason in body["error"]["message"]

    (execution,) = stack.executions()
    described, events = trace.fetch(stack.client("stepfunctions"), execution["executionArn"])
    out = trace.render(described, events, color=False)
    assert "Error: TextractJobFailed" in out and reason in out


def huge_page_pdf() -> bytes:
    """Issue 10's file: a few hundred bytes declaring one blank 14,400 x 14,400-point page."""
    pdf = FPDF(unit="pt", format=(14400, 14400))
    pdf.add_page()
    return bytes(pdf.output())


def test_the_engine_fails_a_job_on_a_page_beyond_its_budget(stack: Stack) -> None:
    """Straight to the Textract API (Register may refuse the file first: this is the engine's own guard)."""
    standin_mod.configure(engine=LocalExpenseEngine())
    content = huge_page_pdf()
    assert len(content) < 1000
    stack.client("s3").put_object(Bucket=stack.ingest_bucket, Key="other/huge-page.pdf", Body=content)
    textract = stack.client("textract")
    job_id = textract.start_expense_analysis(
        DocumentLocation={"S3Object": {"Bucket": stack.ingest_bucket, "Name": "other/huge-page.pdf"}})["JobId"]

    def finished() -> dict[str, Any] | None:
        job = textract.get_expense_analysis(JobId=job_id)
        return job if job["JobStatus"] != "IN_PROGRESS" else None

    job = _wait_for(finished, "the job to end", timeout=30)
    assert job["JobStatus"] == "FAILED"
    assert job["StatusMessage"].startswith("Unsupported document size: page 1 measures 14400 x 14400 points")


def three_page_pdf() -> bytes:
    pdf = FPDF()
    for number in range(1, 4):
        pdf.add_page()
        pdf.set_font("helvetica", size=11)
        pdf.text(20, 20, f"Invoice T-3 page {number} of 3")
    return bytes(pdf.output())


def test_a_timed_out_job_is_stopped(stack: Stack) -> None:
    """The job would run for 10 minutes; the document's wait (12 s for a page and 1 s for each further page,
    tests/pipeline_fixtures.py) times out first, RecordFailure marks it FAILED, and the job stops then."""
    standin = standin_mod.configure(faults=standin_mod.Faults(job_seconds=600), abandoned=abandoned_jobs.abandoned,
                                    watch_seconds=0.5)
    stack.upload("incoming/three-pages.pdf", three_page_pdf())
    doc = _assert_failed(stack, "TaskTimedOut")

    (execution,) = stack.executions()
    registered = next(json.loads(e["stateExitedEventDetails"]["output"])["document"]
                      for e in stack.history(execution["executionArn"])
                      if e.get("stateExitedEventDetails", {}).get("name") == "Register")
    assert (registered["page_count"], registered["analysis_timeout_seconds"]) == (3, 14)

    stopped_at = _wait_for(lambda: not standin.running and time.monotonic(), "the job to stop", timeout=10)
    assert stopped_at
    (job,) = standin.jobs.values()
    assert job.status == "FAILED"
    assert job.message == (f"Job stopped before its analysis: nobody waits for its result: document {doc.id} "
                           "is FAILED (TaskTimedOut)")
    assert repository.get_document(doc.id).status == "FAILED"  # the late notification changed nothing
