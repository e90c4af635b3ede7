"""Validate: reads the normalized document behind Parse's pointer, stores the full issue list beside it, and
returns COMPLETED or NEEDS_REVIEW with the issue codes. The rules themselves are tested in test_validation."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from invoice_pipeline.handlers import validate
from invoice_pipeline.schemas import validate_definition

from tests.events import load_event
from tests.fakes import RESULTS_BUCKET, FakeDocuments, FakeResults, Journal
from tests.unit.test_validation import make_doc, make_invoice

EVENT = load_event("validate_input")
DOC_ID = EVENT["document"]["document_id"]
POINTER = EVENT["parsed"]["result"]


def run(normalized: dict[str, Any]) -> tuple[dict[str, Any], Journal, FakeResults]:
    journal = Journal()
    results = FakeResults(journal, {POINTER["key"]: normalized})
    output = validate.handle(EVENT, validate.Ports(documents=FakeDocuments(journal), results=results))
    validate_definition("states", "validate_output", output)
    return output, journal, results


def test_clean_invoice_completes() -> None:
    output, journal, results = run(make_doc(make_invoice()))

    assert journal.names() == ["documents.transition", "results.get", "results.put"]
    assert journal.of("documents.transition") == [{"doc_id": DOC_ID, "to_status": "VALIDATING", "detail": None,
                                                   "execution_arn": EVENT["execution_arn"]}]
    assert journal.of("results.get") == [{"pointer": POINTER}]
    key = f"results/{DOC_ID}/validation.json"
    assert output == {"status": "COMPLETED", "issue_codes": [], "issues": {"bucket": RESULTS_BUCKET, "key": key}}
    assert results.stored[key] == {"status": "COMPLETED", "issues": []}


def test_inconsistent_invoice_needs_review_with_its_issues_stored() -> None:
    output, journal, results = run(make_doc(make_invoice(total="150.00", invoice_number=None)))

    assert output["status"] == "NEEDS_REVIEW"
    assert output["issue_codes"] == ["MISSING_INVOICE_NUMBER", "TOTAL_MISMATCH"]
    stored = results.stored[output["issues"]["key"]]
    assert stored["status"] == "NEEDS_REVIEW"
    assert sorted({i["code"] for i in stored["issues"]}) == output["issue_codes"]
    assert all({"code", "severity", "message"} <= set(i) for i in stored["issues"])


def test_missing_result_object_propagates_and_stores_nothing() -> None:
    journal = Journal()
    with pytest.raises(ClientError, match="NoSuchKey"):
        validate.handle(EVENT, validate.Ports(documents=FakeDocuments(journal), results=FakeResults(journal)))
    assert journal.names() == ["documents.transition", "results.get"]
