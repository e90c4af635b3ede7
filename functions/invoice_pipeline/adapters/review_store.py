"""Review's reads and writes (migration 0006): one invoice locked for the length of a request's transaction,
its changes, and the append-only audit rows. The API's database role holds exactly the grants these need."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from invoice_pipeline.adapters.db import Connection, rows, transaction
from invoice_pipeline.domain.review import HEADER_FIELDS, LINE_FIELDS, Action
from invoice_pipeline.errors import InvoiceNotFound

_AUDIT_COLUMNS = ("id, invoice_id, document_id, actor, at, action, field, old_value, new_value, original_value,"
                  " original_confidence, engine, vendor_name, status_after, reason")
_AMOUNTS = frozenset({"subtotal", "tax", "discount", "total", "amount_due", "quantity", "unit_price", "amount"})
_DATES = frozenset({"invoice_date", "due_date"})


def _db_value(column: str, value: str | None) -> Any:
    if value is None:
        return None
    if column in _AMOUNTS:
        return Decimal(value)
    if column in _DATES:
        return date.fromisoformat(value)
    return value


def _load(con: Connection, invoice_id: uuid.UUID, *, lock: bool) -> dict[str, Any]:
    found = rows(con, "SELECT i.*, d.page_count, now() AS now FROM invoices i JOIN documents d"
                      " ON d.id = i.document_id WHERE i.id = :id" + (" FOR UPDATE OF i" if lock else ""),
                 id=invoice_id)
    if not found:
        raise InvoiceNotFound(f"invoice {invoice_id} does not exist")
    row = found[0]
    row["line_items"] = rows(con, "SELECT * FROM line_items WHERE invoice_id = :i ORDER BY position", i=invoice_id)
    return row


def read(invoice_id: uuid.UUID) -> dict[str, Any]:
    with transaction() as con:
        return _load(con, invoice_id, lock=False)


def history(invoice_id: uuid.UUID) -> list[dict[str, Any]]:
    with transaction() as con:
        if not rows(con, "SELECT 1 AS x FROM invoices WHERE id = :id", id=invoice_id) and not rows(
                con, "SELECT 1 AS x FROM invoice_audit WHERE invoice_id = :id LIMIT 1", id=invoice_id):
            raise InvoiceNotFound(f"invoice {invoice_id} does not exist")
        return rows(con, f"SELECT {_AUDIT_COLUMNS} FROM invoice_audit WHERE invoice_id = :id ORDER BY id",
                    id=invoice_id)


@dataclass
class Locked:
    """One invoice, locked until the transaction ends: read it, change it, audit each change."""

    con: Connection
    row: dict[str, Any]

    @property
    def now(self) -> Any:
        return self.row["now"]

    def edits(self) -> list[dict[str, Any]]:
        return rows(self.con, f"SELECT {_AUDIT_COLUMNS} FROM invoice_audit WHERE invoice_id = :id AND action = "
                              "'EDIT' ORDER BY id", id=self.row["id"])

    def audit(self, actor: str, action: Action, status_after: str, *, field: str | None = None,
              old: str | None = None, new: str | None = None, original: str | None = None,
              confidence: Any = None, reason: str | None = None) -> None:
        self.con.run(
            "INSERT INTO invoice_audit (invoice_id, document_id, actor, action, field, old_value, new_value,"
            " original_value, original_confidence, engine, vendor_name, status_after, reason) VALUES (:i, :d,"
            " :a, :act, :f, :o, :n, :orig, CAST(:conf AS numeric), :e, :v, :s, :r)",
            i=self.row["id"], d=self.row["document_id"], a=actor, act=action.value, f=field, o=old, n=new,
            orig=original, conf=None if confidence is None else str(confidence),
            e=(self.row["provenance"] or {}).get("engine"), v=self.row["vendor_name"], s=status_after, r=reason)

    def update(self, *, bump: bool, **columns: Any) -> None:
        """Set review's columns (names from this module and domain/review.py, never from a request)."""
        sets = [f"{name} = :{name}" for name in columns] + (["version = version + 1"] if bump else [])
        self.con.run(f"UPDATE invoices SET {', '.join(sets)} WHERE id = :invoice_id",
                     invoice_id=self.row["id"], **columns)

    def claim(self, actor: str, seconds: int) -> None:
        self.con.run("UPDATE invoices SET claimed_by = :a, claim_expires_at = now() + make_interval(secs => :s)"
                     " WHERE id = :id", a=actor, s=seconds, id=self.row["id"])

    def write(self, invoice: dict[str, Any], positions: list[int], status: str, issues: list[dict[str, Any]]) -> None:
        """The corrected invoice (domain/review.py `edit`): its header, its line items at their positions,
        validation's verdict."""
        header = {col: _db_value(col, _get(invoice, path)) for path, col in HEADER_FIELDS.items()}
        self.update(bump=True, **header, validation_status=status)
        self.con.run("UPDATE invoices SET issues = CAST(:issues AS jsonb), confidence = CAST(:c AS jsonb),"
                     " alternatives = CAST(:alt AS jsonb) WHERE id = :id", issues=json.dumps(issues),
                     c=json.dumps(invoice["confidence"]), alt=json.dumps(invoice["alternatives"]), id=self.row["id"])
        stored = {i["position"]: i for i in self.row["line_items"]}
        wanted = dict(zip(positions, invoice["line_items"], strict=True))
        for position in sorted(set(stored) - set(wanted)):
            self.con.run("DELETE FROM line_items WHERE invoice_id = :i AND position = :p", i=self.row["id"],
                         p=position)
        for position, item in wanted.items():
            values = {f: _db_value(f, item.get(f)) for f in LINE_FIELDS}
            if position in stored:
                if any(_db_value(f, _text(stored[position][f])) != values[f] for f in LINE_FIELDS):
                    self.con.run("UPDATE line_items SET description = :description, quantity = :quantity,"
                                 " unit_price = :unit_price, amount = :amount, product_code = :product_code"
                                 " WHERE invoice_id = :i AND position = :p", i=self.row["id"], p=position, **values)
            else:
                self.con.run("INSERT INTO line_items (invoice_id, position, description, quantity, unit_price,"
                             " amount, product_code, page) VALUES (:i, :p, :description, :quantity, :unit_price,"
                             " :amount, :product_code, :page)", i=self.row["id"], p=position,
                             page=item.get("page"), **values)


def _get(invoice: dict[str, Any], path: str) -> str | None:
    if "." in path:
        group, name = path.split(".", 1)
        return (invoice.get(group) or {}).get(name)
    return invoice.get(path)


def _text(value: Any) -> str | None:
    return None if value is None else (format(value, "f") if isinstance(value, Decimal) else str(value))


@contextmanager
def locked(invoice_id: uuid.UUID) -> Iterator[Locked]:
    """The invoice row locked (SELECT ... FOR UPDATE) in a transaction that commits when the block ends."""
    with transaction() as con:
        yield Locked(con, _load(con, invoice_id, lock=True))


def accuracy_rows(since: Any, until: Any) -> tuple[list[tuple[str, str | None, str | None]], list[tuple[str, str]]]:
    """For domain/accuracy.py: the invoices approved in [since, until) (their last approval's engine and vendor),
    and every correction ever made to them."""
    with transaction() as con:
        approved = rows(con, "SELECT DISTINCT ON (invoice_id) invoice_id::text AS i, engine, vendor_name"
                             " FROM invoice_audit WHERE action = 'APPROVE' AND at >= :s AND at < :u"
                             " ORDER BY invoice_id, id DESC", s=since, u=until)
        edits = rows(con, "SELECT invoice_id::text AS i, field FROM invoice_audit WHERE action = 'EDIT'"
                          " AND invoice_id = ANY(CAST(:ids AS uuid[]))", ids=[r["i"] for r in approved])
    return ([(r["i"], r["engine"], r["vendor_name"]) for r in approved], [(r["i"], r["field"]) for r in edits])
