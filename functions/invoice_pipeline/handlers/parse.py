"""Parse: read every page of the Textract result and write the normalized invoices to the results bucket.

Input: {"document": <Register output>, "analysis": {"job_id"}, "execution_arn"}
Output: {"result": {"bucket", "key"}, "summary": [...]} — a pointer and a summary, not the document."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from invoice_pipeline.adapters import aws, repository, results
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.domain.textract import normalize_expense, summarize
from invoice_pipeline.domain.textract_errors import error_for_code, error_for_job_status, job_reason
from invoice_pipeline.observability import count, lambda_entry, logger, tracer
from invoice_pipeline.ports import Documents, Results, Textract


@dataclass(frozen=True)
class Ports:
    documents: Documents
    results: Results
    textract: Textract


PORTS = Ports(documents=repository, results=results, textract=aws.LazyClient("textract"))


def _pages(job_id: str, textract: Textract) -> Iterator[dict[str, Any]]:
    """GetExpenseAnalysis pages, following NextToken to the end."""
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"JobId": job_id, "MaxResults": 20}
        if token:
            kwargs["NextToken"] = token
        try:
            page = textract.get_expense_analysis(**kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            named = error_for_code(str(err.get("Code", "")), str(err.get("Message", "")))
            if named is None:
                raise
            raise named from exc
        error = error_for_job_status(str(page.get("JobStatus", "SUCCEEDED")), job_reason(page))
        if error is not None:
            raise error
        yield page
        token = page.get("NextToken")
        if not token:
            return


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    document_id = event["document"]["document_id"]
    job_id = event["analysis"]["job_id"]
    ports.documents.transition(document_id, DocumentStatus.PARSING, execution_arn=event.get("execution_arn"))

    pages = list(_pages(job_id, ports.textract))
    normalized = normalize_expense(pages)
    pointer = ports.results.put(document_id, "normalized", normalized)
    ports.documents.transition(document_id, DocumentStatus.PARSING, result_key=pointer["key"])
    count("InvoicesParsed", len(normalized["invoices"]))
    logger.info("parsed", extra={"pages": len(pages), "invoices": len(normalized["invoices"])})
    return {"result": pointer, "summary": summarize(normalized), "response_pages": len(pages)}


@lambda_entry
@tracer.capture_method
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
