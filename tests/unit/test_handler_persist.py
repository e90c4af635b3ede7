"""Persist: both results behind the pointers go to the store in one call, with the validation's status."""

from __future__ import annotations

from invoice_pipeline.handlers import persist
from invoice_pipeline.schemas import validate_definition

from tests.events import load_event
from tests.fakes import FakeDocuments, FakeResults, Journal
from tests.unit.test_validation import make_doc, make_invoice

EVENT = load_event("persist_input")
DOC_ID = EVENT["document"]["document_id"]
PARSED, ISSUES = EVENT["parsed"]["result"], EVENT["validation"]["issues"]


def test_invoices_and_status_are_persisted_in_one_call() -> None:
    normalized = make_doc(make_invoice(), make_invoice(invoice_number="RE-2024-0043"))
    issues = [{"code": "LOW_CONFIDENCE", "severity": "warning", "invoice_index": 1, "field": "total",
               "message": "low confidence"}]
    journal = Journal()
    results = FakeResults(journal, {PARSED["key"]: normalized,
                                    ISSUES["key"]: {"status": "COMPLETED", "issues": issues}})

    output = persist.handle(EVENT, persist.Ports(documents=FakeDocuments(journal), results=results))

    assert journal.names() == ["results.get", "results.get", "documents.persist_invoices"]
    assert journal.of("results.get") == [{"pointer": PARSED}, {"pointer": ISSUES}]
    assert journal.of("documents.persist_invoices") == [{
        "doc_id": DOC_ID, "normalized": normalized, "status": "COMPLETED", "issues": issues,
        "execution_arn": EVENT["execution_arn"],
    }]
    assert output == {"document_id": DOC_ID, "status": "COMPLETED", "invoices": 2}
    validate_definition("states", "persist_output", output)


def test_the_status_comes_from_the_stored_validation() -> None:
    journal = Journal()
    results = FakeResults(journal, {PARSED["key"]: make_doc(make_invoice()),
                                    ISSUES["key"]: {"status": "NEEDS_REVIEW", "issues": []}})
    output = persist.handle(EVENT, persist.Ports(documents=FakeDocuments(journal), results=results))
    assert journal.of("documents.persist_invoices")[0]["status"] == "NEEDS_REVIEW"
    assert output["status"] == "NEEDS_REVIEW"
