"""E-invoices: Factur-X and ZUGFeRD PDFs (their embedded CII XML), and bare CII or UBL XMLs (XRechnung,
Peppol BIS), read into the normalized invoice without OCR. Entry point: `read_einvoice(bytes)`."""

from invoice_pipeline.domain.einvoice.reader import ENGINE, looks_like_xml, read_einvoice

__all__ = ["ENGINE", "looks_like_xml", "read_einvoice"]
