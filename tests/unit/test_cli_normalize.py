"""The `invoices normalize` command, run as a user runs it: a separate process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.shared_data import REPO_ROOT, TEXTRACT_DIR, require

SCHEMA = json.loads((REPO_ROOT / "schemas" / "invoice.schema.json").read_text())
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
GESSIES = ["gessies_receipt.get_expense_analysis.page1.json", "gessies_receipt.get_expense_analysis.page2.json"]


def invoices_command() -> list[str]:
    script = Path(sys.executable).parent / "invoices"
    # The installed console script when present; the module otherwise (a checkout without `pip install -e`).
    return [str(script)] if script.exists() else [sys.executable, "-m", "invoice_local.cli"]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*invoices_command(), *map(str, args)], capture_output=True, text=True, check=False, timeout=120
    )


def shared(name: str) -> Path:
    return require(TEXTRACT_DIR / name)


def output(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_normalize_one_response() -> None:
    document = output(run("normalize", shared("default_invoice_1.analyze_expense.json")))
    VALIDATOR.validate(document)
    invoice = document["invoices"][0]
    assert (invoice["invoice_number"], invoice["total"], invoice["currency"]) == ("123PQR456", "6231.09", "USD")


def test_output_is_indented_json() -> None:
    result = run("normalize", shared("receipt.analyze_expense.json"))
    assert result.stdout.startswith('{\n  "schema_version": "1"')


def test_several_files_are_the_pages_of_one_job() -> None:
    document = output(run("normalize", *(shared(name) for name in GESSIES)))
    VALIDATOR.validate(document)
    assert len(document["invoices"]) == 1
    assert len(document["invoices"][0]["line_items"]) == 3


def test_separate_prints_one_document_per_file() -> None:
    documents = output(run(
        "normalize", "--separate", shared("receipt.analyze_expense.json"),
        shared("multipage_invoice.get_expense_analysis.json"),
    ))
    assert isinstance(documents, list) and len(documents) == 2
    for document in documents:
        VALIDATOR.validate(document)
    assert [d["invoices"][0]["total"] for d in documents] == ["1810.46", "5715.00"]


def test_engine_option() -> None:
    document = output(run("normalize", "--engine", "local", shared("receipt.analyze_expense.json")))
    assert document["engine"] == "local"


def test_a_response_never_seen_before(tmp_path: Path) -> None:
    response = {
        "DocumentMetadata": {"Pages": 1},
        "ExpenseDocuments": [{
            "ExpenseIndex": 1,
            "SummaryFields": [
                {"Type": {"Text": "VENDOR_NAME", "Confidence": 99.0}, "ValueDetection": {"Text": "Bäckerei Müller"},
                 "PageNumber": 1},
                {"Type": {"Text": "INVOICE_RECEIPT_ID", "Confidence": 98.0},
                 "LabelDetection": {"Text": "Rechnungsnr."}, "ValueDetection": {"Text": "R-2020-17"}, "PageNumber": 1},
                {"Type": {"Text": "INVOICE_RECEIPT_DATE", "Confidence": 97.0},
                 "ValueDetection": {"Text": "04.03.2020"}, "PageNumber": 1},
                {"Type": {"Text": "TOTAL", "Confidence": 99.0}, "LabelDetection": {"Text": "Gesamtbetrag"},
                 "ValueDetection": {"Text": "1.234,50 €", "Confidence": 95.0}, "PageNumber": 1},
            ],
            "LineItemGroups": [],
        }],
    }
    path = tmp_path / "bakery.json"
    path.write_text(json.dumps(response), encoding="utf-8")
    document = output(run("normalize", path))
    VALIDATOR.validate(document)
    invoice = document["invoices"][0]
    assert invoice["vendor"]["name"] == "Bäckerei Müller"
    assert (invoice["total"], invoice["currency"], invoice["invoice_date"]) == ("1234.50", "EUR", "2020-03-04")


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    assert_one_line_error(run("normalize", missing), str(missing), "no such file")


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text("this is not json\n")
    assert_one_line_error(run("normalize", path), str(path), "not JSON")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "scan.json"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    assert_one_line_error(run("normalize", path), str(path), "not JSON")


@pytest.mark.parametrize("content", [{"Blocks": []}, [1, 2], "text", {"ExpenseDocuments": "none"}])
def test_json_that_is_not_an_expense_response(tmp_path: Path, content: Any) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps(content))
    assert_one_line_error(run("normalize", path), str(path), "not a Textract expense response")


def test_the_bad_page_is_named_among_good_ones(tmp_path: Path) -> None:
    bad = tmp_path / "page2.json"
    bad.write_text("{}")
    result = run("normalize", shared(GESSIES[0]), bad)
    assert_one_line_error(result, str(bad))
    assert GESSIES[0] not in result.stderr


def test_failed_job(tmp_path: Path) -> None:
    path = tmp_path / "failed.json"
    path.write_text(json.dumps({"JobStatus": "FAILED", "StatusMessage": "unsupported document"}))
    assert_one_line_error(run("normalize", path), str(path), "unsupported document")


def test_usage_errors_exit_2() -> None:
    assert run().returncode == 2
    assert run("normalize").returncode == 2
    assert run("frobnicate").returncode == 2
