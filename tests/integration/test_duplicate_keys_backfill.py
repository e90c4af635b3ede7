"""Invoices stored before migration 0007 had no duplicate keys, so a new copy of one passed unseen. The migrate
function's data step (adapters/duplicate_keys_backfill.py) gives them the keys Persist would have: in a real
Postgres, keys cleared as 0007 left old rows, then backfilled, equal the ones Persist computed; the next copy
is held; a second run finds nothing; an old invoice is not flagged after the fact."""

from __future__ import annotations

import pytest
from invoice_pipeline.adapters import db, duplicate_keys_backfill
from invoice_pipeline.handlers import migrate

from tests.integration.test_duplicate_control import document, normalized, persist

KEYS = ("seller_tax_key", "seller_name_key", "number_key", "credit_note")


def _as_before_0007() -> None:
    with db.transaction() as con:
        con.run("UPDATE invoices SET seller_tax_key = NULL, seller_name_key = NULL, number_key = NULL,"
                " credit_note = false")


def _keys() -> list[dict[str, object]]:
    with db.transaction() as con:
        return db.rows(con, f"SELECT id, {', '.join(KEYS)}, duplicate_tier FROM invoices ORDER BY id")


def test_old_invoices_get_the_keys_persist_gives_and_a_new_copy_is_held(clean_db: str,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    old = persist(document("old.pdf"), normalized())
    credit = persist(document("credit.pdf"), normalized(invoice_number="GS-1", document_type="381",
                                                        vendor={"tax_id": "DE 123 456 789"}))
    nothing = persist(document("blank.pdf"), normalized(invoice_number=None, vendor={"name": None}))
    as_persisted = _keys()
    assert all(k["number_key"] for k in as_persisted if k["id"] != nothing["id"]) and any(
        k["credit_note"] for k in as_persisted)
    _as_before_0007()
    assert persist(document("copy-before.pdf"), normalized())["duplicate_tier"] is None  # the gap
    with db.transaction() as con:
        con.run("DELETE FROM invoices WHERE document_id <> ALL(CAST(:d AS uuid[]))",
                d=[str(old["document_id"]), str(credit["document_id"]), str(nothing["document_id"])])

    assert duplicate_keys_backfill.backfill(batch=1) == 2  # in batches of one; the blank one has nothing to key
    assert _keys() == as_persisted  # the same keys, and no old invoice flagged after the fact
    assert duplicate_keys_backfill.backfill() == 0

    copy = persist(document("copy-after.pdf"), normalized())
    assert (copy["duplicate_of_invoice"], copy["duplicate_tier"]) == (old["id"], "strong")


def test_the_migrate_function_runs_it_after_the_sql(clean_db: str) -> None:
    assert migrate.PORTS.backfill is duplicate_keys_backfill.backfill
    persist(document("old.pdf"), normalized())
    _as_before_0007()
    migrate.handle({}, migrate.Ports(migrations=db, backfill=migrate.PORTS.backfill))
    assert _keys()[0]["number_key"] is not None
