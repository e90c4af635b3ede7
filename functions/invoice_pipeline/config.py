"""Settings read from the environment once per process (Terraform sets them on every function)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    results_bucket: str
    textract_sns_topic_arn: str
    textract_role_arn: str
    textract_output_bucket: str
    textract_output_prefix: str
    database_url: str | None
    database_secret_arn: str | None
    analysis_timeout_seconds: int
    work_dir: str
    # The wait grows with the page count up to a ceiling (domain/analysis_timeout.py).
    analysis_timeout_seconds_per_page: float = 0.0
    analysis_timeout_max_seconds: int = 0
    # The API function's settings (the pipeline's functions leave them empty).
    ingest_bucket: str = ""
    state_machine_arn: str = ""
    upload_max_bytes: int = 50 * 1024 * 1024
    export_inline_max_bytes: int = 5_000_000
    aws_region: str = ""
    # The intake queue: where the API's reprocess and the backfill send work, and how fast it is started.
    intake_queue_url: str = ""
    intake_start_rate: float = 10.0
    intake_pollers: int = 2
    # Admission control (domain/admission.py): Textract's quotas, as Terraform's variables set them.
    textract_max_jobs: int = 600
    textract_start_rate: float = 5.0
    # The backfill's sources: a JSON list of "bucket/prefix" (domain/backfill.py).
    backfill_sources: str = "[]"
    # The key Textract encrypts its raw output (OutputConfig) with: StartExpenseAnalysis's KMSKeyId. Without
    # it Textract falls back to the AWS managed S3 key, outside the pipeline's key policy.
    textract_output_kms_key: str = ""
    # What ReadEInvoice does with a PDF whose XML is of a profile it does not read (domain/einvoice/detect.py):
    # "fail" (UnsupportedEInvoice) or "ocr" (the Textract branch reads its picture). A bare XML always fails.
    einvoice_unsupported_profile: str = "fail"
    # The EventBridge bus the downstream events go to (publish.py); empty: they wait in the outbox.
    event_bus_name: str = ""
    # How long published events stay in the outbox (publish-events deletes older ones; terraform
    # var.outbox_retention_days).
    outbox_retention_days: int = 30
    # Review (api/review.py): how long a claim lasts, and whether a corrected invoice needs a second approver.
    review_claim_seconds: int = 900
    review_second_approver: bool = False

    @property
    def textract_output_configured(self) -> bool:
        return bool(self.textract_output_bucket)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def settings() -> Settings:
    """Read on every call (a dozen environment lookups, microseconds): handlers that share a process in local
    mode and tests see the environment their function was invoked with, never a stale copy."""
    return Settings(
        results_bucket=_env("RESULTS_BUCKET"),
        textract_sns_topic_arn=_env("TEXTRACT_SNS_TOPIC_ARN"),
        textract_role_arn=_env("TEXTRACT_ROLE_ARN"),
        textract_output_bucket=_env("TEXTRACT_OUTPUT_BUCKET"),
        textract_output_prefix=_env("TEXTRACT_OUTPUT_PREFIX", "textract-output"),
        database_url=_env("DATABASE_URL") or None,
        database_secret_arn=_env("DATABASE_SECRET_ARN") or None,
        analysis_timeout_seconds=int(_env("ANALYSIS_TIMEOUT_SECONDS", "3600")),
        analysis_timeout_seconds_per_page=float(_env("ANALYSIS_SECONDS_PER_PAGE", "0")),
        analysis_timeout_max_seconds=int(_env("ANALYSIS_TIMEOUT_MAX_SECONDS", "0")),
        # Lambda's only writable place; ephemeral storage is sized for the 500 MB upload limit.
        work_dir=_env("WORK_DIR", "/tmp"),
        ingest_bucket=_env("INGEST_BUCKET"),
        state_machine_arn=_env("STATE_MACHINE_ARN"),
        # What one presigned upload may carry; Register's own limit (500 MB) still applies after it.
        upload_max_bytes=int(_env("UPLOAD_MAX_BYTES", str(50 * 1024 * 1024))),
        # A Lambda response is capped at 6 MB, and a binary body grows by a third in base64: exports bigger
        # than this go to S3 and the client gets a presigned URL instead.
        export_inline_max_bytes=int(_env("EXPORT_INLINE_MAX_BYTES", "5000000")),
        # The Lambda runtime sets AWS_REGION; local mode and tests set AWS_DEFAULT_REGION.
        aws_region=_env("AWS_REGION") or _env("AWS_DEFAULT_REGION"),
        intake_queue_url=_env("INTAKE_QUEUE_URL"),
        intake_start_rate=float(_env("INTAKE_START_RATE", "10")),
        intake_pollers=int(_env("INTAKE_POLLERS", "2")),
        textract_max_jobs=int(_env("TEXTRACT_MAX_JOBS", "600")),
        textract_start_rate=float(_env("TEXTRACT_START_RATE", "5")),
        backfill_sources=_env("BACKFILL_SOURCES", "[]"),
        textract_output_kms_key=_env("TEXTRACT_OUTPUT_KMS_KEY"),
        einvoice_unsupported_profile=_env("EINVOICE_UNSUPPORTED_PROFILE", "fail"),
        event_bus_name=_env("EVENT_BUS_NAME"),
        outbox_retention_days=int(_env("OUTBOX_RETENTION_DAYS", "30")),
        review_claim_seconds=int(_env("REVIEW_CLAIM_SECONDS", "900")),
        review_second_approver=_env("REVIEW_SECOND_APPROVER", "false").lower() == "true",
    )

