"""The duplicate-invoice control in Postgres: Persist's lookup (`flag_duplicates`, inside its transaction), the
lookup again after a reviewer's edit (`recheck_in`), and the reviewer's two answers (`clear_duplicate`,
`confirm_duplicate`). The rule is domain/duplicates.py's.

Concurrency: two documents of the same invoice persisting at once must not both pass. A unique index cannot
say it (a duplicate is stored, flagged, not refused), so each Persist takes a transaction-scoped advisory lock
per total amount (with the document kind) before it looks: both tiers need the same total, so any two invoices
that could match share a lock, and the second waits until the first has committed. Postgres' default READ
COMMITTED gives each statement a fresh snapshot, so the lookup after the lock sees what the first wrote. The
locks are taken in sorted order, so documents with several invoices cannot deadlock each other."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from invoice_pipeline.adapters.db import Connection, rows, transaction
from invoice_pipeline.domain.duplicates import (
    ISSUE_CODE,
    DuplicateReview,
    DuplicateTier,
    Keys,
    keys_of,
    without_duplicate_issue,
)
from invoice_pipeline.domain.status import InvoiceStatus
from invoice_pipeline.domain.validation import RULES, Issue, outcome
from invoice_pipeline.errors import DuplicateNotPending, InvoiceNotFound

__all__ = ["DUPLICATE_LOCKS", "Match", "clear_duplicate", "clear_duplicate_in", "confirm_duplicate",
           "confirm_duplicate_in", "find_earlier", "flag_duplicates", "recheck_in"]

# pg_advisory_xact_lock(DUPLICATE_LOCKS, hashtext(kind and total)): a key space of its own (repository's
# REPROCESS_LOCKS is 7_263_542). A hash collision only makes two unrelated documents wait for each other.
DUPLICATE_LOCKS = 7_263_543


@dataclass(frozen=True)
class Match:
    """The earlier invoice a new one possibly duplicates."""

    invoice_id: uuid.UUID
    document_id: uuid.UUID
    tier: DuplicateTier
    invoice_number: str | None

    def issue(self, invoice_index: int) -> dict[str, Any]:
        """The validation issue that holds the new invoice, naming and linking the earlier one."""
        what = ("the same seller, number and total" if self.tier is DuplicateTier.STRONG
                else "the same seller, total and date, with another number")
        message = (f"possible duplicate ({self.tier}) of invoice {self.invoice_id} (number"
                   f" {self.invoice_number or '(none)'}) in document {self.document_id}: {what}")
        field = "invoice_number" if self.tier is DuplicateTier.STRONG else "total"
        issue = Issue(code=ISSUE_CODE, severity=RULES[ISSUE_CODE], invoice_index=invoice_index, field=field,
                      message=message)
        return {**issue.to_dict(), "duplicate_of_invoice": str(self.invoice_id),
                "duplicate_of_document": str(self.document_id), "tier": self.tier.value}


# The same seller (domain/duplicates.same_seller): tax ids decide when both invoices have one, names otherwise.
_SAME_SELLER = """(CASE WHEN CAST(:tax AS text) IS NOT NULL AND i.seller_tax_key IS NOT NULL
                        THEN i.seller_tax_key = :tax ELSE i.seller_name_key = :name END)"""
# Invoices stored from other bytes, that are not already known duplicates of this document (its original,
# reprocessed, must not become a duplicate of its own copy) nor confirmed duplicates of anything.
_CANDIDATES = f"""
SELECT i.id, i.document_id, i.invoice_number,
       CASE WHEN i.number_key = :num THEN 'strong' ELSE 'weak' END AS tier
FROM invoices i JOIN documents d ON d.id = i.document_id
WHERE i.document_id <> :doc AND d.sha256 IS DISTINCT FROM :sha
  AND i.duplicate_of_document IS DISTINCT FROM :doc AND i.duplicate_review IS DISTINCT FROM 'confirmed'
  AND i.total = :total AND i.credit_note = :credit AND {_SAME_SELLER}
  AND (i.number_key = :num OR i.invoice_date = CAST(:date AS date))
ORDER BY (i.number_key = :num) IS TRUE DESC, d.created_at, i.seq
LIMIT 1"""


def find_earlier(con: Connection, keys: Keys, *, document_id: uuid.UUID, sha256: str | None) -> Match | None:
    """The earliest stored invoice that `keys` possibly duplicates, strong matches first."""
    if not keys.comparable:
        return None
    found = rows(con, _CANDIDATES, doc=document_id, sha=sha256, tax=keys.seller_tax_key,
                 name=keys.seller_name_key, total=keys.total, credit=keys.credit_note, num=keys.number_key,
                 date=keys.invoice_date)
    if not found:
        return None
    row = found[0]
    return Match(invoice_id=row["id"], document_id=row["document_id"], tier=DuplicateTier(row["tier"]),
                 invoice_number=row["invoice_number"])


def _lock(con: Connection, keys: list[Keys]) -> None:
    names = sorted({f"{k.credit_note}:{k.total.normalize():f}" for k in keys if k.comparable and k.total is not None})
    for name in names:
        con.run("SELECT pg_advisory_xact_lock(CAST(:ns AS integer), hashtext(:name))", ns=DUPLICATE_LOCKS,
                name=name)


def flag_duplicates(con: Connection, document_id: uuid.UUID, sha256: str | None,
                    normalized: dict[str, Any]) -> list[dict[str, Any]]:
    """In Persist's transaction, after the document's invoices are written: fill their lookup keys, flag each
    that possibly duplicates an earlier invoice (NEEDS_REVIEW, the POSSIBLE_DUPLICATE issue, the link and its
    tier) and return the issues added (empty: nothing flagged)."""
    invoices = normalized.get("invoices", [])
    keys = [keys_of(inv) for inv in invoices]
    _lock(con, keys)
    added: list[dict[str, Any]] = []
    for seq, k in enumerate(keys):
        match = find_earlier(con, k, document_id=document_id, sha256=sha256)
        sets, params = _key_and_link_sets(k, match)
        if match is not None:
            issue = match.issue(seq)
            added.append(issue)
            sets += ", issues = issues || CAST(:issue AS jsonb), validation_status = :held"
            params.update(issue=json.dumps([issue]), held=InvoiceStatus.NEEDS_REVIEW)
        con.run(f"UPDATE invoices SET {sets} WHERE document_id = :doc AND seq = :seq", doc=document_id, seq=seq,
                **params)
    return added


def _key_and_link_sets(k: Keys, match: Match | None) -> tuple[str, dict[str, Any]]:
    sets = ("seller_tax_key = :tax, seller_name_key = :name, number_key = :num, credit_note = :credit,"
            " duplicate_of_invoice = :dup_inv, duplicate_of_document = :dup_doc, duplicate_tier = :tier")
    return sets, {"tax": k.seller_tax_key, "name": k.seller_name_key, "num": k.number_key, "credit": k.credit_note,
                  "dup_inv": match.invoice_id if match else None, "dup_doc": match.document_id if match else None,
                  "tier": match.tier.value if match else None}


def recheck_in(con: Connection, invoice_id: uuid.UUID | str, invoice: dict[str, Any]) -> dict[str, Any] | None:
    """After a reviewer's edit (PATCH), in its transaction: the invoice's keys from its edited fields (a
    normalized invoice), and, unless a reviewer already cleared or confirmed the flag, the lookup again, whose
    link and tier replace the old ones. Returns the POSSIBLE_DUPLICATE issue for the caller to add to the issues
    that validation gives the edited invoice (None: no possible duplicate); the caller writes issues and status."""
    found = rows(con, "SELECT i.id, i.document_id, i.seq, i.duplicate_review, d.sha256 FROM invoices i"
                      " JOIN documents d ON d.id = i.document_id WHERE i.id = :id FOR UPDATE OF i",
                 id=uuid.UUID(str(invoice_id)))
    if not found:
        raise InvoiceNotFound(f"invoice {invoice_id} does not exist")
    row, keys = found[0], keys_of(invoice)
    if row["duplicate_review"] is not None:
        con.run("UPDATE invoices SET seller_tax_key = :tax, seller_name_key = :name, number_key = :num,"
                " credit_note = :credit WHERE id = :id", tax=keys.seller_tax_key, name=keys.seller_name_key,
                num=keys.number_key, credit=keys.credit_note, id=row["id"])
        return None
    _lock(con, [keys])
    match = find_earlier(con, keys, document_id=row["document_id"], sha256=row["sha256"])
    sets, params = _key_and_link_sets(keys, match)
    con.run(f"UPDATE invoices SET {sets} WHERE id = :id", id=row["id"], **params)
    return match.issue(row["seq"]) if match else None


# --- a reviewer's answer ------------------------------------------------------------------------------------
def _pending(con: Connection, invoice_id: uuid.UUID | str) -> dict[str, Any]:
    found = rows(con, "SELECT id, document_id, issues, duplicate_of_invoice, duplicate_of_document, duplicate_tier,"
                      " duplicate_review FROM invoices WHERE id = :id FOR UPDATE", id=uuid.UUID(str(invoice_id)))
    if not found:
        raise InvoiceNotFound(f"invoice {invoice_id} does not exist")
    row = found[0]
    if row["duplicate_tier"] is None or row["duplicate_review"] is not None:
        state = "is not flagged as a possible duplicate" if row["duplicate_tier"] is None else \
            f"was already {row['duplicate_review']}"
        raise DuplicateNotPending(f"invoice {invoice_id} {state}")
    return row


def clear_duplicate_in(con: Connection, invoice_id: uuid.UUID | str) -> InvoiceStatus:
    """Not a duplicate: the POSSIBLE_DUPLICATE issue is lifted and the invoice's status is what its other
    issues decide (returned). The link and tier stay, as the record of what was cleared. In the caller's
    transaction, so that the review's audit event commits with it."""
    row = _pending(con, invoice_id)
    issues = without_duplicate_issue(row["issues"])
    status = outcome(i.get("severity") for i in issues)
    con.run("UPDATE invoices SET duplicate_review = :r, issues = CAST(:issues AS jsonb), validation_status = :st"
            " WHERE id = :id", r=DuplicateReview.CLEARED, issues=json.dumps(issues), st=status, id=row["id"])
    return status


def confirm_duplicate_in(con: Connection, invoice_id: uuid.UUID | str) -> str:
    """A duplicate: recorded as confirmed (never an original for later documents); returns the reason for the
    rejection, which the caller records when it moves the invoice to REJECTED in the same transaction."""
    row = _pending(con, invoice_id)
    con.run("UPDATE invoices SET duplicate_review = :r WHERE id = :id", r=DuplicateReview.CONFIRMED, id=row["id"])
    earlier = row["duplicate_of_invoice"] or "(since reprocessed)"
    return (f"duplicate ({row['duplicate_tier']}) of invoice {earlier} in document {row['duplicate_of_document']}")


def clear_duplicate(invoice_id: uuid.UUID | str) -> InvoiceStatus:
    with transaction() as con:
        return clear_duplicate_in(con, invoice_id)


def confirm_duplicate(invoice_id: uuid.UUID | str) -> str:
    with transaction() as con:
        return confirm_duplicate_in(con, invoice_id)
