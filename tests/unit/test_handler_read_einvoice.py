"""ReadEInvoice: the e-invoice branch's Task. An e-invoice object (a Factur-X PDF or a bare XML, built in the
tests) is read from S3 and its normalized document written as Parse writes its own; an unsupported profile
fails, or with the "ocr" setting sends a PDF (never a bare XML) to the Textract branch; hostile XML fails by
name with nothing stored. The reader itself is tested in test_einvoice_reader."""

from __future__ import annotations

from typing import Any

import pytest
from invoice_pipeline.errors import UnsafeXml, UnsupportedEInvoice
from invoice_pipeline.handlers import read_einvoice
from invoice_pipeline.schemas import validate_against, validate_definition

from tests.einvoice_samples import CII_PROFILE, cii_xml, factur_x, pdf_with_attachment, printed, ubl_xml
from tests.einvoice_samples import SAMPLE_DEFAULT as SAMPLE
from tests.events import REMOVE, load_event
from tests.fakes import RESULTS_BUCKET, FakeDocuments, FakeResults, FakeS3, Journal

EVENT = load_event("read_einvoice_input")
DOC = EVENT["document"]
DOC_ID, ARN = DOC["document_id"], EVENT["execution_arn"]
WHERE = {"Bucket": DOC["bucket"], "Key": DOC["key"], "VersionId": DOC["version_id"]}
XML_EVENT = load_event("read_einvoice_input", document__media_type="application/xml", document__page_count=0,
                       document__embedded_einvoice=None, document__key="incoming/xrechnung.xml")
MINIMUM = cii_xml(SAMPLE, profile="urn:factur-x.eu:1p0:minimum")


def minimum_pdf() -> bytes:
    """A PDF carrying a Factur-X MINIMUM XML (factur-x's generator refuses it: it fails the EN 16931 XSD)."""
    return pdf_with_attachment("factur-x.xml", MINIMUM, *printed(SAMPLE))


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    seen: list[tuple[str, float]] = []
    monkeypatch.setattr(read_einvoice, "count", lambda name, value=1: seen.append((name, value)))
    return seen


def run(content: bytes, event: dict[str, Any] = EVENT) -> tuple[dict[str, Any], Journal, FakeResults]:
    journal = Journal()
    results = FakeResults(journal)
    s3 = FakeS3(journal, {(event["document"]["bucket"], event["document"]["key"]): content})
    output = read_einvoice.handle(event, read_einvoice.Ports(documents=FakeDocuments(journal), results=results,
                                                             s3=s3))
    return output, journal, results


def test_a_factur_x_is_read_stored_and_counted_as_skipping_textract(counted: list[tuple[str, float]]) -> None:
    output, journal, results = run(factur_x(cii_xml(SAMPLE), *printed(SAMPLE)))

    assert journal.names() == ["s3.get_object", "documents.transition", "results.put", "documents.transition"]
    assert journal.of("s3.get_object") == [WHERE]
    key = f"results/{DOC_ID}/normalized.json"
    assert journal.of("documents.transition") == [
        {"doc_id": DOC_ID, "to_status": "PARSING", "detail": None, "execution_arn": ARN},
        {"doc_id": DOC_ID, "to_status": "PARSING", "detail": None, "execution_arn": None, "result_key": key},
    ]
    stored = results.stored[key]
    validate_against("invoice", stored)
    invoice = stored["invoices"][0]
    assert stored["engine"] == invoice["provenance"]["engine"] == "e-invoice"
    assert (invoice["provenance"]["format"], invoice["provenance"]["profile"]) == ("Factur-X", CII_PROFILE)
    assert (invoice["invoice_number"], invoice["total"]) == (SAMPLE.number, SAMPLE.total)
    assert output == {"action": "validate", "result": {"bucket": RESULTS_BUCKET, "key": key},
                      "summary": output["summary"]}
    assert output["summary"]["engine"] == "e-invoice" and output["summary"]["invoice_count"] == 1
    validate_definition("states", "read_einvoice_output", output)
    validate_definition("states", "validate_input", {"document": DOC, "parsed": output, "execution_arn": ARN})
    assert ("TextractSkipped", 1) in counted


def test_a_bare_ubl_xml_is_read_and_an_unversioned_object_is_fetched_as_it_is() -> None:
    event = load_event("read_einvoice_input", document__media_type="application/xml", document__versioned=False,
                       document__key="incoming/peppol.xml")
    output, journal, results = run(ubl_xml(SAMPLE), event)
    assert journal.of("s3.get_object") == [{"Bucket": DOC["bucket"], "Key": "incoming/peppol.xml"}]
    invoice = results.stored[output["result"]["key"]]["invoices"][0]
    assert invoice["provenance"]["syntax"] == "UBL" and invoice["total"] == SAMPLE.total


def test_a_picture_showing_another_total_is_stored_with_the_finding() -> None:
    output, _, results = run(factur_x(cii_xml(SAMPLE), *printed(SAMPLE, total="1190.00")))
    findings = results.stored[output["result"]["key"]]["invoices"][0]["provenance"]["findings"]
    assert [(f["code"], f["field"]) for f in findings] == [("EINVOICE_PDF_MISMATCH", "total")]


@pytest.mark.parametrize("setting", ["fail", None])
def test_an_unsupported_profile_fails_by_default(monkeypatch: pytest.MonkeyPatch, setting: str | None) -> None:
    if setting is None:
        monkeypatch.delenv("EINVOICE_UNSUPPORTED_PROFILE", raising=False)
    else:
        monkeypatch.setenv("EINVOICE_UNSUPPORTED_PROFILE", setting)
    journal = Journal()
    with pytest.raises(UnsupportedEInvoice, match="minimum"):
        read_einvoice.handle(EVENT, read_einvoice.Ports(
            documents=FakeDocuments(journal), results=FakeResults(journal),
            s3=FakeS3(journal, {(DOC["bucket"], DOC["key"]): minimum_pdf()})))
    assert journal.names() == ["s3.get_object"]


def test_with_the_ocr_setting_an_unsupported_pdf_goes_to_textract(monkeypatch: pytest.MonkeyPatch,
                                                                   counted: list[tuple[str, float]]) -> None:
    monkeypatch.setenv("EINVOICE_UNSUPPORTED_PROFILE", "ocr")
    output, journal, _ = run(minimum_pdf())
    assert output["action"] == "ocr" and "minimum" in output["reason"]
    assert journal.names() == ["s3.get_object"]  # no status change: Queue makes it QUEUED
    validate_definition("states", "read_einvoice_output", output)
    assert ("TextractSkipped", 1) not in counted


def test_a_bare_xml_of_an_unsupported_profile_fails_whatever_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EINVOICE_UNSUPPORTED_PROFILE", "ocr")
    with pytest.raises(UnsupportedEInvoice):
        run(MINIMUM, XML_EVENT)


def test_an_unknown_setting_is_an_error_not_a_silent_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EINVOICE_UNSUPPORTED_PROFILE", "textract")
    with pytest.raises(ValueError, match="EINVOICE_UNSUPPORTED_PROFILE"):
        run(minimum_pdf())


def test_hostile_xml_in_a_pdf_fails_by_name_with_nothing_stored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EINVOICE_UNSUPPORTED_PROFILE", "ocr")  # not a profile question: never sent to OCR
    bomb = cii_xml(SAMPLE).replace(b"?>", b'?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>', 1)
    journal = Journal()
    with pytest.raises(UnsafeXml):
        read_einvoice.handle(EVENT, read_einvoice.Ports(
            documents=FakeDocuments(journal), results=FakeResults(journal),
            s3=FakeS3(journal, {(DOC["bucket"], DOC["key"]): pdf_with_attachment("factur-x.xml", bomb)})))
    assert journal.names() == ["s3.get_object"]


def test_the_fixture_is_the_state_input() -> None:
    validate_definition("states", "read_einvoice_input", EVENT)
    validate_definition("states", "read_einvoice_input", XML_EVENT)
    with pytest.raises(Exception, match="execution_arn"):
        validate_definition("states", "read_einvoice_input", load_event("read_einvoice_input", execution_arn=REMOVE))
