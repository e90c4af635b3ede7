"""The routes. Each one reads its validated parameters, calls an adapter, and shapes the answer; anything
that goes wrong is an ApiError (or a pipeline error that app.py maps) with a stable code."""

from __future__ import annotations

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
from pydantic import BaseModel, BeforeValidator

from invoice_pipeline import config
from invoice_pipeline.adapters import aws, queries, repository
from invoice_pipeline.api import cursor, export
from invoice_pipeline.api.auth import Principal
from invoice_pipeline.api.errors import ApiError, Code
from invoice_pipeline.api.models import (
    DocumentDetail,
    DocumentError,
    DocumentInvoices,
    DocumentPage,
    DocumentSummary,
    ErrorResponse,
    ExportLink,
    Health,
    Invoice,
    LineItem,
    Party,
    ReprocessAccepted,
    UploadRequest,
    UploadTicket,
)
from invoice_pipeline.domain.events import S3Source, event_object, from_s3_response
from invoice_pipeline.domain.status import TERMINAL, DocumentStatus

router = APIGatewayHttpRouter()

PRESIGN_SECONDS = 900
# Postgres text cannot hold NUL: refuse it as bad input rather than fail in the database.
NO_NUL = r"^[^\x00]*$"

_ERROR_TEXT = {
    400: "bad input (code BAD_REQUEST, or BAD_CURSOR for a cursor this API did not issue for these filters)",
    401: "no valid credentials (UNAUTHORIZED); API Gateway's own authorizers answer {\"message\": ...}",
    404: "no such document (NOT_FOUND), or no invoice in it (NO_INVOICE)",
    409: "the document cannot be reprocessed now (CONFLICT), or its S3 object is gone (SOURCE_GONE)",
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
            invoice_date_to: date | None) -> queries.DocumentFilter:
    return queries.DocumentFilter(
        statuses=tuple(sorted(set(status))) if status else (),
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
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: Any) -> Any:
        # pydantic would also read "0.5" or "1700000000" as a time (seconds since 1970): not what the
        # document promises (RFC 3339), so not accepted.
        if isinstance(value, str) and not pattern.fullmatch(value):
            raise ValueError(f"not an RFC 3339 {what}")
        return value.upper() if isinstance(value, str) else value
    return BeforeValidator(check)


IsoDateTime = Annotated[datetime, _iso(_ISO_DATETIME, "date-time")]
IsoDate = Annotated[date, _iso(_ISO_DATE, "date (YYYY-MM-DD)")]
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
        provenance=row["provenance"],
        line_items=[LineItem(position=i["position"], description=i["description"], quantity=_amount(i["quantity"]),
                             unit_price=_amount(i["unit_price"]), amount=_amount(i["amount"]),
                             product_code=i["product_code"], page=i["page"]) for i in row["line_items"]],
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


def _source_object(doc: repository.Document) -> dict[str, Any]:
    """The `detail.object` of the execution input: the document's own object version. The row's version_id
    is S3's version id, or the ETag in an unversioned bucket, and does not say which: S3 tells."""
    s3 = aws.client("s3")
    as_version = S3Source(bucket=doc.bucket, key=doc.object_key, version_id=doc.version_id, versioned=True)
    try:
        head = s3.head_object(**as_version.s3_args())
    except ClientError:
        # not a version id (an ETag), or that version is gone: look at the current object
        try:
            head = s3.head_object(Bucket=doc.bucket, Key=doc.object_key)
        except ClientError as exc:
            raise ApiError(Code.SOURCE_GONE, f"s3://{doc.bucket}/{doc.object_key} no longer exists") from exc
    src = from_s3_response(doc.bucket, doc.object_key, head)
    if src.version_id != doc.version_id:
        raise ApiError(Code.SOURCE_GONE, f"s3://{doc.bucket}/{doc.object_key} was replaced since this document "
                                         "was registered: the new object has its own document")
    return event_object(src, etag=str(head.get("ETag", "")).strip('"'))


@router.post("/documents/<document_id>/reprocess", summary="Run the document through the pipeline again, "
             "bypassing duplicate detection", status_code=202, operation_id="reprocessDocument", tags=["documents"],
             responses=responses(202, ReprocessAccepted, "a new execution started", *AUTHENTICATED, 404, 409))
def reprocess(document_id: DocumentId) -> ReprocessAccepted:
    settings = config.settings()
    doc = repository.get_document(document_id)
    if doc.status not in TERMINAL:
        raise ApiError(Code.CONFLICT, f"document {doc.id} is still being processed ({doc.status})")
    if doc.status == DocumentStatus.DUPLICATE:
        raise ApiError(Code.CONFLICT, f"document {doc.id} is a duplicate: reprocess {doc.duplicate_of} instead")
    owner = queries.live_owner_of_content(doc.sha256, doc.id) if doc.sha256 else None
    if owner is not None:
        raise ApiError(Code.CONFLICT, f"the same content is now document {owner}: reprocess that one instead")
    if not settings.state_machine_arn:
        raise ApiError(Code.NOT_CONFIGURED, "STATE_MACHINE_ARN is not set for this function")
    now = datetime.now(UTC)
    execution_input = {
        # Shaped like the S3 event EventBridge delivers, so Register reads the source the usual way.
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created",
        "source": "invoice-pipeline.api", "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": settings.aws_region, "resources": [f"arn:aws:s3:::{doc.bucket}"],
        "detail": {"version": "0", "bucket": {"name": doc.bucket}, "object": _source_object(doc),
                   "reason": "Reprocess"},
        "reprocess": {"document_id": str(doc.id), "requested_by": _principal().label,
                      "requested_at": now.isoformat()},
    }
    # Named, because moto's StartExecution without a name gives an ARN ending in "None"; unique per request.
    name = f"reprocess-{doc.id.hex}-{uuid.uuid4().hex[:12]}"
    started = aws.client("stepfunctions").start_execution(
        stateMachineArn=settings.state_machine_arn, name=name, input=json.dumps(execution_input))
    arn = started["executionArn"]
    return ReprocessAccepted(document_id=doc.id, execution_arn=arn, console_url=console_url(arn))


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
):  # no return annotation: the resolver would validate the file body against it (responses= documents it)
    settings = config.settings()
    f = _filter(status, vendor, q, received_from, received_to, invoice_date_from, invoice_date_to)
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

