"""ReadEInvoice: an e-invoice (a Factur-X/ZUGFeRD PDF's embedded XML, or a bare CII or UBL XML) read into the
normalized document without Textract, written to the results bucket as Parse writes its own.

Input: {"document": <Register output, action "einvoice">, "execution_arn"}
Output: {"action": "validate", "result": pointer, "summary"} like Parse's, or {"action": "ocr", "reason"} for a
PDF whose XML is of a profile the reader does not take when EINVOICE_UNSUPPORTED_PROFILE is "ocr": the state
machine then sends it to the Textract branch (Queue). A bare XML has no picture, so it always fails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invoice_pipeline import config
from invoice_pipeline.adapters import aws, repository, results
from invoice_pipeline.domain.einvoice import read_einvoice
from invoice_pipeline.domain.events import S3Source
from invoice_pipeline.domain.sniff import XML
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.domain.textract import summarize
from invoice_pipeline.errors import UnsupportedEInvoice
from invoice_pipeline.observability import count, lambda_entry, logger, tracer
from invoice_pipeline.ports import Documents, Results, S3Objects

VALIDATE = "validate"
OCR = "ocr"
UNSUPPORTED_PROFILE_SETTINGS = ("fail", OCR)


@dataclass(frozen=True)
class Ports:
    documents: Documents
    results: Results
    s3: S3Objects


PORTS = Ports(documents=repository, results=results, s3=aws.LazyClient("s3"))


def _read_object(doc: dict[str, Any], s3: S3Objects) -> bytes:
    src = S3Source(bucket=doc["bucket"], key=doc["key"], version_id=doc["version_id"] or "",
                   versioned=bool(doc.get("versioned")))
    return bytes(s3.get_object(**src.s3_args())["Body"].read())


def _to_ocr(doc: dict[str, Any]) -> bool:
    setting = config.settings().einvoice_unsupported_profile
    if setting not in UNSUPPORTED_PROFILE_SETTINGS:
        raise ValueError(f"EINVOICE_UNSUPPORTED_PROFILE is {setting!r}: one of {UNSUPPORTED_PROFILE_SETTINGS}")
    return setting == OCR and doc.get("media_type") != XML


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    doc = event["document"]
    document_id = doc["document_id"]
    try:
        normalized = read_einvoice(_read_object(doc, ports.s3))
    except UnsupportedEInvoice as exc:
        if not _to_ocr(doc):
            raise
        count("EInvoiceSentToOcr")
        logger.info("unsupported e-invoice profile: its picture goes to Textract", extra={"reason": str(exc)})
        return {"action": OCR, "reason": str(exc)}

    ports.documents.transition(document_id, DocumentStatus.PARSING, execution_arn=event.get("execution_arn"))
    pointer = ports.results.put(document_id, "normalized", normalized)
    ports.documents.transition(document_id, DocumentStatus.PARSING, result_key=pointer["key"])
    provenance = normalized["invoices"][0]["provenance"]
    count("TextractSkipped")
    count("InvoicesParsed", len(normalized["invoices"]))
    logger.info("e-invoice read", extra={"format": provenance["format"], "profile": provenance["profile"],
                                         "findings": [f.get("code") for f in provenance["findings"]]})
    return {"action": VALIDATE, "result": pointer, "summary": summarize(normalized)}


@lambda_entry
@tracer.capture_method
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
