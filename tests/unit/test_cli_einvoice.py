"""`invoices einvoice FILE...`, run as a user runs it: a separate process printing JSON, or one line of error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.einvoice_samples import SAMPLE_DEFAULT, cii_xml, factur_x, picture, printed, ubl_xml


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "invoices"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "invoice_local.cli"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, check=False, timeout=120)


def test_prints_the_normalized_invoice_of_a_pdf_and_of_an_xml(tmp_path: Path) -> None:
    pdf = tmp_path / "factur-x.pdf"
    pdf.write_bytes(factur_x(cii_xml(SAMPLE_DEFAULT), *printed(SAMPLE_DEFAULT)))
    xml = tmp_path / "peppol.xml"
    xml.write_bytes(ubl_xml(SAMPLE_DEFAULT))
    result = run("einvoice", pdf, xml)
    assert result.returncode == 0, result.stderr
    documents = json.loads(result.stdout)
    assert [d["engine"] for d in documents] == ["e-invoice", "e-invoice"]
    assert [d["invoices"][0]["provenance"]["format"] for d in documents] == ["Factur-X", "Peppol BIS"]
    assert {d["invoices"][0]["total"] for d in documents} == {"119.00"}
    assert documents[1]["invoices"][0]["invoice_number"] == SAMPLE_DEFAULT.number


def test_a_file_that_is_no_einvoice_is_one_line_and_a_nonzero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """In process (the subprocess above already proves the entry point): main's exit code and its stderr."""
    from invoice_local.cli import main

    plain = tmp_path / "scan.pdf"
    plain.write_bytes(picture(*printed(SAMPLE_DEFAULT)))
    broken = tmp_path / "broken.xml"
    broken.write_bytes(cii_xml(SAMPLE_DEFAULT)[:300])
    cases = ((plain, "NotAnEInvoice"), (broken, "MalformedEInvoice"), (tmp_path / "absent.xml", "no such file"))
    for path, name in cases:
        assert main(["einvoice", str(path)]) == 2
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert out == "" and len(lines) == 1 and "Traceback" not in err, err
        assert str(path) in lines[0] and name in lines[0]
