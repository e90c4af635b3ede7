"""A hybrid e-invoice PDF: its embedded XML and its visible text, in one PDFium pass.

The attachment is found by the file names the standards prescribe (sniff.EINVOICE_ATTACHMENT_NAMES, the list
Register detects with), and its size is asked of PDFium before the bytes are copied out, so an oversized XML
is refused without being materialised in Python. factur-x's own extraction is not used: it parses every
attachment with lxml's default parser before any size check, and skips an XML that fails its XSD silently,
where we want that failure reported.

The text is PDFium's text layer of every page, what the local engine reads from a digital PDF. A PDF without
one (a scan with the XML attached) gives an empty text, and the comparison is then reported as not done."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from invoice_pipeline.domain.einvoice.safe_xml import MAX_XML_BYTES
from invoice_pipeline.domain.sniff import EINVOICE_ATTACHMENT_NAMES, PDFIUM_LOCK
from invoice_pipeline.errors import CorruptDocument, EInvoiceTooLarge, EncryptedDocument, NotAnEInvoice

__all__ = ["HybridPdf", "read_pdf"]

_NAMES = frozenset(name.casefold() for name in EINVOICE_ATTACHMENT_NAMES)


@dataclass(frozen=True)
class HybridPdf:
    xml: bytes
    attachment: str
    page_count: int
    text: str


def read_pdf(content: bytes) -> HybridPdf:
    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(content)
        except pdfium.PdfiumError as exc:
            message = str(exc).lower()
            if "password" in message or "security" in message:
                raise EncryptedDocument("the PDF is password-protected") from None
            raise CorruptDocument(f"the PDF cannot be read ({exc})") from None
        try:
            name, xml = _attachment(pdf)
            pages = len(pdf)
            text = "\n".join(_page_text(pdf, index) for index in range(pages))
        finally:
            pdf.close()
    return HybridPdf(xml=xml, attachment=name, page_count=pages, text=text)


def _attachment(pdf: pdfium.PdfDocument) -> tuple[str, bytes]:
    for index in range(pdf.count_attachments()):
        attachment = pdf.get_attachment(index)
        name = attachment.get_name()
        if name.casefold() not in _NAMES:
            continue
        size = ctypes.c_ulong()
        pdfium_c.FPDFAttachment_GetFile(attachment, None, 0, size)
        if size.value > MAX_XML_BYTES:
            raise EInvoiceTooLarge(f"the PDF's {name} is {size.value / 1048576:.1f} MB, over the"
                                   f" {MAX_XML_BYTES // 1048576} MB limit for an e-invoice")
        if size.value == 0:
            raise NotAnEInvoice(f"the PDF's {name} attachment is empty")
        return name, bytes(attachment.get_data())
    raise NotAnEInvoice("the PDF carries no e-invoice: no attachment named "
                        + ", ".join(sorted(_NAMES)))


def _page_text(pdf: pdfium.PdfDocument, index: int) -> str:
    page = pdf[index]
    try:
        textpage = page.get_textpage()
        try:
            return str(textpage.get_text_range())
        finally:
            textpage.close()
    finally:
        page.close()
