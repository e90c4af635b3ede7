"""The routes. Each one reads its validated parameters, calls an adapter, and shapes the answer; anything
that goes wrong is an ApiError (or a pipeline error that app.py maps) with a stable code."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from botocore.exceptions import ClientError
from pydantic import BaseModel

from invoice_pipeline import config
from invoice_pipeline.adapters import aws, queries, repository
from invoice_pipeline.api import cursor, export
from invoice_pipeline.api import reprocess as reprocessing
from invoice_pipeline.api import reprocess_review as review_guard
from invoice_pipeline.api.auth import Principal
from invoice_pipeline.api.duplicates import duplicate_link
from invoice_pipeline.api.errors import ApiError, Code
from invoice_pipeline.api.invoice_fields import structured_fields
from invoice_pipeline.api.models import (
    NO_NUL,
    NOT_QUEUED_LISTED,
    BulkReprocessAccepted,
    BulkReprocessRequest,
    DocumentDetail,
    DocumentError,
    DocumentInvoices,
    DocumentPage,
    DocumentSummary,
    ErrorResponse,
    ExportLink,
    Health,
    Invoice,
    IsoDate,
    IsoDateTime,
    LineItem,
    Party,
    ReprocessAccepted,
    ReprocessNotQueued,
    ReprocessSkipped,
    UploadRequest,
    UploadTicket,
)
from invoice_pipeline.domain import reprocess as reprocess_names
from invoice_pipeline.domain.intake import execution_name
from invoice_pipeline.domain.status import READY_FOR_PAYMENT, TERMINAL, DocumentStatus
from invoice_pipeline.observability import count, logger

router = APIGatewayHttpRouter()

PRESIGN_SECONDS = 900

_ERROR_TEXT = {
    400: "bad input (code BAD_REQUEST, or BAD_CURSOR for a cursor this API did not issue for these filters)",
    401: "no valid credentials (UNAUTHORIZED); API Gateway's own authorizers answer {\"message\": ...}",
    403: "only members of the reviewers group may do this (FORBIDDEN)",
    404: "no such document (NOT_FOUND), or no invoice in it (NO_INVOICE)",
    409: "the document cannot be reprocessed now (CONFLICT), its S3 object is gone (SOURCE_GONE), or a reprocess "
         "would replace a reviewer's work (REVIEW_WOULD_BE_LOST)",
    413: "request body, or announced upload, too large (PAYLOAD_TOO_LARGE)",
    415: "a request body that is not JSON (UNSUPPORTED_MEDIA_TYPE)",
    503: "the database or AWS is unreachable (DATABASE_UNAVAILABLE, AWS_UNAVAILABLE), or the deployment lacks a "
         "setting (NOT_CONFIGURED)",
}


def responses(ok: int, model: type[BaseModel], description: str, *error_statuses: int,
              links: dict[str, Any] | None = None) -> dict[int, OpenAPIResponse]:
    """What a route answers, for the OpenAPI document: its success and the errors it can give."""
    success: OpenAPIResponse = {"description": description, "content": {"application/json": {"model": model}}}
    if links:
        success["links"] = links
    out: dict[int, OpenAPIResponse] = {ok: success}
    out.update(errors(*error_statuses))
    return out


# A listed document leads to its detail, its invoices and reprocessing (clients, and schemathesis' stateful
# tests, follow these).
_DOCUMENT_LINKS = {
    name: {"operationId": operation, "parameters": {"document_id": "$response.body#/items/0/id"}}
    for name, operation in (("FirstDocument", "getDocument"), ("FirstDocumentInvoices", "getDocumentInvoices"),
                            ("ReprocessFirstDocument", "reprocessDocument"))
}


def errors(*statuses: int) -> dict[int, OpenAPIResponse]:
    out: dict[int, OpenAPIResponse] = {}
    for status in statuses:
        if status == 401:
            schema = {"anyOf": [{"$ref": "#/components/schemas/ErrorResponse"},
                                {"$ref": "#/components/schemas/GatewayUnauthorized"}]}
            out[status] = {"description": _ERROR_TEXT[status], "content": {"application/json": {"schema": schema}}}
        else:
            out[status] = {"description": _ERROR_TEXT[status],
                           "content": {"application/json": {"model": ErrorResponse}}}
    return out


# Every route but /health: validation, the authentication gate, the body gates, the database.
AUTHENTICATED = (400, 401, 413, 415, 503)


def _principal() -> Principal:
    principal = router.context.get("principal")
    if not isinstance(principal, Principal):  # app.handle always sets it; a test calling resolve() may not
        raise ApiError(Code.UNAUTHORIZED, "no credentials")
    return principal


def _amount(value: Any) -> str | None:
    return None if value is None else format(value, "f")


def console_url(execution_arn: str) -> str:
    """The execution in the Step Functions console; the region is the execution's own."""
    parts = execution_arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[3] else config.settings().aws_region or "us-east-1"
    return (f"https://{region}.console.aws.amazon.com/states/home?region={region}"
            f"#/v2/executions/details/{execution_arn}")


def _filter(status: Sequence[str] | None, vendor: str | None, q: str | None, received_from: datetime | None,
            received_to: datetime | None, invoice_date_from: date | None,
            invoice_date_to: date | None, error_codes: Sequence[str] | None = None) -> queries.DocumentFilter:
    return queries.DocumentFilter(
        statuses=tuple(sorted(set(status))) if status else (),
        error_codes=tuple(sorted(set(error_codes))) if error_codes else (),
        vendor=vendor, text=q, received_from=received_from, received_to=received_to,
        invoice_date_from=invoice_date_from, invoice_date_to=invoice_date_to,
    )


# Query parameters shared by the list and the export.
StatusParam = Annotated[list[DocumentStatus] | None, Query(description="documents in any of these statuses: the "
                                                  "parameter repeated, or the statuses separated by commas")]
VendorParam = Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL,
                                          description="vendor name, exact but case-insensitive")]
TextParam = Annotated[str | None, Query(min_length=1, max_length=200, pattern=NO_NUL,
                                        description="text in the file name, vendor, customer or invoice number")]
ReceivedFrom = Annotated[IsoDateTime | None, Query(description="uploaded at or after (RFC 3339, with offset)")]
ReceivedTo = Annotated[IsoDateTime | None, Query(description="uploaded before (RFC 3339, with offset)")]
InvoiceDateFrom = Annotated[IsoDate | None, Query(description="an invoice dated on or after")]
InvoiceDateTo = Annotated[IsoDate | None, Query(description="an invoice dated on or before")]


@router.get("/health", summary="Liveness and database reachability; the only anonymous route",
            operation_id="getHealth", responses=responses(200, Health, "up", 400, 413, 415, 503), tags=["health"])
def health() -> Health:
    queries.ping()
    return Health(status="ok", database="ok")


@router.get("/documents", summary="Documents, newest first, filtered, one page at a time",
            operation_id="listDocuments", tags=["documents"],
            responses=responses(200, DocumentPage, "one page of documents", *AUTHENTICATED, links=_DOCUMENT_LINKS))
def list_documents(
    status: StatusParam = None,
    vendor: VendorParam = None,
    q: TextParam = None,
    received_from: ReceivedFrom = None,
    received_to: ReceivedTo = None,
    invoice_date_from: InvoiceDateFrom = None,
    invoice_date_to: InvoiceDateTo = None,
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 50,
    cursor_token: Annotated[str | None, Query(alias="cursor", description="next_cursor of the previous page")] = None,
) -> DocumentPage:
    f = _filter(status, vendor, q, received_from, received_to, invoice_date_from, invoice_date_to)
    fingerprint = cursor.fingerprint(f.as_dict())
    after = cursor.decode(cursor_token, fingerprint) if cursor_token is not None else None
    rows = queries.list_documents(f, limit=limit + 1, after=after)  # one more: is there a next page?
    page = rows[:limit]
    next_cursor = (cursor.encode(page[-1]["created_at"], page[-1]["id"], fingerprint)
                   if len(rows) > limit else None)
    return DocumentPage(
        items=[DocumentSummary(
            id=r["id"], key=r["object_key"], status=r["status"], media_type=r["media_type"],
            size_bytes=r["size_bytes"], page_count=r["page_count"], error_code=r["error_code"],
            invoice_count=r["invoice_count"], vendor_name=r["vendor_name"], invoice_number=r["invoice_number"],
            invoice_date=r["invoice_date"], total=_amount(r["total"]), currency=r["currency"],
            engine=r["engine"], document_type=r["document_type"], invoice_status=r["invoice_status"],
            created_at=r["created_at"], updated_at=r["updated_at"],
        ) for r in page],
        next_cursor=next_cursor,
    )


DocumentId = Annotated[uuid.UUID, Path(description="the document's id (a UUID)")]


@router.get("/documents/<document_id>", summary="A document: status, error, timeline, execution",
            operation_id="getDocument", tags=["documents"],
            responses=responses(200, DocumentDetail, "the document", *AUTHENTICATED, 404))
def get_document(document_id: DocumentId) -> DocumentDetail:
    row = queries.document_detail(document_id)
    if row is None:
        raise ApiError(Code.NOT_FOUND, f"document {document_id} does not exist")
    arn = row["execution_arn"]
    return DocumentDetail(
        id=row["id"], bucket=row["bucket"], key=row["object_key"], version_id=row["version_id"],
        sha256=row["sha256"], size_bytes=row["size_bytes"], media_type=row["media_type"],
        page_count=row["page_count"], status=row["status"], duplicate_of=row["duplicate_of"],
        error=DocumentError(code=row["error_code"], message=row["error_message"]) if row["error_code"] else None,
        execution_arn=arn, console_url=console_url(arn) if arn else None,
        textract_job_id=row["textract_job_id"], invoice_count=row["invoice_count"],
        created_at=row["created_at"], updated_at=row["updated_at"], timeline=row["timeline"],
    )


def _invoice(row: dict[str, Any]) -> Invoice:
    return Invoice(
        id=row["id"], seq=row["seq"], invoice_number=row["invoice_number"],
        vendor=Party(name=row["vendor_name"], address=row["vendor_address"], tax_id=row["vendor_tax_id"]),
        customer=Party(name=row["customer_name"], address=row["customer_address"]),
        invoice_date=row["invoice_date"], due_date=row["due_date"], po_number=row["po_number"],
        currency=row["currency"], subtotal=_amount(row["subtotal"]), tax=_amount(row["tax"]),
        discount=_amount(row["discount"]), total=_amount(row["total"]), amount_due=_amount(row["amount_due"]),
        validation_status=row["validation_status"], issues=row["issues"], confidence=row["confidence"],
        provenance=row["provenance"], **structured_fields(row),
        line_items=[LineItem(position=i["position"], description=i["description"], quantity=_amount(i["quantity"]),
                             unit_price=_amount(i["unit_price"]), amount=_amount(i["amount"]),
                             product_code=i["product_code"], page=i["page"], unit=i["unit"],
                             tax_rate=_amount(i["tax_rate"])) for i in row["line_items"]],
        duplicate_of=duplicate_link(row),
    )


@router.get("/documents/<document_id>/invoice", summary="The invoices found in a document, with line items "
            "and validation issues", operation_id="getDocumentInvoices", tags=["documents"],
            responses=responses(200, DocumentInvoices, "the document's invoices", *AUTHENTICATED, 404))
def get_invoice(document_id: DocumentId) -> DocumentInvoices:
    doc = repository.get_document(document_id)  # DocumentNotFound -> 404 NOT_FOUND
    invoices = repository.invoices_for(doc.id)
    if not invoices:
        why = {DocumentStatus.FAILED: f"it FAILED ({doc.error_code})",
               DocumentStatus.DUPLICATE: f"it is a duplicate of {doc.duplicate_of}"}.get(doc.status,
                                                                                        f"it is {doc.status}")
        raise ApiError(Code.NO_INVOICE, f"document {doc.id} has no invoice: {why}")
    return DocumentInvoices(document_id=doc.id, status=doc.status,
                            invoices=[_invoice(r) for r in invoices])


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(name: str) -> str:
    """The uploaded file's name as an S3 key segment: no path, no spaces or odd characters, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_NAME.sub("_", base).strip("._")[:100]
    return cleaned or "upload"


@router.post("/documents", summary="A presigned upload (S3 POST form) under incoming/", status_code=201,
             operation_id="createUpload", tags=["documents"],
             responses=responses(201, UploadTicket, "where and how to upload the file", *AUTHENTICATED))
def create_upload(request: UploadRequest) -> UploadTicket:
    settings = config.settings()
    if not settings.ingest_bucket:
        raise ApiError(Code.NOT_CONFIGURED, "INGEST_BUCKET is not set for this function")
    if request.size > settings.upload_max_bytes:
        raise ApiError(Code.PAYLOAD_TOO_LARGE,
                       f"{request.size} bytes is over the upload limit of {settings.upload_max_bytes} bytes")
    key = f"incoming/{uuid.uuid4()}/{safe_filename(request.filename)}"
    uploaded_by = _principal().label
    # The policy pins the type and caps the size at what was announced: S3 refuses anything else.
    post = aws.client("s3").generate_presigned_post(
        Bucket=settings.ingest_bucket, Key=key,
        Fields={"Content-Type": request.content_type, "x-amz-meta-uploaded-by": uploaded_by},
        Conditions=[{"Content-Type": request.content_type}, {"x-amz-meta-uploaded-by": uploaded_by},
                    ["content-length-range", 1, request.size]],
        ExpiresIn=PRESIGN_SECONDS,
    )
    return UploadTicket(key=key, method="POST", url=post["url"], fields=post["fields"],
                        expires_in=PRESIGN_SECONDS, max_bytes=request.size)


@router.post("/documents/<document_id>/reprocess", summary="Run the document through the pipeline again, "
             "bypassing duplicate detection", status_code=202, operation_id="reprocessDocument", tags=["documents"],
             responses=responses(202, ReprocessAccepted, "a new execution started; of requests sent at once, or "
                                 "repeated before that execution changed the document, only one starts one (the "
                                 "others are 409 CONFLICT, naming it)", *AUTHENTICATED, 403, 404, 409))
def reprocess(document_id: DocumentId, discard_review: Annotated[
        bool, Query(description=review_guard.DISCARD_REVIEW_HELP)] = False) -> ReprocessAccepted:
    settings = config.settings()
    doc = repository.get_document(document_id)
    _reprocessable(doc)
    # Outside the claim below: it reads in a transaction of its own.
    owner = queries.live_owner_of_content(doc.sha256, doc.id) if doc.sha256 else None
    if owner is not None:
        raise ApiError(Code.CONFLICT, f"the same content is now document {owner}: reprocess that one instead")
    if not settings.state_machine_arn:
        raise ApiError(Code.NOT_CONFIGURED, "STATE_MACHINE_ARN is not set for this function")
    principal = _principal().label
    request_id = router.current_event.request_context.request_id
    # Requests for one document are decided one after the other, each on the document as the one before left
    # it (repository.claim_reprocess). One document: started directly, so the reply can name its execution,
    # named from the document's state as the bulk reprocess's are.
    with repository.claim_reprocess(doc.id) as claim:
        doc = claim.document
        _reprocessable(doc)
        # A reviewer's decision or corrections are not replaced unless asked for (409 REVIEW_WOULD_BE_LOST).
        review_guard.guard(claim.con, doc.id, _principal(), discard_review=discard_review,
                           request_key=reprocess_names.request_key(doc.updated_at))
        target = reprocessing.Target(document_id=doc.id, bucket=doc.bucket, key=doc.object_key,
                                     version_id=doc.version_id, updated_at=doc.updated_at)
        execution_input = reprocessing.execution_input(target, requested_by=principal,
                                                       region=settings.aws_region, now=datetime.now(UTC),
                                                       discard_review=discard_review)
        name = execution_name(execution_input)
        claim.record(execution_input["reprocess"]["request_key"], name, requested_by=principal,
                     request_id=request_id)
        try:
            arn = aws.client("stepfunctions").start_execution(
                stateMachineArn=settings.state_machine_arn, name=name,
                input=json.dumps(execution_input))["executionArn"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
                raise
            arn = reprocess_names.execution_arn(settings.state_machine_arn, name)
            raise ApiError(Code.CONFLICT, f"document {doc.id} is already being reprocessed from this state by "
                                          f"execution {arn}") from None
    logger.info("reprocess started", extra={"execution_arn": arn, "requested_by": principal})
    return ReprocessAccepted(document_id=doc.id, execution_arn=arn, console_url=console_url(arn))


def _reprocessable(doc: repository.Document) -> None:
    """409 CONFLICT unless the document is in a final state it can be reprocessed from."""
    if doc.status not in TERMINAL:
        raise ApiError(Code.CONFLICT, f"document {doc.id} is still being processed ({doc.status})")
    if doc.status == DocumentStatus.DUPLICATE:
        raise ApiError(Code.CONFLICT, f"document {doc.id} is a duplicate: reprocess {doc.duplicate_of} instead")


@router.post("/documents/reprocess", summary="Reprocess every document matching a filter (recovery after an "
             "outage): one message per document on the intake queue, which starts them at its own rate",
             status_code=202, operation_id="reprocessDocuments", tags=["documents"],
             responses=responses(202, BulkReprocessAccepted, "the matching documents were checked and their "
                                 "reprocessing queued (in a dry run, only checked)", *AUTHENTICATED))
def reprocess_documents(request: BulkReprocessRequest) -> BulkReprocessAccepted:
    settings = config.settings()
    if not request.dry_run and not settings.intake_queue_url:
        raise ApiError(Code.NOT_CONFIGURED, "INTAKE_QUEUE_URL is not set for this function")
    request_id = router.current_event.request_context.request_id
    logger.set_correlation_id(request_id)
    f = _filter(request.status, None, None, request.received_from, request.received_to, None, None,
                error_codes=request.error_code)
    rows = queries.reprocess_candidates(f, limit=request.limit + 1)  # one more: were there others?
    truncated = len(rows) > request.limit
    rows = rows[:request.limit]
    requested_by, now = _principal().label, datetime.now(UTC)
    context = router.lambda_context
    reviewed = review_guard.skipped([r["id"] for r in rows])
    outcome = reprocessing.enqueue(
        [reprocessing.Target(document_id=r["id"], bucket=r["bucket"], key=r["object_key"],
                             version_id=r["version_id"], updated_at=r["updated_at"], live_owner=r["live_owner"],
                             review_work=reviewed.get(r["id"]))
         for r in rows],
        build=lambda t: reprocessing.execution_input(t, requested_by=requested_by, region=settings.aws_region,
                                                     now=now),
        queue=aws.client("sqs"), queue_url=settings.intake_queue_url,
        record=lambda requests: repository.record_reprocess_requests(
            [(r.document_id, r.request_key, r.execution_name) for r in requests],
            requested_by=requested_by, request_id=request_id),
        seconds_left=lambda: context.get_remaining_time_in_millis() / 1000, dry_run=request.dry_run)
    # The audit trail of the request as a whole (each queued document's timeline has its own event).
    logger.info("bulk reprocess requested", extra={
        "requested_by": requested_by, "filter": f.as_dict(), "limit": request.limit, "dry_run": request.dry_run,
        "matched": len(rows), "truncated": truncated, "eligible": outcome.eligible,
        "queued": len(outcome.queued), "skipped": len(outcome.skipped), "failed_to_queue": len(outcome.failed),
        "skipped_first": [{"document_id": str(d), "code": c} for d, c, _m in outcome.skipped[:NOT_QUEUED_LISTED]],
        "failed_first": [{"document_id": str(d), "reason": r} for d, r in outcome.failed[:NOT_QUEUED_LISTED]]})
    count("BulkReprocessQueued", len(outcome.queued))
    return BulkReprocessAccepted(
        dry_run=request.dry_run, matched=len(rows), truncated=truncated, eligible=outcome.eligible,
        queued=len(outcome.queued), skipped_count=len(outcome.skipped),
        skipped=[ReprocessSkipped(document_id=d, code=c, reason=m)
                 for d, c, m in outcome.skipped[:NOT_QUEUED_LISTED]],
        failed_to_queue=len(outcome.failed),
        failed=[ReprocessNotQueued(document_id=d, reason=r) for d, r in outcome.failed[:NOT_QUEUED_LISTED]])


_EXPORT_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "the export (format=csv or xlsx), or with delivery=link a link to it in S3",
          "content": {"text/csv": {"schema": {"type": "string"}},
                      export.MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "contentEncoding": "base64"}},
                      "application/json": {"model": ExportLink}}},
    303: {"description": "too big for a Lambda response: in S3, at the Location (a presigned URL)",
          "headers": {"Location": {"description": "presigned S3 URL", "schema": {"type": "string"}}},
          "content": {"application/json": {"model": ExportLink}}},
    **errors(*AUTHENTICATED),
}


@router.get("/invoices/export", summary="Invoices and line items as CSV or XLSX", operation_id="exportInvoices",
            responses=_EXPORT_RESPONSES, tags=["invoices"])
def export_invoices(
    format: Annotated[Literal["csv", "xlsx"], Query(description="file format")] = "csv",  # noqa: A002
    delivery: Annotated[Literal["auto", "link"], Query(description="auto: inline when small enough, else 303 "
                                                       "to S3; link: always S3, 200 with the link")] = "auto",
    status: StatusParam = None,
    vendor: VendorParam = None,
    q: TextParam = None,
    received_from: ReceivedFrom = None,
    received_to: ReceivedTo = None,
    invoice_date_from: InvoiceDateFrom = None,
    invoice_date_to: InvoiceDateTo = None,
    ready_for_payment: Annotated[bool, Query(description="only invoices ready for payment (APPROVED)")] = False,
):  # no return annotation: the resolver would validate the file body against it (responses= documents it)
    settings = config.settings()
    f = _filter(status, vendor, q, received_from, received_to, invoice_date_from, invoice_date_to)
    if ready_for_payment:
        f = dataclasses.replace(f, invoice_statuses=(READY_FOR_PAYMENT.value,))
    limit = settings.export_inline_max_bytes
    out, size, _count = export.build(format, queries.export_batches(f), spool_bytes=limit, work_dir=settings.work_dir)
    with out:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        filename = f"invoices-{stamp}.{format}"
        # A binary body travels base64-encoded, a third bigger, inside the 6 MB response cap.
        wire_size = size if format == "csv" else 4 * math.ceil(size / 3)
        if delivery == "auto" and wire_size <= limit:
            body = out.read()
            return Response(status_code=200, content_type=export.MEDIA_TYPES[format],
                            body=body.decode("utf-8") if format == "csv" else body,
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'})
        if not settings.results_bucket:
            raise ApiError(Code.NOT_CONFIGURED, "RESULTS_BUCKET is not set for this function")
        key = f"exports/{datetime.now(UTC):%Y/%m/%d}/{uuid.uuid4()}/{filename}"
        s3 = aws.client("s3")
        s3.upload_fileobj(out, settings.results_bucket, key, ExtraArgs={"ContentType": export.MEDIA_TYPES[format]})
    url = s3.generate_presigned_url("get_object", ExpiresIn=PRESIGN_SECONDS, Params={
        "Bucket": settings.results_bucket, "Key": key,
        "ResponseContentDisposition": f'attachment; filename="{filename}"'})
    link = ExportLink(url=url, expires_in=PRESIGN_SECONDS, size_bytes=size, format=format)
    if delivery == "link":
        return Response(status_code=200, content_type="application/json", body=link.model_dump(mode="json"))
    return Response(status_code=303, content_type="application/json", body=link.model_dump(mode="json"),
                    headers={"Location": url})

