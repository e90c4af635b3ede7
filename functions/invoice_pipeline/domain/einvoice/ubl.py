"""OASIS UBL 2.1 Invoice and CreditNote (XRechnung's UBL syntax, Peppol BIS Billing 3.0) -> the normalized
invoice's fields, with the same EN 16931 terms as cii.py: subtotal = BT-109 TaxExclusiveAmount, tax = BT-110
(the TaxTotal in the document currency), total = BT-112 TaxInclusiveAmount, amount_due = BT-115
PayableAmount. A CreditNote's amounts are read as stated, like every other document's (model.py)."""

from __future__ import annotations

from typing import Any

from invoice_pipeline.domain.einvoice.model import Reading, address, iso_date
from invoice_pipeline.domain.einvoice.xpath import Element, amount, children, first, local, text

__all__ = ["read_ubl"]


def _party(node: Element | None) -> dict[str, Any]:
    postal = first(node, "PostalAddress")
    vat = [
        text(scheme, "CompanyID") for scheme in children(node, "PartyTaxScheme")
        if (text(scheme, "TaxScheme/ID") or "").upper() == "VAT"
    ]
    other = [text(scheme, "CompanyID") for scheme in children(node, "PartyTaxScheme")]
    return {
        "name": text(node, "PartyLegalEntity/RegistrationName") or text(node, "PartyName/Name"),
        "address": address(
            [text(postal, "StreetName"), text(postal, "AdditionalStreetName"), text(postal, "AddressLine/Line")],
            text(postal, "PostalZone"), text(postal, "CityName"), text(postal, "CountrySubentity"),
            text(postal, "Country/IdentificationCode"),
        ),
        "tax_id": next((v for v in [*vat, *other] if v), None),
    }


def _tax_amount(root: Element, currency: str | None) -> str | None:
    totals = [t for t in children(root, "TaxTotal") if first(t, "TaxAmount") is not None]
    for total in totals:
        node = first(total, "TaxAmount")
        if node is not None and (currency is None or node.get("currencyID") in (None, currency)):
            return amount(node)
    return amount(totals[0], "TaxAmount") if totals else None


def _allowances_charges(root: Element) -> list[dict[str, Any]]:
    return [
        {
            "charge": (text(node, "ChargeIndicator") or "").lower() == "true",
            "amount": amount(node, "Amount"),
            "base_amount": amount(node, "BaseAmount"),
            "percent": amount(node, "MultiplierFactorNumeric"),
            "reason": text(node, "AllowanceChargeReason"),
            "reason_code": text(node, "AllowanceChargeReasonCode"),
            "tax_category": text(node, "TaxCategory/ID"),
            "tax_rate": amount(node, "TaxCategory/Percent"),
        }
        for node in children(root, "AllowanceCharge")
    ]


def _tax_breakdown(root: Element, currency: str | None) -> list[dict[str, Any]]:
    out = []
    for total in children(root, "TaxTotal"):
        tax = first(total, "TaxAmount")
        if tax is not None and currency is not None and tax.get("currencyID") not in (None, currency):
            continue  # BT-111: the tax total in the accounting currency, no breakdown of the invoice's own
        for sub in children(total, "TaxSubtotal"):
            out.append({
                "category": text(sub, "TaxCategory/ID"),
                "rate": amount(sub, "TaxCategory/Percent"),
                "taxable_amount": amount(sub, "TaxableAmount"),
                "tax_amount": amount(sub, "TaxAmount"),
                "exemption_reason": text(sub, "TaxCategory/TaxExemptionReason"),
            })
    return out


def _payment(root: Element) -> dict[str, Any]:
    means = children(root, "PaymentMeans")
    terms = [text(node, "Note", multiline=True) for node in children(root, "PaymentTerms")]
    return {
        "terms": "\n".join(t for t in terms if t) or None,
        "means_code": next((c for m in means if (c := text(m, "PaymentMeansCode"))), None),
        "iban": next((i for m in means if (i := text(m, "PayeeFinancialAccount/ID"))), None),
        "account_name": next((i for m in means if (i := text(m, "PayeeFinancialAccount/Name"))), None),
        "bic": next((i for m in means if (i := text(m, "PayeeFinancialAccount/FinancialInstitutionBranch/ID"))),
                    None),
        "creditor_reference": next(
            (text(p) for p in [*children(root, "PayeeParty/PartyIdentification/ID"),
                               *children(root, "AccountingSupplierParty/Party/PartyIdentification/ID")]
             if (p.get("schemeID") or "").upper() == "SEPA"), None
        ),
        "mandate_reference": next((i for m in means if (i := text(m, "PaymentMandate/ID"))), None),
    }


def _line(node: Element) -> dict[str, Any]:
    quantity = first(node, "InvoicedQuantity|CreditedQuantity")
    item = first(node, "Item")
    return {
        "description": text(item, "Name"),
        "quantity": amount(quantity),
        "unit_price": amount(node, "Price/PriceAmount"),
        "amount": amount(node, "LineExtensionAmount"),
        "product_code": text(item, "SellersItemIdentification/ID") or text(item, "StandardItemIdentification/ID"),
        "page": None,
        "unit": quantity.get("unitCode") if quantity is not None else None,
        "tax_rate": amount(item, "ClassifiedTaxCategory/Percent"),
    }


def read_ubl(root: Element) -> Reading:
    credit = local(root) == "CreditNote"
    currency = text(root, "DocumentCurrencyCode")
    totals = first(root, "LegalMonetaryTotal")
    due = iso_date(text(root, "DueDate")) or next(
        (d for m in children(root, "PaymentMeans") if (d := iso_date(text(m, "PaymentDueDate")))), None
    )
    reading = Reading(fields={})
    reading.put("vendor", _party(first(root, "AccountingSupplierParty/Party")), "BG-4")
    reading.put("customer", _party(first(root, "AccountingCustomerParty/Party")), "BG-7")
    reading.put("invoice_number", text(root, "ID"), "BT-1")
    reading.put("document_type", text(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode"), "BT-3")
    reading.put("invoice_date", iso_date(text(root, "IssueDate")), "BT-2")
    reading.put("due_date", due, "BT-9")
    reading.put("delivery_date", iso_date(text(root, "Delivery/ActualDeliveryDate")), "BT-72")
    reading.put("po_number", text(root, "OrderReference/ID"), "BT-13")
    reading.put("currency", currency, "BT-5")
    reading.put("subtotal", amount(totals, "TaxExclusiveAmount"), "BT-109")
    reading.put("tax", _tax_amount(root, currency), "BT-110")
    reading.put("discount", None, "BG-20")
    reading.put("total", amount(totals, "TaxInclusiveAmount"), "BT-112")
    reading.put("prepaid", amount(totals, "PrepaidAmount"), "BT-113")
    reading.put("amount_due", amount(totals, "PayableAmount"), "BT-115")
    reading.put("allowances_charges", _allowances_charges(root), "BG-20/BG-21")
    reading.put("tax_breakdown", _tax_breakdown(root, currency), "BG-23")
    reading.put("payment", _payment(root), "BG-16")
    reading.put("line_items", [_line(n) for n in children(root, "CreditNoteLine" if credit else "InvoiceLine")],
                "BG-25")
    return reading
