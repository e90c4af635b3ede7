"""Request and response bodies of the review routes (api/review.py). Corrections are sent the way invoices are
shown: amounts as decimal strings, dates as YYYY-MM-DD."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from invoice_pipeline.api.models import NO_NUL, Amount, Invoice, IsoDate, _Model
from invoice_pipeline.domain.accuracy import By
from invoice_pipeline.domain.review import Action
from invoice_pipeline.domain.status import InvoiceStatus

Text = Annotated[str, Field(min_length=1, max_length=1000, pattern=NO_NUL)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]


class PartyPatch(_Model):
    name: Text | None = None
    address: Text | None = None
    tax_id: Text | None = None


class LineItemPatch(_Model):
    """One line: the fields sent are set (null clears one). A position the invoice does not have adds a line."""

    position: int = Field(ge=0, le=9999)
    remove: bool = Field(default=False, description="remove this line (no other field may be sent with it)")
    description: Text | None = None
    quantity: Amount | None = None
    unit_price: Amount | None = None
    amount: Amount | None = None
    product_code: Text | None = None


class InvoicePatch(_Model):
    """Corrections: only the fields sent change (null clears one). Validation runs again over the result."""

    invoice_number: Text | None = None
    vendor: PartyPatch | None = None
    customer: PartyPatch | None = None
    invoice_date: IsoDate | None = None
    due_date: IsoDate | None = None
    po_number: Text | None = None
    currency: Currency | None = None
    subtotal: Amount | None = None
    tax: Amount | None = None
    discount: Amount | None = None
    total: Amount | None = None
    amount_due: Amount | None = None
    line_items: list[LineItemPatch] = Field(default_factory=list, max_length=500)


class RejectRequest(_Model):
    reason: Text
    duplicate: bool = Field(default=False, description="true confirms a POSSIBLE_DUPLICATE hold: the invoice is "
                                                        "rejected as a duplicate of the earlier one it links")


class Claim(_Model):
    by: str = Field(description="who holds it (the JWT subject)")
    expires_at: datetime


class Decision(_Model):
    status: InvoiceStatus
    by: str
    at: datetime
    reason: str | None


class InvoiceReview(_Model):
    """An invoice with its review state. The ETag header is its version: send it back as If-Match."""

    document_id: uuid.UUID
    version: int
    ready_for_payment: bool = Field(description="APPROVED: the only state in which an invoice may be paid")
    claim: Claim | None = Field(description="a live claim; none once it expired or was released")
    decision: Decision | None
    invoice: Invoice


class AuditEvent(_Model):
    id: int
    at: datetime
    actor: str = Field(description="the JWT subject of who did it")
    action: Action
    field: str | None = Field(description="for EDIT: the field's path, e.g. total or line_items[2].amount")
    old_value: str | None
    new_value: str | None
    original_value: str | None = Field(description="what the engine read, before any correction")
    original_confidence: float | None = Field(description="the engine's confidence in it, 0..1")
    engine: str | None
    status_after: InvoiceStatus
    reason: str | None


class InvoiceHistory(_Model):
    invoice_id: uuid.UUID
    events: list[AuditEvent]


def as_float(value: Any) -> float | None:
    return None if value is None else float(value)


class FieldAccuracy(_Model):
    field: str = Field(description="the field's path; line items' fields as line_items[].amount")
    corrected: int = Field(description="approved invoices whose field a reviewer corrected")
    rate: float = Field(description="corrected / reviewed: the engine's error rate on this field")


class AccuracyGroup(_Model):
    by: By
    key: str = Field(description="the engine, or the vendor's name as approved (empty when none)")
    reviewed: int = Field(description="invoices approved in the period")
    fields: list[FieldAccuracy]


class AccuracyReport(_Model):
    since: datetime
    until: datetime
    groups: list[AccuracyGroup]
