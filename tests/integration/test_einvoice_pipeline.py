"""E-invoices through the deployed pipeline (issue 11): a Factur-X/ZUGFeRD 2 PDF and an XRechnung PDF from
../shared/data/invoices, the CII XML of another one uploaded bare, a bare UBL XML and a Factur-X whose picture
shows another total than its XML (both built here) go Register -> ReadEInvoice -> Validate -> Persist.

What it shows: the Textract stand-in receives no call at all (no StartExpenseAnalysis), no execution enters a
Textract state and no document is ever QUEUED or ANALYZING; each document ends as its reading says (the
labelled ones COMPLETED, the mismatch NEEDS_REVIEW naming EINVOICE_PDF_MISMATCH); and what the API returns for
each invoice is its labels.jsonl row, line items included, with engine, format and profile in its provenance.
One deployment, five documents, uploaded at once."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import lambda_runner
from invoice_local.emulation import textract as standin_mod
from invoice_pipeline.adapters import repository
from invoice_pipeline.domain.einvoice.pdf import read_pdf
from invoice_pipeline.schemas import validate_definition

from tests.einvoice_samples import SAMPLE_DEFAULT, cii_xml, factur_x, printed, ubl_xml
from tests.integration.test_api_routes import api_fixture, call  # noqa: F401 - registers `api`
from tests.shared_data import INVOICES_DIR, require

pytestmark = [pytest.mark.integration, pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")]

TEXTRACT_STATES = {"Queue", "WaitForStartTime", "StartAnalysis", "Parse"}
# Another seller (its own VAT id): with the same one, the same total and date, the duplicate control would
# rightly hold whichever of the two invoices below came second.
UBL_SAMPLE = replace(SAMPLE_DEFAULT, number="UBL-2025-0007", seller="Nordlicht Werkstätten AB",
                     seller_vat="SE556677889901", total="119.00")
MISMATCH = replace(SAMPLE_DEFAULT, number="RE-2025-0815", seller="Holzwerk Berger GmbH")


def _label(file: str) -> dict[str, Any]:
    for line in require(INVOICES_DIR / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["file"] == file:
            return dict(json.loads(line))
    raise AssertionError(f"{file} has no labels row")


def _sample_label(s: Any) -> dict[str, Any]:
    return {"vendor": s.seller, "invoice_number": s.number, "issue_date": s.issued, "due_date": s.due,
            "currency": s.currency, "subtotal": s.net, "tax": s.tax, "total": s.total, "n_line_items": 1,
            "document_type_code": s.type_code,
            "line_items": [{"description": "Tischlerarbeiten Werkstatt", "quantity": s.quantity,
                            "unit_price": s.unit_price, "amount": s.line}]}


def _uploads() -> dict[str, tuple[bytes, dict[str, Any], str, str]]:
    """key -> (bytes, expected labels, format, final status)."""
    bare_cii = read_pdf(require(INVOICES_DIR / "XRECHNUNG_Betriebskostenabrechnung.pdf").read_bytes()).xml
    return {
        "incoming/einvoice/EN16931_Rabatte.pdf": (
            (INVOICES_DIR / "EN16931_Rabatte.pdf").read_bytes(), _label("EN16931_Rabatte.pdf"), "Factur-X",
            "COMPLETED"),
        "incoming/einvoice/XRECHNUNG_Einfach.pdf": (
            (INVOICES_DIR / "XRECHNUNG_Einfach.pdf").read_bytes(), _label("XRECHNUNG_Einfach.pdf"), "XRechnung",
            "COMPLETED"),
        "incoming/einvoice/betriebskosten.xml": (
            bare_cii, _label("XRECHNUNG_Betriebskostenabrechnung.pdf"), "XRechnung", "COMPLETED"),
        "incoming/einvoice/peppol.xml": (ubl_xml(UBL_SAMPLE), _sample_label(UBL_SAMPLE), "Peppol BIS", "COMPLETED"),
        "incoming/einvoice/picture-lies.pdf": (
            factur_x(cii_xml(MISMATCH), *printed(MISMATCH, total="1190.00")), _sample_label(MISMATCH), "Factur-X",
            "NEEDS_REVIEW"),
    }


def _as_labels(invoice: dict[str, Any]) -> dict[str, Any]:
    """The API's invoice under the labels' names; amounts as Decimals (the database keeps the value, the labels
    the XML's digits)."""
    def amount(value: Any) -> Decimal | None:
        return None if value is None else Decimal(value)

    return {
        "vendor": invoice["vendor"]["name"], "invoice_number": invoice["invoice_number"],
        "issue_date": invoice["invoice_date"], "due_date": invoice["due_date"], "currency": invoice["currency"],
        "subtotal": amount(invoice["subtotal"]), "tax": amount(invoice["tax"]), "total": amount(invoice["total"]),
        "n_line_items": len(invoice["line_items"]),
        "line_items": [{"description": li["description"], "quantity": amount(li["quantity"]),
                        "unit_price": amount(li["unit_price"]), "amount": amount(li["amount"])}
                       for li in invoice["line_items"]],
    }


def _expected(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("vendor", "invoice_number", "issue_date", "due_date", "currency", "n_line_items")}
    out.update({k: Decimal(row[k]) for k in ("subtotal", "tax", "total")})
    out["line_items"] = [{"description": li["description"], **{k: Decimal(li[k]) for k in
                                                             ("quantity", "unit_price", "amount")}}
                         for li in row["line_items"]]
    return out


def test_einvoices_skip_textract_and_store_their_data(stack: Stack, standin: standin_mod._State, api: str) -> None:
    uploads = _uploads()
    for key, (body, *_rest) in uploads.items():
        stack.upload(key, body)
    executions = stack.wait_for_executions(len(uploads), timeout=180)
    assert [e["status"] for e in executions] == ["SUCCEEDED"] * len(uploads), executions

    # What the state machine passed ReadEInvoice and Validate, and what they returned, is what
    # schemas/states.schema.json says (Validate's `parsed` is ReadEInvoice's output here).
    key_of = {name: key for key, name in stack.function_names.items()}
    checked = set()
    for invocation in list(lambda_runner.invocations):
        fn = key_of[invocation["function"]]
        if fn in ("read_einvoice", "validate", "persist") and invocation["ok"]:
            validate_definition("states", f"{fn}_input", invocation["event"])
            validate_definition("states", f"{fn}_output", invocation["result"])
            checked.add(fn)
    assert checked == {"read_einvoice", "validate", "persist"}

    # Not one Textract call, and no execution passed a Textract state.
    assert standin.log.calls() == []
    for execution in executions:
        entered = {e["stateEnteredEventDetails"]["name"] for e in stack.history(execution["executionArn"])
                   if "stateEnteredEventDetails" in e}
        assert "ReadEInvoice" in entered and not entered & TEXTRACT_STATES, entered

    for key, (_body, row, fmt, status) in uploads.items():
        doc = _document(key)
        assert doc.status == status, (key, doc.error_code, doc.error_message)
        assert doc.textract_job_id is None
        statuses = {e["to_status"] for e in repository.events_for(doc.id)}
        assert not statuses & {"QUEUED", "ANALYZING"}, (key, statuses)

        reply = call("GET", f"/documents/{doc.id}/invoice")
        assert reply.status == 200, reply.raw
        (invoice,) = reply.json()["invoices"]
        assert _as_labels(invoice) == _expected(row), key
        provenance = invoice["provenance"]
        assert (provenance["engine"], provenance["format"]) == ("e-invoice", fmt), key
        assert provenance["profile"], key
        issues = [(i["code"], i["field"]) for i in invoice["issues"] if i.get("severity") == "error"]
        if status == "NEEDS_REVIEW":
            assert issues == [("EINVOICE_PDF_MISMATCH", "total")], key
            assert invoice["total"] == "119.00"  # the XML's, the legal invoice: the picture's 1190 is not taken
        else:
            assert issues == [], key


def _document(key: str) -> repository.Document:
    from invoice_pipeline.adapters.db import rows, transaction

    with transaction() as con:
        (row,) = rows(con, "SELECT id FROM documents WHERE object_key = :k", k=key)
    return repository.get_document(row["id"])
