"""Persist: write the invoices and line items and set the final status, in one transaction.

Input: {"document", "parsed": {"result"}, "validation": {"status", "issues": pointer}, "execution_arn"}"""

from __future__ import annotations

from typing import Any

from invoice_pipeline.adapters import repository, results
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.observability import count, lambda_entry, logger


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    document_id = event["document"]["document_id"]
    normalized = results.get(event["parsed"]["result"])
    validation = results.get(event["validation"]["issues"])
    doc = repository.persist_invoices(document_id, normalized, status=DocumentStatus(validation["status"]),
                                      issues=validation["issues"], execution_arn=event.get("execution_arn"))
    count("DocumentsPersisted")
    logger.info("persisted", extra={"status": doc.status, "invoices": len(normalized["invoices"])})
    return {"document_id": document_id, "status": doc.status, "invoices": len(normalized["invoices"])}
