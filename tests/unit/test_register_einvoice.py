"""Register and e-invoices: a Factur-X PDF (its embedded XML) and a bare CII or UBL XML are routed to the
e-invoice branch (action "einvoice"), judged by their bytes, not their names; an XML that is not an e-invoice,
declares a DTD (billion laughs, an external entity) or is too large fails at Register by name, and a 50 MB XML
is refused before a byte of it is parsed. Fakes as in test_handler_register."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from invoice_pipeline.domain import upload
from invoice_pipeline.domain.einvoice import safe_xml
from invoice_pipeline.domain.einvoice.safe_xml import MAX_XML_BYTES
from invoice_pipeline.domain.sniff import XML
from invoice_pipeline.errors import (
    EInvoiceTooLarge,
    NotAnEInvoice,
    UnsafeXml,
    UnsupportedDocumentType,
    UnsupportedEInvoice,
)

from tests.einvoice_samples import SAMPLE_DEFAULT as SAMPLE
from tests.einvoice_samples import cii_xml, pdf_with_attachment, printed, ubl_xml
from tests.fakes import make_document
from tests.unit.test_handler_register import ARN, EVENT, KEY, VERSION_ID, raises, run

BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
               for i in range(1, 10))
    + b']>\n<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
      b"&lol9;</rsm:CrossIndustryInvoice>\n"
)


def external_entity(target: Path) -> bytes:
    return cii_xml(SAMPLE).replace(
        b"?>", f'?>\n<!DOCTYPE x [<!ENTITY secret SYSTEM "file://{target}">]>'.encode(), 1,
    ).replace(SAMPLE.seller.encode(), b"&secret;")


@pytest.fixture(autouse=True)
def work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORK_DIR", str(tmp_path))
    return tmp_path


def test_a_factur_x_pdf_takes_the_einvoice_branch() -> None:
    result, journal = run(EVENT, data=pdf_with_attachment("factur-x.xml", cii_xml(SAMPLE), *printed(SAMPLE)))
    assert result["action"] == "einvoice"
    assert (result["media_type"], result["embedded_einvoice"], result["page_count"]) == (
        "application/pdf", "factur-x.xml", 1)
    assert journal.names()[-1] == "documents.register"


@pytest.mark.parametrize("data", [cii_xml(SAMPLE), ubl_xml(SAMPLE), ubl_xml(SAMPLE, credit_note=True),
                                  cii_xml(SAMPLE).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
                                  .encode("utf-16")],
                         ids=["cii", "ubl", "ubl-credit-note", "cii-utf16"])
def test_a_bare_einvoice_xml_is_registered_by_its_bytes_even_named_pdf(data: bytes) -> None:
    result, journal = run(EVENT, data=data)  # the key ends in .pdf: the name is never trusted
    assert KEY.endswith(".pdf")
    assert (result["action"], result["media_type"], result["page_count"]) == ("einvoice", XML, 0)
    assert journal.of("documents.register")[0]["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(("data", "error", "message"), [
    (b'<?xml version="1.0"?>\n<order xmlns="urn:example:shop"><id>7</id></order>', NotAnEInvoice,
     "root element is 'order'.*XML upload is taken only as an e-invoice"),
    (BILLION_LAUGHS, UnsafeXml, "DTD"),
    (BILLION_LAUGHS.replace(b'<?xml version="1.0"?>\n', b"").decode().encode("utf-16"), UnsafeXml, "DTD"),
    (cii_xml(SAMPLE).replace(b"urn:cen.eu:en16931:2017", b"urn:factur-x.eu:1p0:minimum"), UnsupportedEInvoice,
     "minimum"),
    # HTML is markup too, but stays an unsupported document, not an XML
    (b"<!DOCTYPE html><html><body>Login</body></html>", UnsupportedDocumentType, "an HTML page"),
], ids=["not-an-einvoice", "billion-laughs", "billion-laughs-utf16", "minimum-profile", "html"])
def test_an_xml_that_is_not_a_readable_einvoice_fails_at_register(data: bytes, error: type[Exception],
                                                                  message: str) -> None:
    with pytest.raises(error, match=message):
        run(EVENT, data=data)
    assert "documents.register" not in raises(error, data=data).names()


def test_an_external_entity_is_refused_without_reading_the_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a")
    with pytest.raises(UnsafeXml) as refused:
        run(EVENT, data=external_entity(secret))
    assert "TOP-SECRET" not in str(refused.value)


def test_a_50_mb_xml_is_refused_by_its_size_before_it_is_parsed(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: Any, **__: Any) -> None:
        raise AssertionError("parsed")

    monkeypatch.setattr(safe_xml, "parse_xml", never)
    path = tmp_path / "huge.xml"
    with path.open("wb") as f:
        f.write(cii_xml(SAMPLE))
        f.truncate(50 * 1024 * 1024)  # sparse: 50 MB without writing them (its head is the XML's)
    assert path.stat().st_size > MAX_XML_BYTES
    with pytest.raises(EInvoiceTooLarge, match=r"50\.0 MB.*20 MB"):
        upload.inspect_upload(path, size=path.stat().st_size)


def test_a_lambda_retry_of_a_registered_xml_carries_on_to_the_einvoice_branch() -> None:
    doc = make_document(object_key=KEY, version_id=VERSION_ID, status="RECEIVED", execution_arn=ARN,
                        media_type=XML, page_count=0)
    result, journal = run(EVENT, existing=doc)
    assert result["action"] == "einvoice"
    assert journal.names() == ["documents.find_by_source"]


def test_a_lambda_retry_of_a_registered_factur_x_pdf_still_takes_the_einvoice_branch() -> None:
    data = pdf_with_attachment("factur-x.xml", cii_xml(SAMPLE), *printed(SAMPLE))
    doc = make_document(object_key=KEY, version_id=VERSION_ID, status="RECEIVED", execution_arn=ARN,
                        media_type="application/pdf", page_count=1, sha256=hashlib.sha256(data).hexdigest())
    result, journal = run(EVENT, existing=doc, data=data)
    assert (result["action"], result["embedded_einvoice"]) == ("einvoice", "factur-x.xml")
    assert "documents.register" not in journal.names()
