"""The variable cost of a document: what a run of the pipeline in the emulation used, priced.

Measured in the run (bench_cost.py): state transitions from the executions' histories, Lambda invocations
and billed milliseconds (INIT included) with each function's configured memory, the functions' log output,
the intake queue's messages and batches, Textract's completion notifications, the S3 requests the functions
and the uploader made, the objects stored, Textract's pages. Modelled from those counts where the emulation
cannot show AWS's side: Lambda's own log lines (START, END, REPORT, XRAY), the Step Functions log records,
X-Ray traces (local mode turns tracing off), KMS and Secrets Manager calls at cold starts (local mode reads
DATABASE_URL, not the secret), Textract's own requests to the buckets. Every line says which it is."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.cost.prices import Prices

REQUEST_ID = "3f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0"
TRACE_LINE = "XRAY TraceId: 1-674c8b2a-3f1e2d3c4b5a69788796a5b4\tSegmentId: 1a2b3c4d5e6f7a8b\tSampled: true\t\n"
# What Textract itself does to the buckets per job, which the emulation's stand-in does not: it reads the
# document (GET) and writes its output under OutputConfig (an access-check object and the output for a
# document of a few pages: 2 PUTs).
TEXTRACT_GETS_PER_JOB = 1
TEXTRACT_PUTS_PER_JOB = 2


def platform_log_bytes(memory_mb: int, billed_ms: float, init_ms: float | None, traced: bool = True) -> int:
    """Bytes of the lines Lambda itself writes for one invocation (its default text log format)."""
    start = f"START RequestId: {REQUEST_ID} Version: $LATEST\n"
    end = f"END RequestId: {REQUEST_ID}\n"
    report = (f"REPORT RequestId: {REQUEST_ID}\tDuration: {billed_ms:.2f} ms\tBilled Duration: {billed_ms:.0f} ms\t"
              f"Memory Size: {memory_mb} MB\tMax Memory Used: {min(memory_mb, 128)} MB\t")
    if init_ms is not None:
        report += f"Init Duration: {init_ms:.2f} ms\t"
    report += "\n" + (TRACE_LINE if traced else "")
    return len((start + end + report).encode())


@dataclass
class FunctionUsage:
    """One function over a run."""

    memory_mb: int
    ephemeral_mb: int = 512
    invocations: int = 0
    cold_starts: int = 0
    billed_ms: float = 0.0  # INIT of the cold starts included, as Lambda bills it
    init_ms: float = 0.0  # the cold starts' INIT alone
    log_bytes: int = 0  # what the function wrote (Powertools JSON lines, EMF metrics)
    database: bool = False

    @property
    def gb_seconds(self) -> float:
        return self.billed_ms / 1000 * self.memory_mb / 1024

    @property
    def platform_bytes(self) -> int:
        if not self.invocations:
            return 0
        per = self.billed_ms / self.invocations
        warm = platform_log_bytes(self.memory_mb, per, None)
        cold = platform_log_bytes(self.memory_mb, per, self.init_ms / max(self.cold_starts, 1))
        return warm * (self.invocations - self.cold_starts) + cold * self.cold_starts

    def all_cold_gb_seconds(self, init_ms_per_start: float | None = None) -> float:
        """GB-seconds had every invocation started a new environment (traffic too sparse to keep any warm),
        each INIT taking `init_ms_per_start` (default: this run's cold starts' mean)."""
        if init_ms_per_start is None:
            init_ms_per_start = self.init_ms / self.cold_starts if self.cold_starts else 0.0
        extra = (self.invocations - self.cold_starts) * init_ms_per_start
        return (self.billed_ms + extra) / 1000 * self.memory_mb / 1024


@dataclass
class RunUsage:
    """What `documents` documents used, all together."""

    documents: int
    pages: int
    executions: int
    transitions: int
    sfn_log_bytes: int
    functions: dict[str, FunctionUsage]
    intake_messages: int
    intake_batches: int
    sns_publishes: int
    textract_jobs: int
    s3_put_requests: int
    s3_get_requests: int
    stored_bytes: int  # objects kept in the ingest and results buckets (the upload, results, Textract's output)
    traced_requests: int = 0  # requests that start an X-Ray trace: executions, intake batches, callbacks
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LineItem:
    service: str
    what: str
    per_document: float  # quantity
    unit: str
    usd_per_document: float
    basis: str  # measured | modelled

    @property
    def usd_per_1000(self) -> float:
        return self.usd_per_document * 1000


def textract_usd_per_document(run: RunUsage, prices: Prices) -> float:
    return run.pages / run.documents * prices["textract_expense_page"]


def line_items(run: RunUsage, prices: Prices, *, all_cold: dict[str, float] | None = None) -> list[LineItem]:
    """Everything but Textract, per document. `all_cold`: price every invocation as a cold start, with these
    INIT milliseconds per function (measured where environments did start)."""
    n = run.documents
    items = [LineItem("Step Functions", "Standard state transitions (histories, retries included)",
                      run.transitions / n, "transitions", run.transitions / n * prices["sfn_standard_transition"],
                      "measured")]
    cold = all_cold is not None
    requests = sum(f.invocations for f in run.functions.values())
    gbs = sum(f.all_cold_gb_seconds(all_cold.get(k)) if all_cold is not None else f.gb_seconds
              for k, f in run.functions.items())
    extra_tmp = sum((f.ephemeral_mb - 512) / 1024 * f.billed_ms / 1000 for f in run.functions.values())
    items += [
        LineItem("Lambda", "invocations", requests / n, "requests", requests / n * prices["lambda_request"],
                 "measured"),
        LineItem("Lambda", "duration x configured memory (arm64)" + (", every invocation cold" if cold else ""),
                 gbs / n, "GB-seconds", gbs / n * prices["lambda_arm_gb_second"], "measured"),
        LineItem("Lambda", "/tmp beyond 512 MB (register)", extra_tmp / n, "GB-seconds",
                 extra_tmp / n * prices["lambda_ephemeral_gb_second"], "measured"),
    ]
    sqs = run.intake_messages + 2 * run.intake_batches  # SendMessage; ReceiveMessage + DeleteMessageBatch per batch
    items.append(LineItem("SQS", "intake: send, receive and delete (per batch of up to 10)", sqs / n, "requests",
                          sqs / n * prices["sqs_request"], "measured"))
    items.append(LineItem("SNS", "Textract completion notifications (delivery to Lambda free)", run.sns_publishes / n,
                          "publishes", run.sns_publishes / n * prices["sns_publish"], "measured"))
    items.append(LineItem("EventBridge", "S3 Object Created events to the intake queue", run.intake_messages / n,
                          "events", 0.0, "measured"))
    puts = run.s3_put_requests + TEXTRACT_PUTS_PER_JOB * run.textract_jobs
    gets = run.s3_get_requests + TEXTRACT_GETS_PER_JOB * run.textract_jobs
    items.append(LineItem("S3", "PUT/LIST requests (upload, results; Textract's output modelled)", puts / n,
                          "requests", puts / n * prices["s3_put_request"], "measured + modelled"))
    items.append(LineItem("S3", "GET/HEAD requests (Textract's read modelled)", gets / n, "requests",
                          gets / n * prices["s3_get_request"], "measured + modelled"))
    items.append(LineItem("S3", "storage of the upload, results and Textract's output, first month",
                          run.stored_bytes / n / 1e9, "GB-months",
                          run.stored_bytes / n / 1e9 * prices["s3_storage_gb_month"], "measured"))
    fn_log = sum(f.log_bytes for f in run.functions.values())
    platform = sum(f.platform_bytes for f in run.functions.values())
    items.append(LineItem("CloudWatch Logs", "function log lines and EMF metrics", fn_log / n / 1e9, "GB ingested",
                          fn_log / n / 1e9 * prices["logs_ingest_gb"], "measured"))
    items.append(LineItem("CloudWatch Logs", "Lambda's START/END/REPORT/XRAY lines", platform / n / 1e9,
                          "GB ingested", platform / n / 1e9 * prices["logs_ingest_gb"], "modelled"))
    items.append(LineItem("CloudWatch Logs", "state machine execution log (records of the histories)",
                          run.sfn_log_bytes / n / 1e9, "GB ingested",
                          run.sfn_log_bytes / n / 1e9 * prices["logs_ingest_gb"], "measured + modelled"))
    items.append(LineItem("X-Ray", "traces: executions, intake batches, callbacks (all sampled)",
                          run.traced_requests / n, "traces", run.traced_requests / n * prices["xray_trace_recorded"],
                          "modelled"))
    colds = sum(f.invocations if cold else f.cold_starts for f in run.functions.values())
    db_colds = sum(f.invocations if cold else f.cold_starts for f in run.functions.values()
                   if f.database)
    kms = colds + db_colds + run.sns_publishes  # env variables; the secret; the encrypted topic (upper bound)
    items.append(LineItem("KMS", "decrypts at cold starts (environment, secret), encrypted topic publishes", kms / n,
                          "requests", kms / n * prices["kms_request"], "modelled"))
    items.append(LineItem("Secrets Manager", "GetSecretValue at cold starts of functions that connect", db_colds / n,
                          "calls", db_colds / n * prices["secretsmanager_api_call"], "modelled"))
    return items


def total(items: list[LineItem]) -> float:
    return sum(i.usd_per_document for i in items)
