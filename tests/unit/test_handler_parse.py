"""Parse: every page of GetExpenseAnalysis (followed by NextToken) becomes one normalized document in the
results bucket, and the state output carries only a pointer and a summary. Textract's failures become the
named errors. The recorded responses come from ../shared/data/textract."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from invoice_pipeline.domain.textract import normalize_expense
from invoice_pipeline.errors import TextractJobFailed, TextractPartialSuccess, TextractThrottled
from invoice_pipeline.handlers import parse
from invoice_pipeline.schemas import validate_against, validate_definition

from tests.conftest import load_textract
from tests.events import load_event
from tests.fakes import RESULTS_BUCKET, FakeDocuments, FakeResults, FakeTextract, Journal, client_error

EVENT = load_event("parse_input")
DOC_ID = EVENT["document"]["document_id"]
JOB_ID = EVENT["analysis"]["job_id"]
ARN = EVENT["execution_arn"]
GESSIES = ["gessies_receipt.get_expense_analysis.page1.json", "gessies_receipt.get_expense_analysis.page2.json"]


def ports(journal: Journal, pages: list[dict[str, object]] | None = None,
          error: ClientError | None = None) -> tuple[parse.Ports, FakeResults]:
    results = FakeResults(journal)
    textract = FakeTextract(journal, job_id=JOB_ID, pages=pages,
                            errors={"get_expense_analysis": error} if error else None)
    return parse.Ports(documents=FakeDocuments(journal), results=results, textract=textract), results


def test_all_pages_are_read_normalized_once_and_stored() -> None:
    pages = [load_textract(name) for name in GESSIES]
    journal = Journal()
    ports_, results = ports(journal, pages)

    output = parse.handle(EVENT, ports_)

    assert journal.names() == ["documents.transition", "textract.get_expense_analysis",
                               "textract.get_expense_analysis", "results.put", "documents.transition"]
    assert journal.of("textract.get_expense_analysis") == [
        {"JobId": JOB_ID, "MaxResults": 20}, {"JobId": JOB_ID, "MaxResults": 20, "NextToken": "page-2"},
    ]
    key = f"results/{DOC_ID}/normalized.json"
    assert journal.of("documents.transition") == [
        {"doc_id": DOC_ID, "to_status": "PARSING", "detail": None, "execution_arn": ARN},
        {"doc_id": DOC_ID, "to_status": "PARSING", "detail": None, "execution_arn": None, "result_key": key},
    ]
    stored = results.stored[key]
    assert stored == normalize_expense(pages)  # both pages, one document
    validate_against("invoice", stored)
    assert output["result"] == {"bucket": RESULTS_BUCKET, "key": key}
    assert output["response_pages"] == 2
    assert output["summary"]["invoice_count"] == len(stored["invoices"])
    validate_definition("states", "parse_output", output)


@pytest.mark.parametrize(("status", "error"), [("FAILED", TextractJobFailed), ("ERROR", TextractJobFailed),
                                               ("PARTIAL_SUCCESS", TextractPartialSuccess)])
def test_unsuccessful_job_status_is_a_named_error_and_nothing_is_stored(status: str, error: type[Exception]) -> None:
    journal = Journal()
    page = {"JobStatus": status, "StatusMessage": "page 2: unsupported", "ExpenseDocuments": []}
    with pytest.raises(error, match=status if error is TextractJobFailed else "page 2"):
        parse.handle(EVENT, ports(journal, [page])[0])
    assert journal.names() == ["documents.transition", "textract.get_expense_analysis"]


def test_throttled_get_is_textract_throttled_for_the_asl_to_retry() -> None:
    journal = Journal()
    with pytest.raises(TextractThrottled):
        parse.handle(EVENT, ports(journal, error=client_error("ThrottlingException", "GetExpenseAnalysis"))[0])
    assert "results.put" not in journal.names()


def test_unclassified_client_error_propagates() -> None:
    error = client_error("InvalidJobIdException", "GetExpenseAnalysis")
    with pytest.raises(ClientError) as raised:
        parse.handle(EVENT, ports(Journal(), error=error)[0])
    assert raised.value is error
