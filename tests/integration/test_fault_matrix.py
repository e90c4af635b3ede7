"""The fault matrix (issue 9): each fault injected into the pipeline as Terraform deployed it to the emulation,
and each run ending the same way, checked by one function, `assert_settled`: every document in a final state,
nothing lost (one document per uploaded object version, no message left in the intake queue, no Textract slot
left held), no partial rows (a COMPLETED or NEEDS_REVIEW document has exactly the invoices and line items its
normalized result holds, any other none), and a named error, one the test expects, wherever something failed.
A document that failed is then reprocessed, once the fault is gone, and completes.

Documents are small generated PNGs answered by recorded real Textract responses (../shared/data/textract)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pg8000.native
import pytest
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import lambda_runner
from invoice_local.emulation import textract as standin_mod
from invoice_pipeline import errors
from invoice_pipeline.adapters import repository
from invoice_pipeline.adapters.db import rows, transaction
from invoice_pipeline.adapters.dburl import connect_kwargs
from invoice_pipeline.domain.intake import execution_name
from invoice_pipeline.domain.status import TERMINAL, DocumentStatus

from tests.integration.test_api_reprocess import (
    _hold_intake,
    _queue_depth,
    _release_intake,
    api_stack_fixture,  # noqa: F401 - registers the `api_stack` fixture here
)
from tests.integration.test_api_routes import (
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    call,
)
from tests.integration.test_pipeline import png, recorded
from tests.shared_data import skip_or_fail

# The API's handler runs in this process (reprocess requests), where Powertools has no metrics to flush.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

# Ours (errors.py), and the one of AWS's a fault here produces: Lambda's errorType when the function's process
# dies in the middle of an invocation, which Step Functions reports as the Error.
RUNTIME_EXIT = "Runtime.ExitError"
NAMED_ERRORS = frozenset(cls.__name__ for cls in errors.ALL_ERRORS) | {RUNTIME_EXIT}
DONE = (DocumentStatus.COMPLETED, DocumentStatus.NEEDS_REVIEW)
RECEIPT = "receipt.analyze_expense.json"  # one invoice, 4 line items, total 1810.46
DEFAULT_INVOICE = "default_invoice_1.analyze_expense.json"  # one invoice, 4 line items, total 6231.09


# --- the one check every fault ends with --------------------------------------------------------------------
def _wait_for(condition: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)
    return result


def _quiet(stack: Stack) -> bool:
    """Nothing waits in the intake queue and no execution runs (checked twice: a message the intake took
    has started its execution before it is deleted, so one of the two always shows it)."""
    return all(_queue_depth(stack) == 0 and all(e["status"] != "RUNNING" for e in stack.executions())
               for _ in range(2))


def _documents() -> list[repository.Document]:
    with transaction() as con:
        ids = [r["id"] for r in rows(con, "SELECT id FROM documents ORDER BY created_at, id")]
    return [repository.get_document(i) for i in ids]


def assert_settled(stack: Stack, *, failed_with: Collection[str] = (), timeout: float = 120.0
                   ) -> dict[DocumentStatus, list[repository.Document]]:
    """Wait until the pipeline is quiet, then check the end state every fault must leave; `failed_with` are
    the error codes this fault may leave. Returns the documents by status."""
    assert set(failed_with) <= NAMED_ERRORS, set(failed_with) - NAMED_ERRORS
    _wait_for(lambda: _quiet(stack), "the intake queue to empty and every execution to end", timeout)
    sfn = stack.client("stepfunctions")
    executions = {e["executionArn"]: sfn.describe_execution(executionArn=e["executionArn"])
                  for e in stack.executions()}
    for execution in executions.values():
        assert execution["status"] in ("SUCCEEDED", "FAILED"), execution
        if execution["status"] == "FAILED":  # an execution that failed failed with an expected, named error
            assert execution.get("error") in failed_with, execution

    # Nothing lost: every object version uploaded is one document, and every document one object version.
    s3 = stack.client("s3")
    versions = {(v["Key"], v["VersionId"]) for page in s3.get_paginator("list_object_versions").paginate(
        Bucket=stack.ingest_bucket, Prefix="incoming/") for v in page.get("Versions", [])}
    documents = _documents()
    assert sorted((d.object_key, d.version_id) for d in documents) == sorted(versions)

    by_status: dict[DocumentStatus, list[repository.Document]] = {}
    for doc in documents:
        by_status.setdefault(doc.status, []).append(doc)
        assert doc.status in TERMINAL, doc
        events = repository.events_for(doc.id)
        assert events[-1]["to_status"] == doc.status, (doc, events[-1])
        invoices = repository.invoices_for(doc.id)
        execution = executions.get(doc.execution_arn or "")
        assert execution is not None, f"{doc.id}: no execution {doc.execution_arn}"
        if doc.status in DONE:
            assert execution["status"] == "SUCCEEDED", execution
            assert doc.error_code is None and doc.error_message is None, doc
            # Exactly what Parse produced: every invoice, each with every line item, once.
            normalized = json.loads(s3.get_object(Bucket=stack.results_bucket, Key=doc.result_key)["Body"].read())
            assert len(invoices) == len(normalized["invoices"]) >= 1, doc
            assert [(None if i["total"] is None else str(i["total"]), len(i["line_items"])) for i in invoices] == [
                (n["total"], len(n["line_items"])) for n in normalized["invoices"]], doc
        elif doc.status == DocumentStatus.FAILED:
            assert doc.error_code in failed_with and doc.error_message, doc
            assert (execution["status"], execution.get("error")) == ("FAILED", doc.error_code), execution
            assert invoices == [], doc
        else:  # DUPLICATE: of a document that was processed
            assert invoices == [] and execution["status"] == "SUCCEEDED", doc
            original = repository.get_document(doc.duplicate_of)  # type: ignore[arg-type]
            assert original.status in DONE, (doc, original)
    with transaction() as con:
        stray = con.run("SELECT count(*) FROM invoices i JOIN documents d ON d.id = i.document_id"
                        " WHERE d.status <> ALL(CAST(:done AS text[]))", done=[s.value for s in DONE])[0][0]
        held = rows(con, "SELECT document_id, state FROM textract_slots")
    assert stray == 0
    assert held == [], "a Textract slot outlived its document's processing"
    return by_status


def reprocess(stack: Stack, docs: Collection[repository.Document]) -> None:
    """POST /documents/{id}/reprocess for each, and wait for those executions."""
    before = len(stack.executions())
    for doc in docs:
        reply = call("POST", f"/documents/{doc.id}/reprocess")
        assert reply.status == 202, reply
    stack.wait_for_executions(before + len(docs))


# --- helpers ---------------------------------------------------------------------------------------------------
def _answered(standin: standin_mod._State, name: str, response: str = RECEIPT) -> bytes:
    """Distinct content that the Textract stand-in answers with a recorded response."""
    content = png(name)
    standin.engine.add(content, recorded(response))  # type: ignore[attr-defined]
    return content


def _callback_outcomes(stack: Stack, job_id: str) -> list[str]:
    """What the callback function made of each notification of this job, in order."""
    name = stack.function_names["callback"]
    out = []
    for inv in list(lambda_runner.invocations):
        if inv["function"] != name:
            continue
        jobs = [json.loads(r["Sns"]["Message"]).get("JobId") for r in inv["event"].get("Records", [])]
        if job_id in jobs:
            out += inv["result"]["outcomes"] if inv["ok"] else [inv["error"]]
    return out


def _errors_in_history(stack: Stack, execution_arn: str) -> list[str]:
    """The Error of every failed task attempt in an execution's history (retried or not)."""
    return [details["error"] for e in stack.history(execution_arn) for key, details in e.items()
            if key in ("lambdaFunctionFailedEventDetails", "taskFailedEventDetails") and "error" in details]


def _done(settled: dict[DocumentStatus, list[repository.Document]]) -> list[repository.Document]:
    """The documents processed to the end (COMPLETED or NEEDS_REVIEW: validation's verdict on the recorded
    response, which is not what these tests are about)."""
    return [d for status in DONE for d in settled.get(status, [])]


def _only(items: Collection[Any]) -> Any:
    assert len(items) == 1, items
    return next(iter(items))


# --- 1. Postgres stopped for 60 s in the middle of a burst ----------------------------------------------------
OUTAGE_SECONDS = 60.0


# The outage is a minute of real time, retries resume within 30 s of its end; and run alone, this first test of
# the file also pays for the session's terraform apply (a few minutes on a busy machine) under its timeout.
@pytest.mark.timeout(600)
def test_postgres_outage_in_the_middle_of_a_burst(api_stack: Stack, standin: standin_mod._State,
                                                  postgres: Any) -> None:
    """Postgres goes down (fast shutdown: every session ended) for 60 s while a burst is on its way, then comes
    back on the same port. Every function that finds it down, or loses its connection in a transaction, raises
    DatabaseUnavailable, which the state machine retries for longer than an RDS failover takes (2 s doubling to
    30 s, 20 attempts, full jitter): those documents go on where they stopped, once it is back.

    One thing cannot wait for it here: a Textract completion notification that arrives during the outage finds
    no task token (it is in Postgres), so the callback fails. In AWS, Lambda retries that asynchronous event
    after one and three minutes, inside the deployed wait of an hour; this deployment waits 12 s (to test lost
    notifications quickly) and the emulation does not retry asynchronous events, so such a document ends
    FAILED with TaskTimedOut. It is then reprocessed with the bulk route, as operations would after an outage."""
    if not hasattr(postgres, "outage") or not getattr(postgres, "owned", False):
        skip_or_fail("the database outage needs a Postgres this test session started (not DATABASE_URL)")
    files = {f"incoming/burst-{i:02d}.png": _answered(standin, f"burst-{i}") for i in range(10)}
    for key, content in files.items():
        api_stack.upload(key, content)

    def under_way() -> bool:
        with transaction() as con:
            return bool(con.run("SELECT 1 FROM documents WHERE status = ANY(CAST(:done AS text[])) LIMIT 1",
                                done=[s.value for s in DONE]))

    _wait_for(under_way, "the first document of the burst to complete")
    started = time.monotonic()
    with postgres.outage():
        time.sleep(OUTAGE_SECONDS)
    outage = time.monotonic() - started

    settled = assert_settled(api_stack, failed_with={"TaskTimedOut"}, timeout=300)
    # Documents that met the outage in a task waited it out: their executions retried DatabaseUnavailable
    # and succeeded.
    rode_it_out = [d for d in _done(settled)
                   if "DatabaseUnavailable" in _errors_in_history(api_stack, d.execution_arn or "")]
    assert rode_it_out, "no document met the outage in a task: it did not happen in the middle of the burst"
    # A document failed only because its completion notification came while its task token was out of reach.
    callback = api_stack.function_names["callback"]
    lost_tags = {json.loads(r["Sns"]["Message"])["JobTag"] for c in list(lambda_runner.invocations)
                 if c["function"] == callback and c.get("error") == "DatabaseUnavailable"
                 for r in c["event"]["Records"]}
    failed = settled.get(DocumentStatus.FAILED, [])
    for doc in failed:
        assert f"doc-{doc.id.hex}" in lost_tags, doc
    print(f"outage {outage:.1f} s: {len(rode_it_out)} documents waited it out in a task, {len(failed)} lost"
          f" their notification; {len(_done(settled))} of {len(files)} done before reprocessing")

    if failed:
        before = len(api_stack.executions())
        reply = call("POST", "/documents/reprocess", body={"status": ["FAILED"]})
        assert reply.status == 202 and reply.json()["queued"] == len(failed), reply
        api_stack.wait_for_executions(before + len(failed), timeout=120)
    after = assert_settled(api_stack, failed_with={"TaskTimedOut"})
    assert len(_done(after)) == len(files), after


# --- 2 and 3. A completion notification lost; delivered after the timeout; delivered twice ---------------------
def test_notifications_lost_late_and_twice(api_stack: Stack, standin: standin_mod._State) -> None:
    """A lost notification times the wait out (TaskTimedOut); when it turns up late the callback says so and
    changes nothing; the document is reprocessed, and that job's notification, delivered twice, is used once;
    the old job's notification once more, after all that, is ignored too."""
    standin.faults.silent_jobs = 1
    api_stack.upload("incoming/silent.png", _answered(standin, "silent"))
    api_stack.wait_for_executions(1)
    doc = _only(assert_settled(api_stack, failed_with={"TaskTimedOut"})[DocumentStatus.FAILED])
    assert "States.Timeout" in (doc.error_message or "")
    lost = _only(standin.jobs)

    standin.notify(lost)
    assert _callback_outcomes(api_stack, lost) == ["late"]
    assert len(api_stack.executions()) == 1
    assert repository.get_document(doc.id).updated_at == doc.updated_at
    assert_settled(api_stack, failed_with={"TaskTimedOut"})

    standin.faults.duplicate_notifications = True
    reprocess(api_stack, [doc])
    redone = _only(_done(assert_settled(api_stack, failed_with={"TaskTimedOut"})))
    assert redone.id == doc.id and redone.textract_job_id != lost and len(standin.jobs) == 2
    assert _callback_outcomes(api_stack, str(redone.textract_job_id)) == ["succeeded", "duplicate"]
    assert len(repository.invoices_for(doc.id)) == 1

    standin.notify(lost)
    assert _callback_outcomes(api_stack, lost)[-1] in ("duplicate", "stale")
    assert repository.get_document(doc.id).updated_at == redone.updated_at
    assert len(api_stack.executions()) == 2


# --- 4. A crash in the middle of Persist ----------------------------------------------------------------------
def test_a_crash_in_the_middle_of_persist_leaves_no_partial_rows(api_stack: Stack, standin: standin_mod._State,
                                                                 clean_db: str) -> None:
    """The persist function's worker process is killed in the middle of its transaction: after it wrote the
    invoice, while it waits to write the line items (the test holds a lock on line_items). Postgres rolls the
    transaction back when the connection dies; Step Functions sees the runtime exit (Runtime.ExitError, not
    retried: a crash is not known to be passing) and the document fails with nothing half-written. Persist
    replaces whatever an earlier attempt wrote, so a reprocess completes it with one invoice."""
    persist = api_stack.function_names["persist"]
    # One session holds the lock; another watches (pg_stat_activity is a snapshot taken once per transaction).
    holder, watcher = (pg8000.native.Connection(**connect_kwargs(clean_db)) for _ in range(2))
    try:
        holder.run("START TRANSACTION")
        holder.run("LOCK TABLE line_items IN ACCESS EXCLUSIVE MODE")
        api_stack.upload("incoming/crash.png", _answered(standin, "crash"))

        def blocked_backend() -> int | None:
            found = watcher.run("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                " AND query LIKE 'INSERT INTO line_items%'")
            return int(found[0][0]) if found else None

        backend = _wait_for(blocked_backend, "Persist to block on the line items", timeout=25)
        # It has written: its transaction holds the invoice row it inserted.
        assert watcher.run("SELECT count(*) FROM pg_locks WHERE pid = :p AND granted AND mode = 'RowExclusiveLock'"
                           " AND relation = CAST('invoices' AS regclass)", p=backend)[0][0] == 1
        (worker,) = lambda_runner.pool.pids(persist, busy=True)
        os.kill(worker, signal.SIGKILL)
        _wait_for(lambda: any(c["function"] == persist and c.get("error") == RUNTIME_EXIT
                              for c in list(lambda_runner.invocations)), "the invocation to fail", timeout=25)
    finally:
        holder.run("ROLLBACK")
        holder.close()
        watcher.close()

    (execution,) = api_stack.wait_for_executions(1)
    failed = _only(assert_settled(api_stack, failed_with={RUNTIME_EXIT})[DocumentStatus.FAILED])
    assert failed.error_message and "Runtime exited" in failed.error_message
    assert _errors_in_history(api_stack, execution["executionArn"]).count(RUNTIME_EXIT) == 1  # in Persist

    reprocess(api_stack, [failed])
    doc = _only(_done(assert_settled(api_stack, failed_with={RUNTIME_EXIT})))
    (invoice,) = repository.invoices_for(doc.id)
    assert doc.id == failed.id and len(invoice["line_items"]) == 4


# --- 5. S3 events duplicated and out of order ----------------------------------------------------------------
def test_s3_events_duplicated_and_out_of_order(stack: Stack, standin: standin_mod._State) -> None:
    """The S3 events of several objects, one of them overwritten by a new version, reach the intake twice each
    and in reverse order: the event of the overwritten version comes after its successor's. Each object version
    is processed once, from its own bytes."""
    _hold_intake(stack)
    s3 = stack.client("s3")
    uploads: dict[str, bytes] = {
        "incoming/a.png": _answered(standin, "a"),
        "incoming/b.png": _answered(standin, "b-first", RECEIPT),
    }
    for key, content in uploads.items():
        stack.upload(key, content)
    first_b = s3.head_object(Bucket=stack.ingest_bucket, Key="incoming/b.png")["VersionId"]
    stack.upload("incoming/b.png", _answered(standin, "b-second", DEFAULT_INVOICE))
    stack.upload("incoming/c.png", _answered(standin, "c"))

    sqs = stack.client("sqs")
    bodies: list[str] = []
    while got := sqs.receive_message(QueueUrl=stack.intake_queue_url, MaxNumberOfMessages=10,
                                     VisibilityTimeout=300).get("Messages", []):
        for m in got:
            bodies.append(m["Body"])
            sqs.delete_message(QueueUrl=stack.intake_queue_url, ReceiptHandle=m["ReceiptHandle"])
    assert len(bodies) == 4
    for body in [*reversed(bodies), *reversed(bodies)]:
        sqs.send_message(QueueUrl=stack.intake_queue_url, MessageBody=body)
    _release_intake(stack)

    settled = assert_settled(stack)
    # One execution per object version, started in the order the events came: the newest version first.
    started = [e["name"] for e in stack.executions()]
    assert started == [execution_name(json.loads(b)) for b in reversed(bodies)] and standin.start_calls == 4
    docs = {(d.object_key, d.version_id): d for d in _done(settled)}
    assert len(docs) == 4
    # Each version of b.png was analysed from its own bytes, the overwritten one too.
    totals = {version == first_b: str(repository.invoices_for(d.id)[0]["total"])
              for (key, version), d in docs.items() if key == "incoming/b.png"}
    assert totals == {True: "1810.46", False: "6231.09"}

    # The same events once more, long after: nothing new runs.
    for body in bodies:
        sqs.send_message(QueueUrl=stack.intake_queue_url, MessageBody=body)
    _wait_for(lambda: _queue_depth(stack) == 0, "the intake to take the late duplicates")
    assert_settled(stack)
    assert len(stack.executions()) == 4 and standin.start_calls == 4


# --- 6. The same file uploaded 10 times at once --------------------------------------------------------------
def test_the_same_file_uploaded_ten_times_at_once_is_one_textract_job(stack: Stack,
                                                                      standin: standin_mod._State) -> None:
    """Ten keys with the same bytes, and ten puts of one key, all at once: one Textract job, one invoice."""
    content = _answered(standin, "popular")
    keys = [f"incoming/copy-{i}.png" for i in range(10)] + ["incoming/same-key.png"] * 10
    barrier = threading.Barrier(len(keys))

    def put(key: str) -> None:
        barrier.wait(timeout=30)
        stack.upload(key, content)

    with ThreadPoolExecutor(len(keys)) as pool:
        list(pool.map(put, keys))
    stack.wait_for_executions(len(keys), timeout=120)
    settled = assert_settled(stack)
    assert len(settled[DocumentStatus.DUPLICATE]) == len(keys) - 1
    original = _only(_done(settled))
    assert {d.duplicate_of for d in settled[DocumentStatus.DUPLICATE]} == {original.id}
    assert standin.start_calls == 1 and len(standin.jobs) == 1
    assert len(standin.calls("StartExpenseAnalysis")) == 1
    with transaction() as con:
        assert con.run("SELECT count(*) FROM invoices")[0][0] == 1


# --- 7. A Textract job that ends FAILED -----------------------------------------------------------------------
def test_a_failed_textract_job_fails_the_document_and_reprocess_completes_it(api_stack: Stack,
                                                                             standin: standin_mod._State) -> None:
    standin.faults.fail_jobs = 1
    api_stack.upload("incoming/a.png", _answered(standin, "fails-once"))
    (execution,) = api_stack.wait_for_executions(1)
    doc = _only(assert_settled(api_stack, failed_with={"TextractJobFailed"})[DocumentStatus.FAILED])
    assert "FAILED" in (doc.error_message or "")
    failed_states = [e for e in api_stack.history(execution["executionArn"]) if e["type"] == "ExecutionFailed"]
    assert _only(failed_states)["executionFailedEventDetails"]["error"] == "TextractJobFailed"

    reprocess(api_stack, [doc])
    redone = _only(_done(assert_settled(api_stack, failed_with={"TextractJobFailed"})))
    assert redone.id == doc.id and len(repository.invoices_for(doc.id)) == 1
    assert standin.start_calls == 2

