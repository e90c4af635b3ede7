"""Textract API errors mapped to our named errors, so the state machine can retry the transient ones by
name and fail the rest with a reason a person understands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


# A reason is stored as the document's error message and sent as a task failure's Cause: long enough for any
# message Textract gives, short enough that a page list of 3,000 warnings cannot bloat either.
_REASON_CHARS = 1000
_LISTED_PAGES = 10


def job_reason(response: Mapping[str, Any]) -> str | None:
    """Why a finished job did not succeed, from its GetExpenseAnalysis response: StatusMessage ("Returns if the
    detection job could not be completed. Contains explanation for what error occurred", GetExpenseAnalysis,
    Amazon Textract API Reference) and Warnings (each an ErrorCode and the Pages it concerns). The SNS
    completion notification carries neither: only JobId, Status, API, JobTag, Timestamp, DocumentLocation."""
    parts: list[str] = []
    message = " ".join(str(response.get("StatusMessage") or "").split())
    if message:
        parts.append(message)
    warnings = response.get("Warnings")
    for warning in warnings if isinstance(warnings, list) else []:
        if not isinstance(warning, Mapping):
            continue
        code = str(warning.get("ErrorCode") or "Warning")
        pages = [str(p) for p in warning.get("Pages") or [] if isinstance(p, int)]
        if not pages:
            parts.append(code)
            continue
        listed = ", ".join(pages[:_LISTED_PAGES])
        more = f" and {len(pages) - _LISTED_PAGES} more" if len(pages) > _LISTED_PAGES else ""
        parts.append(f"{code} on page{'s' if len(pages) > 1 else ''} {listed}{more}")
    reason = "; ".join(parts)
    if len(reason) > _REASON_CHARS:
        reason = reason[: _REASON_CHARS - 1] + "\u2026"
    return reason or None


def error_for_job_status(status: str, message: str | None) -> PipelineError | None:
    """Our error for a finished job's status (from the SNS notification or GetExpenseAnalysis), in any case."""
    status = job_status(status)
    if status == "SUCCEEDED":
        return None
    if status == "PARTIAL_SUCCESS":
        return TextractPartialSuccess(message or "Textract analysed only part of the document")
    return TextractJobFailed(f"Textract job {status}" + (f": {message}" if message else ""))
