"""E-invoices built in the tests: a minimal EN 16931 CII XML (the Factur-X/ZUGFeRD 2.x syntax), the same invoice
in ZUGFeRD 1.0's namespace and names, a UBL Invoice and CreditNote, and a Factur-X PDF made of a page drawn by
fpdf2 with any of them attached by factur-x (the library's own generator, as an issuer would use it).

The values are parameters, so a test states what it expects next to what it builds."""

from __future__ import annotations

import io
from dataclasses import dataclass

CII_PROFILE = "urn:cen.eu:en16931:2017"
UBL_PROFILE = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"


@dataclass(frozen=True)
class Sample:
    number: str = "RE-2025-0042"
    type_code: str = "380"
    issued: str = "2025-03-14"
    due: str = "2025-04-13"
    currency: str = "EUR"
    seller: str = "Holzwerk Berger GmbH"
    seller_vat: str = "DE811569869"
    buyer: str = "Café Lindner KG"
    quantity: str = "4.000"
    unit: str = "HUR"
    unit_price: str = "25.00"
    line: str = "100.00"
    rate: str = "19.00"
    net: str = "100.00"
    tax: str = "19.00"
    total: str = "119.00"
    iban: str = "DE02120300000000202051"


def _d(iso: str) -> str:
    return iso.replace("-", "")


def cii_xml(s: Sample = Sample(), *, profile: str = CII_PROFILE) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>{profile}</ram:ID>
  </ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument><ram:ID>{s.number}</ram:ID><ram:TypeCode>{s.type_code}</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">{_d(s.issued)}</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:SellerAssignedID>T-1</ram:SellerAssignedID>
        <ram:Name>Tischlerarbeiten
          Werkstatt</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement><ram:NetPriceProductTradePrice><ram:ChargeAmount>{s.unit_price}</ram:ChargeAmount>
      </ram:NetPriceProductTradePrice></ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="{s.unit}">{s.quantity}</ram:BilledQuantity>
      </ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode>
          <ram:RateApplicablePercent>{s.rate}</ram:RateApplicablePercent></ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>{s.line}</ram:LineTotalAmount>
        </ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty><ram:Name>{s.seller}</ram:Name>
        <ram:PostalTradeAddress><ram:PostcodeCode>10115</ram:PostcodeCode><ram:LineOne>Ackerstraße 3</ram:LineOne>
          <ram:CityName>Berlin</ram:CityName><ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{s.seller_vat}</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>{s.buyer}</ram:Name>
        <ram:PostalTradeAddress><ram:PostcodeCode>80331</ram:PostcodeCode><ram:LineOne>Marienplatz 1</ram:LineOne>
          <ram:CityName>München</ram:CityName><ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress>
      </ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery><ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime>
      <udt:DateTimeString format="102">{_d(s.issued)}</udt:DateTimeString></ram:OccurrenceDateTime>
    </ram:ActualDeliverySupplyChainEvent></ram:ApplicableHeaderTradeDelivery>
    <ram:ApplicableHeaderTradeSettlement>
      <ram:InvoiceCurrencyCode>{s.currency}</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{s.iban}</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
      </ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:ApplicableTradeTax><ram:CalculatedAmount>{s.tax}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
        <ram:BasisAmount>{s.net}</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode>
        <ram:RateApplicablePercent>{s.rate}</ram:RateApplicablePercent></ram:ApplicableTradeTax>
      <ram:SpecifiedTradePaymentTerms><ram:Description>Zahlbar innerhalb 30 Tagen</ram:Description>
        <ram:DueDateDateTime><udt:DateTimeString format="102">{_d(s.due)}</udt:DateTimeString></ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>{s.line}</ram:LineTotalAmount><ram:TaxBasisTotalAmount>{s.net}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="{s.currency}">{s.tax}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>{s.total}</ram:GrandTotalAmount><ram:DuePayableAmount>{s.total}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
""".encode()


def zugferd1_xml(s: Sample = Sample()) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryDocument xmlns:rsm="urn:ferd:CrossIndustryDocument:invoice:1p0"
  xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"
  xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15">
  <rsm:SpecifiedExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
    <ram:ID>urn:ferd:CrossIndustryDocument:invoice:1p0:comfort</ram:ID>
  </ram:GuidelineSpecifiedDocumentContextParameter></rsm:SpecifiedExchangedDocumentContext>
  <rsm:HeaderExchangedDocument><ram:ID>{s.number}</ram:ID><ram:Name>RECHNUNG</ram:Name>
    <ram:TypeCode>{s.type_code}</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">{_d(s.issued)}</udt:DateTimeString></ram:IssueDateTime>
  </rsm:HeaderExchangedDocument>
  <rsm:SpecifiedSupplyChainTradeTransaction>
    <ram:ApplicableSupplyChainTradeAgreement>
      <ram:SellerTradeParty><ram:Name>{s.seller}</ram:Name>
        <ram:PostalTradeAddress><ram:PostcodeCode>10115</ram:PostcodeCode><ram:LineOne>Ackerstraße 3</ram:LineOne>
          <ram:CityName>Berlin</ram:CityName><ram:CountryID>DE</ram:CountryID></ram:PostalTradeAddress>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{s.seller_vat}</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>{s.buyer}</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableSupplyChainTradeAgreement>
    <ram:ApplicableSupplyChainTradeDelivery><ram:ActualDeliverySupplyChainEvent><ram:OccurrenceDateTime>
      <udt:DateTimeString format="102">{_d(s.issued)}</udt:DateTimeString></ram:OccurrenceDateTime>
    </ram:ActualDeliverySupplyChainEvent></ram:ApplicableSupplyChainTradeDelivery>
    <ram:ApplicableSupplyChainTradeSettlement>
      <ram:InvoiceCurrencyCode>{s.currency}</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>
        <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>{s.iban}</ram:IBANID></ram:PayeePartyCreditorFinancialAccount>
      </ram:SpecifiedTradeSettlementPaymentMeans>
      <ram:ApplicableTradeTax><ram:CalculatedAmount currencyID="{s.currency}">{s.tax}</ram:CalculatedAmount>
        <ram:TypeCode>VAT</ram:TypeCode><ram:BasisAmount currencyID="{s.currency}">{s.net}</ram:BasisAmount>
        <ram:CategoryCode>S</ram:CategoryCode><ram:ApplicablePercent>{s.rate}</ram:ApplicablePercent>
      </ram:ApplicableTradeTax>
      <ram:SpecifiedTradePaymentTerms><ram:Description>Zahlbar innerhalb 30 Tagen</ram:Description>
        <ram:DueDateDateTime><udt:DateTimeString format="102">{_d(s.due)}</udt:DateTimeString></ram:DueDateDateTime>
      </ram:SpecifiedTradePaymentTerms>
      <ram:SpecifiedTradeSettlementMonetarySummation>
        <ram:LineTotalAmount currencyID="{s.currency}">{s.line}</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount currencyID="{s.currency}">{s.net}</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="{s.currency}">{s.tax}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount currencyID="{s.currency}">{s.total}</ram:GrandTotalAmount>
        <ram:DuePayableAmount currencyID="{s.currency}">{s.total}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementMonetarySummation>
    </ram:ApplicableSupplyChainTradeSettlement>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>1</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedSupplyChainTradeAgreement><ram:NetPriceProductTradePrice>
        <ram:ChargeAmount currencyID="{s.currency}">{s.unit_price}</ram:ChargeAmount>
      </ram:NetPriceProductTradePrice></ram:SpecifiedSupplyChainTradeAgreement>
      <ram:SpecifiedSupplyChainTradeDelivery><ram:BilledQuantity unitCode="{s.unit}">{s.quantity}</ram:BilledQuantity>
      </ram:SpecifiedSupplyChainTradeDelivery>
      <ram:SpecifiedSupplyChainTradeSettlement>
        <ram:ApplicableTradeTax><ram:TypeCode>VAT</ram:TypeCode><ram:CategoryCode>S</ram:CategoryCode>
          <ram:ApplicablePercent>{s.rate}</ram:ApplicablePercent></ram:ApplicableTradeTax>
        <ram:SpecifiedTradeSettlementMonetarySummation>
          <ram:LineTotalAmount currencyID="{s.currency}">{s.line}</ram:LineTotalAmount>
        </ram:SpecifiedTradeSettlementMonetarySummation>
      </ram:SpecifiedSupplyChainTradeSettlement>
      <ram:SpecifiedTradeProduct><ram:SellerAssignedID>T-1</ram:SellerAssignedID>
        <ram:Name>Tischlerarbeiten Werkstatt</ram:Name></ram:SpecifiedTradeProduct>
    </ram:IncludedSupplyChainTradeLineItem>
  </rsm:SpecifiedSupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>
""".encode()


def ubl_xml(s: Sample = Sample(), *, credit_note: bool = False) -> bytes:
    root = "CreditNote" if credit_note else "Invoice"
    line, qty = ("CreditNoteLine", "CreditedQuantity") if credit_note else ("InvoiceLine", "InvoicedQuantity")
    due = "" if credit_note else f"<cbc:DueDate>{s.due}</cbc:DueDate>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>{UBL_PROFILE}</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>{s.number}</cbc:ID><cbc:IssueDate>{s.issued}</cbc:IssueDate>{due}
  <cbc:{root}TypeCode>{s.type_code}</cbc:{root}TypeCode>
  <cbc:DocumentCurrencyCode>{s.currency}</cbc:DocumentCurrencyCode>
  <cac:OrderReference><cbc:ID>PO-77</cbc:ID></cac:OrderReference>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PostalAddress><cbc:StreetName>Ackerstraße 3</cbc:StreetName><cbc:CityName>Berlin</cbc:CityName>
      <cbc:PostalZone>10115</cbc:PostalZone><cac:Country><cbc:IdentificationCode>DE</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme><cbc:CompanyID>{s.seller_vat}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
    </cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>{s.seller}</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PostalAddress><cbc:CityName>München</cbc:CityName>
      <cac:Country><cbc:IdentificationCode>DE</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
    <cac:PartyLegalEntity><cbc:RegistrationName>{s.buyer}</cbc:RegistrationName></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
    <cac:PayeeFinancialAccount><cbc:ID>{s.iban}</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
  <cac:PaymentTerms><cbc:Note>Zahlbar innerhalb 30 Tagen</cbc:Note></cac:PaymentTerms>
  <cac:TaxTotal><cbc:TaxAmount currencyID="{s.currency}">{s.tax}</cbc:TaxAmount>
    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="{s.currency}">{s.net}</cbc:TaxableAmount>
      <cbc:TaxAmount currencyID="{s.currency}">{s.tax}</cbc:TaxAmount>
      <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{s.rate}</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory>
    </cac:TaxSubtotal></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="{s.currency}">{s.line}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="{s.currency}">{s.net}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="{s.currency}">{s.total}</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="{s.currency}">{s.total}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:{line}><cbc:ID>1</cbc:ID><cbc:{qty} unitCode="{s.unit}">{s.quantity}</cbc:{qty}>
    <cbc:LineExtensionAmount currencyID="{s.currency}">{s.line}</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Tischlerarbeiten Werkstatt</cbc:Name>
      <cac:SellersItemIdentification><cbc:ID>T-1</cbc:ID></cac:SellersItemIdentification>
      <cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>{s.rate}</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="{s.currency}">{s.unit_price}</cbc:PriceAmount></cac:Price>
  </cac:{line}>
</{root}>
""".encode()


def picture(*lines: str) -> bytes:
    """A one-page PDF showing `lines`, drawn by fpdf2: what a person sees of the invoice."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    for line in lines:
        pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def factur_x(xml: bytes, *lines: str) -> bytes:
    """A Factur-X PDF: `picture(*lines)` with `xml` attached as factur-x.xml by factur-x's generator."""
    from facturx import generate_from_binary

    return bytes(generate_from_binary(picture(*lines), xml, flavor="factur-x", check_xsd=True))


def pdf_with_attachment(name: str, data: bytes, *lines: str) -> bytes:
    """A PDF carrying `data` as an attachment named `name` (any bytes: factur-x would refuse hostile XML)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(picture(*lines))))
    writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def printed(s: Sample, *, total: str | None = None) -> list[str]:
    """The lines an invoice's picture shows, with German number formatting (the total optionally another)."""
    shown = (total or s.total).replace(".", ",")
    return [s.seller, "Ackerstraße 3, 10115 Berlin", f"Rechnung Nr. {s.number}", f"Datum: {s.issued}",
            f"Tischlerarbeiten  {s.quantity} h x {s.unit_price}  {s.line}", f"Netto {s.net.replace('.', ',')} EUR",
            f"USt {s.rate} %  {s.tax.replace('.', ',')} EUR", f"Gesamtbetrag {shown} EUR"]


SAMPLE_DEFAULT = Sample()
