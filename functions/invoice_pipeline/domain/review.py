"""The review rules, pure: who may do what to an invoice in which state, what a correction changes (field by
field, for the audit trail), and what validation says about the corrected invoice. api/review.py runs them on
the row adapters/review_store.py locked; nothing here reads a clock or a database.

Field names are the normalized invoice's paths, as Parse writes them into `confidence`: "total",
"vendor.name", and "line_items[2].amount" for a line item's value ("line_items[2]" for a whole line removed)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from invoice_pipeline.domain.status import DECISIONS, InvoiceStatus
from invoice_pipeline.domain.validation import RULES, outcome, validate_document


class Action(StrEnum):
    """What an audit row records (invoice_audit.action's CHECK constraint lists the same)."""

    CLAIM = "CLAIM"
    RELEASE = "RELEASE"
    EDIT = "EDIT"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    CLEAR_DUPLICATE = "CLEAR_DUPLICATE"  # a reviewer found a POSSIBLE_DUPLICATE hold to be no duplicate
    # A reprocess replaced the invoice's review work, asked for explicitly (domain/reprocess_review.py).
    REPROCESS = "REPROCESS"


class Refusal(StrEnum):
    """Why a review request is refused; the API answers with the error code of the same name."""

    FORBIDDEN = "FORBIDDEN"  # a viewer (or a machine client) asked to change something
    SECOND_APPROVER_REQUIRED = "SECOND_APPROVER_REQUIRED"  # you corrected it: another reviewer approves
    CLAIMED_BY_OTHER = "CLAIMED_BY_OTHER"  # another reviewer holds a live claim on it
    CLAIM_REQUIRED = "CLAIM_REQUIRED"  # editing and deciding need your own live claim
    ALREADY_DECIDED = "ALREADY_DECIDED"  # APPROVED or REJECTED: final
    NOT_APPROVABLE = "NOT_APPROVABLE"  # validation still finds an error: correct it first, or reject
    PRECONDITION_FAILED = "PRECONDITION_FAILED"  # If-Match names an older version
    PRECONDITION_REQUIRED = "PRECONDITION_REQUIRED"  # PATCH without If-Match


class Refused(Exception):
    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


# Header fields a reviewer may correct: path in the normalized invoice -> invoices column.
HEADER_FIELDS: dict[str, str] = {
    "invoice_number": "invoice_number", "vendor.name": "vendor_name", "vendor.address": "vendor_address",
    "vendor.tax_id": "vendor_tax_id", "customer.name": "customer_name", "customer.address": "customer_address",
    "invoice_date": "invoice_date", "due_date": "due_date", "po_number": "po_number", "currency": "currency",
    "subtotal": "subtotal", "tax": "tax", "discount": "discount", "total": "total", "amount_due": "amount_due",
}
LINE_FIELDS: tuple[str, ...] = ("description", "quantity", "unit_price", "amount", "product_code")
# A reviewer's value is a person's reading of the page: as sure as a value gets.
CORRECTED_CONFIDENCE = 1.0


@dataclass(frozen=True)
class Change:
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class LineEdit:
    position: int
    values: dict[str, str | None] = field(default_factory=dict)  # only the fields sent
    remove: bool = False


@dataclass(frozen=True)
class Edited:
    invoice: dict[str, Any]  # the normalized invoice after the changes
    positions: list[int]  # each line item's position, as the reviewer named it (lines are not renumbered)
    changes: list[Change]
    status: InvoiceStatus
    issues: list[dict[str, Any]]


# --- values ---------------------------------------------------------------------------------------------
def text(value: Any) -> str | None:
    """A stored value as the normalized invoice and the audit write it: decimal strings, ISO dates."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def normalized(row: dict[str, Any]) -> dict[str, Any]:
    """An invoices row (with `line_items`) as the normalized invoice (schemas/invoice.schema.json)."""
    def party(prefix: str, tax_id: bool) -> dict[str, Any]:
        out = {"name": row[f"{prefix}_name"], "address": row[f"{prefix}_address"]}
        if tax_id:
            out["tax_id"] = row[f"{prefix}_tax_id"]
        return out

    inv: dict[str, Any] = {path: text(row[col]) for path, col in HEADER_FIELDS.items() if "." not in path}
    inv["vendor"], inv["customer"] = party("vendor", True), party("customer", False)
    inv["line_items"] = [{**{f: text(i[f]) for f in LINE_FIELDS}, "page": i.get("page")}
                         for i in sorted(row["line_items"], key=lambda i: i["position"])]
    for item in inv["line_items"]:
        if item["page"] is None:
            del item["page"]
    inv["confidence"] = dict(row.get("confidence") or {})
    inv["alternatives"] = dict(row.get("alternatives") or {})
    inv["provenance"] = dict(row.get("provenance") or {})
    return inv


def value_at(invoice: dict[str, Any], path: str) -> str | None:
    if "." in path:
        group, name = path.split(".", 1)
        return (invoice.get(group) or {}).get(name)
    return invoice.get(path)


# --- who and when ---------------------------------------------------------------------------------------
def claim_live(row: dict[str, Any], now: datetime) -> bool:
    return row["claimed_by"] is not None and row["claim_expires_at"] > now


def must_be_open(row: dict[str, Any]) -> None:
    if row["validation_status"] in DECISIONS:
        raise Refused(Refusal.ALREADY_DECIDED, f"invoice {row['id']} is {row['validation_status']}: final")


def must_hold_claim(row: dict[str, Any], actor: str, now: datetime) -> None:
    """Editing and deciding need the caller's own live claim."""
    if claim_live(row, now) and row["claimed_by"] != actor:
        raise Refused(Refusal.CLAIMED_BY_OTHER, f"invoice {row['id']} is claimed by {row['claimed_by']} until "
                                                f"{row['claim_expires_at'].isoformat()}")
    if not claim_live(row, now):
        raise Refused(Refusal.CLAIM_REQUIRED, f"claim invoice {row['id']} first (POST /invoices/{row['id']}/claim)")


def may_claim(row: dict[str, Any], actor: str, now: datetime) -> None:
    must_be_open(row)
    if claim_live(row, now) and row["claimed_by"] != actor:
        raise Refused(Refusal.CLAIMED_BY_OTHER, f"invoice {row['id']} is claimed by {row['claimed_by']} until "
                                                f"{row['claim_expires_at'].isoformat()}")


def etag(version: int) -> str:
    return f'"{version}"'


def must_match(if_match: str | None, version: int, *, required: bool) -> None:
    """Optimistic concurrency: If-Match names the version the client read (its ETag); `*` matches any."""
    if if_match is None or not if_match.strip():
        if required:
            raise Refused(Refusal.PRECONDITION_REQUIRED, "If-Match is required: send the ETag of GET "
                                                         "/invoices/{id}")
        return
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in tags and etag(version) not in tags:
        raise Refused(Refusal.PRECONDITION_FAILED, f"the invoice changed: it is now version {version} "
                                                   f"(ETag {etag(version)}); read it again")


def may_approve(row: dict[str, Any], actor: str, edited_by: set[str], *, second_approver: bool) -> None:
    """Approve only what validation passes; with the four-eyes setting, not what you corrected yourself."""
    if row["validation_status"] != InvoiceStatus.COMPLETED:
        raise Refused(Refusal.NOT_APPROVABLE, f"invoice {row['id']} is {row['validation_status']}: validation "
                                              "still finds an error (see its issues); correct it or reject it")
    if second_approver and actor in edited_by:
        raise Refused(Refusal.SECOND_APPROVER_REQUIRED, f"you corrected invoice {row['id']}: another reviewer "
                                                        "must approve it (the second-approver setting is on)")


# --- corrections ----------------------------------------------------------------------------------------
def _line_path(position: int, name: str | None = None) -> str:
    return f"line_items[{position}]" + (f".{name}" if name else "")


def apply(invoice: dict[str, Any], header: dict[str, str | None], lines: list[LineEdit],
          positions: list[int] | None = None) -> tuple[dict[str, Any], list[int], list[Change]]:
    """The invoice with the corrections applied, its lines' positions, and each value that changed (unchanged
    values are no change). `positions` are the stored lines' (default 0..n-1); a line edit at a position the
    invoice does not have adds a line there."""
    inv = json.loads(json.dumps(invoice))
    changes: list[Change] = []
    for path in (p for p in HEADER_FIELDS if p in header):  # in the invoice's order, whatever the request's
        new, old = header[path], value_at(inv, path)
        if old == new:
            continue
        if "." in path:
            group, name = path.split(".", 1)
            inv.setdefault(group, {})[name] = new
        else:
            inv[path] = new
        changes.append(Change(path, old, new))
    items = dict(zip(positions if positions is not None else range(len(inv["line_items"])), inv["line_items"],
                     strict=True))
    for edit in lines:
        current = items.get(edit.position)
        if edit.remove:
            if current is not None:
                changes.append(Change(_line_path(edit.position), json.dumps(current, sort_keys=True), None))
                del items[edit.position]
            continue
        if current is None:
            if not edit.values:
                continue
            current = items[edit.position] = dict.fromkeys(LINE_FIELDS)
        for name, new in edit.values.items():
            if current.get(name) != new:
                changes.append(Change(_line_path(edit.position, name), current.get(name), new))
                current[name] = new
    inv["line_items"] = [items[p] for p in sorted(items)]
    for change in changes:
        inv["confidence"][change.field] = CORRECTED_CONFIDENCE
        inv["alternatives"].pop(change.field, None)
    return inv, sorted(items), changes


def revalidate(invoice: dict[str, Any], *, seq: int, page_count: int | None, kept: list[dict[str, Any]],
               today: date) -> tuple[InvoiceStatus, list[dict[str, Any]]]:
    """Validation over the corrected invoice, as Validate judges it (schema first: SchemaViolation for a value
    the contract forbids). Issues that validation does not make are kept as they were. The duplicate hold is
    not kept: the caller looks the corrected invoice up again (adapters/duplicates.recheck_in) and holds it with
    `held` if it still matches, since a corrected number or total can make or unmake a duplicate."""
    doc = {"schema_version": "1", "engine": invoice["provenance"].get("engine", "local"),
           "page_count": page_count or 0, "invoices": [invoice]}
    result = validate_document(doc, today=today)
    issues = [{**i.to_dict(), "invoice_index": seq} for i in result.issues]
    issues += [i for i in kept if i.get("code") not in RULES]
    return outcome(i.get("severity") for i in issues), issues


def held(edited: Edited, duplicate_issue: dict[str, Any] | None) -> Edited:
    """The edited invoice with the duplicate lookup's verdict on it (None: it duplicates nothing)."""
    if duplicate_issue is None:
        return edited
    issues = [*edited.issues, duplicate_issue]
    return Edited(edited.invoice, edited.positions, edited.changes, outcome(i.get("severity") for i in issues),
                  issues)


def edit(row: dict[str, Any], header: dict[str, str | None], lines: list[LineEdit], *, page_count: int | None,
         today: date) -> Edited:
    stored = [i["position"] for i in sorted(row["line_items"], key=lambda i: i["position"])]
    inv, positions, changes = apply(normalized(row), header, lines, stored)
    status, issues = revalidate(inv, seq=row["seq"], page_count=page_count, kept=list(row["issues"] or []),
                                today=today)
    return Edited(inv, positions, changes, status, issues)


def original(field_name: str, current: str | None, confidence: Any,
             earlier_edits: list[dict[str, Any]]) -> tuple[str | None, Any]:
    """The engine's value of a field and its confidence: as the field's first correction found them, else
    as they are now (this is its first correction)."""
    for row in earlier_edits:
        if row["field"] == field_name:
            return row["original_value"], row["original_confidence"]
    return current, confidence
