"""What CII and UBL readers share: the parts of the normalized invoice (schemas/invoice.schema.json) they build
the same way, and the EN 16931 business terms each field comes from (shown as the field's provenance label).

Sign convention (the same for every engine, see the schema's `document_type`): amounts are stored as the
document states them, with their own sign, never flipped. A credit note (381) normally states positive amounts
and is told apart by its document type; a corrected invoice (384) that reduces an earlier one states negative
amounts and keeps them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = ["DOCUMENT_TYPES", "Reading", "address", "cii_date", "iso_date"]

# UNTDID 1001 codes an EN 16931 invoice may carry, with what they mean. Credit notes: 81, 83, 261, 262, 296,
# 308, 381, 396, 420, 458, 532.
DOCUMENT_TYPES: dict[str, str] = {
    "71": "request for payment", "80": "debit note related to goods or services",
    "81": "credit note related to goods or services", "82": "metered services invoice",
    "83": "credit note related to financial adjustments", "84": "debit note related to financial adjustments",
    "102": "tax notification", "130": "invoicing data sheet", "202": "direct payment valuation",
    "203": "provisional payment valuation", "204": "payment valuation", "211": "interim application for payment",
    "218": "final payment request based on completion of work", "219": "payment request for completed units",
    "261": "self billed credit note", "262": "consolidated credit note - goods and services",
    "295": "price variation invoice", "296": "credit note for price variation", "308": "delcredere credit note",
    "325": "proforma invoice", "326": "partial invoice", "331": "commercial invoice which includes a packing list",
    "380": "commercial invoice", "381": "credit note", "382": "commission note", "383": "debit note",
    "384": "corrected invoice", "385": "consolidated invoice", "386": "prepayment invoice", "387": "hire invoice",
    "388": "tax invoice", "389": "self-billed invoice", "390": "delcredere invoice", "393": "factored invoice",
    "394": "lease invoice", "395": "consignment invoice", "396": "factored credit note",
    "420": "optical character reading (OCR) payment credit note", "456": "debit advice",
    "457": "reversal of debit", "458": "reversal of credit", "527": "self billed debit note",
    "532": "forwarder's credit note", "553": "forwarder's invoice discrepancy report",
    "575": "insurer's invoice", "623": "forwarder's invoice", "633": "port charges documents",
    "751": "invoice information for accounting purposes", "780": "freight invoice",
    "817": "claim notification", "870": "consular invoice", "875": "partial construction invoice",
    "876": "partial final construction invoice", "877": "final construction invoice",
    "935": "customs invoice",
}

_CII_102 = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def cii_date(value: str | None, fmt: str | None) -> str | None:
    """A UN/CEFACT DateTimeString as an ISO date. EN 16931 allows format 102 (CCYYMMDD) only; a value in
    another format (610 month, 616 week) names no day and gives None."""
    if value is None or fmt not in (None, "102"):
        return None
    match = _CII_102.match(value)
    return _valid(*map(int, match.groups())) if match else None


def iso_date(value: str | None) -> str | None:
    """A UBL xsd:date ("2024-03-05", possibly with a zone suffix) as an ISO date."""
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})", value or "")
    return _valid(*map(int, match.groups())) if match else None


def _valid(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def address(lines: list[str | None], postcode: str | None, city: str | None, subdivision: str | None,
            country: str | None) -> str | None:
    """One address as the schema's text: street lines, "postcode city", region, country code, one per line."""
    parts = [line for line in lines if line]
    place = " ".join(p for p in (postcode, city) if p)
    parts += [p for p in (place, subdivision, country) if p]
    return "\n".join(parts) or None


@dataclass
class Reading:
    """What a reader found: the invoice's fields (schema names) and the business term each came from."""

    fields: dict[str, Any]
    terms: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, value: Any, term: str) -> None:
        self.fields[name] = value
        if value is not None:
            self.terms[name] = term
