"""UN/CEFACT Cross Industry Invoice -> the normalized invoice's fields: Factur-X and ZUGFeRD 2.x (CII D16B,
root CrossIndustryInvoice), XRechnung's CII syntax, and ZUGFeRD 1.0 (root CrossIndustryDocument, whose
aggregates carry older names: each path lists the D16B name first, then ZUGFeRD 1.0's).

Which EN 16931 term fills which field:
- subtotal = BT-109 TaxBasisTotalAmount (the total without VAT, after document-level allowances and
  charges), tax = BT-110 TaxTotalAmount in the invoice currency, total = BT-112 GrandTotalAmount, amount_due
  = BT-115 DuePayableAmount, prepaid = BT-113. `discount` stays null: the allowances and charges (BG-20,
  BG-21) are already inside BT-109 and are listed in `allowances_charges`.
- vendor = seller (BG-4), customer = buyer (BG-7); tax_id the VAT id (BT-31/BT-48), else the seller's tax
  number (BT-32)."""

from __future__ import annotations

from typing import Any

from invoice_pipeline.domain.einvoice.model import Reading, address, cii_date
from invoice_pipeline.domain.einvoice.xpath import Element, amount, children, first, text

__all__ = ["read_cii"]

_HEADER = "ExchangedDocument|HeaderExchangedDocument"
_TRANSACTION = "SupplyChainTradeTransaction|SpecifiedSupplyChainTradeTransaction"
_AGREEMENT = "ApplicableHeaderTradeAgreement|ApplicableSupplyChainTradeAgreement"
_DELIVERY = "ApplicableHeaderTradeDelivery|ApplicableSupplyChainTradeDelivery"
_SETTLEMENT = "ApplicableHeaderTradeSettlement|ApplicableSupplyChainTradeSettlement"
_SUMMATION = "SpecifiedTradeSettlementHeaderMonetarySummation|SpecifiedTradeSettlementMonetarySummation"
_LINE_AGREEMENT = "SpecifiedLineTradeAgreement|SpecifiedSupplyChainTradeAgreement"
_LINE_DELIVERY = "SpecifiedLineTradeDelivery|SpecifiedSupplyChainTradeDelivery"
_LINE_SETTLEMENT = "SpecifiedLineTradeSettlement|SpecifiedSupplyChainTradeSettlement"
_LINE_SUMMATION = "SpecifiedTradeSettlementLineMonetarySummation|SpecifiedTradeSettlementMonetarySummation"
_RATE = "RateApplicablePercent|ApplicablePercent"


def _date(node: Element | None, path: str) -> str | None:
    target = first(node, path)
    return cii_date(text(target), target.get("format")) if target is not None else None


def _party(node: Element | None) -> dict[str, Any]:
    postal = first(node, "PostalTradeAddress")
    registrations = {
        (reg.get("schemeID") or "").upper(): text(reg)
        for reg in children(node, "SpecifiedTaxRegistration/ID")
    }
    return {
        "name": text(node, "Name"),
        "address": address(
            [text(postal, "LineOne"), text(postal, "LineTwo"), text(postal, "LineThree")],
            text(postal, "PostcodeCode"), text(postal, "CityName"), text(postal, "CountrySubDivisionName"),
            text(postal, "CountryID"),
        ),
        "tax_id": registrations.get("VA") or registrations.get("FC"),
    }


def _tax_amount(summation: Element | None, currency: str | None) -> str | None:
    """BT-110: the TaxTotalAmount in the invoice currency (a second one in the tax currency, BT-111, may follow)."""
    totals = children(summation, "TaxTotalAmount")
    for node in totals:
        if currency is None or node.get("currencyID") in (None, currency):
            return amount(node)
    return amount(totals[0]) if totals else None


def _allowances_charges(settlement: Element | None) -> list[dict[str, Any]]:
    out = []
    for node in children(settlement, "SpecifiedTradeAllowanceCharge"):
        indicator = (text(node, "ChargeIndicator/Indicator") or "").lower()
        out.append({
            "charge": indicator == "true",
            "amount": amount(node, "ActualAmount"),
            "base_amount": amount(node, "BasisAmount"),
            "percent": amount(node, "CalculationPercent"),
            "reason": text(node, "Reason"),
            "reason_code": text(node, "ReasonCode"),
            "tax_category": text(node, "CategoryTradeTax/CategoryCode"),
            "tax_rate": amount(node, f"CategoryTradeTax/{_RATE}"),
        })
    return out


def _tax_breakdown(settlement: Element | None) -> list[dict[str, Any]]:
    return [
        {
            "category": text(node, "CategoryCode"),
            "rate": amount(node, _RATE),
            "taxable_amount": amount(node, "BasisAmount"),
            "tax_amount": amount(node, "CalculatedAmount"),
            "exemption_reason": text(node, "ExemptionReason"),
        }
        for node in children(settlement, "ApplicableTradeTax")
    ]


def _payment(settlement: Element | None) -> dict[str, Any]:
    means = children(settlement, "SpecifiedTradeSettlementPaymentMeans")
    terms = [text(node, "Description", multiline=True) for node in children(settlement, "SpecifiedTradePaymentTerms")]
    return {
        "terms": "\n".join(t for t in terms if t) or None,
        "means_code": next((c for m in means if (c := text(m, "TypeCode"))), None),
        "iban": next(
            (i for m in means if (i := text(m, "PayeePartyCreditorFinancialAccount/IBANID"))), None
        ),
        "account_name": next(
            (i for m in means if (i := text(m, "PayeePartyCreditorFinancialAccount/AccountName"))), None
        ),
        "bic": next((i for m in means if (i := text(m, "PayeeSpecifiedCreditorFinancialInstitution/BICID"))), None),
        "creditor_reference": text(settlement, "CreditorReferenceID"),
        "mandate_reference": next(
            (r for t in children(settlement, "SpecifiedTradePaymentTerms")
             if (r := text(t, "DirectDebitMandateID"))), None
        ),
    }


def _line(node: Element) -> dict[str, Any]:
    agreement = first(node, _LINE_AGREEMENT)
    quantity = first(node, f"{_LINE_DELIVERY}/BilledQuantity")
    settlement = first(node, _LINE_SETTLEMENT)
    product = first(node, "SpecifiedTradeProduct")
    return {
        "description": text(product, "Name"),
        "quantity": amount(quantity),
        "unit_price": amount(agreement, "NetPriceProductTradePrice/ChargeAmount"),
        "amount": amount(settlement, f"{_LINE_SUMMATION}/LineTotalAmount"),
        "product_code": text(product, "SellerAssignedID") or text(product, "GlobalID"),
        "page": None,
        "unit": quantity.get("unitCode") if quantity is not None else None,
        "tax_rate": amount(settlement, f"ApplicableTradeTax/{_RATE}"),
    }


def read_cii(root: Element) -> Reading:
    header = first(root, _HEADER)
    transaction = first(root, _TRANSACTION)
    agreement = first(transaction, _AGREEMENT)
    delivery = first(transaction, _DELIVERY)
    settlement = first(transaction, _SETTLEMENT)
    summation = first(settlement, _SUMMATION)
    currency = text(settlement, "InvoiceCurrencyCode")
    due_dates = [
        _date(terms, "DueDateDateTime/DateTimeString")
        for terms in children(settlement, "SpecifiedTradePaymentTerms")
    ]

    reading = Reading(fields={})
    reading.put("vendor", _party(first(agreement, "SellerTradeParty")), "BG-4")
    reading.put("customer", _party(first(agreement, "BuyerTradeParty")), "BG-7")
    reading.put("invoice_number", text(header, "ID"), "BT-1")
    reading.put("document_type", text(header, "TypeCode"), "BT-3")
    reading.put("invoice_date", _date(header, "IssueDateTime/DateTimeString"), "BT-2")
    reading.put("due_date", next((d for d in due_dates if d), None), "BT-9")
    reading.put("delivery_date", _date(delivery, "ActualDeliverySupplyChainEvent/OccurrenceDateTime/DateTimeString"),
                "BT-72")
    reading.put(
        "po_number",
        text(agreement, "BuyerOrderReferencedDocument/IssuerAssignedID")
        or text(agreement, "BuyerOrderReferencedDocument/ID"),
        "BT-13",
    )
    reading.put("currency", currency, "BT-5")
    reading.put("subtotal", amount(summation, "TaxBasisTotalAmount"), "BT-109")
    reading.put("tax", _tax_amount(summation, currency), "BT-110")
    reading.put("discount", None, "BG-20")
    reading.put("total", amount(summation, "GrandTotalAmount"), "BT-112")
    reading.put("prepaid", amount(summation, "TotalPrepaidAmount"), "BT-113")
    reading.put("amount_due", amount(summation, "DuePayableAmount"), "BT-115")
    reading.put("allowances_charges", _allowances_charges(settlement), "BG-20/BG-21")
    reading.put("tax_breakdown", _tax_breakdown(settlement), "BG-23")
    reading.put("payment", _payment(settlement), "BG-16")
    reading.put("line_items", [_line(node) for node in children(transaction, "IncludedSupplyChainTradeLineItem")],
                "BG-25")
    return reading
