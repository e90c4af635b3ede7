"""Textract expense responses to the normalized document: the real recorded responses from ../shared/data,
and variations built from them in the test (conflicts, several invoices, pagination, other locales)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from invoice_pipeline.domain.textract import MAX_SUMMARY_INVOICES, normalize_expense, summarize
from invoice_pipeline.errors import ParseError, TextractJobFailed
from jsonschema import Draft202012Validator

from tests.conftest import load_textract
from tests.shared_data import REPO_ROOT

SCHEMA = json.loads((REPO_ROOT / "schemas" / "invoice.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

DEFAULT_INVOICE = "default_invoice_1.analyze_expense.json"
RECEIPT = "receipt.analyze_expense.json"
RECEIPT_REPEAT = "receipt.analyze_expense.repeat_call.json"
NO_SUMMARY = "receipt_no_summary.analyze_expense.json"
MULTIPAGE = "multipage_invoice.get_expense_analysis.json"
GESSIES = ["gessies_receipt.get_expense_analysis.page1.json", "gessies_receipt.get_expense_analysis.page2.json"]
SAMPLE1 = "trp2_expense_sample1.analyze_expense.json"
SAMPLE2 = "trp2_expense_sample2.analyze_expense.json"
MISSING_GEOMETRY = "synthetic_missing_geometry.analyze_expense.json"


def assert_valid(document: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def normalize(*names: str, **kwargs: Any) -> dict[str, Any]:
    document = normalize_expense([load_textract(name) for name in names], **kwargs)
    assert_valid(document)
    return document


def only_invoice(document: dict[str, Any]) -> dict[str, Any]:
    assert len(document["invoices"]) == 1
    invoice: dict[str, Any] = document["invoices"][0]
    return invoice


def summary_fields(response: dict[str, Any], index: int = 0) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = response["ExpenseDocuments"][index]["SummaryFields"]
    return fields


def field_of(response: dict[str, Any], type_: str, index: int = 0) -> dict[str, Any]:
    return next(f for f in summary_fields(response, index) if f["Type"]["Text"] == type_)


# --- Every recorded response -------------------------------------------------------------------------------
def test_every_recorded_response_is_schema_valid(textract_dir: Path) -> None:
    files = sorted(textract_dir.glob("*.json"))
    assert files, f"no responses in {textract_dir}"
    for path in files:
        document = normalize_expense([json.loads(path.read_text())])
        assert_valid(document)
        assert document["schema_version"] == "1" and document["engine"] == "textract"
        assert document["page_count"] >= 1, path.name
        assert document["invoices"], path.name


def test_default_invoice_1() -> None:
    invoice = only_invoice(normalize(DEFAULT_INVOICE))
    assert invoice["invoice_number"] == "123PQR456"
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("6169.40", "61.69", "6231.09")
    assert invoice["invoice_date"] == "2021-01-01"
    assert invoice["due_date"] == "2021-01-31"
    assert invoice["po_number"] == "098ZYX7654"
    assert invoice["vendor"]["tax_id"] == "12-3456789"
    assert invoice["vendor"]["address"] == "123 Some Street\nSome City, XYZ, USA"
    assert invoice["customer"]["name"] == "XZY Company"
    # No Currency field anywhere: USD comes from the "$" signs, flagged and trusted less than the amounts.
    assert invoice["currency"] == "USD"
    assert invoice["provenance"]["currency_inferred"] is True
    assert invoice["confidence"]["currency"] < 0.7 < invoice["confidence"]["total"]
    # Type is trusted over label: the SUBTOTAL is labelled "Total", the TOTAL "Grand Total".
    fields = invoice["provenance"]["fields"]
    assert fields["subtotal"]["label"] == "Total"
    assert fields["total"]["label"] == "Grand Total"
    assert fields["total"]["raw"] == "$6231.09"
    assert fields["total"]["page"] == 1
    assert set(fields["total"]["bbox"]) == {"left", "top", "width", "height"}
    assert invoice["alternatives"] == {}
    assert [(i["description"], i["quantity"], i["unit_price"], i["amount"]) for i in invoice["line_items"]] == [
        ("Product 1", "1", "1000", "1000"),
        ("Service 3", None, "2789", "2789"),
        ("Product 2", "2", "106.04", "212.08"),
        ("Product 3", "1", "2168.32", "2168.32"),
    ]


def test_receipt() -> None:
    invoice = only_invoice(normalize(RECEIPT))
    assert invoice["total"] == "1810.46"
    assert (invoice["subtotal"], invoice["tax"]) == ("1699.96", "110.50")
    assert invoice["currency"] == "USD"
    assert invoice["provenance"]["currency_inferred"] is False  # Textract's own Currency code
    assert invoice["invoice_date"] == "2019-12-07"  # a USD receipt: 12/07 is month first
    assert invoice["invoice_number"] == "21772"
    assert [i["amount"] for i in invoice["line_items"]] == ["899.99", "689.99", "19.99", "89.99"]
    # Two different VENDOR_NAMEs: one is chosen, the other kept as an alternative, confidence lowered.
    names = {invoice["vendor"]["name"]} | {a["value"] for a in invoice["alternatives"]["vendor.name"]}
    assert names == {"MEGA MARKET PLUS", "MEGA BIGBOK"}
    assert invoice["confidence"]["vendor.name"] < 0.75
    # The same date seen twice is agreement, not a conflict.
    assert "invoice_date" not in invoice["alternatives"]


def test_repeat_call_normalizes_identically() -> None:
    assert normalize(RECEIPT_REPEAT) == normalize(RECEIPT)


def test_multipage_invoice_is_one_invoice() -> None:
    document = normalize(MULTIPAGE)
    assert document["page_count"] == 2
    invoice = only_invoice(document)
    assert invoice["invoice_number"] == "00000135"
    assert invoice["total"] == "5715.00"
    assert invoice["provenance"]["fields"]["total"]["page"] == 2
    assert invoice["due_date"] == "2020-03-26"
    assert invoice["invoice_date"] == "2020-03-12"
    assert invoice["po_number"] == "F0016"
    assert invoice["currency"] == "USD" and invoice["provenance"]["currency_inferred"] is False
    assert invoice["provenance"]["pages"] == [1, 2]
    assert invoice["provenance"]["expense_indexes"] == [1, 2]
    assert len(invoice["line_items"]) == 8
    assert [i["page"] for i in invoice["line_items"]] == [1] * 5 + [2] * 3
    assert invoice["line_items"][1]["quantity"] == "4.5"
    assert invoice["vendor"]["name"] == "META"  # "META\n-": the OCR'd rule under the logo is dropped
    # "Attn: Ronald Davis" is a contact person: the organisation wins, the person stays an alternative.
    assert invoice["customer"]["name"] == "Abstractors and Design Co."
    assert [a["value"] for a in invoice["alternatives"]["customer.name"]] == ["Ronald Davis"]


def test_receipt_without_summary_keeps_its_line_items() -> None:
    invoice = only_invoice(normalize(NO_SUMMARY))
    assert len(invoice["line_items"]) == 29
    assert invoice["total"] is None and invoice["invoice_number"] is None and invoice["currency"] is None
    assert invoice["confidence"] == {}
    by_description = {i["description"]: i for i in invoice["line_items"]}
    curls = by_description["J&JCHIZ CURLS 55G"]
    assert (curls["quantity"], curls["unit_price"], curls["amount"]) == ("2", "21.50", "43.00")
    assert by_description["NSSNRMNGRPRKINKTS600"]["unit_price"] == "14.50"  # OCR'd as "P14. 50/Unit"
    # A row that swallowed its neighbour's product code keeps the code printed on its own line.
    assert by_description["NOVA CNTRY CHED160G"]["product_code"] == "04800016666407"
    # The product code Textract also read into the description is not part of it.
    assert "Pf CB210G 2S SLTSVR" in by_description


def test_trp2_samples() -> None:
    first = only_invoice(normalize(SAMPLE1))
    assert first["total"] == "50.00"
    assert len(first["line_items"]) == 21
    amounts = [i["amount"] for i in first["line_items"]]
    assert "300.00" in amounts  # printed "300-00"
    assert amounts[-1] == "-242.00"
    second = only_invoice(normalize(SAMPLE2))
    assert (second["subtotal"], second["tax"], second["total"]) == ("38.48", "0.00", "38.48")
    assert len(second["line_items"]) == 3


def test_missing_geometry_fragment() -> None:
    document = normalize(MISSING_GEOMETRY)
    invoice = only_invoice(document)
    assert invoice["line_items"] == [] and invoice["total"] is None


def test_missing_geometry_everywhere_gives_null_boxes() -> None:
    response = load_textract(DEFAULT_INVOICE)
    for expense in response["ExpenseDocuments"]:
        for item in expense["SummaryFields"]:
            item.get("ValueDetection", {}).pop("Geometry", None)
            item.get("LabelDetection", {}).pop("Geometry", None)
    document = normalize_expense([response])
    assert_valid(document)
    invoice = only_invoice(document)
    assert invoice["total"] == "6231.09"
    assert all(source["bbox"] is None for source in invoice["provenance"]["fields"].values())


# --- Pagination --------------------------------------------------------------------------------------------
def test_gessies_pages_together() -> None:
    invoice = only_invoice(normalize(*GESSIES))
    assert invoice["vendor"]["name"] == "gessie's"
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("127.97", "7.68", None)
    # Both recorded pages carry ExpenseIndex 1 with the same content: one document, its rows counted once.
    assert len(invoice["line_items"]) == 3
    assert invoice["currency"] == "USD" and invoice["provenance"]["currency_inferred"] is True
    assert normalize(*GESSIES) == normalize(GESSIES[0])


def test_a_job_split_over_nexttoken_pages_equals_the_whole() -> None:
    whole = load_textract(MULTIPAGE)
    first, second = copy.deepcopy(whole), copy.deepcopy(whole)
    first["ExpenseDocuments"] = whole["ExpenseDocuments"][:1]
    first["NextToken"] = "page-2"
    second["ExpenseDocuments"] = whole["ExpenseDocuments"][1:]
    paged = normalize_expense([first, second])
    assert_valid(paged)
    assert paged == normalize_expense([whole])


# --- Grouping ExpenseDocuments into invoices ---------------------------------------------------------------
def test_distinct_invoice_numbers_are_distinct_invoices() -> None:
    invoice_response = load_textract(DEFAULT_INVOICE)
    multipage = load_textract(MULTIPAGE)
    combined = copy.deepcopy(multipage)
    first = copy.deepcopy(invoice_response["ExpenseDocuments"][0])
    combined["ExpenseDocuments"] = [first, *copy.deepcopy(multipage["ExpenseDocuments"])]
    for position, expense in enumerate(combined["ExpenseDocuments"], start=1):
        expense["ExpenseIndex"] = position
    document = normalize_expense([combined])
    assert_valid(document)
    assert [i["invoice_number"] for i in document["invoices"]] == ["123PQR456", "00000135"]
    assert [i["total"] for i in document["invoices"]] == ["6231.09", "5715.00"]
    assert document["invoices"][1]["provenance"]["expense_indexes"] == [2, 3]


def test_a_later_page_without_number_continues_the_invoice() -> None:
    response = load_textract(MULTIPAGE)
    response["ExpenseDocuments"][1]["SummaryFields"] = [
        f for f in summary_fields(response, 1) if f["Type"]["Text"] != "INVOICE_RECEIPT_ID"
    ]
    invoice = only_invoice(normalize_expense([response]))
    assert invoice["total"] == "5715.00" and len(invoice["line_items"]) == 8


def test_two_receipts_on_one_page_stay_apart() -> None:
    receipt, costco = load_textract(RECEIPT), load_textract(SAMPLE2)
    combined = copy.deepcopy(receipt)
    second = copy.deepcopy(costco["ExpenseDocuments"][0])
    second["ExpenseIndex"] = 2
    combined["ExpenseDocuments"].append(second)
    # Neither continues the other: the first already has its total, and both sit on page 1.
    combined["ExpenseDocuments"][0]["SummaryFields"] = [
        f for f in summary_fields(combined) if f["Type"]["Text"] != "INVOICE_RECEIPT_ID"
    ]
    document = normalize_expense([combined])
    assert_valid(document)
    assert [i["total"] for i in document["invoices"]] == ["1810.46", "38.48"]


# --- Conflicts ---------------------------------------------------------------------------------------------
def _with_extra_total(text: str, label: str, top_shift: float = 0.0) -> dict[str, Any]:
    response = load_textract(DEFAULT_INVOICE)
    extra = copy.deepcopy(field_of(response, "TOTAL"))
    extra["ValueDetection"]["Text"] = text
    extra["LabelDetection"]["Text"] = label
    extra["ValueDetection"]["Geometry"]["BoundingBox"]["Top"] += top_shift
    summary_fields(response).append(extra)
    return response


def test_conflicting_totals_prefer_the_better_label() -> None:
    baseline = only_invoice(normalize(DEFAULT_INVOICE))
    # A second TOTAL, lower on the page, labelled plainly "Total" with the subtotal's value.
    document = normalize_expense([_with_extra_total("$6169.40", "Total", top_shift=0.1)])
    assert_valid(document)
    invoice = only_invoice(document)
    assert invoice["total"] == "6231.09"  # "Grand Total" outranks "Total", whatever the position
    assert [a["value"] for a in invoice["alternatives"]["total"]] == ["6169.40"]
    alternative = invoice["alternatives"]["total"][0]
    assert alternative["source"]["label"] == "Total" and alternative["source"]["raw"] == "$6169.40"
    assert 0 < alternative["confidence"] <= 1
    assert invoice["confidence"]["total"] < baseline["confidence"]["total"]
    assert invoice["confidence"]["total"] < 0.75


def test_conflicting_totals_with_equal_labels_take_the_lower_one() -> None:
    response = load_textract(DEFAULT_INVOICE)
    field_of(response, "TOTAL")["LabelDetection"]["Text"] = "Total"
    extra = copy.deepcopy(field_of(response, "TOTAL"))
    extra["ValueDetection"]["Text"] = "$6300.00"
    extra["ValueDetection"]["Geometry"]["BoundingBox"]["Top"] += 0.05
    summary_fields(response).append(extra)
    invoice = only_invoice(normalize_expense([response]))
    assert invoice["total"] == "6300.00"
    assert [a["value"] for a in invoice["alternatives"]["total"]] == ["6231.09"]
    assert invoice["confidence"]["total"] <= 0.5  # two equally good candidates: a coin toss, said so


def test_the_same_total_twice_is_agreement() -> None:
    baseline = only_invoice(normalize(DEFAULT_INVOICE))
    invoice = only_invoice(normalize_expense([_with_extra_total("USD 6,231.09", "Amount", top_shift=0.1)]))
    assert invoice["total"] == "6231.09"
    assert "total" not in invoice["alternatives"]
    assert invoice["confidence"]["total"] == baseline["confidence"]["total"]


def test_tax_lines_per_rate_add_up() -> None:
    response = load_textract(DEFAULT_INVOICE)
    tax = field_of(response, "TAX")
    tax["LabelDetection"]["Text"] = "VAT 7%"
    tax["ValueDetection"]["Text"] = "$10.00"
    other = copy.deepcopy(tax)
    other["LabelDetection"]["Text"] = "VAT 19%"
    other["ValueDetection"]["Text"] = "$51.69"
    other["ValueDetection"]["Geometry"]["BoundingBox"]["Top"] += 0.02
    summary_fields(response).append(other)
    invoice = only_invoice(normalize_expense([response]))
    assert invoice["tax"] == "61.69"
    assert "tax" not in invoice["alternatives"]
    # With their aggregate printed too, the aggregate is the tax.
    aggregate = copy.deepcopy(tax)
    aggregate["LabelDetection"]["Text"] = "Total VAT"
    aggregate["ValueDetection"]["Text"] = "$61.69"
    summary_fields(response).append(aggregate)
    assert only_invoice(normalize_expense([response]))["tax"] == "61.69"


# --- Locale: currency, decimal comma, day-first dates -----------------------------------------------------
def _euro_invoice(due: str) -> dict[str, Any]:
    response = load_textract(DEFAULT_INVOICE)
    for expense in response["ExpenseDocuments"]:
        fields = list(expense["SummaryFields"])
        for group in expense["LineItemGroups"]:
            for line in group["LineItems"]:
                fields.extend(line["LineItemExpenseFields"])
        for item in fields:
            text = item.get("ValueDetection", {}).get("Text", "")
            if text.startswith("$"):
                # 6169.40 -> "6.169,40 €": German grouping, comma decimal, symbol after
                amount = text[1:]
                integer, _, fraction = amount.partition(".")
                if len(integer) > 3:
                    integer = f"{integer[:-3]}.{integer[-3:]}"
                item["ValueDetection"]["Text"] = f"{integer},{fraction} €" if fraction else f"{integer} €"
    field_of(response, "DUE_DATE")["ValueDetection"]["Text"] = due
    return response


def test_euro_invoice_with_decimal_comma_and_day_first_dates() -> None:
    document = normalize_expense([_euro_invoice(due="03/02/2021")])
    assert_valid(document)
    invoice = only_invoice(document)
    assert invoice["currency"] == "EUR" and invoice["provenance"]["currency_inferred"] is True
    assert (invoice["subtotal"], invoice["total"]) == ("6169.40", "6231.09")
    assert invoice["line_items"][0]["unit_price"] == "1000"
    assert invoice["due_date"] == "2021-02-03"


def test_usd_dates_are_month_first_unless_another_date_says_otherwise() -> None:
    response = load_textract(DEFAULT_INVOICE)
    field_of(response, "DUE_DATE")["ValueDetection"]["Text"] = "03/02/2021"
    assert only_invoice(normalize_expense([response]))["due_date"] == "2021-03-02"
    field_of(response, "INVOICE_RECEIPT_DATE")["ValueDetection"]["Text"] = "31/01/2021"
    invoice = only_invoice(normalize_expense([response]))
    assert invoice["invoice_date"] == "2021-01-31"
    assert invoice["due_date"] == "2021-02-03"


def test_textract_currency_code_wins_over_symbols() -> None:
    response = load_textract(DEFAULT_INVOICE)
    field_of(response, "TOTAL")["Currency"] = {"Code": "CAD", "Confidence": 88.0}
    invoice = only_invoice(normalize_expense([response]))
    assert invoice["currency"] == "CAD"
    assert invoice["provenance"]["currency_inferred"] is False
    assert invoice["confidence"]["currency"] == pytest.approx(0.88)


def test_unreadable_value_is_null_with_its_raw_text_kept() -> None:
    response = load_textract(DEFAULT_INVOICE)
    field_of(response, "DUE_DATE")["ValueDetection"]["Text"] = "upon receipt"
    invoice = only_invoice(normalize_expense([response]))
    assert invoice["due_date"] is None
    assert "due_date" not in invoice["confidence"]
    assert invoice["provenance"]["fields"]["due_date"]["raw"] == "upon receipt"


# --- Options, robustness and bad input ---------------------------------------------------------------------
def test_engine_is_recorded() -> None:
    document = normalize(RECEIPT, engine="local")
    assert document["engine"] == "local"
    assert only_invoice(document)["provenance"]["engine"] == "local"
    with pytest.raises(ValueError):
        normalize_expense([load_textract(RECEIPT)], engine="tesseract")


def test_malformed_parts_are_skipped_not_fatal() -> None:
    response = {
        "DocumentMetadata": {"Pages": "two"},
        "ExpenseDocuments": [
            "not an object",
            {
                "ExpenseIndex": True,
                "SummaryFields": [
                    None,
                    {"Type": {}},
                    {"Type": {"Text": "TOTAL", "Confidence": "high"}, "ValueDetection": {"Text": "€ 12,50"},
                     "PageNumber": 0},
                    {"Type": {"Text": "INVOICE_RECEIPT_DATE"}, "ValueDetection": {"Text": "1. März 2020",
                     "Geometry": {"BoundingBox": {"Left": 0.1}}}, "Currency": {"Code": "EURO"}},
                ],
                "LineItemGroups": [{"LineItems": [{"LineItemExpenseFields": [
                    {"Type": {"Text": "EXPENSE_ROW"}, "ValueDetection": {"Text": "Kaffee 2,50"}},
                ]}, {"LineItemExpenseFields": []}]}, "junk"],
            },
        ],
    }
    document = normalize_expense([response])
    assert_valid(document)
    invoice = only_invoice(document)
    assert (invoice["total"], invoice["currency"], invoice["invoice_date"]) == ("12.50", "EUR", "2020-03-01")
    assert invoice["provenance"]["fields"]["total"]["page"] is None
    assert invoice["line_items"] == [
        {"description": "Kaffee 2,50", "quantity": None, "unit_price": None, "amount": None,
         "product_code": None, "page": None},
    ]


def test_no_expense_documents_gives_no_invoices() -> None:
    document = normalize_expense([{"DocumentMetadata": {"Pages": 1}, "ExpenseDocuments": []}])
    assert_valid(document)
    assert document["invoices"] == [] and document["page_count"] == 1


@pytest.mark.parametrize("responses", [[], [{}], [{"Blocks": []}], ["text"], [{"ExpenseDocuments": {}}]])
def test_not_an_expense_response(responses: list[Any]) -> None:
    with pytest.raises(ParseError):
        normalize_expense(responses)


def test_failed_job() -> None:
    with pytest.raises(TextractJobFailed, match="bad scan"):
        normalize_expense([{"JobStatus": "FAILED", "StatusMessage": "bad scan"}])
    with pytest.raises(ParseError, match="in progress"):
        normalize_expense([{"JobStatus": "IN_PROGRESS", "ExpenseDocuments": []}])


# --- Summary -----------------------------------------------------------------------------------------------
def test_summarize() -> None:
    summary = summarize(normalize(MULTIPAGE))
    assert summary == {
        "engine": "textract",
        "page_count": 2,
        "invoice_count": 1,
        "invoices": [
            {"invoice_number": "00000135", "vendor": "META", "invoice_date": "2020-03-12", "total": "5715.00",
             "currency": "USD", "line_items": 8},
        ],
        "truncated": False,
    }


def test_summary_stays_small_for_huge_documents() -> None:
    invoice = only_invoice(normalize(DEFAULT_INVOICE))
    invoice["vendor"]["name"] = "x" * 2000
    document = {"schema_version": "1", "engine": "textract", "page_count": 3000, "invoices": [invoice] * 3000}
    summary = summarize(document)
    assert summary["invoice_count"] == 3000 and summary["truncated"] is True
    assert len(summary["invoices"]) == MAX_SUMMARY_INVOICES
    assert len(json.dumps(summary)) < 32 * 1024  # far below the 256 KB state payload limit
