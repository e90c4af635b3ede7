"""The review routes (issue 12): read an invoice with its ETag, claim and release it, correct it (PATCH, If-Match),
approve or reject it, and read its audit trail. The rules are domain/review.py's; every change happens with the
invoice row locked and writes its audit rows in the same transaction (adapters/review_store.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from invoice_pipeline import config
from invoice_pipeline.adapters import duplicates, outbox, review_store
from invoice_pipeline.api import roles
from invoice_pipeline.api.auth import Principal
from invoice_pipeline.api.errors import ApiError, Code
from invoice_pipeline.api.models import ErrorResponse
from invoice_pipeline.api.review_models import (
    AuditEvent,
    Claim,
    Decision,
    InvoiceHistory,
    InvoicePatch,
    InvoiceReview,
    RejectRequest,
    as_float,
)
from invoice_pipeline.domain import review
from invoice_pipeline.domain.downstream_events import EventType, invoice_event
from invoice_pipeline.domain.review import Action, LineEdit, Refused
from invoice_pipeline.domain.status import READY_FOR_PAYMENT, InvoiceStatus
from invoice_pipeline.errors import DuplicateNotPending, SchemaViolation
from invoice_pipeline.observability import count, logger

router = APIGatewayHttpRouter()

InvoiceId = Annotated[uuid.UUID, Path(description="the invoice's id (a UUID, `id` in the document's invoices)")]
IfMatch = Annotated[str | None, Header(alias="if-match", description="the ETag of GET /invoices/{id}")]

_TEXT = {
    400: "bad input (BAD_REQUEST), including a correction the invoice schema refuses",
    401: "no valid credentials (UNAUTHORIZED)",
    403: "not a reviewer (FORBIDDEN: viewers and machine clients only read), or SECOND_APPROVER_REQUIRED: you "
         "corrected this invoice and the second-approver setting is on",
    404: "no such invoice (NOT_FOUND)",
    409: "CLAIMED_BY_OTHER (another reviewer holds a live claim), CLAIM_REQUIRED (claim it first), "
         "ALREADY_DECIDED (APPROVED or REJECTED is final), NOT_APPROVABLE (validation still finds an error)",
    412: "If-Match names an older version (PRECONDITION_FAILED): read the invoice again",
    413: "request body too large (PAYLOAD_TOO_LARGE)",
    415: "a request body that is not JSON (UNSUPPORTED_MEDIA_TYPE)",
    428: "If-Match is missing (PRECONDITION_REQUIRED)",
    503: "the database is unreachable (DATABASE_UNAVAILABLE)",
}
_READ = (400, 401, 404, 413, 415, 503)
_WRITE = (*_READ, 403, 409)


def responses(model: type[Any], description: str, *statuses: int) -> dict[int, OpenAPIResponse]:
    out: dict[int, OpenAPIResponse] = {200: {
        "description": description, "content": {"application/json": {"model": model}},
        **({"headers": {"ETag": {"description": "the invoice's version", "schema": {"type": "string"}}}}
           if model is InvoiceReview else {})}}
    for status in sorted(statuses):
        if status == 401:
            schema = {"anyOf": [{"$ref": "#/components/schemas/ErrorResponse"},
                                {"$ref": "#/components/schemas/GatewayUnauthorized"}]}
            out[status] = {"description": _TEXT[status], "content": {"application/json": {"schema": schema}}}
        else:
            out[status] = {"description": _TEXT[status], "content": {"application/json": {"model": ErrorResponse}}}
    return out


def _principal() -> Principal:
    principal = router.context.get("principal")
    if not isinstance(principal, Principal):
        raise ApiError(Code.UNAUTHORIZED, "no credentials")
    return principal


def _reviewer() -> str:
    """The caller's subject, if the caller is a reviewer (403 FORBIDDEN otherwise)."""
    principal = _principal()
    if not roles.can_review(principal):
        raise ApiError(Code.FORBIDDEN, f"only members of the {roles.REVIEWERS} group change invoices")
    return principal.subject


def _body(row: dict[str, Any]) -> InvoiceReview:
    from invoice_pipeline.api.routes import _invoice  # the one shape of an invoice

    live = review.claim_live(row, row["now"])
    status = InvoiceStatus(row["validation_status"])
    return InvoiceReview(
        document_id=row["document_id"], version=row["version"], ready_for_payment=status == READY_FOR_PAYMENT,
        claim=Claim(by=row["claimed_by"], expires_at=row["claim_expires_at"]) if live else None,
        decision=Decision(status=status, by=row["decided_by"], at=row["decided_at"], reason=row["decision_reason"])
        if row["decided_by"] else None,
        invoice=_invoice(row))


def _reply(invoice_id: uuid.UUID) -> Response[InvoiceReview]:
    row = review_store.read(invoice_id)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=_body(row),
                    headers={"ETag": review.etag(row["version"]), "Cache-Control": "no-store"})


def _refused(err: Refused) -> ApiError:
    return ApiError(Code(err.refusal.value), err.message)


@router.get("/invoices/<invoice_id>", summary="An invoice with its review state; the ETag is its version",
            operation_id="getInvoice", tags=["review"],
            responses=responses(InvoiceReview, "the invoice", *_READ))
def get_invoice(invoice_id: InvoiceId) -> Response[InvoiceReview]:
    return _reply(invoice_id)


@router.post("/invoices/<invoice_id>/claim", summary="Claim the invoice for review (extends your own claim)",
             operation_id="claimInvoice", tags=["review"],
             responses=responses(InvoiceReview, "claimed until claim.expires_at", *_WRITE))
def claim_invoice(invoice_id: InvoiceId) -> Response[InvoiceReview]:
    actor = _reviewer()
    try:
        with review_store.locked(invoice_id) as inv:
            review.may_claim(inv.row, actor, inv.now)
            inv.claim(actor, config.settings().review_claim_seconds)
            inv.audit(actor, Action.CLAIM, inv.row["validation_status"])
    except Refused as err:
        raise _refused(err) from None
    return _reply(invoice_id)


@router.post("/invoices/<invoice_id>/release", summary="Release your claim", operation_id="releaseInvoice",
             tags=["review"], responses=responses(InvoiceReview, "released", *_WRITE))
def release_invoice(invoice_id: InvoiceId) -> Response[InvoiceReview]:
    actor = _reviewer()
    try:
        with review_store.locked(invoice_id) as inv:
            review.must_hold_claim(inv.row, actor, inv.now)
            inv.update(bump=False, claimed_by=None, claim_expires_at=None)
            inv.audit(actor, Action.RELEASE, inv.row["validation_status"])
    except Refused as err:
        raise _refused(err) from None
    return _reply(invoice_id)


def _changes(patch: InvoicePatch) -> tuple[dict[str, str | None], list[LineEdit]]:
    """The fields sent (a field sent as null clears it), as normalized-invoice paths and text values."""
    header: dict[str, str | None] = {}
    for name in patch.model_fields_set - {"line_items", "vendor", "customer"}:
        header[name] = review.text(getattr(patch, name))
    for group in ("vendor", "customer"):
        party = getattr(patch, group)
        if group in patch.model_fields_set and party is not None:
            for name in party.model_fields_set:
                if f"{group}.{name}" not in review.HEADER_FIELDS:
                    raise ApiError(Code.BAD_REQUEST, f"{group}.{name} cannot be set")
                header[f"{group}.{name}"] = getattr(party, name)
    lines = []
    for item in patch.line_items:
        # In the line's field order, not the set's (hash order): the audit rows keep a stable order.
        values = {n: getattr(item, n) for n in review.LINE_FIELDS if n in item.model_fields_set}
        if item.remove and values:
            raise ApiError(Code.BAD_REQUEST, f"line {item.position}: remove takes no other field")
        lines.append(LineEdit(position=item.position, values=values, remove=item.remove))
    return header, lines


@router.patch("/invoices/<invoice_id>", summary="Correct header fields and line items (needs your claim and "
              "If-Match); validation runs again", operation_id="correctInvoice", tags=["review"],
              responses=responses(InvoiceReview, "corrected; its new ETag and validation's verdict", *_WRITE,
                                   412, 428))
def correct_invoice(invoice_id: InvoiceId, patch: InvoicePatch, if_match: IfMatch = None) -> Response[InvoiceReview]:
    actor = _reviewer()
    header, lines = _changes(patch)
    try:
        with review_store.locked(invoice_id) as inv:
            review.must_be_open(inv.row)
            review.must_hold_claim(inv.row, actor, inv.now)
            review.must_match(if_match, inv.row["version"], required=True)
            edited = review.edit(inv.row, header, lines, page_count=inv.row["page_count"],
                                 today=datetime.now(UTC).date())
            edited = review.held(edited, duplicates.recheck_in(inv.con, invoice_id, edited.invoice))
            if edited.changes:
                earlier = inv.edits()
                confidence = inv.row["confidence"] or {}
                for change in edited.changes:
                    value, conf = review.original(change.field, change.old, confidence.get(change.field), earlier)
                    inv.audit(actor, Action.EDIT, edited.status, field=change.field, old=change.old,
                              new=change.new, original=value, confidence=conf)
                inv.write(edited.invoice, edited.positions, edited.status, edited.issues)
    except Refused as err:
        raise _refused(err) from None
    except SchemaViolation as err:
        raise ApiError(Code.BAD_REQUEST, f"the corrected invoice breaks the invoice schema: {err}") from None
    count("InvoiceFieldsCorrected", len(edited.changes))
    logger.info("invoice corrected", extra={"invoice_id": str(invoice_id), "actor": actor,
                                            "fields": [c.field for c in edited.changes], "status": edited.status})
    return _reply(invoice_id)


@router.post("/invoices/<invoice_id>/approve", summary="Approve the invoice: ready for payment (needs your claim)",
             operation_id="approveInvoice", tags=["review"],
             responses=responses(InvoiceReview, "APPROVED", *_WRITE, 412))
def approve_invoice(invoice_id: InvoiceId, if_match: IfMatch = None) -> Response[InvoiceReview]:
    return _decide(invoice_id, Action.APPROVE, None, if_match)


@router.post("/invoices/<invoice_id>/reject", summary="Reject the invoice, with a reason (needs your claim)",
             operation_id="rejectInvoice", tags=["review"],
             responses=responses(InvoiceReview, "REJECTED", *_WRITE, 412))
def reject_invoice(invoice_id: InvoiceId, request: RejectRequest, if_match: IfMatch = None) -> Response[InvoiceReview]:
    return _decide(invoice_id, Action.REJECT, request.reason, if_match, duplicate=request.duplicate)


@router.post("/invoices/<invoice_id>/clear-duplicate", summary="Not a duplicate: lift the POSSIBLE_DUPLICATE hold "
             "(needs your claim); its other issues decide its status", operation_id="clearDuplicate",
             tags=["review"], responses=responses(InvoiceReview, "the hold lifted", *_WRITE, 412))
def clear_duplicate(invoice_id: InvoiceId, if_match: IfMatch = None) -> Response[InvoiceReview]:
    actor = _reviewer()
    try:
        with review_store.locked(invoice_id) as inv:
            review.must_be_open(inv.row)
            review.must_hold_claim(inv.row, actor, inv.now)
            review.must_match(if_match, inv.row["version"], required=False)
            status = duplicates.clear_duplicate_in(inv.con, invoice_id)
            inv.update(bump=True)
            inv.audit(actor, Action.CLEAR_DUPLICATE, status.value)
    except Refused as err:
        raise _refused(err) from None
    except DuplicateNotPending as err:
        raise ApiError(Code.DUPLICATE_NOT_PENDING, str(err)) from None
    count("DuplicateCleared")
    logger.info("duplicate hold cleared", extra={"invoice_id": str(invoice_id), "actor": actor, "status": status})
    return _reply(invoice_id)


def _decide(invoice_id: uuid.UUID, action: Action, reason: str | None, if_match: str | None, *,
            duplicate: bool = False) -> Response[InvoiceReview]:
    actor = _reviewer()
    status = InvoiceStatus.APPROVED if action is Action.APPROVE else InvoiceStatus.REJECTED
    try:
        with review_store.locked(invoice_id) as inv:
            review.must_be_open(inv.row)
            review.must_hold_claim(inv.row, actor, inv.now)
            review.must_match(if_match, inv.row["version"], required=False)
            if action is Action.APPROVE:
                review.may_approve(inv.row, actor, {e["actor"] for e in inv.edits()},
                                   second_approver=config.settings().review_second_approver)
            if duplicate:
                reason = f"{reason} ({duplicates.confirm_duplicate_in(inv.con, invoice_id)})"
            inv.update(bump=True, validation_status=status.value, decided_by=actor, decided_at=inv.now,
                       decision_reason=reason, claimed_by=None, claim_expires_at=None)
            inv.audit(actor, action, status.value, reason=reason)
            # Announced in the decision's own transaction; the pipeline's publish-events function sends it.
            event_type = EventType.INVOICE_APPROVED if action is Action.APPROVE else EventType.INVOICE_REJECTED
            extra = {"actor": actor} if action is Action.APPROVE else {"actor": actor, "reason": reason}
            outbox.enqueue(inv.con, invoice_event(event_type, inv.row["document_id"], inv.row, **extra))
    except Refused as err:
        raise _refused(err) from None
    except DuplicateNotPending as err:
        raise ApiError(Code.DUPLICATE_NOT_PENDING, str(err)) from None
    count(f"Invoice{status.value.title()}")
    logger.info("invoice decided", extra={"invoice_id": str(invoice_id), "actor": actor, "status": status})
    return _reply(invoice_id)


@router.get("/invoices/<invoice_id>/history", summary="The invoice's audit trail, oldest first",
            operation_id="getInvoiceHistory", tags=["review"],
            responses=responses(InvoiceHistory, "every claim, release, correction and decision", *_READ))
def invoice_history(invoice_id: InvoiceId) -> InvoiceHistory:
    events = review_store.history(invoice_id)
    return InvoiceHistory(invoice_id=invoice_id, events=[AuditEvent(
        id=e["id"], at=e["at"], actor=e["actor"], action=e["action"], field=e["field"], old_value=e["old_value"],
        new_value=e["new_value"], original_value=e["original_value"],
        original_confidence=as_float(e["original_confidence"]), engine=e["engine"],
        status_after=e["status_after"], reason=e["reason"]) for e in events])
