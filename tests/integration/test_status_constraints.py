"""The database's CHECK constraints on status columns, as the migrations left them, allow exactly the values of
invoice_pipeline.domain.status. Read from pg_constraint on a migrated database, so the answer is what every
migration together made of them, not what one file says."""

from __future__ import annotations

import re

import pytest
from invoice_pipeline.adapters import db
from invoice_pipeline.domain.review import Action
from invoice_pipeline.domain.status import DocumentStatus, InvoiceStatus


def allowed_values(table: str, column: str) -> set[str]:
    """The values that the one `column IN (...)` CHECK constraint on `table.column` allows."""
    with db.transaction() as con:
        found = db.rows(con, """
            SELECT c.conname, pg_get_constraintdef(c.oid) AS definition
            FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
            WHERE c.conrelid = CAST(:t AS regclass) AND c.contype = 'c' AND a.attname = :c""", t=table, c=column)
    # Postgres shows `x IN ('A', 'B')` as `(x = ANY (ARRAY['A'::text, 'B'::text]))`; other CHECKs that merely
    # mention the column (documents_duplicate_has_original) are not lists of its values.
    lists = [r for r in found if f"({column} = ANY (ARRAY[" in r["definition"]]
    assert len(lists) == 1, f"expected one list of {table}.{column} values, found {found}"
    return set(re.findall(r"'([^']*)'::text", lists[0]["definition"]))


@pytest.mark.parametrize(("table", "column", "expected"), [
    ("documents", "status", {s.value for s in DocumentStatus}),
    ("invoices", "validation_status", {s.value for s in InvoiceStatus}),
    ("invoice_audit", "action", {a.value for a in Action}),
])
def test_check_constraint_allows_exactly_the_defined_statuses(database_url: str, table: str, column: str,
                                                              expected: set[str]) -> None:
    assert allowed_values(table, column) == expected
