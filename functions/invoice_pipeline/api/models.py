"""Request and response bodies. They validate what goes in and out, and they are what schemas/openapi.json
says about bodies (generated from them, see openapi.py). Amounts are decimal strings, never floats, as in
the normalized invoice."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from invoice_pipeline.api.errors import Code
from invoice_pipeline.domain.duplicates import DuplicateReview, DuplicateTier
from invoice_pipeline.domain.sniff import MAX_BYTES
from invoice_pipeline.domain.status import DocumentStatus, InvoiceStatus, ReprocessableStatus

Amount = Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["1234.56"])]
# What an upload may be labelled; Register judges the bytes, not the label (an XML only as an e-invoice).
UploadContentType = Literal["application/pdf", "image/png", "image/jpeg", "image/tiff", "application/xml", "text/xml"]
# Postgres text cannot hold NUL: refuse it as bad input rather than fail in the database.
NO_NUL = r"^[^\x00]*$"

_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> Any:
        # pydantic would also read "0.5" or "1700000000" (or, in a JSON body, the number 1700000000) as a time
        # (seconds since 1970): not what the document promises (RFC 3339), so not accepted.
        if isinstance(value, str):
            if not pattern.fullmatch(value):
                raise ValueError(f"not an RFC 3339 {what}")
            return value.upper()
        if isinstance(value, date):  # already parsed (datetime is a date too)
            return value
        raise ValueError(f"not an RFC 3339 {what}")
    return BeforeValidator(check)


# Dates and times in query parameters and bodies: RFC 3339 only.
IsoDateTime = Annotated[datetime, _iso(_ISO_DATETIME, "date-time")]
IsoDate = Annotated[date, _iso(_ISO_DATE, "date (YYYY-MM-DD)")]


class _Model(BaseModel):
    # Responses are built by us: unknown keys are a bug, and request bodies must not carry surprises either.
    model_config = ConfigDict(extra="forbid")


# The engines that read invoices (domain/textract.py ENGINES; a unit test holds the two equal).
Engine = Literal["textract", "local", "e-invoice"]
_ENGINE_TEXT = ("which engine read the invoice (its provenance.engine): textract (Amazon Textract), local (the "
                "local engine standing in for it) or e-invoice (the document's own structured data, no OCR)")
_DOCUMENT_TYPE_TEXT = ("UNTDID 1001 code: 380 invoice, 381 credit note, 384 corrected invoice, ...; null where "
                       "the engine cannot tell. Amounts are as the document states them, never sign-flipped: a "
                       "credit note is told apart by this code")


# --- errors -------------------------------------------------------------------------------------------
class ErrorDetail(_Model):
    field: str = Field(description="where the problem is, e.g. query.limit or body.size")
    problem: str


class ErrorBody(_Model):
    code: Code = Field(description="stable, machine-readable; switch on this, not on the message")
    message: str
    details: list[ErrorDetail] | None = None


class ErrorResponse(_Model):
    error: ErrorBody


class GatewayUnauthorized(_Model):
    """What API Gateway itself answers when its JWT or IAM authorizer rejects a request (the Lambda never
    runs); the Lambda and the local API server answer with ErrorResponse."""

    message: str


# --- documents ----------------------------------------------------------------------------------------
class DocumentSummary(_Model):
    id: uuid.UUID
    key: str = Field(description="the object key in the ingest bucket")
    status: DocumentStatus
    media_type: str | None
    size_bytes: int | None
    page_count: int | None
    error_code: str | None = Field(description="the named error when FAILED (same name as the execution's)")
    invoice_count: int
    vendor_name: str | None = Field(description="of the first invoice in the document")
    invoice_number: str | None
    invoice_date: date | None
    total: Amount | None
    currency: str | None
    engine: Engine | None = Field(default=None, description="of the first invoice: " + _ENGINE_TEXT)
    document_type: str | None = Field(default=None, description="of the first invoice: " + _DOCUMENT_TYPE_TEXT)
    invoice_status: InvoiceStatus | None = Field(
        default=None, description="of the first invoice: where a reviewer decided it, APPROVED or REJECTED (the "
        "document's own status stays what the pipeline made of it)")
    created_at: datetime
    updated_at: datetime


class DocumentPage(_Model):
    items: list[DocumentSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


class TimelineEvent(_Model):
    at: datetime
    from_status: DocumentStatus | None
    to_status: DocumentStatus
    detail: dict[str, Any]
    execution_arn: str | None


class DocumentError(_Model):
    code: str
    message: str | None


class DocumentDetail(_Model):
    id: uuid.UUID
    bucket: str
    key: str
    version_id: str = Field(description="the S3 object's version id, or its ETag when the bucket is not versioned")
    sha256: str | None
    size_bytes: int | None
    media_type: str | None
    page_count: int | None
    status: DocumentStatus
    duplicate_of: uuid.UUID | None
    error: DocumentError | None
    execution_arn: str | None = Field(description="the latest Step Functions execution for this document")
    console_url: str | None = Field(description="that execution in the Step Functions console")
    textract_job_id: str | None
    invoice_count: int
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEvent] = Field(description="every status change, oldest first")


# --- invoices -----------------------------------------------------------------------------------------
class Party(_Model):
    name: str | None
    address: str | None
    tax_id: str | None = None


class LineItem(_Model):
    position: int
    description: str | None
    quantity: Amount | None
    unit_price: Amount | None
    amount: Amount | None
    product_code: str | None
    page: int | None
    unit: str | None = Field(default=None, description="unit of the quantity (an e-invoice's UN/ECE Rec 20 code: "
                                                       "C62, HUR, KGM); null where the engine read none")
    tax_rate: Amount | None = Field(default=None, description="VAT rate in percent (\"19.00\"); null where the "
                                                             "engine read none")


class Issue(BaseModel):
    # Issues are the validation rules' own records: new keys may appear, so extra keys are kept.
    model_config = ConfigDict(extra="allow")
    code: str
    severity: str | None = None
    field: str | None = None
    message: str | None = None


class AllowanceCharge(_Model):
    """A document-level allowance or charge (an e-invoice's BG-20/BG-21), already inside the subtotal."""

    charge: bool = Field(description="true for a charge (adds), false for an allowance (subtracts)")
    amount: Amount | None
    base_amount: Amount | None = None
    percent: Amount | None = None
    reason: str | None = None
    reason_code: str | None = None
    tax_category: str | None = None
    tax_rate: Amount | None = None


class TaxLine(_Model):
    """VAT for one category and rate (BG-23)."""

    category: str | None
    rate: Amount | None
    taxable_amount: Amount | None
    tax_amount: Amount | None
    exemption_reason: str | None = None


class Payment(_Model):
    """How to pay, as an e-invoice states it (BG-16, BT-20)."""

    terms: str | None = None
    means_code: str | None = Field(default=None, description="UNCL 4461: 58 SEPA credit transfer, 59 SEPA "
                                                             "direct debit, ...")
    iban: str | None = None
    account_name: str | None = None
    bic: str | None = None
    creditor_reference: str | None = None
    mandate_reference: str | None = None


class DuplicateLink(_Model):
    """The earlier invoice this one possibly duplicates (issue POSSIBLE_DUPLICATE): fetch it with GET
    /documents/{document_id}/invoice."""

    invoice_id: uuid.UUID | None = Field(description="null once the earlier document was reprocessed (its "
                                                      "invoices were rewritten)")
    document_id: uuid.UUID | None
    tier: DuplicateTier = Field(description="strong: same seller, number and total; weak: same seller, total and "
                                            "date, another number")
    review: DuplicateReview | None = Field(description="a reviewer's decision; null while pending")


class Invoice(_Model):
    id: uuid.UUID
    seq: int = Field(description="position of the invoice in the document, from 0")
    invoice_number: str | None
    vendor: Party
    customer: Party
    invoice_date: date | None
    due_date: date | None
    po_number: str | None
    currency: str | None
    subtotal: Amount | None
    tax: Amount | None
    discount: Amount | None
    total: Amount | None
    amount_due: Amount | None
    engine: Engine | None = Field(description=_ENGINE_TEXT)
    document_type: str | None = Field(description=_DOCUMENT_TYPE_TEXT)
    delivery_date: date | None = Field(description="actual delivery date (an e-invoice's BT-72)")
    prepaid: Amount | None = Field(description="amount already paid (BT-113): amount_due = total - prepaid")
    allowances_charges: list[AllowanceCharge] | None = Field(
        description="document-level allowances and charges; null where the engine reads none (OCR)")
    tax_breakdown: list[TaxLine] | None = Field(description="VAT per category and rate; null where the engine "
                                                            "reads none (OCR)")
    payment: Payment | None = Field(description="payment terms and account; null where the engine reads none (OCR)")
    validation_status: InvoiceStatus
    issues: list[Issue]
    confidence: dict[str, Any]
    provenance: dict[str, Any]
    line_items: list[LineItem]
    duplicate_of: DuplicateLink | None = None


class DocumentInvoices(_Model):
    document_id: uuid.UUID
    status: DocumentStatus
    invoices: list[Invoice]


# --- uploads, reprocessing, exports, health -----------------------------------------------------------
class UploadRequest(_Model):
    filename: str = Field(min_length=1, max_length=255, description="kept (made safe) in the object key")
    content_type: UploadContentType
    size: int = Field(ge=1, le=MAX_BYTES,
                      description="bytes; over the deployment's UPLOAD_MAX_BYTES gives 413 PAYLOAD_TOO_LARGE")


class UploadTicket(_Model):
    key: str = Field(description="where the file will land; the document appears in GET /documents once "
                                 "the pipeline registers it")
    method: Literal["POST"]
    url: str
    fields: dict[str, str] = Field(description="form fields to send before the file (an S3 presigned POST)")
    expires_in: int
    max_bytes: int


class ReprocessAccepted(_Model):
    document_id: uuid.UUID
    execution_arn: str
    console_url: str


def _whole_number(value: Any) -> Any:
    # JSON Schema's integer: a number without a fractional part (240.0 included); never a string or a boolean,
    # which pydantic's int would otherwise take ("240", true).
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("not a whole number")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("not a whole number")
    return int(value)


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
# The documents.error_code values are the pipeline's error class names and Step Functions' own (States.*).
ErrorCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,100}$", examples=["TextractJobFailed"])]
BULK_REPROCESS_MAX = 10_000
# The lists of documents not queued are bounded, so a reply stays small whatever the outage was.
NOT_QUEUED_LISTED = 100


class BulkReprocessRequest(_Model):
    status: list[ReprocessableStatus] = Field(
        min_length=1, max_length=10,
        description="documents in any of these final statuses (a DUPLICATE is reprocessed through its original)")
    error_code: list[ErrorCode] | None = Field(
        default=None, min_length=1, max_length=50, description="and whose error code is one of these")
    received_from: IsoDateTime | None = Field(default=None, description="uploaded at or after (RFC 3339, with "
                                                                        "offset)")
    received_to: IsoDateTime | None = Field(default=None, description="uploaded before (RFC 3339, with offset)")
    limit: WholeNumber = Field(default=1000, ge=1, le=BULK_REPROCESS_MAX,
                       description="at most this many documents, oldest upload first; `truncated` says when more "
                                   "matched")
    dry_run: bool = Field(default=False, strict=True,
                          description="find and check the documents, queue nothing, record nothing")


# Why a bulk reprocess leaves a document out: the code the single reprocess would refuse it with.
SkipCode = Literal[Code.CONFLICT, Code.SOURCE_GONE, Code.REVIEW_WOULD_BE_LOST]


class ReprocessSkipped(_Model):
    document_id: uuid.UUID
    code: SkipCode = Field(
        description="what POST /documents/{document_id}/reprocess would answer for it")
    reason: str


class ReprocessNotQueued(_Model):
    document_id: uuid.UUID
    reason: str = Field(description="why its message was not queued (e.g. the SQS error code)")


class BulkReprocessAccepted(_Model):
    dry_run: bool
    matched: int = Field(description="documents matching the filter, at most `limit`")
    truncated: bool = Field(description="more documents match than `limit`: call again once these have run, "
                                        "or narrow the filter")
    eligible: int = Field(description="checked and ready to queue: in a dry run, what would be queued")
    queued: int = Field(description="reprocess messages the intake queue took (0 in a dry run). The intake "
                                    "starts their executions at its own rate; a document already requested in "
                                    "the same state is not started twice")
    skipped_count: int
    skipped: list[ReprocessSkipped] = Field(description=f"the first {NOT_QUEUED_LISTED} skipped documents")
    failed_to_queue: int = Field(description="matched documents neither skipped nor queued (the queue or S3 "
                                             "refused, or the request ran out of time): calling again is safe, "
                                             "the ones already queued are not started twice")
    failed: list[ReprocessNotQueued] = Field(description=f"the first {NOT_QUEUED_LISTED} of them, with why")


class ExportLink(_Model):
    url: str = Field(description="a presigned S3 URL to download the export from")
    expires_in: int
    size_bytes: int
    format: Literal["csv", "xlsx"]


class Health(_Model):
    status: Literal["ok"]
    database: Literal["ok"]
