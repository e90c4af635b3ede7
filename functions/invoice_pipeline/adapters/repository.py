"""Every read and write the pipeline makes to Postgres. All SQL is parameterized; each public function is
one transaction, and every status change writes its event row in the same transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from invoice_pipeline.adapters import duplicates, outbox, reprocess_review
from invoice_pipeline.adapters.db import database_error, rows, transaction
from invoice_pipeline.domain.status import TERMINAL, DocumentStatus
from invoice_pipeline.domain.validation import outcome
from invoice_pipeline.errors import DocumentNotFound

if TYPE_CHECKING:  # pg8000 is imported by the first connection (adapters/db.py)
    from pg8000.exceptions import DatabaseError

    from invoice_pipeline.adapters.db import Connection

_DOC_COLUMNS = (
    "id, bucket, object_key, version_id, sha256, size_bytes, media_type, page_count, status, duplicate_of,"
    " error_code, error_message, execution_arn, textract_job_id, result_key, created_at, updated_at"
)


@dataclass(frozen=True)
class Document:
    id: uuid.UUID
    bucket: str
    object_key: str
    version_id: str
    sha256: str | None
    size_bytes: int | None
    media_type: str | None
    page_count: int | None
    status: DocumentStatus
    duplicate_of: uuid.UUID | None
    error_code: str | None
    error_message: str | None
    execution_arn: str | None
    textract_job_id: str | None
    result_key: str | None
    created_at: Any
    updated_at: Any


@dataclass(frozen=True)
class Registration:
    document: Document
    outcome: str  # "new" | "duplicate" | "existing" | "review_kept"


def _doc(row: dict[str, Any]) -> Document:
    return Document(**{**row, "status": DocumentStatus(row["status"])})


def _one(con: Connection, where: str, **params: Any) -> Document | None:
    found = rows(con, f"SELECT {_DOC_COLUMNS} FROM documents WHERE {where}", **params)
    return _doc(found[0]) if found else None


def _event(con: Connection, doc_id: uuid.UUID, from_status: DocumentStatus | None, to_status: DocumentStatus,
           detail: dict[str, Any] | None = None, execution_arn: str | None = None) -> None:
    con.run(
        "INSERT INTO document_events (document_id, from_status, to_status, detail, execution_arn)"
        " VALUES (:d, :f, :t, CAST(:detail AS jsonb), :x)",
        d=doc_id, f=from_status, t=to_status, detail=json.dumps(detail or {}), x=execution_arn,
    )


def get_document(doc_id: uuid.UUID | str) -> Document:
    with transaction() as con:
        doc = _one(con, "id = :id", id=uuid.UUID(str(doc_id)))
    if doc is None:
        raise DocumentNotFound(f"document {doc_id} does not exist")
    return doc


def find_by_source(bucket: str, key: str, version_id: str) -> Document | None:
    with transaction() as con:
        return _one(con, "bucket = :b AND object_key = :k AND version_id = :v", b=bucket, k=key, v=version_id)


def register(*, bucket: str, key: str, version_id: str, sha256: str, size: int, media_type: str,
             page_count: int, execution_arn: str | None, reprocess: dict[str, Any] | None = None) -> Registration:
    """Create the document for one S3 object version, or find it again.

    - the same object version again (a redelivered event, a retried Lambda): the existing row, outcome
      "existing";
    - new object whose bytes match a live document: a DUPLICATE row linked to it;
    - otherwise a RECEIVED row.
    With `reprocess` ({"document_id", ...} from POST /documents/{id}/reprocess), the existing document is
    started over instead (see `_reregister`).
    The unique indexes settle races between concurrent executions; the loser re-reads."""
    if reprocess is not None:
        return _reregister(uuid.UUID(str(reprocess["document_id"])), reprocess, sha256=sha256, size=size,
                           media_type=media_type, page_count=page_count, execution_arn=execution_arn)
    for _attempt in range(3):
        existing = find_by_source(bucket, key, version_id)
        if existing is not None:
            return Registration(existing, "existing")
        try:
            with transaction() as con:
                # Written out as the partial index documents_canonical_content says it, so that the planner
                # can use that index (a bound parameter would hide the implication).
                original = _one(
                    con, "sha256 = :s AND status NOT IN ('FAILED', 'DUPLICATE')", s=sha256
                )
                doc_id = uuid.uuid4()
                status = DocumentStatus.DUPLICATE if original else DocumentStatus.RECEIVED
                con.run(
                    "INSERT INTO documents (id, bucket, object_key, version_id, sha256, size_bytes,"
                    " media_type, page_count, status, duplicate_of, execution_arn)"
                    " VALUES (:id, :b, :k, :v, :s, :size, :mt, :pc, :st, :dup, :x)",
                    id=doc_id, b=bucket, k=key, v=version_id, s=sha256, size=size, mt=media_type,
                    pc=page_count, st=status, dup=original.id if original else None, x=execution_arn,
                )
                detail: dict[str, Any] = {"key": key, "sha256": sha256}
                if original:
                    detail["duplicate_of"] = str(original.id)
                _event(con, doc_id, None, status, detail, execution_arn)
                doc = _one(con, "id = :id", id=doc_id)
            assert doc is not None
            return Registration(doc, "duplicate" if original else "new")
        except database_error() as exc:
            if _is_unique_violation(exc):
                continue  # a concurrent execution registered the same version or content first
            raise
    raise RuntimeError("could not register the document after 3 attempts")  # pragma: no cover


def _reregister(doc_id: uuid.UUID, reprocess: dict[str, Any], *, sha256: str, size: int, media_type: str,
                page_count: int, execution_arn: str | None) -> Registration:
    """Start a finished document over for a reprocess execution, bypassing duplicate detection: back to
    RECEIVED with this execution, its error, job and earlier invoices cleared (Persist writes the new set),
    and a timeline event saying why. Outcome "new", or "existing" (changing nothing) when the document is
    still being processed, is a DUPLICATE, or is already this execution's, or "review_kept" (changing nothing)
    when a reviewer's work on its invoices would be replaced and the request did not say `discard_review`."""
    with transaction() as con:
        current = _one(con, "id = :id FOR UPDATE", id=doc_id)
        if current is None:
            raise DocumentNotFound(f"document {doc_id} does not exist")
        if (current.execution_arn == execution_arn or current.status not in TERMINAL
                or current.status == DocumentStatus.DUPLICATE):
            return Registration(current, "existing")
        # A reviewer worked on its invoices after the request was accepted (a bulk request waits in the intake
        # queue): kept, unless the request was allowed to replace that work (api/reprocess_review.py).
        if not reprocess.get("discard_review") and reprocess_review.work_in(con, [doc_id]):
            return Registration(current, "review_kept")
        con.run("DELETE FROM invoices WHERE document_id = :id", id=doc_id)
        con.run(
            "UPDATE documents SET status = :st, sha256 = :s, size_bytes = :size, media_type = :mt,"
            " page_count = :pc, duplicate_of = NULL, error_code = NULL, error_message = NULL,"
            " textract_job_id = NULL, result_key = NULL, execution_arn = :x, updated_at = now() WHERE id = :id",
            st=DocumentStatus.RECEIVED, s=sha256, size=size, mt=media_type, pc=page_count, x=execution_arn, id=doc_id,
        )
        _event(con, doc_id, current.status, DocumentStatus.RECEIVED,
               {"reprocess": True, "requested_by": reprocess.get("requested_by"),
                "request_key": reprocess.get("request_key"),
                "previous_execution_arn": current.execution_arn, "sha256": sha256}, execution_arn)
        doc = _one(con, "id = :id", id=doc_id)
    assert doc is not None
    return Registration(doc, "new")


def record_reprocess_requests(requests: list[tuple[uuid.UUID, str, str]], *, requested_by: str,
                              request_id: str | None) -> None:
    """A timeline event for each (document id, request key, execution name) a bulk reprocess is about to
    queue: its document waits in the intake queue, maybe for hours, before the execution's own RECEIVED event
    says who asked. The status does not change (from = to, as `transition` writes a detail-only event), and
    updated_at is left alone: the request key is derived from it. One statement for the whole list."""
    if not requests:
        return
    with transaction() as con:
        _record_requests(con, requests, requested_by=requested_by, request_id=request_id)


def _record_requests(con: Connection, requests: list[tuple[uuid.UUID, str, str]], *, requested_by: str,
                     request_id: str | None) -> None:
    con.run(
        "INSERT INTO document_events (document_id, from_status, to_status, detail)"
        " SELECT d.id, d.status, d.status, jsonb_build_object('reprocess_requested', true,"
        " 'requested_by', CAST(:by AS text), 'request_key', r.request_key, 'execution_name', r.name,"
        " 'request_id', CAST(:rid AS text))"
        " FROM unnest(CAST(:ids AS uuid[]), CAST(:keys AS text[]), CAST(:names AS text[]))"
        " AS r(id, request_key, name) JOIN documents d ON d.id = r.id",
        ids=[str(i) for i, _k, _n in requests], keys=[k for _i, k, _n in requests],
        names=[n for _i, _k, n in requests], by=requested_by, rid=request_id,
    )


# pg_advisory_xact_lock(REPROCESS_LOCKS, hashtext(document id)): the two-key space, apart from the migrations'.
REPROCESS_LOCKS = 7_263_542


@dataclass
class ReprocessClaim:
    """A document held for one reprocess request (see `claim_reprocess`), as it is now."""

    document: Document
    _con: Connection

    @property
    def con(self) -> Connection:
        """The claim's transaction, for writes that must commit with the request (api/reprocess_review.py)."""
        return self._con

    def record(self, request_key: str, execution_name: str, *, requested_by: str, request_id: str | None) -> None:
        """Record this request (the timeline event a bulk request writes): it commits with the claim."""
        _record_requests(self._con, [(self.document.id, request_key, execution_name)], requested_by=requested_by,
                         request_id=request_id)


@contextmanager
def claim_reprocess(doc_id: uuid.UUID) -> Iterator[ReprocessClaim]:
    """One transaction in which a single reprocess request is decided: the caller checks the document as it
    is now, records the request and starts the execution before the block ends; whatever it raises undoes the
    record. Requests for the same document wait for each other here (an advisory lock, so that the API needs
    no write on documents), so each sees what the one before it did: the execution it started (Step
    Functions refuses a second one of the name the document's state gives), or the document already moved
    on by it. Nothing else may open a transaction inside the block (it would commit this one)."""
    with transaction() as con:
        con.run("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), hashtext(CAST(:id AS text)))", ns=REPROCESS_LOCKS,
                id=str(doc_id))
        doc = _one(con, "id = :id", id=doc_id)
        if doc is None:
            raise DocumentNotFound(f"document {doc_id} does not exist")
        yield ReprocessClaim(doc, con)


def _is_unique_violation(exc: DatabaseError) -> bool:
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return info.get("C") == "23505"


_SETTABLE = {"textract_job_id", "result_key", "error_code", "error_message", "execution_arn"}


def transition(doc_id: uuid.UUID | str, to_status: DocumentStatus, *, detail: dict[str, Any] | None = None,
               execution_arn: str | None = None, **fields: Any) -> Document:
    """Move a document to a new status, with its event row, optionally setting other columns."""
    with transaction() as con:
        return transition_in(con, doc_id, to_status, detail=detail, execution_arn=execution_arn, **fields)


def transition_in(con: Connection, doc_id: uuid.UUID | str, to_status: DocumentStatus, *,
                  detail: dict[str, Any] | None = None, execution_arn: str | None = None, **fields: Any) -> Document:
    """`transition` inside a caller's transaction, for writes that must commit together with the move."""
    unknown = set(fields) - _SETTABLE
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)}")
    doc_id = uuid.UUID(str(doc_id))
    current = _one(con, "id = :id FOR UPDATE", id=doc_id)
    if current is None:
        raise DocumentNotFound(f"document {doc_id} does not exist")
    sets = ["status = :st", "updated_at = now()"] + [f"{k} = :{k}" for k in fields]
    if execution_arn:
        sets.append("execution_arn = :execution_arn")
    con.run(f"UPDATE documents SET {', '.join(sets)} WHERE id = :id", id=doc_id, st=to_status,
            **fields, **({"execution_arn": execution_arn} if execution_arn else {}))
    if current.status != to_status or detail:
        _event(con, doc_id, current.status, to_status, detail, execution_arn)
    doc = _one(con, "id = :id", id=doc_id)
    assert doc is not None
    return doc


def record_failure(*, error_code: str, error_message: str, execution_arn: str | None,
                   doc_id: str | None = None, source: tuple[str, str, str] | None = None,
                   size: int | None = None) -> Document:
    """Mark a document FAILED with its named error. When the failure came before the document existed
    (e.g. an empty or unsupported upload), the row is created from the S3 source so nothing is lost, with
    the object's `size` as the event reported it (a refused upload's size is often why it was refused)."""
    if doc_id is None and source is not None:
        existing = find_by_source(*source)
        if existing is None:
            bucket, key, version_id = source
            with transaction() as con:
                new_id = uuid.uuid4()
                con.run(
                    "INSERT INTO documents (id, bucket, object_key, version_id, size_bytes, status, execution_arn)"
                    " VALUES (:id, :b, :k, :v, :size, :st, :x) ON CONFLICT DO NOTHING",
                    id=new_id, b=bucket, k=key, v=version_id, size=size, st=DocumentStatus.RECEIVED,
                    x=execution_arn,
                )
                _event(con, new_id, None, DocumentStatus.RECEIVED, {"key": key}, execution_arn)
            existing = find_by_source(*source)
        assert existing is not None
        doc_id = str(existing.id)
    if doc_id is None:
        raise DocumentNotFound("a failure with neither a document id nor an S3 source cannot be recorded")
    with transaction() as con:
        doc = transition_in(con, doc_id, DocumentStatus.FAILED, detail={"error": error_code,
                            "cause": error_message[:2000]}, execution_arn=execution_arn, error_code=error_code,
                            error_message=error_message[:4000])
        outbox.enqueue_failed(con, doc.id, error_code=error_code, error_message=error_message,
                              object_key=doc.object_key)
    return doc


# --- task tokens --------------------------------------------------------------------------------------
def save_task_token(*, tag: str, doc_id: uuid.UUID | str, task_token: str, execution_arn: str | None) -> None:
    """Store the token before Textract is called, so a fast notification always finds it. A retried
    StartAnalysis gets a new token from Step Functions: the newest one wins."""
    with transaction() as con:
        con.run(
            "INSERT INTO task_tokens (id, document_id, task_token, execution_arn) VALUES (:id, :d, :t, :x)"
            " ON CONFLICT (id) DO UPDATE SET task_token = EXCLUDED.task_token,"
            " execution_arn = EXCLUDED.execution_arn, job_id = NULL, consumed_at = NULL, outcome = NULL,"
            " created_at = now()",
            id=tag, d=uuid.UUID(str(doc_id)), t=task_token, x=execution_arn,
        )


def set_job_id(tag: str, job_id: str) -> None:
    with transaction() as con:
        con.run("UPDATE task_tokens SET job_id = :j WHERE id = :id", j=job_id, id=tag)


def get_task_token(tag: str) -> dict[str, Any] | None:
    with transaction() as con:
        found = rows(con, "SELECT * FROM task_tokens WHERE id = :id", id=tag)
    return found[0] if found else None


def consume_task_token(tag: str, outcome: str) -> bool:
    """Mark a token used; False when it already was (a duplicate notification)."""
    with transaction() as con:
        done = con.run(
            "UPDATE task_tokens SET consumed_at = now(), outcome = :o WHERE id = :id AND consumed_at IS NULL"
            " RETURNING id", o=outcome, id=tag,
        )
    return bool(done)


# --- invoices -----------------------------------------------------------------------------------------
def _dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def persist_invoices(doc_id: uuid.UUID | str, normalized: dict[str, Any], *, status: DocumentStatus,
                     issues: list[dict[str, Any]], execution_arn: str | None) -> Document:
    """Write every invoice of a document and move it to its final status, all in one transaction.
    Idempotent: a retried Persist replaces what an earlier attempt wrote, it never adds a second copy. An invoice
    that possibly duplicates one stored from other bytes is held (NEEDS_REVIEW; adapters/duplicates.py)."""
    doc_id = uuid.UUID(str(doc_id))
    with transaction() as con:
        current = _one(con, "id = :id FOR UPDATE", id=doc_id)
        if current is None:
            raise DocumentNotFound(f"document {doc_id} does not exist")
        con.run("DELETE FROM invoices WHERE document_id = :d", d=doc_id)
        for seq, inv in enumerate(normalized.get("invoices", [])):
            inv_id = uuid.uuid4()
            inv_issues = [i for i in issues if i.get("invoice_index") in (seq, None)]
            con.run(
                "INSERT INTO invoices (id, document_id, seq, invoice_number, vendor_name, vendor_address,"
                " vendor_tax_id, customer_name, customer_address, invoice_date, due_date, po_number, currency,"
                " subtotal, tax, discount, total, amount_due, validation_status, issues, confidence,"
                " alternatives, provenance, document_type, delivery_date, prepaid, allowances_charges,"
                " tax_breakdown, payment) VALUES (:id, :d, :seq, :num, :vn, :va, :vt, :cn, :ca, :idate,"
                " :ddate, :po, :cur, :sub, :tax, :disc, :tot, :due, :vs, CAST(:issues AS jsonb),"
                " CAST(:conf AS jsonb), CAST(:alts AS jsonb), CAST(:prov AS jsonb), :dtype, :deliv, :prepaid,"
                " CAST(:ac AS jsonb), CAST(:tb AS jsonb), CAST(:pay AS jsonb))",
                id=inv_id, d=doc_id, seq=seq, num=inv.get("invoice_number"),
                vn=inv["vendor"].get("name"), va=inv["vendor"].get("address"), vt=inv["vendor"].get("tax_id"),
                cn=inv["customer"].get("name"), ca=inv["customer"].get("address"),
                idate=_date(inv.get("invoice_date")), ddate=_date(inv.get("due_date")),
                po=inv.get("po_number"), cur=inv.get("currency"), sub=_dec(inv.get("subtotal")),
                tax=_dec(inv.get("tax")), disc=_dec(inv.get("discount")), tot=_dec(inv.get("total")),
                due=_dec(inv.get("amount_due")),
                vs=outcome(i.get("severity") for i in inv_issues),
                issues=json.dumps(inv_issues), conf=json.dumps(inv.get("confidence", {})),
                alts=json.dumps(inv.get("alternatives", {})), prov=json.dumps(inv.get("provenance", {})),
                **_structured(inv),
            )
            _insert_line_items(con, inv_id, inv.get("line_items", []))
        if held := duplicates.flag_duplicates(con, doc_id, current.sha256, normalized):
            status, issues = DocumentStatus.NEEDS_REVIEW, [*issues, *held]
        con.run("UPDATE documents SET status = :st, updated_at = now() WHERE id = :id", st=status, id=doc_id)
        _event(con, doc_id, current.status, status,
               {"invoices": len(normalized.get("invoices", [])), "issues": [i["code"] for i in issues]},
               execution_arn)
        outbox.enqueue_persisted(con, doc_id, status)  # the downstream events, committed with the change
        # A finished document holds no Textract slot. Callback frees it when the job ends; if Postgres went away
        # between its SendTaskSuccess and that release, the execution went on and the slot would stay HELD
        # until the dispatch function reclaimed it (test_fault_matrix's outage found one).
        con.run("DELETE FROM textract_slots WHERE document_id = :id", id=doc_id)
        doc = _one(con, "id = :id", id=doc_id)
    assert doc is not None
    return doc


def _json_or_null(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _structured(inv: dict[str, Any]) -> dict[str, Any]:
    """What only a structured invoice states (migration 0005), as persist's parameters: null where the engine
    gave none (the OCR engines state no allowances, tax breakdown or payment)."""
    return {
        "dtype": inv.get("document_type"), "deliv": _date(inv.get("delivery_date")),
        "prepaid": _dec(inv.get("prepaid")),
        "ac": _json_or_null(inv.get("allowances_charges")), "tb": _json_or_null(inv.get("tax_breakdown")),
        "pay": _json_or_null(inv.get("payment")),
    }


def _insert_line_items(con: Connection, invoice_id: uuid.UUID, items: list[dict[str, Any]]) -> None:
    """All line items of an invoice in one statement: one round trip however long the invoice is. They travel
    as one JSON parameter (amounts as the decimal strings they are), so no count of lines runs into the
    protocol's limit of 65,535 parameters."""
    if not items:
        return
    rows_json = json.dumps([
        {"position": pos, **{key: item.get(key) for key in _LINE_ITEM_COLUMNS}} for pos, item in enumerate(items)
    ])
    con.run(
        "INSERT INTO line_items (invoice_id, position, " + ", ".join(_LINE_ITEM_COLUMNS) + ")"
        " SELECT :inv, t.position, " + ", ".join(f"t.{c}" for c in _LINE_ITEM_COLUMNS) +
        " FROM jsonb_to_recordset(CAST(:items AS jsonb)) AS t(position integer, description text,"
        " quantity numeric, unit_price numeric, amount numeric, product_code text, page integer, unit text,"
        " tax_rate numeric)",
        inv=invoice_id, items=rows_json,
    )


# The normalized line item's keys, which are also line_items' columns (amounts are decimal strings there).
_LINE_ITEM_COLUMNS = ("description", "quantity", "unit_price", "amount", "product_code", "page", "unit", "tax_rate")


def invoices_for(doc_id: uuid.UUID | str) -> list[dict[str, Any]]:
    """Invoices of a document with their line items, as stored (for the API, CLI and tests)."""
    doc_id = uuid.UUID(str(doc_id))
    with transaction() as con:
        invoices = rows(con, "SELECT * FROM invoices WHERE document_id = :d ORDER BY seq", d=doc_id)
        for inv in invoices:
            inv["line_items"] = rows(
                con, "SELECT * FROM line_items WHERE invoice_id = :i ORDER BY position", i=inv["id"]
            )
    return invoices


def events_for(doc_id: uuid.UUID | str) -> list[dict[str, Any]]:
    with transaction() as con:
        return rows(con, "SELECT * FROM document_events WHERE document_id = :d ORDER BY id",
                    d=uuid.UUID(str(doc_id)))
