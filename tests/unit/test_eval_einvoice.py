"""The e-invoice path's eval: the sample invoices written as e-invoices by factur-x (samples/einvoice.py) pass
their XSD and read back as their labels; the matching rules; and `invoices eval` reporting the e-invoice path
apart from the OCR path. Seed 8 (a test seed), never the eval's reserved EVAL_SEEDS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from facturx import xml_check_xsd
from invoice_local import eval as ocr_eval
from invoice_local import eval_einvoice
from invoice_local.samples.catalog import build_invoices
from invoice_local.samples.einvoice import FORMS, data_dict, delivery_date, label, xml_of
from invoice_pipeline.domain.einvoice import read_einvoice

from tests.einvoice_samples import cii_xml

TEST_SEED = 8


@pytest.fixture(scope="module")
def samples() -> list[Any]:
    assert TEST_SEED not in eval_einvoice.EVAL_SEEDS
    invoices = build_invoices(TEST_SEED)
    # A US invoice (state in the address, a one-decimal tax rate) and the German multi-page one (39 lines, a
    # printed delivery date): the two the writer's mapping has most to do for.
    return [inv for inv in invoices if inv.file in ("en-us-invoice.pdf", "de-rechnung-mehrseitig.pdf")]


@pytest.mark.parametrize("form", [name for name, _build, _flavor in FORMS])
def test_generated_einvoices_pass_their_xsd_and_read_as_their_labels(samples: list[Any], form: str) -> None:
    build, flavor = next((b, f) for name, b, f in FORMS if name == form)
    for invoice in samples:
        content = build(invoice)
        assert xml_check_xsd(xml_of(form, content), flavor=flavor, level="en16931")
        result = eval_einvoice.score(invoice.file, "held_out", form, content,
                                     eval_einvoice.expected_values(label(invoice)))
        assert result["status"] == "scored" and result["findings"] == []
        wrong = {k: v for k, v in result["fields"].items() if not v["correct"]}
        assert wrong == {}
        read = read_einvoice(content)["invoices"][0]
        assert read["provenance"]["syntax"] == ("UBL" if form == "ubl" else "CII")
        assert (read["provenance"]["attachment"] is not None) == (form == "factur-x")
        assert read["delivery_date"] == delivery_date(invoice).isoformat()


def test_the_writer_maps_addresses_and_vat_ids(samples: list[Any]) -> None:
    us, de = (data_dict(inv) for inv in samples)
    assert us["BG-4"]["country_code"] == "US" and us["BG-4"]["country_subdivision"] == "OH"
    assert us["BG-4"]["postcode"] == "43215" and "vat_identifier" not in us["BG-4"]  # an EIN is no VAT id
    assert de["BG-4"]["vat_identifier"].startswith("DE") and de["BG-4"]["city"] == "Landshut"
    assert de["BT-72"] != de["BT-2"]  # its printed Lieferdatum, not the issue date


def test_matching_rules() -> None:
    line = {"description": "Kabel  binder\n100", "quantity": "8.0000", "unit_price": "4.36", "amount": "34.88"}
    same = {"description": "Kabel binder 100", "quantity": "8", "unit_price": "4.360", "amount": "34.88"}
    assert eval_einvoice.matches("line_items", [same], [line])
    assert not eval_einvoice.matches("line_items", [same], [{**line, "amount": "34.89"}])
    assert not eval_einvoice.matches("line_items", [same], [line, line])
    assert eval_einvoice.matches("document_type_code", "381", "381")
    assert not eval_einvoice.matches("document_type_code", "381", None)
    assert eval_einvoice.matches("total", "-8.79", "-8.790")


def test_an_unreadable_file_scores_as_an_error() -> None:
    result = eval_einvoice.score("x.xml", "shared", "xml", b"<Invoice", {"total": "1.00", "line_items": []})
    assert result["status"] == "error" and "MalformedEInvoice" in result["error"]
    assert not result["fields"]["total"]["correct"]


def _labelled_xml(tmp_path: Path) -> Path:
    (tmp_path / "bare.xml").write_bytes(cii_xml())
    row: dict[str, Any] = {
        "file": "bare.xml", "source": "test", "vendor": "Holzwerk Berger GmbH", "invoice_number": "RE-2025-0042",
        "issue_date": "2025-03-14", "due_date": "2025-04-13", "currency": "EUR", "subtotal": "100.00",
        "tax": "19.00", "total": "119.00", "n_line_items": 1, "document_type_code": "380",
        "line_items": [{"description": "Tischlerarbeiten Werkstatt", "quantity": "4.000", "unit_price": "25.00",
                        "amount": "100.00"}],
    }
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps(row) + "\n", encoding="utf-8")
    return labels


def test_invoices_eval_reports_the_einvoice_path_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A labelled set holding an e-invoice: the OCR path skips the bare XML (not a document it reads), the
    e-invoice path reads it; the held-out seeds are left out here (they take a minute: `make eval` runs them)."""
    import io

    monkeypatch.setattr(eval_einvoice, "EVAL_SEEDS", ())
    out = io.StringIO()
    report = ocr_eval.evaluate(_labelled_xml(tmp_path), tmp_path / "report.json", workers=1, out=out)
    section = report["e_invoice"]
    assert all(entry["shared"] == 1.0 for entry in section["fields"].values())
    assert section["counts"]["shared"] == {"scored": 1, "errors": 0, "with_findings": 0}
    assert json.loads((tmp_path / "report.json").read_text())["e_invoice"]["fields"]["total"]["shared"] == 1.0
    text = out.getvalue()
    assert "OCR path" in text and "E-invoice path" in text and "bare.xml" in text  # skipped by the OCR path


def test_a_set_without_einvoices_gets_no_einvoice_section() -> None:
    assert not eval_einvoice.has_einvoices([{"file": "a.pdf", "total": "1.00"}])
    assert eval_einvoice.has_einvoices([{"file": "a.pdf"}, {"file": "b.pdf", "document_type_code": "380"}])
