"""Which e-invoice an XML is: its syntax (CII or UBL), the format a person would name (Factur-X, ZUGFeRD,
XRechnung, Peppol BIS) and its profile, the guideline id it declares (BT-24).

Only what is an invoice or credit note in EN 16931's two syntaxes is taken. An Order-X order, a CII or UBL
document of another kind, or a profile that carries too little to stand for the invoice (Factur-X MINIMUM and
BASIC WL: no line items, and MINIMUM no addresses either; there the PDF's picture is the invoice) raise
UnsupportedEInvoice, so the caller can send such a PDF to OCR instead. Anything else is NotAnEInvoice."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from invoice_pipeline.domain.einvoice.xpath import Element, text
from invoice_pipeline.errors import NotAnEInvoice, UnsupportedEInvoice

__all__ = ["CII", "UBL", "Identity", "identify"]

CII = "CII"
UBL = "UBL"

_CII_D16B = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
_ZUGFERD_1 = "urn:ferd:CrossIndustryDocument:invoice:1p0"
_UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_ORDER_X = "SCRDMCCBDACIOMessageStructure"

# factur-x's name for each root: what its get_level and xml_check_xsd take as `flavor`.
_FLAVORS = {
    ("CrossIndustryInvoice", _CII_D16B): "factur-x",
    ("CrossIndustryDocument", _ZUGFERD_1): "zugferd",
    ("Invoice", _UBL_INVOICE): "ubl-2.1-invoice",
    ("CreditNote", _UBL_CREDIT_NOTE): "ubl-2.1-creditnote",
}
# Levels whose data is not the whole invoice (no line items; MINIMUM has no addresses either).
UNSUPPORTED_LEVELS = frozenset({"minimum", "basicwl"})


@dataclass(frozen=True)
class Identity:
    syntax: str  # CII or UBL
    format: str  # Factur-X, ZUGFeRD 2, ZUGFeRD 1.0, XRechnung, Peppol BIS, CII, UBL
    profile: str | None  # the guideline id as declared (BT-24)
    level: str | None  # factur-x's level name: basic, en16931, extended, comfort (ZUGFeRD 1.0), ...
    flavor: str  # factur-x's flavor name, for its XSD check


def identify(root: Element, *, attachment: str | None = None) -> Identity:
    """The identity of a parsed XML; `attachment` is its file name inside a PDF (None for a bare XML)."""
    qname = etree.QName(root.tag) if isinstance(root.tag, str) else None
    key = (qname.localname, qname.namespace or "") if qname else ("", "")
    flavor = _FLAVORS.get(key)
    if flavor is None:
        if key[0] == _ORDER_X:
            raise UnsupportedEInvoice("the XML is an Order-X order, not an invoice")
        if key[0] in ("CrossIndustryInvoice", "CrossIndustryDocument", "Invoice", "CreditNote"):
            raise UnsupportedEInvoice(f"the XML's root {key[0]} is in namespace {key[1] or '(none)'}, not one of"
                                      " CII D16B, ZUGFeRD 1.0 or UBL 2.1")
        raise NotAnEInvoice(f"the XML is not an e-invoice: its root element is {key[0] or root.tag!r}")
    syntax = UBL if flavor.startswith("ubl") else CII
    if syntax == UBL:
        profile = text(root, "CustomizationID")
    else:
        profile = text(root, "ExchangedDocumentContext|SpecifiedExchangedDocumentContext"
                             "/GuidelineSpecifiedDocumentContextParameter/ID")
    level = _level(root, flavor, profile)
    if level in UNSUPPORTED_LEVELS:
        raise UnsupportedEInvoice(f"the e-invoice's profile {profile} ({level}) carries no line items: its data"
                                  " is not the whole invoice")
    return Identity(syntax=syntax, format=_format(flavor, profile, attachment), profile=profile, level=level,
                    flavor=flavor)


def _level(root: Element, flavor: str, profile: str | None) -> str | None:
    from facturx import get_level  # lazily: factur-x pulls in pypdf and requests

    if profile is None:
        raise UnsupportedEInvoice("the e-invoice declares no profile (guideline id, BT-24)")
    try:
        return str(get_level(root, flavor))
    except Exception as exc:  # noqa: BLE001 - factur-x raises bare Exceptions and ValueErrors alike
        if flavor.startswith("ubl"):
            return None  # a UBL customization id outside EN 16931's family: read it, the XSD still applies
        raise UnsupportedEInvoice(f"the e-invoice's profile {profile!r} is not one this reader knows ({exc})") from None


def _format(flavor: str, profile: str | None, attachment: str | None) -> str:
    folded = (profile or "").casefold()
    name = (attachment or "").casefold()
    if "xrechnung" in folded or name == "xrechnung.xml":
        return "XRechnung"
    if "peppol" in folded:
        return "Peppol BIS"
    if flavor == "zugferd":
        return "ZUGFeRD 1.0"
    if flavor.startswith("ubl"):
        return UBL
    if name == "factur-x.xml" or "factur-x" in folded:
        return "Factur-X"
    if name == "zugferd-invoice.xml" or "zugferd" in folded:
        return "ZUGFeRD 2"
    return CII
