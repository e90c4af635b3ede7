"""The e-invoice reader on e-invoices built in the test: each syntax it claims (CII D16B, ZUGFeRD 1.0, UBL
Invoice and CreditNote) read field by field, hostile XML refused by name, a Factur-X whose picture shows
another total than its XML sent to review, and what is not an e-invoice refused as such."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from invoice_pipeline.domain.einvoice import read_einvoice
from invoice_pipeline.domain.einvoice.safe_xml import MAX_XML_BYTES
from invoice_pipeline.domain.validation import validate_document
from invoice_pipeline.errors import (
    EInvoiceTooLarge,
    MalformedEInvoice,
    NotAnEInvoice,
    UnsafeXml,
    UnsupportedEInvoice,
)

from tests.einvoice_samples import (
    CII_PROFILE,
    UBL_PROFILE,
    Sample,
    cii_xml,
    factur_x,
    pdf_with_attachment,
    picture,
    printed,
    ubl_xml,
    zugferd1_xml,
)

TODAY = date(2025, 3, 20)
SAMPLE = Sample()


def only_invoice(content: bytes) -> dict:
    document = read_einvoice(content)
    assert document["engine"] == "e-invoice" and len(document["invoices"]) == 1
    return document["invoices"][0]


# --- each syntax ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("xml", "fmt", "syntax", "profile"), [
    (cii_xml(SAMPLE), "CII", "CII", CII_PROFILE),
    (zugferd1_xml(SAMPLE), "ZUGFeRD 1.0", "CII", "urn:ferd:CrossIndustryDocument:invoice:1p0:comfort"),
    (ubl_xml(SAMPLE), "Peppol BIS", "UBL", UBL_PROFILE),
], ids=["cii-d16b", "zugferd-1.0", "ubl"])
def test_each_syntax_reads_every_field(xml: bytes, fmt: str, syntax: str, profile: str) -> None:
    invoice = only_invoice(xml)
    assert invoice["vendor"] == {"name": "Holzwerk Berger GmbH", "address": "Ackerstraße 3\n10115 Berlin\nDE",
                                 "tax_id": "DE811569869"}
    assert invoice["customer"]["name"] == "Café Lindner KG"
    assert (invoice["invoice_number"], invoice["document_type"], invoice["invoice_date"], invoice["due_date"]) == (
        "RE-2025-0042", "380", "2025-03-14", "2025-04-13")
    assert (invoice["currency"], invoice["subtotal"], invoice["tax"], invoice["total"], invoice["amount_due"]) == (
        "EUR", "100.00", "19.00", "119.00", "119.00")
    assert invoice["line_items"] == [{
        "description": "Tischlerarbeiten Werkstatt", "quantity": "4.000", "unit_price": "25.00", "amount": "100.00",
        "product_code": "T-1", "page": None, "unit": "HUR", "tax_rate": "19.00",
    }]
    assert invoice["tax_breakdown"] == [{"category": "S", "rate": "19.00", "taxable_amount": "100.00",
                                         "tax_amount": "19.00", "exemption_reason": None}]
    assert invoice["payment"]["iban"] == "DE02120300000000202051"
    assert invoice["payment"]["terms"] == "Zahlbar innerhalb 30 Tagen"
    provenance = invoice["provenance"]
    assert (provenance["format"], provenance["syntax"], provenance["profile"]) == (fmt, syntax, profile)
    assert provenance["findings"] == []  # each sample is valid against its XSD
    assert set(invoice["confidence"].values()) == {1.0} and invoice["alternatives"] == {}
    assert validate_document(read_einvoice(xml), today=TODAY).status.value == "COMPLETED"


def test_a_credit_note_keeps_its_amounts_as_stated() -> None:
    """The sign convention: the document type says credit note, the amounts stay as the document states them."""
    invoice = only_invoice(ubl_xml(replace(SAMPLE, type_code="381"), credit_note=True))
    assert (invoice["document_type"], invoice["total"], invoice["line_items"][0]["amount"]) == (
        "381", "119.00", "100.00")
    corrected = only_invoice(cii_xml(replace(SAMPLE, type_code="384", quantity="-4.000", line="-100.00",
                                             net="-100.00", tax="-19.00", total="-119.00")))
    assert (corrected["document_type"], corrected["subtotal"], corrected["total"]) == ("384", "-100.00", "-119.00")


# --- the PDF's picture against its data -------------------------------------------------------------------
def test_a_factur_x_whose_picture_shows_its_data_completes() -> None:
    document = read_einvoice(factur_x(cii_xml(SAMPLE), *printed(SAMPLE)))
    invoice = document["invoices"][0]
    assert document["page_count"] == 1
    assert (invoice["provenance"]["format"], invoice["provenance"]["attachment"]) == ("Factur-X", "factur-x.xml")
    assert invoice["provenance"]["findings"] == []
    assert validate_document(document, today=TODAY).status.value == "COMPLETED"


def test_a_factur_x_whose_picture_shows_another_total_goes_to_review() -> None:
    document = read_einvoice(factur_x(cii_xml(SAMPLE), *printed(SAMPLE, total="1190.00")))
    result = validate_document(document, today=TODAY)
    assert result.status.value == "NEEDS_REVIEW"
    mismatch = [(i.code, i.field) for i in result.issues if i.severity == "error"]
    assert mismatch == [("EINVOICE_PDF_MISMATCH", "total")]
    assert "119.00" in result.issues[0].message


def test_a_factur_x_whose_picture_shows_another_number_goes_to_review() -> None:
    shown = [line.replace(SAMPLE.number, "RE-2025-0043") for line in printed(SAMPLE)]
    result = validate_document(read_einvoice(factur_x(cii_xml(SAMPLE), *shown)), today=TODAY)
    assert [(i.code, i.field) for i in result.issues] == [("EINVOICE_PDF_MISMATCH", "invoice_number")]


def test_a_picture_without_text_is_reported_as_not_compared() -> None:
    document = read_einvoice(factur_x(cii_xml(SAMPLE), "-"))
    result = validate_document(document, today=TODAY)
    assert [(i.code, i.severity) for i in result.issues] == [("EINVOICE_PDF_NOT_COMPARED", "warning")]
    assert result.status.value == "COMPLETED"


def test_an_xml_failing_its_xsd_is_read_and_sent_to_review() -> None:
    invalid = cii_xml(SAMPLE).replace(b"<ram:TypeCode>380</ram:TypeCode>",
                                      b"<ram:TypeCode>380</ram:TypeCode><ram:Unknown>x</ram:Unknown>")
    document = read_einvoice(invalid)
    assert document["invoices"][0]["total"] == "119.00"
    result = validate_document(document, today=TODAY)
    assert [i.code for i in result.issues] == ["EINVOICE_XSD_INVALID"] and result.status.value == "NEEDS_REVIEW"


# --- hostile XML ------------------------------------------------------------------------------------------
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&lol9;
</rsm:CrossIndustryInvoice>
"""


def external_entity(target: Path) -> bytes:
    return cii_xml(SAMPLE).replace(
        b'<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY secret SYSTEM "file://{target}">]>'.encode(),
    ).replace(SAMPLE.seller.encode(), b"&secret;")


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(UnsafeXml, match="DTD"):
        read_einvoice(BILLION_LAUGHS)
    with pytest.raises(UnsafeXml):  # the same declarations in UTF-16, where no byte search sees "<!DOCTYPE"
        read_einvoice(BILLION_LAUGHS.replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16"))
    # Inside a hybrid PDF the same XML meets the same refusal.
    with pytest.raises(UnsafeXml):
        read_einvoice(pdf_with_attachment("factur-x.xml", BILLION_LAUGHS, *printed(SAMPLE)))


def test_an_external_entity_pointing_at_a_local_file_is_refused_unread(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a")
    hostile = external_entity(secret)
    with pytest.raises(UnsafeXml) as refused:
        read_einvoice(hostile)
    assert "TOP-SECRET" not in str(refused.value)
    with pytest.raises(UnsafeXml):
        read_einvoice(pdf_with_attachment("factur-x.xml", hostile, *printed(SAMPLE)))


def test_a_50_mb_xml_is_refused() -> None:
    padding = b"<!-- " + b"x" * (50 * 1024 * 1024) + b" -->"
    huge = cii_xml(SAMPLE).replace(b"<rsm:ExchangedDocument>", padding + b"<rsm:ExchangedDocument>")
    assert len(huge) > MAX_XML_BYTES
    with pytest.raises(EInvoiceTooLarge, match="50.0 MB"):
        read_einvoice(huge)
    with pytest.raises(EInvoiceTooLarge):
        read_einvoice(pdf_with_attachment("factur-x.xml", huge, *printed(SAMPLE)))


def test_nothing_else_breaks_after_hostile_input() -> None:
    for hostile in (BILLION_LAUGHS, b"<a>" * 100):
        with pytest.raises((UnsafeXml, MalformedEInvoice)):
            read_einvoice(hostile)
    assert only_invoice(cii_xml(SAMPLE))["total"] == "119.00"


# --- what is not an e-invoice -----------------------------------------------------------------------------
@pytest.mark.parametrize(("content", "error", "message"), [
    (b"<rsm:CrossIndustryInvoice", MalformedEInvoice, "not well-formed"),
    (b"<html><body>login</body></html>", NotAnEInvoice, "root element is 'html'"),
    (b"%PDF-1.4 truncated", Exception, ""),
    (b"PK\x03\x04 zip", NotAnEInvoice, "ZIP"),
    (cii_xml(SAMPLE).replace(CII_PROFILE.encode(), b"urn:factur-x.eu:1p0:minimum"), UnsupportedEInvoice, "minimum"),
    (b'<SCRDMCCBDACIOMessageStructure xmlns="urn:un:unece:uncefact:data:standard:'
     b'SCRDMCCBDACIOMessageStructure:100"/>', UnsupportedEInvoice, "Order-X"),
    (cii_xml(SAMPLE).replace(b"<ram:GrandTotalAmount>119.00</ram:GrandTotalAmount>", b""), MalformedEInvoice,
     "grand|total"),
    (cii_xml(SAMPLE).replace(b">119.00</ram:GrandTotalAmount>", b">1e3</ram:GrandTotalAmount>"), MalformedEInvoice,
     "not a decimal"),
], ids=["malformed", "html", "broken-pdf", "zip", "minimum-profile", "order-x", "no-total", "exponent"])
def test_what_is_not_a_readable_einvoice_is_refused_by_name(content: bytes, error: type, message: str) -> None:
    with pytest.raises(error) as refused:
        read_einvoice(content)
    assert re.search(message, str(refused.value), re.IGNORECASE)


def test_a_pdf_without_the_xml_is_not_an_einvoice() -> None:
    with pytest.raises(NotAnEInvoice, match="no attachment named factur-x.xml"):
        read_einvoice(picture(*printed(SAMPLE)))
    with pytest.raises(NotAnEInvoice):  # only the names the standards prescribe count
        read_einvoice(pdf_with_attachment("invoice-data.xml", cii_xml(SAMPLE), *printed(SAMPLE)))


def test_zugferd_1_is_found_in_a_pdf_under_its_own_name() -> None:
    invoice = only_invoice(pdf_with_attachment("ZUGFeRD-invoice.xml", zugferd1_xml(SAMPLE), *printed(SAMPLE)))
    provenance = invoice["provenance"]
    assert (provenance["format"], provenance["attachment"], provenance["findings"]) == (
        "ZUGFeRD 1.0", "ZUGFeRD-invoice.xml", [])
    assert invoice["total"] == "119.00"


def test_document_level_allowances_are_inside_the_subtotal() -> None:
    """An e-invoice's subtotal (BT-109) is the lines less allowances plus charges: Validate applies them to the
    lines' sum, and without them the same figures are a mismatch."""
    document = read_einvoice(cii_xml(SAMPLE))
    invoice = document["invoices"][0]
    invoice.update(subtotal="90.00", tax="17.10", total="107.10", amount_due="107.10",
                   allowances_charges=[{"charge": False, "amount": "15.00"}, {"charge": True, "amount": "5.00"}])
    assert validate_document(document, today=TODAY).issues == []
    invoice["allowances_charges"] = []
    assert [i.code for i in validate_document(document, today=TODAY).issues] == ["LINE_ITEMS_MISMATCH"]
