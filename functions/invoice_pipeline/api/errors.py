"""Errors the API answers with: a stable code, an HTTP status and a message, as
{"error": {"code", "message", "details"?}}. Clients switch on `code`; the message is for people."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Code(StrEnum):
    BAD_REQUEST = "BAD_REQUEST"
    BAD_CURSOR = "BAD_CURSOR"
    UNAUTHORIZED = "UNAUTHORIZED"
    NOT_FOUND = "NOT_FOUND"
    NO_INVOICE = "NO_INVOICE"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    CONFLICT = "CONFLICT"
    SOURCE_GONE = "SOURCE_GONE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    URI_TOO_LONG = "URI_TOO_LONG"
    HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE"
    NOT_CONFIGURED = "NOT_CONFIGURED"
    AWS_UNAVAILABLE = "AWS_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # Review (domain/review.py Refusal: the same names).
    FORBIDDEN = "FORBIDDEN"
    SECOND_APPROVER_REQUIRED = "SECOND_APPROVER_REQUIRED"
    CLAIMED_BY_OTHER = "CLAIMED_BY_OTHER"
    CLAIM_REQUIRED = "CLAIM_REQUIRED"
    ALREADY_DECIDED = "ALREADY_DECIDED"
    NOT_APPROVABLE = "NOT_APPROVABLE"
    PRECONDITION_FAILED = "PRECONDITION_FAILED"
    PRECONDITION_REQUIRED = "PRECONDITION_REQUIRED"
    # The duplicate control (adapters/duplicates.py): clearing or confirming a hold that is not pending.
    DUPLICATE_NOT_PENDING = "DUPLICATE_NOT_PENDING"
    # A reprocess would replace a reviewer's decision or corrections (api/reprocess_review.py).
    REVIEW_WOULD_BE_LOST = "REVIEW_WOULD_BE_LOST"


STATUS: dict[Code, int] = {
    Code.BAD_REQUEST: 400,
    Code.BAD_CURSOR: 400,
    Code.UNAUTHORIZED: 401,
    Code.NOT_FOUND: 404,
    Code.NO_INVOICE: 404,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.CONFLICT: 409,
    Code.SOURCE_GONE: 409,
    Code.PAYLOAD_TOO_LARGE: 413,
    Code.URI_TOO_LONG: 414,  # the HTTP server's own limits, before any route (local mode's API server)
    Code.HEADERS_TOO_LARGE: 431,
    Code.UNSUPPORTED_MEDIA_TYPE: 415,
    Code.DATABASE_UNAVAILABLE: 503,
    Code.NOT_CONFIGURED: 503,
    Code.AWS_UNAVAILABLE: 503,
    Code.INTERNAL_ERROR: 500,
    Code.FORBIDDEN: 403,
    Code.SECOND_APPROVER_REQUIRED: 403,
    Code.CLAIMED_BY_OTHER: 409,
    Code.CLAIM_REQUIRED: 409,
    Code.ALREADY_DECIDED: 409,
    Code.NOT_APPROVABLE: 409,
    Code.PRECONDITION_FAILED: 412,
    Code.PRECONDITION_REQUIRED: 428,
    Code.DUPLICATE_NOT_PENDING: 409,
    Code.REVIEW_WOULD_BE_LOST: 409,
}


class ApiError(Exception):
    """Raised anywhere under a route; app.py turns it into the JSON error response."""

    def __init__(self, code: Code, message: str, *, details: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.details:
            error["details"] = self.details
        return {"error": error}
