"""Textract API errors mapped to our named errors, so the state machine can retry the transient ones by
name and fail the rest with a reason a person understands."""

from __future__ import annotations

from invoice_pipeline.errors import (
    PipelineError,
    TextractJobFailed,
    TextractPartialSuccess,
    TextractRejectedDocument,
    TextractThrottled,
    TextractUnavailable,
)

_BY_CODE: dict[str, type[PipelineError]] = {
    "ThrottlingException": TextractThrottled,
    "ProvisionedThroughputExceededException": TextractThrottled,
    "LimitExceededException": TextractThrottled,
    "InternalServerError": TextractUnavailable,
    "ServiceUnavailable": TextractUnavailable,
    "UnsupportedDocumentException": TextractRejectedDocument,
    "BadDocumentException": TextractRejectedDocument,
    "DocumentTooLargeException": TextractRejectedDocument,
    "InvalidS3ObjectException": TextractRejectedDocument,
    "InvalidKMSKeyException": TextractRejectedDocument,
}


def error_for_code(code: str, message: str) -> PipelineError | None:
    """Our error for a Textract error code, or None when the code is not one we classify (re-raise it)."""
    cls = _BY_CODE.get(code)
    return cls(f"{code}: {message}") if cls else None


def job_status(raw: object) -> str:
    """A job status in the one spelling we compare: Textract's API returns SUCCEEDED, but AWS's pages show the
    SNS notification's Status both as SUCCEEDED and as Succeeded, so case and surrounding space are ignored."""
    return str(raw).strip().upper()


def error_for_job_status(status: str, message: str | None) -> PipelineError | None:
    """Our error for a finished job's status (from the SNS notification or GetExpenseAnalysis), in any case."""
    status = job_status(status)
    if status == "SUCCEEDED":
        return None
    if status == "PARTIAL_SUCCESS":
        return TextractPartialSuccess(message or "Textract analysed only part of the document")
    return TextractJobFailed(f"Textract job {status}" + (f": {message}" if message else ""))
