"""What Register makes of an upload: a document for Textract (sniff.py), or an e-invoice that skips it.

An e-invoice is a PDF carrying the CII XML under a standard name (Factur-X, ZUGFeRD, XRechnung: sniff.py finds
the attachment), or a bare XML that is a CII or UBL invoice or credit note (XRechnung, Peppol BIS). An XML is
recognised by its bytes, never by its name, and is taken only as an e-invoice: it is parsed here with the
reader's safe parser and identified, so an XML that is not one, declares a DTD (entity bombs, external
entities), is malformed or too large fails at Register with the reader's named error. Its size is checked
before a byte of it is read: a 50 MB XML is refused without being loaded."""

from __future__ import annotations

from pathlib import Path

from invoice_pipeline.domain.sniff import (
    HEAD_BYTES,
    XML,
    XML_DOCUMENT,
    DocumentInfo,
    check_size,
    describe_bytes,
    inspect_document,
    sniff_media_type,
)
from invoice_pipeline.errors import EInvoiceTooLarge, NotAnEInvoice

__all__ = ["ANALYZE", "EINVOICE", "action_for", "inspect_upload"]

# Register's output `action` for new content (the state machine's Route state): Textract, or the e-invoice branch.
ANALYZE = "analyze"
EINVOICE = "einvoice"


def inspect_upload(path: Path, *, size: int) -> DocumentInfo:
    """The upload at `path` (`size` as S3 reports it) identified and checked, or a named error."""
    check_size(size)
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if sniff_media_type(head) is None and describe_bytes(head) == XML_DOCUMENT:
        return _inspect_xml(path, size=size)
    return inspect_document(path, size=size)


def action_for(info: DocumentInfo) -> str:
    return EINVOICE if info.media_type == XML or info.embedded_einvoice else ANALYZE


def _inspect_xml(path: Path, *, size: int) -> DocumentInfo:
    # Imported here: lxml (and factur-x, for the profile) load only when an XML arrives, not at every cold start.
    from invoice_pipeline.domain.einvoice.detect import identify
    from invoice_pipeline.domain.einvoice.safe_xml import MAX_XML_BYTES, parse_xml

    largest = max(size, path.stat().st_size)  # the object may have been replaced between HEAD and GET
    if largest > MAX_XML_BYTES:
        raise EInvoiceTooLarge(f"the XML is {largest / 1048576:.1f} MB, over the {MAX_XML_BYTES // 1048576} MB"
                               " limit for an e-invoice: refused unread")
    root = parse_xml(path.read_bytes(), what="the XML")
    try:
        identify(root)
    except NotAnEInvoice as exc:
        raise NotAnEInvoice(f"{exc}; an XML upload is taken only as an e-invoice: a CII or UBL invoice or credit"
                            " note (XRechnung, Peppol BIS, Factur-X/ZUGFeRD XML)") from None
    return DocumentInfo(media_type=XML, size=size, page_count=0)
