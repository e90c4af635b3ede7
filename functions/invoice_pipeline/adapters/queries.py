"""The API's reads from Postgres: the document list with its filters and keyset pagination, a document with
its timeline, the export's rows, the documents a bulk reprocess selects, and the health check. Writes stay
in repository.py; so do the reads the pipeline shares with the API (`get_document`, `invoices_for`).

Every statement is parameterized; the SQL text is assembled only from fixed fragments chosen by which
filters are present, never from values."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from pg8000.exceptions import InterfaceError

from invoice_pipeline.adapters import db


@dataclass(frozen=True)
class DocumentFilter:
    """What GET /documents, GET /invoices/export and POST /documents/reprocess narrow by. Invoice-level
    conditions (vendor, invoice date) must hold for one and the same invoice of a document."""

    statuses: tuple[str, ...] = ()
    error_codes: tuple[str, ...] = ()  # documents.error_code, any of them
    vendor: str | None = None  # exact, case-insensitive (served by the lower(vendor_name) index)
    text: str | None = None  # substring of the file name, vendor, customer or invoice number
    received_from: datetime | None = None  # inclusive
    received_to: datetime | None = None  # exclusive
    invoice_date_from: date | None = None  # inclusive
    invoice_date_to: date | None = None  # inclusive
    invoice_statuses: tuple[str, ...] = ()  # invoices.validation_status, any of them (ready for payment: APPROVED)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, ())}


def _like(text: str) -> str:
    """A substring pattern for ILIKE: the user's % and _ are literal characters, not wildcards."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _conditions(f: DocumentFilter, params: dict[str, Any], *, invoice_alias: str | None = None) -> list[str]:
    """WHERE fragments over `documents d`. With `invoice_alias`, invoice-level filters apply to that joined
    invoice row (the export); without, to some invoice of the document (the list)."""
    where: list[str] = []
    if len(f.statuses) == 1:
        # A single status keeps the (status, created_at DESC, id) index usable for the ordered scan.
        where.append("d.status = :status")
        params["status"] = f.statuses[0]
    elif f.statuses:
        where.append("d.status = ANY(CAST(:statuses AS text[]))")
        params["statuses"] = list(f.statuses)
    if f.error_codes:
        where.append("d.error_code = ANY(CAST(:error_codes AS text[]))")
        params["error_codes"] = list(f.error_codes)
    if f.received_from is not None:
        where.append("d.created_at >= :received_from")
        params["received_from"] = f.received_from
    if f.received_to is not None:
        where.append("d.created_at < :received_to")
        params["received_to"] = f.received_to

    invoice_conds: list[str] = []
    alias = invoice_alias or "v"
    if f.vendor is not None:
        invoice_conds.append(f"lower({alias}.vendor_name) = lower(:vendor)")
        params["vendor"] = f.vendor
    if f.invoice_date_from is not None:
        invoice_conds.append(f"{alias}.invoice_date >= :invoice_date_from")
        params["invoice_date_from"] = f.invoice_date_from
    if f.invoice_date_to is not None:
        invoice_conds.append(f"{alias}.invoice_date <= :invoice_date_to")
        params["invoice_date_to"] = f.invoice_date_to
    if f.invoice_statuses:
        invoice_conds.append(f"{alias}.validation_status = ANY(CAST(:invoice_statuses AS text[]))")
        params["invoice_statuses"] = list(f.invoice_statuses)
    if invoice_conds:
        if invoice_alias:
            where.extend(invoice_conds)
        else:
            where.append("EXISTS (SELECT 1 FROM invoices v WHERE v.document_id = d.id AND "
                         + " AND ".join(invoice_conds) + ")")

    if f.text is not None:
        params["text"] = _like(f.text)
        fields = "(t.vendor_name ILIKE :text OR t.customer_name ILIKE :text OR t.invoice_number ILIKE :text)"
        if invoice_alias:
            where.append(f"(d.object_key ILIKE :text OR {fields.replace('t.', invoice_alias + '.')})")
        else:
            where.append(f"(d.object_key ILIKE :text OR EXISTS (SELECT 1 FROM invoices t WHERE"
                         f" t.document_id = d.id AND {fields}))")
    return where


def _read(sql: str, **params: Any) -> list[dict[str, Any]]:
    """One read-only statement on the process connection, outside an explicit transaction: a single
    statement is atomic and sees one snapshot on its own, and BEGIN/COMMIT would add two round trips to
    every API read. Like db.transaction, it holds the process lock (local mode shares the connection between
    threads) and replaces a connection that died since the last invocation, once."""
    with db._lock:  # noqa: SLF001 - the one lock that serializes the shared connection
        con = db.connection()
        try:
            return db.rows(con, sql, **params)
        except (InterfaceError, OSError):
            db.close()
            return db.rows(db.connection(), sql, **params)


# --- GET /documents -----------------------------------------------------------------------------------
LIST_SQL = """
SELECT d.id, d.object_key, d.status, d.media_type, d.size_bytes, d.page_count, d.error_code, d.created_at,
       d.updated_at,
       (SELECT count(*) FROM invoices c WHERE c.document_id = d.id) AS invoice_count,
       i.vendor_name, i.invoice_number, i.invoice_date, i.total, i.currency,
       i.provenance->>'engine' AS engine, i.document_type, i.validation_status AS invoice_status
FROM documents d
LEFT JOIN invoices i ON i.document_id = d.id AND i.seq = 0
WHERE {where}
ORDER BY d.created_at DESC, d.id DESC
LIMIT :limit"""


def list_sql(f: DocumentFilter, *, limit: int, after: tuple[datetime, uuid.UUID] | None) -> tuple[str, dict[str, Any]]:
    """The list statement and its parameters (separate from running it, so the benchmark can time the very
    same SQL raw)."""
    params: dict[str, Any] = {"limit": limit}
    where = _conditions(f, params)
    if after is not None:
        # Equivalent to (created_at, id) < (:t, :id), written so that `created_at <= :t` is an index
        # condition on documents_created / documents_status_created.
        where.append("d.created_at <= :after_t AND (d.created_at < :after_t OR d.id < :after_id)")
        params["after_t"], params["after_id"] = after
    return LIST_SQL.format(where=" AND ".join(where) or "TRUE"), params


def list_documents(f: DocumentFilter, *, limit: int,
                   after: tuple[datetime, uuid.UUID] | None = None) -> list[dict[str, Any]]:
    """Up to `limit` documents, newest first, strictly after the `after` position."""
    sql, params = list_sql(f, limit=limit, after=after)
    return _read(sql, **params)


# --- GET /documents/{id} ------------------------------------------------------------------------------
DETAIL_SQL = """
SELECT d.id, d.bucket, d.object_key, d.version_id, d.sha256, d.size_bytes, d.media_type, d.page_count,
       d.status, d.duplicate_of, d.error_code, d.error_message, d.execution_arn, d.textract_job_id,
       d.created_at, d.updated_at,
       (SELECT count(*) FROM invoices c WHERE c.document_id = d.id) AS invoice_count,
       (SELECT coalesce(json_agg(json_build_object(
                  'at', e.created_at, 'from_status', e.from_status, 'to_status', e.to_status,
                  'detail', e.detail, 'execution_arn', e.execution_arn) ORDER BY e.id), '[]'::json)
        FROM document_events e WHERE e.document_id = d.id) AS timeline
FROM documents d
WHERE d.id = :id"""


def document_detail(doc_id: uuid.UUID) -> dict[str, Any] | None:
    """A document with its invoice count and its whole timeline (event rows, oldest first), in one
    statement: one round trip, one snapshot."""
    found = _read(DETAIL_SQL, id=doc_id)
    return found[0] if found else None


def _live(alias: str) -> str:
    """A document that holds its content live, as the partial unique index documents_canonical_content says
    it (written out, so that the planner can use that index)."""
    return f"{alias}.status NOT IN ('FAILED', 'DUPLICATE')"


def live_owner_of_content(sha256: str, other_than: uuid.UUID) -> uuid.UUID | None:
    """Another document that holds this content live (not FAILED or DUPLICATE): the unique index lets only
    one document hold it, so a FAILED document with the same bytes cannot be reprocessed."""
    found = _read(f"SELECT o.id FROM documents o WHERE o.sha256 = :s AND {_live('o')} AND o.id <> :id",
                  s=sha256, id=other_than)
    return found[0]["id"] if found else None


# --- POST /documents/reprocess --------------------------------------------------------------------------
REPROCESS_SQL = """
SELECT d.id, d.bucket, d.object_key, d.version_id, d.status, d.updated_at,
       (SELECT o.id FROM documents o WHERE o.sha256 = d.sha256 AND {live} AND o.id <> d.id LIMIT 1) AS live_owner
FROM documents d
WHERE {where}
ORDER BY d.created_at, d.id
LIMIT :limit"""


def reprocess_candidates(f: DocumentFilter, *, limit: int) -> list[dict[str, Any]]:
    """Up to `limit` documents matching `f`, oldest upload first (the order the intake then starts them in),
    each with the live owner of its content when another document holds it (`live_owner_of_content`, in the
    same statement rather than one query per document)."""
    params: dict[str, Any] = {"limit": limit}
    where = _conditions(f, params)
    return _read(REPROCESS_SQL.format(live=_live("o"), where=" AND ".join(where) or "TRUE"), **params)


def ping() -> None:
    _read("SELECT 1 AS ok")


# --- GET /invoices/export -----------------------------------------------------------------------------
EXPORT_SQL = """
SELECT d.id AS document_id, d.object_key, d.status, d.created_at, i.id AS invoice_id, i.seq,
       i.invoice_number, i.vendor_name, i.vendor_address, i.vendor_tax_id, i.customer_name, i.customer_address,
       i.invoice_date, i.due_date, i.po_number, i.currency, i.subtotal, i.tax, i.discount, i.total,
       i.amount_due, i.validation_status, i.issues, i.provenance->>'engine' AS engine, i.document_type
FROM invoices i
JOIN documents d ON d.id = i.document_id
WHERE {where}
ORDER BY d.created_at DESC, i.id
LIMIT :limit"""

LINE_ITEMS_SQL = """
SELECT invoice_id, position, description, quantity, unit_price, amount, product_code, page, unit, tax_rate
FROM line_items WHERE invoice_id = ANY(CAST(:ids AS uuid[])) ORDER BY invoice_id, position"""


def export_batches(f: DocumentFilter, *, batch: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """The invoices matching `f`, newest document first, in batches that each carry their line items
    (`line_items`): memory stays bounded however large the export."""
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        params: dict[str, Any] = {"limit": batch}
        where = _conditions(f, params, invoice_alias="i")
        if after is not None:
            where.append("d.created_at <= :after_t AND (d.created_at < :after_t OR i.id > :after_id)")
            params["after_t"], params["after_id"] = after
        invoices = _read(EXPORT_SQL.format(where=" AND ".join(where) or "TRUE"), **params)
        if not invoices:
            return
        items = _read(LINE_ITEMS_SQL, ids=[str(inv["invoice_id"]) for inv in invoices])
        by_invoice: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for item in items:
            by_invoice.setdefault(item["invoice_id"], []).append(item)
        for inv in invoices:
            inv["line_items"] = by_invoice.get(inv["invoice_id"], [])
        yield invoices
        if len(invoices) < batch:
            return
        after = (invoices[-1]["created_at"], invoices[-1]["invoice_id"])
