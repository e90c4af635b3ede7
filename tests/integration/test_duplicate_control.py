"""The duplicate-invoice control in a real Postgres (adapters/duplicates.py through repository.persist_invoices):
the flag, its link and tier, the race between two documents persisting at once, a reprocessed original, and a
reviewer's two answers through the API's database role. No deployment: about a second."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pg8000.native
import pytest
from invoice_local import dbroles as local_dbroles
from invoice_pipeline.adapters import db, duplicates, repository
from invoice_pipeline.adapters.dburl import connect_kwargs
from invoice_pipeline.domain import duplicates as dup
from invoice_pipeline.domain.duplicates import ISSUE_CODE
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.errors import DuplicateNotPending, InvoiceNotFound


def normalized(**overrides: Any) -> dict[str, Any]:
    vendor = {"name": "Azure Interior", "address": None, "tax_id": None, **overrides.pop("vendor", {})}
    inv = {"vendor": vendor, "customer": {"name": None, "address": None}, "invoice_number": "INV/2023/03/0008",
           "invoice_date": "2023-03-20", "currency": "USD", "total": "279.84", "line_items": [], **overrides}
    return {"invoices": [inv]}


def document(name: str) -> uuid.UUID:
    """A registered document whose bytes are `name`'s (so each name is other bytes)."""
    sha = hashlib.sha256(name.encode()).hexdigest()
    reg = repository.register(bucket="b", key=f"incoming/{name}", version_id="v1", sha256=sha, size=1,
                              media_type="application/pdf", page_count=1, execution_arn=None)
    return reg.document.id


def persist(doc_id: uuid.UUID, doc: dict[str, Any]) -> dict[str, Any]:
    stored = repository.persist_invoices(doc_id, doc, status=DocumentStatus.COMPLETED, issues=[], execution_arn=None)
    (inv,) = repository.invoices_for(doc_id)
    return {"status": stored.status, **inv}


def test_a_second_copy_from_other_bytes_is_held_and_linked(clean_db: str) -> None:
    first = persist(document("a.pdf"), normalized())
    second = persist(document("a.png"), normalized(vendor={"name": "AZURE INTERIOR"}, invoice_number="inv 2023 03 OOO8",
                                                   total="279.840"))
    assert first["status"] == "COMPLETED" and first["duplicate_tier"] is None
    assert second["status"] == second["validation_status"] == "NEEDS_REVIEW"
    assert (second["duplicate_of_invoice"], second["duplicate_tier"]) == (first["id"], "strong")
    assert second["duplicate_of_document"] == first["document_id"]
    (issue,) = second["issues"]
    assert issue["code"] == ISSUE_CODE and issue["duplicate_of_invoice"] == str(first["id"])
    assert str(first["id"]) in issue["message"]
    assert repository.events_for(second["document_id"])[-1]["detail"]["issues"] == [ISSUE_CODE]
    assert second["number_key"] == first["number_key"] and second["seller_name_key"] == first["seller_name_key"]


def test_the_weak_tier_and_what_never_matches(clean_db: str) -> None:
    first = persist(document("a.pdf"), normalized())
    weak = persist(document("b.pdf"), normalized(invoice_number="INV/2023/03/0009"))
    assert (weak["duplicate_of_invoice"], weak["duplicate_tier"]) == (first["id"], "weak")
    for name, doc in {"note.pdf": normalized(document_type="381"),  # a credit note
                      "other-day.pdf": normalized(invoice_number="X-1", invoice_date="2023-03-21"),
                      "other-seller.pdf": normalized(vendor={"name": "Azure Exterior"}),
                      "other-tax-id.pdf": normalized(vendor={"tax_id": "US1"})}.items():
        if name == "other-tax-id.pdf":  # the tax id decides only when both have one
            with db.transaction() as con:
                con.run("UPDATE invoices SET seller_tax_key = 'us2'")
        stored = persist(document(name), doc)
        assert stored["duplicate_tier"] is None and stored["status"] == "COMPLETED", name


def test_a_reprocessed_original_is_not_a_duplicate_of_its_copy(clean_db: str) -> None:
    original = document("a.pdf")
    persist(original, normalized())
    copy = persist(document("a.png"), normalized())
    again = persist(original, normalized())  # Persist of a reprocess: the same document, new invoice ids
    assert again["status"] == "COMPLETED" and again["duplicate_tier"] is None
    (copy_now,) = repository.invoices_for(copy["document_id"])
    assert copy_now["duplicate_tier"] == "strong" and copy_now["duplicate_of_document"] == original
    assert copy_now["duplicate_of_invoice"] is None  # the original's invoice was rewritten


def _connect(url: str) -> pg8000.native.Connection:
    return pg8000.native.Connection(timeout=10, **connect_kwargs(url))


@pytest.fixture
def two_connections(clean_db: str) -> Iterator[tuple[pg8000.native.Connection, pg8000.native.Connection]]:
    # As Persist runs: the pipeline's database role.
    pipeline = local_dbroles.role_urls(clean_db)["pipeline"]
    a, b = _connect(pipeline), _connect(pipeline)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def _insert_invoice(con: pg8000.native.Connection, doc_id: uuid.UUID) -> None:
    con.run("INSERT INTO invoices (id, document_id, seq, vendor_name, invoice_number, total, validation_status)"
            " VALUES (:id, :d, 0, 'Azure Interior', 'INV/2023/03/0008', 279.84, 'COMPLETED')",
            id=uuid.uuid4(), d=doc_id)


def test_two_copies_persisting_at_once_do_not_both_pass(two_connections) -> None:
    """The second waits on the first's lock and then sees what it wrote. Without the lock it would look while
    the first is uncommitted, find nothing, and both copies would pass."""
    con_a, con_b = two_connections
    doc_a, doc_b = document("a.pdf"), document("a.png")
    con_a.run("START TRANSACTION")
    _insert_invoice(con_a, doc_a)
    assert duplicates.flag_duplicates(con_a, doc_a, None, normalized()) == []
    found: list[list[dict[str, Any]]] = []

    def second() -> None:
        con_b.run("START TRANSACTION")
        _insert_invoice(con_b, doc_b)
        found.append(duplicates.flag_duplicates(con_b, doc_b, None, normalized()))
        con_b.run("COMMIT")

    thread = threading.Thread(target=second)
    thread.start()
    deadline = time.monotonic() + 10
    with db.transaction() as con:
        while not db.rows(con, "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"):
            assert time.monotonic() < deadline, "the second Persist never waited for the first"
            time.sleep(0.02)
    con_a.run("COMMIT")
    thread.join(10)
    ((issue,),) = found
    (first_invoice,) = repository.invoices_for(doc_a)
    assert issue["duplicate_of_invoice"] == str(first_invoice["id"]) and issue["tier"] == "strong"


def test_a_reviewer_clears_or_confirms_through_the_api_role(clean_db: str) -> None:
    first = persist(document("a.pdf"), normalized())
    cleared = persist(document("b.pdf"), normalized())
    confirmed = persist(document("c.pdf"), normalized())
    api = _connect(local_dbroles.role_urls(clean_db)["api"])
    try:
        api.run("START TRANSACTION")
        assert duplicates.clear_duplicate_in(api, cleared["id"]) == "COMPLETED"
        reason = duplicates.confirm_duplicate_in(api, confirmed["id"])
        api.run("COMMIT")
    finally:
        api.close()
    assert str(first["id"]) in reason and "strong" in reason
    by_id = {inv["id"]: inv for inv in repository.invoices_for(cleared["document_id"])
             + repository.invoices_for(confirmed["document_id"])}
    assert by_id[cleared["id"]]["duplicate_review"] == "cleared"
    assert by_id[cleared["id"]]["issues"] == [] and by_id[cleared["id"]]["validation_status"] == "COMPLETED"
    assert by_id[cleared["id"]]["duplicate_of_invoice"] == first["id"]  # the record of what was cleared
    assert by_id[confirmed["id"]]["duplicate_review"] == "confirmed"
    with pytest.raises(DuplicateNotPending):
        duplicates.clear_duplicate(cleared["id"])
    with pytest.raises(DuplicateNotPending):
        duplicates.confirm_duplicate(first["id"])  # never flagged
    with pytest.raises(InvoiceNotFound):
        duplicates.clear_duplicate(uuid.uuid4())


# (new, earlier): the SQL lookup must decide as domain/duplicates.tier_of does.
PAIRS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    (normalized(invoice_number="INV/2023/03/OOO8"), normalized()),
    (normalized(invoice_number="INV/2023/03/0009"), normalized()),
    (normalized(invoice_number=None), normalized()),
    (normalized(invoice_number="X", invoice_date=None), normalized()),
    (normalized(total="279.85"), normalized()),
    (normalized(total=None), normalized()),
    (normalized(document_type="381"), normalized()),
    (normalized(document_type="381"), normalized(document_type="81")),
    (normalized(vendor={"tax_id": "DE 1"}), normalized(vendor={"tax_id": "DE1", "name": "Else"})),
    (normalized(vendor={"tax_id": "DE 1"}), normalized(vendor={"tax_id": "DE2"})),
    (normalized(vendor={"tax_id": "DE 1"}), normalized()),
    (normalized(vendor={"tax_id": "DE 1", "name": None}), normalized()),
    (normalized(vendor={"name": None}), normalized(vendor={"name": None})),
]


def test_the_lookup_decides_as_the_domain_rule(clean_db: str) -> None:
    for n, (new, earlier) in enumerate(PAIRS):
        with db.transaction() as con:
            con.run("TRUNCATE documents CASCADE")
        persist(document(f"{n}-earlier.pdf"), earlier)
        stored = persist(document(f"{n}-new.png"), new)
        expected = dup.tier_of(dup.keys_of(new["invoices"][0]), dup.keys_of(earlier["invoices"][0]))
        assert stored["duplicate_tier"] == (expected.value if expected else None), (n, new, earlier)


def test_after_an_edit_the_lookup_runs_again_as_the_api_role(clean_db: str) -> None:
    first = persist(document("a.pdf"), normalized())
    misread = persist(document("a.png"), normalized(invoice_number="INV/2023/08/0008", total="279.34"))
    assert misread["duplicate_tier"] is None  # the scan's total and number were misread: nothing to match
    api = _connect(local_dbroles.role_urls(clean_db)["api"])
    try:
        api.run("START TRANSACTION")
        # The reviewer corrects the total: the same seller, total and date, another number.
        issue = duplicates.recheck_in(api, misread["id"], normalized(invoice_number="INV/2023/08/0008")["invoices"][0])
        assert issue is not None and (issue["tier"], issue["duplicate_of_invoice"]) == ("weak", str(first["id"]))
        # ... then the number: a strong match.
        issue = duplicates.recheck_in(api, misread["id"], normalized()["invoices"][0])
        assert issue is not None and issue["tier"] == "strong"
        api.run("COMMIT")
        (now,) = repository.invoices_for(misread["document_id"])
        assert (now["duplicate_tier"], now["duplicate_of_invoice"], now["number_key"]) == (
            "strong", first["id"], first["number_key"])
        api.run("START TRANSACTION")
        assert duplicates.recheck_in(api, misread["id"], normalized(total="1.00")["invoices"][0]) is None
        api.run("COMMIT")
        (now,) = repository.invoices_for(misread["document_id"])
        assert now["duplicate_tier"] is None and now["duplicate_of_invoice"] is None
        # A decision stands: after a clear, an edit back to the original's values is not flagged again.
        api.run("START TRANSACTION")
        duplicates.recheck_in(api, misread["id"], normalized()["invoices"][0])
        duplicates.clear_duplicate_in(api, misread["id"])
        assert duplicates.recheck_in(api, misread["id"], normalized()["invoices"][0]) is None
        api.run("COMMIT")
    finally:
        api.close()
    with pytest.raises(InvoiceNotFound):
        duplicates.recheck_in(db.connection(), uuid.uuid4(), normalized()["invoices"][0])
