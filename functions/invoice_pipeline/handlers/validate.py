"""Validate: schema and business rules over the normalized invoices -> COMPLETED or NEEDS_REVIEW.

Input: {"document", "parsed": {"result": pointer}, "execution_arn"}
Output: {"status", "issue_codes", "issues": pointer} — the full issue list is stored beside the result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from invoice_pipeline.adapters import repository, results
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.domain.validation import validate_document
from invoice_pipeline.observability import count, lambda_entry, logger
from invoice_pipeline.ports import Documents, Results


@dataclass(frozen=True)
class Ports:
    documents: Documents
    results: Results


PORTS = Ports(documents=repository, results=results)


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    document_id = event["document"]["document_id"]
    ports.documents.transition(document_id, DocumentStatus.VALIDATING, execution_arn=event.get("execution_arn"))
    normalized = ports.results.get(event["parsed"]["result"])
    outcome = validate_document(normalized, today=datetime.now(UTC).date())
    issues = [i.to_dict() for i in outcome.issues]
    pointer = ports.results.put(document_id, "validation", {"status": outcome.status, "issues": issues})
    codes = sorted({i["code"] for i in issues})
    count(f"Validation.{outcome.status}")
    logger.info("validated", extra={"status": outcome.status, "issue_codes": codes})
    return {"status": outcome.status, "issue_codes": codes, "issues": pointer}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
