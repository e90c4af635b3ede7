"""A month-end burst: N distinct invoices dropped at once into the pipeline as Terraform deployed it to the
emulation, under Textract's and Postgres' limits scaled down, and what the pipeline did with them.

bench/bench_burst.py runs it at any size on a stack of its own; tests/integration/test_burst.py runs 100
documents and asserts the invariants. Both take the scaled limits from here:
- the emulated Textract allows QUOTAS (5 StartExpenseAnalysis a second, 20 jobs at once) and keeps every job
  running JOB_SECONDS (2 s) before the local engine reads it;
- Postgres is started with DB_MAX_CONNECTIONS (31);
- the deployment is told the same (terraform_variables()): admission control paces to textract_start_rate and
  textract_max_jobs, and the functions that connect to Postgres get reserved concurrencies that together fit
  the connections left after this driver's own (database_connection_budget).

The Lambda functions run in worker processes (the emulation's server mode): each concurrent invocation has
an environment of its own, with its own Postgres connection, within its reserved concurrency."""

from __future__ import annotations

import hashlib
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from invoice_local.textract_quotas import DEFAULTS, Quotas

QUOTAS = Quotas(start_tps=5, get_tps=DEFAULTS.get_tps, max_jobs=20)
JOB_SECONDS = 2.0
DB_MAX_CONNECTIONS = 31
# This driver's own sessions (the status poller, the connection sampler) and one for a person with psql.
OWN_CONNECTIONS = 3
CONNECTION_BUDGET = DB_MAX_CONNECTIONS - OWN_CONNECTIONS
# Every function that connects, scaled from terraform/variables.tf's defaults (88 in all) to CONNECTION_BUDGET:
# StartAnalysis keeps its 5 (it holds its environment while it waits for its start time, up to 1 s); the API
# (20 by default) gets 1, as nobody calls it during a burst; Callback, invoked by SNS, waits for a free
# environment instead of being refused, so 2 do. ReadEInvoice needs one (every function that connects does,
# terraform/variables.tf) but meets no e-invoice in the burst: it took one of Validate's, the lightest task.
# PublishEvents' one is a 31st connection (with Admit at 2, its 113 throttles made a 100-document burst take
# 108 s instead of about 60).
RESERVED_CONCURRENCY = {
    "register": 4, "admit": 3, "start_analysis": 5, "callback": 2, "parse": 3, "validate": 2, "persist": 3,
    "record_failure": 1, "dispatch": 1, "publish_events": 1, "migrate": 1, "api": 1, "read_einvoice": 1,
}
# The intake's start rate scaled with Register's reservation, by variables.tf's own rule (Register's reserved
# concurrency must keep up with it; each Register takes about 0.2-1 s): 10 a second for 10 by default, 4 for 4.
REGISTER_SECONDS = 1.0
INTAKE_START_RATE = RESERVED_CONCURRENCY["register"] / REGISTER_SECONDS
KEY_PREFIX = "incoming/burst/"
BENCH_APPLICATION = "invoices-burst"  # application_name of this driver's poller

# FAILED codes that mean "load", not "this document": throttling, limits, connections. Step Functions names a
# throttled Lambda invoke Lambda.TooManyRequestsException (statemachine/*.asl.json retries it by that name).
LAMBDA_THROTTLED = "Lambda.TooManyRequestsException"


def load_caused_codes() -> dict[str, str]:
    """Error code -> why it counts as load-caused. The names are functions/invoice_pipeline/errors.py's."""
    from invoice_pipeline import errors

    return {
        errors.TextractThrottled.__name__: "Textract refused (start rate, Get rate or running-job limit)",
        errors.DatabaseUnavailable.__name__: "Postgres refused or dropped connections",
        LAMBDA_THROTTLED: "Lambda concurrency exhausted",
        errors.TaskTimedOut.__name__: "waited past a state's timeout (a backlog)",
    }


# --- the deployment's variables ----------------------------------------------------------------------------
def declared_variables(tf_dir: Path | None = None) -> set[str]:
    from invoice_local.terraform import TF_DIR

    found: set[str] = set()
    for path in (tf_dir or TF_DIR).glob("*.tf"):
        found.update(re.findall(r'^variable\s+"([A-Za-z0-9_]+)"', path.read_text(), flags=re.MULTILINE))
    return found


def terraform_variables(declared: set[str] | None = None) -> dict[str, Any]:
    """The scaled limits as Terraform variables (values as `-var` takes them), for a terraform/ that declares
    them. A design without admission control (no database_connection_budget) keeps its own reservations: its
    "before" is measured as it was designed."""
    declared = declared_variables() if declared is None else declared
    wanted: dict[str, Any] = {"textract_start_rate": QUOTAS.start_tps, "textract_max_jobs": QUOTAS.max_jobs}
    if "database_connection_budget" in declared:
        wanted["database_connection_budget"] = CONNECTION_BUDGET
        wanted["reserved_concurrency"] = "{" + ", ".join(f"{k} = {v}" for k, v in RESERVED_CONCURRENCY.items()) + "}"
        wanted["intake_start_rate"] = INTAKE_START_RATE
    return {k: v for k, v in wanted.items() if k in declared}


# --- the documents -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Document:
    key: str
    body: bytes


def documents(count: int) -> list[Document]:
    """`count` distinct generated invoices: the sample generator's digital PDFs (six locales and a two-page
    one) for seeds 1, 2, ... (the scanned JPEG is left out: OCR takes ~20 s a page on a laptop, which would
    measure the OCR engine; the broken PDF is left out: it is not an invoice)."""
    from invoice_local.samples.catalog import build_invoices
    from invoice_local.samples.render import render_pdf

    out: list[Document] = []
    seen: set[str] = set()
    seed = 0
    while len(out) < count:
        seed += 1
        for invoice in build_invoices(seed):
            if not invoice.file.endswith(".pdf") or len(out) == count:
                continue
            body = render_pdf(invoice)
            digest = hashlib.sha256(body).hexdigest()
            if digest in seen:  # never so far; a duplicate would end DUPLICATE, not processed
                continue
            seen.add(digest)
            out.append(Document(key=f"{KEY_PREFIX}s{seed:04d}-{invoice.file}", body=body))
    return out


# --- the report ----------------------------------------------------------------------------------------------
@dataclass
class Report:
    documents: int
    uploaded: int
    seconds_to_upload: float
    wall_seconds: float  # first upload to the end of waiting (all final, or gave up)
    processing_seconds: float | None  # first upload to the last document's final status (Postgres' clock)
    first_final_seconds: float | None
    statuses: dict[str, int]  # final and not, per status, of the uploaded objects' documents
    final: int
    lost: int  # uploaded objects with no document in a final state, or no execution
    lost_keys: list[str]
    duplicated_invoices: int  # invoice rows beyond one per uploaded object
    documents_beyond_one_per_object: int
    final_without_invoice: int  # COMPLETED/NEEDS_REVIEW with no invoice row: a partial write
    failed_by_error: dict[str, int]
    failed_from_status: dict[str, int]  # "<error> after <status>": where in the pipeline they failed
    load_caused_failed: int
    executions: dict[str, int]  # per status
    execution_errors: dict[str, int]  # FAILED executions per Error
    textract: dict[str, Any]
    postgres: dict[str, Any]
    lambda_functions: dict[str, dict[str, Any]]
    lambda_account: dict[str, int]
    peak_memory_mb: float
    memory_method: str
    baseline: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- the run -------------------------------------------------------------------------------------------------
Progress = Callable[[dict[str, int], float], None]


def _connect(database_url: str) -> Any:
    import pg8000.native
    from invoice_pipeline.adapters.dburl import connect_kwargs

    return pg8000.native.Connection(application_name=BENCH_APPLICATION, **connect_kwargs(database_url))


_OURS = "bucket = :bucket AND object_key LIKE :prefix"


def _statuses(con: Any, bucket: str) -> dict[str, int]:
    rows = con.run(f"SELECT status, count(*) FROM documents WHERE {_OURS} GROUP BY status", bucket=bucket,
                   prefix=KEY_PREFIX + "%")
    return {status: int(n) for status, n in rows}


def _upload(deployment: Any, docs: Sequence[Document]) -> int:
    import boto3
    from botocore.config import Config

    from invoice_local.deployment import REGION

    s3 = boto3.client("s3", endpoint_url=deployment.endpoint, region_name=REGION, aws_access_key_id="local",
                      aws_secret_access_key="local", config=Config(max_pool_connections=16))
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda d: s3.put_object(Bucket=deployment.ingest_bucket, Key=d.key, Body=d.body), docs))
    return len(docs)


def _wait(con: Any, bucket: str, count: int, started: float, *, timeout: float, stall_seconds: float,
          progress: Progress | None) -> None:
    """Until every document is final, nothing changed for `stall_seconds`, or `timeout` passed."""
    from invoice_pipeline.domain.status import TERMINAL

    last, changed = None, time.monotonic()
    while time.monotonic() - started < timeout:
        counts = _statuses(con, bucket)
        if progress:
            progress(counts, time.monotonic() - started)
        if sum(n for s, n in counts.items() if s in TERMINAL) >= count:
            return
        if counts != last:
            last, changed = counts, time.monotonic()
        elif time.monotonic() - changed > stall_seconds:
            return
        time.sleep(1.0)


def _executions(deployment: Any, settle_seconds: float = 30.0) -> tuple[dict[str, str], dict[str, int]]:
    """Every execution's status by ARN (waiting up to `settle_seconds` for those still RUNNING, which finish
    just after their document's final write), and FAILED ones counted by Error."""
    sfn = deployment.client("stepfunctions")
    deadline = time.monotonic() + settle_seconds
    while True:
        found = {e["executionArn"]: e["status"] for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=deployment.state_machine_arn) for e in page["executions"]}
        if "RUNNING" not in found.values() or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    errors = Counter(str(sfn.describe_execution(executionArn=arn).get("error", "?"))
                     for arn, status in found.items() if status == "FAILED")
    return found, dict(errors)


def _outcome(con: Any, bucket: str, docs: Sequence[Document], executions: dict[str, str]) -> dict[str, Any]:
    from invoice_pipeline.domain.status import TERMINAL, DocumentStatus

    rows = con.run("""SELECT d.object_key, d.status, d.error_code, d.execution_arn, count(i.id)
                      FROM documents d LEFT JOIN invoices i ON i.document_id = d.id
                      WHERE d.bucket = :bucket AND d.object_key LIKE :prefix
                      GROUP BY d.id""", bucket=bucket, prefix=KEY_PREFIX + "%")
    by_key: dict[str, list[tuple[str, str | None, str | None, int]]] = {}
    for key, status, error, arn, invoices in rows:
        by_key.setdefault(key, []).append((status, error, arn, int(invoices)))
    lost = [d.key for d in docs
            if not any(s in TERMINAL and arn in executions for s, _e, arn, _n in by_key.get(d.key, []))]
    producing = {DocumentStatus.COMPLETED.value, DocumentStatus.NEEDS_REVIEW.value}
    return {
        "lost_keys": lost,
        "duplicated_invoices": sum(max(0, sum(r[3] for r in rs) - 1) for rs in by_key.values()),
        "documents_beyond_one_per_object": sum(len(rs) - 1 for rs in by_key.values()),
        "final_without_invoice": sum(1 for rs in by_key.values() for r in rs if r[0] in producing and r[3] == 0),
        "failed_by_error": dict(Counter(str(r[1]) for rs in by_key.values() for r in rs
                                        if r[0] == DocumentStatus.FAILED.value)),
    }


def _failed_from(con: Any, bucket: str) -> dict[str, int]:
    """FAILED documents by error and where they failed: "in Register" (it never stored the content's hash:
    RecordFailure created the row), else the status they failed from."""
    rows = con.run("""SELECT coalesce(d.error_code, '?') || CASE WHEN d.sha256 IS NULL THEN ' in Register'
                                                              ELSE ' after ' || e.from_status END, count(*)
                      FROM documents d JOIN document_events e ON e.document_id = d.id AND e.to_status = 'FAILED'
                      WHERE d.bucket = :bucket AND d.object_key LIKE :prefix AND d.status = 'FAILED'
                      GROUP BY 1""", bucket=bucket, prefix=KEY_PREFIX + "%")
    return {str(k): int(n) for k, n in rows}


def _times(con: Any, bucket: str, t0: float) -> tuple[float | None, float | None]:
    from invoice_pipeline.domain.status import TERMINAL

    first, last = con.run(f"""SELECT extract(epoch FROM min(updated_at)), extract(epoch FROM max(updated_at))
                              FROM documents WHERE {_OURS} AND status = ANY(:final)""", bucket=bucket,
                          prefix=KEY_PREFIX + "%", final=sorted(TERMINAL))[0]
    return (None if first is None else round(float(first) - t0, 2),
            None if last is None else round(float(last) - t0, 2))


def _textract(st: Any) -> dict[str, Any]:
    start, get = "StartExpenseAnalysis", "GetExpenseAnalysis"
    refused = Counter(f"{c.api} {c.outcome}" for c in st.calls() if not c.accepted)
    return {
        "quotas": asdict(st.quotas), "job_seconds": st.faults.job_seconds,
        "start_rate_max_1s": st.max_rate(start), "start_attempts_max_1s": st.max_rate(start, accepted_only=False),
        "get_rate_max_1s": st.max_rate(get), "max_concurrent_jobs": st.max_concurrent_jobs(),
        "starts_accepted": sum(1 for c in st.calls(start) if c.accepted), "jobs": len(st.jobs),
        "refused": dict(refused),
    }


def _lambda(deployment: Any) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    from invoice_local import manifest
    from invoice_local.emulation import lambda_runner

    keys = {name: key for key, name in deployment.function_names.items()}
    database = {k for k, f in manifest.functions().items() if f.database}
    kept = ("invocations", "peak", "peak_environments", "cold_starts", "throttles", "errors", "timeouts")

    def percentile(values: list[float], share: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1) if ordered else 0.0

    functions = {keys.get(name, name): {**{k: s[k] for k in kept}, "database": keys.get(name) in database,
                                        "duration_ms_p50": percentile(s["durations_ms"], 0.5),
                                        "duration_ms_p90": percentile(s["durations_ms"], 0.9)}
                 for name, s in sorted(lambda_runner.stats().items())}
    return functions, lambda_runner.account_stats()


def run(deployment: Any, docs: Sequence[Document], database_url: str, *, engine: Any = None,
        postgres_log: Path | None = None, timeout: float = 3600.0, stall_seconds: float = 300.0,
        progress: Progress | None = None) -> Report:
    """Configure the emulated Textract with the scaled quotas (and `engine`, default the local engine), upload
    every document at once, wait for them, and report. The deployment must be fresh (no earlier objects or
    executions) and the database empty of earlier documents under KEY_PREFIX."""
    from invoice_pipeline.adapters import db

    from invoice_local.emulation import lambda_runner
    from invoice_local.emulation import textract as standin
    from invoice_local.sampling import ConnectionSampler, MemorySampler

    if engine is None:
        from invoice_local.engine import LocalExpenseEngine

        engine = LocalExpenseEngine()
    standin.configure(engine=engine, faults=standin.Faults(job_seconds=JOB_SECONDS), quotas=QUOTAS)
    lambda_runner.reset_stats()
    bucket = deployment.ingest_bucket
    con = _connect(database_url)
    connections = ConnectionSampler(database_url, db.APPLICATION_NAME, postgres_log=postgres_log)
    memory = MemorySampler()
    try:
        connections.start()
        memory.start()
        t0, started = time.time(), time.monotonic()
        uploaded = _upload(deployment, docs)
        upload_seconds = time.monotonic() - started
        _wait(con, bucket, len(docs), started, timeout=timeout, stall_seconds=stall_seconds, progress=progress)
        wall = time.monotonic() - started
    finally:
        peaks = connections.stop()
        peak_memory = memory.stop()
    try:
        executions, execution_errors = _executions(deployment)
        outcome = _outcome(con, bucket, docs, executions)
        statuses = _statuses(con, bucket)
        failed_from = _failed_from(con, bucket)
        first_final, last_final = _times(con, bucket, t0)
    finally:
        con.close()
    from invoice_pipeline.domain.status import TERMINAL

    functions, account = _lambda(deployment)
    load = load_caused_codes()
    final = sum(n for s, n in statuses.items() if s in TERMINAL)
    minimum = (len(docs) - 1) / QUOTAS.start_tps + JOB_SECONDS
    return Report(
        documents=len(docs), uploaded=uploaded, seconds_to_upload=round(upload_seconds, 2),
        wall_seconds=round(wall, 2), processing_seconds=last_final, first_final_seconds=first_final,
        statuses=statuses, final=final, lost=len(outcome["lost_keys"]), lost_keys=outcome["lost_keys"][:20],
        duplicated_invoices=outcome["duplicated_invoices"],
        documents_beyond_one_per_object=outcome["documents_beyond_one_per_object"],
        final_without_invoice=outcome["final_without_invoice"], failed_by_error=outcome["failed_by_error"],
        failed_from_status=failed_from,
        load_caused_failed=sum(n for code, n in outcome["failed_by_error"].items() if code in load),
        executions=dict(Counter(executions.values())), execution_errors=execution_errors,
        textract=_textract(standin.state),
        postgres={**asdict(peaks), "connection_budget": CONNECTION_BUDGET},
        lambda_functions=functions, lambda_account=account,
        peak_memory_mb=round(peak_memory / 2**20, 1),
        memory_method="sum of VmRSS (/proc) over this process and its descendants, sampled every 0.5 s",
        baseline={"minimum_seconds_at_start_rate": round(minimum, 1),
                  "documents_per_minute_at_start_rate": 60.0 * QUOTAS.start_tps,
                  "documents_per_minute": round(60.0 * final / last_final, 1) if last_final else 0.0,
                  "share_of_start_rate": round(minimum / last_final, 3) if last_final else 0.0},
    )
