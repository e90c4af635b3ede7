"""Persist: write the invoices and line items and set the final status, in one transaction.

Input: {"document", "parsed": {"result"}, "validation": {"status", "issues": pointer}, "execution_arn"}"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invoice_pipeline.adapters import repository, results
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.observability import count, lambda_entry, logger
from invoice_pipeline.ports import Documents, Results
from invoice_pipeline.publish import PUBLISHER, Events


@dataclass(frozen=True)
class Ports:
    documents: Documents
    results: Results
    events: Events | None = None  # publishes the committed events at once (the schedule would, later)


PORTS = Ports(documents=repository, results=results, events=PUBLISHER)


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    document_id = event["document"]["document_id"]
    normalized = ports.results.get(event["parsed"]["result"])
    validation = ports.results.get(event["validation"]["issues"])
    doc = ports.documents.persist_invoices(document_id, normalized, status=DocumentStatus(validation["status"]),
                                           issues=validation["issues"], execution_arn=event.get("execution_arn"))
    count("DocumentsPersisted")
    if ports.events is not None:
        ports.events.drain_after_commit()
    logger.info("persisted", extra={"status": doc.status, "invoices": len(normalized["invoices"])})
    return {"document_id": document_id, "status": doc.status, "invoices": len(normalized["invoices"])}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
