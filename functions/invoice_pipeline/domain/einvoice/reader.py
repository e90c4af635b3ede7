"""Bytes (a Factur-X/ZUGFeRD/XRechnung PDF, or a bare CII or UBL XML) -> the normalized document of
schemas/invoice.schema.json, engine "e-invoice".

Every value is the XML's own, so each field's confidence is 1 and there are no alternatives. What the reader
noticed but did not let stop it (the XML fails its profile's XSD; the PDF's picture shows another number or
total) goes to the invoice's `provenance.findings`, which Validate turns into issues. What makes the file
unreadable as an e-invoice raises a named error (errors.py): NotAnEInvoice, UnsupportedEInvoice,
MalformedEInvoice, UnsafeXml, EInvoiceTooLarge, or for the PDF itself CorruptDocument/EncryptedDocument."""

from __future__ import annotations

from typing import Any

from invoice_pipeline.domain.einvoice.cii import read_cii
from invoice_pipeline.domain.einvoice.compare import compare_with_text
from invoice_pipeline.domain.einvoice.detect import UBL, identify
from invoice_pipeline.domain.einvoice.pdf import read_pdf
from invoice_pipeline.domain.einvoice.safe_xml import parse_xml
from invoice_pipeline.domain.einvoice.ubl import read_ubl
from invoice_pipeline.domain.einvoice.xsd import check_xsd
from invoice_pipeline.domain.sniff import HEAD_BYTES, PDF, describe_bytes, sniff_media_type
from invoice_pipeline.domain.textract import MAX_TEXT, SCHEMA_VERSION
from invoice_pipeline.errors import MalformedEInvoice, NotAnEInvoice
from invoice_pipeline.schemas import validate_against

__all__ = ["ENGINE", "looks_like_xml", "read_einvoice"]

ENGINE = "e-invoice"

# The fields of every engine's invoice (schema `required`), in the order the other engines write them.
_PARTY_FIELDS = ("name", "address", "tax_id")
_SCALARS = ("invoice_number", "invoice_date", "due_date", "po_number", "currency", "subtotal", "tax", "discount",
            "total", "amount_due")
# What only a structured invoice states (optional in the schema).
_EXTRAS = ("document_type", "delivery_date", "prepaid", "allowances_charges", "tax_breakdown", "payment")

_XML_STARTS = (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def looks_like_xml(content: bytes) -> bool:
    """An XML's first bytes: "<" after optional whitespace, or a byte order mark."""
    return content.lstrip(b" \t\r\n").startswith(_XML_STARTS)


def read_einvoice(content: bytes) -> dict[str, Any]:
    if sniff_media_type(content[:HEAD_BYTES]) == PDF:
        hybrid = read_pdf(content)
        xml, attachment, page_count, text = hybrid.xml, hybrid.attachment, hybrid.page_count, hybrid.text
    elif looks_like_xml(content):
        xml, attachment, page_count, text = content, None, 0, None
    else:
        raise NotAnEInvoice(f"neither a PDF nor an XML: {describe_bytes(content[:HEAD_BYTES])}")

    root = parse_xml(xml, what=f"the PDF's {attachment}" if attachment else "the XML")
    identity = identify(root, attachment=attachment)
    reading = read_ubl(root) if identity.syntax == UBL else read_cii(root)
    fields = reading.fields
    for required, term in (("invoice_number", "BT-1"), ("total", "BT-112")):
        if fields.get(required) is None:
            raise MalformedEInvoice(f"the {identity.format} XML states no {required.replace('_', ' ')} ({term})")

    findings = check_xsd(root, identity)
    if text is not None:
        findings += compare_with_text(text, fields["invoice_number"], fields["total"])

    invoice: dict[str, Any] = {
        "vendor": {k: fields["vendor"][k] for k in _PARTY_FIELDS},
        "customer": {k: fields["customer"][k] for k in _PARTY_FIELDS},
        **{name: fields[name] for name in _SCALARS},
        "line_items": fields["line_items"],
        "confidence": _confidence(fields),
        "alternatives": {},
        "provenance": {
            "engine": ENGINE,
            "pages": [],
            "fields": {
                name: {"page": None, "bbox": None, "label": term, "raw": None}
                for name, term in reading.terms.items()
            },
            "format": identity.format,
            "syntax": identity.syntax,
            "profile": identity.profile,
            "attachment": attachment,
            "findings": findings,
        },
        **{name: fields[name] for name in _EXTRAS},
    }
    document = {
        "schema_version": SCHEMA_VERSION, "engine": ENGINE, "page_count": page_count,
        "invoices": [_clip(invoice)],
    }
    validate_against("invoice", document)  # our own contract: a failure here is a bug of this reader
    return document


def _confidence(fields: dict[str, Any]) -> dict[str, float]:
    """1 for every field with a value, keyed as the other engines key it ("vendor.name", "total")."""
    out: dict[str, float] = {}
    for party in ("vendor", "customer"):
        for key in _PARTY_FIELDS:
            if fields[party].get(key) is not None:
                out[f"{party}.{key}"] = 1.0
    for name in _SCALARS:
        if fields.get(name) is not None:
            out[name] = 1.0
    return out


def _clip(value: Any) -> Any:
    """Text longer than the schema's limit is cut, as the OCR engines cut theirs (a payment terms note can run
    long); amounts and dates never come near it."""
    if isinstance(value, str):
        return value[:MAX_TEXT]
    if isinstance(value, dict):
        return {k: _clip(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clip(v) for v in value]
    return value
