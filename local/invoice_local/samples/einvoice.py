"""The sample invoices (catalog.py) as e-invoices: a bare CII XML (Factur-X/XRechnung syntax), a UBL Invoice
(Peppol BIS, XRechnung's other syntax), and a Factur-X PDF (the rendered page with the CII XML attached), each at
the EN 16931 profile and valid against its XSD.

The XML is written by factur-x (Akretion), the library issuers use, from its EN 16931 data dictionary (business
terms BT-n, groups BG-n): not by this project's reader's code, so the reader is measured against another
implementation of the standard. The truth is the sample's own `label()`, with its document type."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from invoice_local.samples.model import Invoice, Party, plain

__all__ = ["EN16931", "FORMS", "TYPE_CODE", "cii_xml", "data_dict", "facturx_pdf", "label", "ubl_xml"]

EN16931 = "urn:cen.eu:en16931:2017"
TYPE_CODE = "380"  # every sample is a commercial invoice
# The printed unit after a quantity -> UN/ECE Recommendation 20 code; anything else is "one" (C62).
_UNITS = {"h": "HUR", "hrs": "HUR", "std.": "HUR", "std": "HUR", "stk.": "H87", "pack": "PK", "psch.": "LS"}
_POSTCODE_CITY = re.compile(r"^(?P<postcode>\d[\d\s]*[A-Z]{0,2})\s+(?P<city>\D.*)$")
_UK_POSTCODE = re.compile(r"^(?P<city>.*?)\s*(?P<postcode>[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2})$")
_US_CITY = re.compile(r"^(?P<city>[^,]+),\s*(?P<region>[A-Z]{2})\s+(?P<postcode>\d{5}(?:-\d{4})?)$")
_VAT_ID = re.compile(r"\b([A-Z]{2}[0-9A-Z][0-9A-Z .]{6,14}[0-9A-Z])\b")


def _party(party: Party, country: str) -> dict[str, Any]:
    lines = [line for line in party.address if not re.match(r"(?i)^(attn|t\.a\.v|nif)\b", line)]
    out: dict[str, Any] = {"name": party.name, "country_code": country}
    place = lines[-1] if lines else ""
    for pattern in (_US_CITY, _POSTCODE_CITY, _UK_POSTCODE):
        match = pattern.match(place)
        if match:
            out["postcode"] = match["postcode"].strip()
            out["city"] = match["city"].strip()
            if "region" in match.groupdict():
                out["country_subdivision"] = match["region"]
            lines = lines[:-1]
            break
    for key, line in zip(("addr_l1", "addr_l2", "addr_l3"), lines, strict=False):
        out[key] = line
    if party.tax_id:
        vat = _VAT_ID.search(party.tax_id)
        if vat and vat[1][:2] == country:
            out["vat_identifier"] = re.sub(r"[\s.]", "", vat[1])
    return out


def delivery_date(invoice: Invoice) -> date:
    """The date of supply the sample prints ("Leistungsdatum 31.05.2024", "Lieferdatum"), else its issue date:
    where a German invoice prints none, the law reads the invoice date as the date of supply. factur-x's CII
    writer needs one (without BT-72 it writes an empty ApplicableHeaderTradeDelivery that fails the XSD)."""
    for key, value in invoice.extra_meta:
        match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", value.strip())
        if match and ("datum" in key.casefold() or "date" in key.casefold()):
            return date(int(match[3]), int(match[2]), int(match[1]))
    return invoice.issue_date


def data_dict(invoice: Invoice) -> dict[str, Any]:
    """The sample as factur-x's EN 16931 data dictionary (what `facturx.parse_ubl_cii_xml` returns for an
    XML): one VAT rate, no allowances, nothing prepaid."""
    country = invoice.locale.tag.rsplit("-", 1)[-1].upper()
    rate = plain(invoice.tax_rate * 100)
    return {
        "BT-1": invoice.number, "BT-2": invoice.issue_date, "BT-3": TYPE_CODE, "BT-5": invoice.locale.currency,
        "BT-9": invoice.due_date, "BT-24": EN16931, "BT-72": delivery_date(invoice),
        **({"BT-20": invoice.terms} if invoice.terms else {}),
        "BG-4": _party(invoice.vendor, country), "BG-7": _party(invoice.customer, country),
        "BG-25": [
            {
                "BT-126": str(position), "BT-129": plain(line.quantity),
                "BT-130": _UNITS.get(line.unit.casefold(), "C62"), "BT-131": str(line.amount),
                "BT-146": str(line.unit_price), "BT-151": "S", "BT-152": rate, "BT-153": line.description,
            }
            for position, line in enumerate(invoice.lines, start=1)
        ],
        "BG-23": [{"BT-116": str(invoice.subtotal), "BT-117": str(invoice.tax), "BT-118": "S", "BT-119": rate}],
        "BT-106": str(invoice.subtotal), "BT-109": str(invoice.subtotal), "BT-110": str(invoice.tax),
        "BT-112": str(invoice.total), "BT-115": str(invoice.total),
    }


def cii_xml(invoice: Invoice) -> bytes:
    from facturx import generate_cii_xml

    return bytes(generate_cii_xml(data_dict(invoice), level="en16931", check_xsd=True, check_schematron=False))


def ubl_xml(invoice: Invoice) -> bytes:
    from facturx import generate_ubl_xml

    return bytes(generate_ubl_xml(data_dict(invoice), level="en16931", check_xsd=True, check_schematron=False))


def facturx_pdf(invoice: Invoice) -> bytes:
    """The invoice's rendered page with its CII XML attached as factur-x.xml: what a Factur-X issuer sends."""
    from facturx import generate_from_binary

    from invoice_local.samples.render import render_pdf

    return bytes(generate_from_binary(render_pdf(invoice), cii_xml(invoice), flavor="factur-x", level="en16931",
                                      check_xsd=True))


# Each form: (name, how to build it, factur-x's XSD flavor for the XML inside).
FORMS: tuple[tuple[str, Callable[[Invoice], bytes], str], ...] = (
    ("cii", cii_xml, "factur-x"),
    ("ubl", ubl_xml, "ubl-2.1-invoice"),
    ("factur-x", facturx_pdf, "factur-x"),
)


def label(invoice: Invoice) -> dict[str, Any]:
    """The truth: the sample's labels.jsonl row with its document type, as the shared e-invoices' rows have."""
    return {**invoice.label(), "document_type_code": TYPE_CODE}


def xml_of(form: str, content: bytes) -> bytes:
    """The XML a form carries (a Factur-X PDF's attachment), for the XSD check."""
    if form != "factur-x":
        return content
    from facturx import get_xml_from_pdf

    _name, xml = get_xml_from_pdf(content, check_xsd=False)
    return bytes(xml)
