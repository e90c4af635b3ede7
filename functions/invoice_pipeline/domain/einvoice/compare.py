"""Does the PDF's picture show the invoice its XML states? The XML is the legal invoice, but a person pays what
they see: a Factur-X whose visible text shows another number or total than its data is sent to review.

Two facts are compared, the ones a payment hangs on: the invoice number (BT-1) must appear in the text
(whitespace and case ignored), and the grand total (BT-112) must appear as an amount in any of the common
notations (529.87, 529,87, 1.234,56, 1,234.56, 1 234,56, 1'234.56), sign ignored (a credit note prints
either). Nothing is inferred beyond that: a total printed only as words, or split across lines, counts as
absent and shows up as a finding a reviewer can dismiss."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any

from invoice_pipeline.domain.money import parse_amount

__all__ = ["MIN_TEXT_CHARS", "compare_with_text", "finding"]

# Below this many visible characters the PDF has no usable text layer (a scan): nothing to compare.
MIN_TEXT_CHARS = 40

_AMOUNT = re.compile(r"\d{1,3}(?:[.,'\u00a0\u202f ]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?")


def finding(code: str, field: str | None, message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


def _squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def amounts_in(text: str) -> set[Decimal]:
    """Every amount the text shows, read with either decimal separator, as absolute values."""
    found: set[Decimal] = set()
    for token in _AMOUNT.findall(unicodedata.normalize("NFKC", text)):
        for hint in (".", ","):
            value = parse_amount(token, decimal_hint=hint)
            if value is not None:
                found.add(abs(value))
    return found


def compare_with_text(text: str, invoice_number: str | None, total: str | None) -> list[dict[str, Any]]:
    visible = sum(1 for c in text if not c.isspace())
    if visible < MIN_TEXT_CHARS:
        return [finding("EINVOICE_PDF_NOT_COMPARED", None,
                        f"the PDF has no usable text layer ({visible} visible characters): its picture was not"
                        " compared with the XML")]
    findings = []
    if invoice_number and _squash(invoice_number) not in _squash(text):
        findings.append(finding("EINVOICE_PDF_MISMATCH", "invoice_number",
                                f"the XML's invoice number {invoice_number} does not appear in the PDF's text"))
    if total is not None and abs(Decimal(total)) not in amounts_in(text):
        findings.append(finding("EINVOICE_PDF_MISMATCH", "total",
                                f"the XML's grand total {total} does not appear among the PDF's amounts"))
    return findings
