"""The sample-invoice generator: same seed same bytes, labels that add up, PDFs whose text layer shows what the
labels say (in each locale's number format), a scan that really is skewed and noisy, and a broken file that is
really broken.

The expected formats and rates below are written out independently of the generator on purpose: a generator bug
must not be able to agree with itself."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pypdfium2 as pdfium
import pytest
from invoice_local.samples import BROKEN, LABELS, generate
from invoice_local.samples.__main__ import main
from invoice_local.samples.catalog import build_invoices
from invoice_local.samples.render import render_pdf
from invoice_local.samples.scan import render_page
from PIL import Image

KEYS = ["file", "source", "vendor", "invoice_number", "issue_date", "due_date", "currency", "subtotal", "tax",
        "total", "n_line_items", "line_items"]
LINE_KEYS = ["description", "quantity", "unit_price", "amount"]


class Expect(NamedTuple):
    rate: str
    currency: str
    group: str  # thousands separator
    dec: str
    money: str  # how an amount is printed with its currency
    words: tuple[str, ...]  # what the document must print


EXPECTED: dict[str, Expect] = {
    "en-us-invoice.pdf": Expect("0.075", "USD", ",", ".", "${}", ("INVOICE", "Subtotal", "Sales Tax (7.5%)")),
    "de-rechnung.pdf": Expect("0.19", "EUR", ".", ",", "{} €", ("Rechnung", "Rechnungsnummer", "Rechnungsdatum",
                                                                "Fällig", "Nettobetrag", "MwSt 19%", "Gesamtbetrag")),
    "fr-facture.pdf": Expect("0.20", "EUR", " ", ",", "{} €", ("FACTURE", "Total HT", "TVA 20%", "Total TTC")),
    "nl-factuur.pdf": Expect("0.21", "EUR", ".", ",", "€ {}", ("Factuur", "BTW 21%", "Totaal")),
    "es-factura.pdf": Expect("0.21", "EUR", ".", ",", "{} €", ("FACTURA", "IVA 21%", "Total")),
    "en-gb-invoice.pdf": Expect("0.20", "GBP", ",", ".", "£{}", ("Invoice", "VAT 20%", "Total")),
    "de-rechnung-mehrseitig.pdf": Expect("0.19", "EUR", ".", ",", "{} €", ("Rechnung", "Nettobetrag", "MwSt 19%",
                                                                           "Gesamtbetrag")),
    "de-ch-rechnung-scan.jpg": Expect("0.081", "CHF", "'", ".", "CHF {}", ()),
}
CENT = Decimal("0.01")
AMOUNT = re.compile(r"^-?\d+\.\d{2}$")


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("samples")
    return out, generate(out)


@pytest.fixture(scope="module")
def labels(samples: tuple[Path, list[Path]]) -> list[dict]:
    out, _ = samples
    return [json.loads(line) for line in (out / LABELS).read_text(encoding="utf-8").splitlines()]


def _fmt(value: str, group: str, dec: str) -> str:
    whole, _, frac = value.partition(".")
    return f"{int(whole):,}".replace(",", group) + dec + frac


def _page_texts(path: Path) -> Iterator[str]:
    document = pdfium.PdfDocument(path)
    try:
        for page in document:
            # pdfium reports the no-break spaces of French grouping as spaces on some builds and not others.
            yield page.get_textpage().get_text_bounded().replace("\u00a0", " ").replace("\r\n", "\n")
    finally:
        document.close()


def test_same_seed_same_bytes(samples: tuple[Path, list[Path]], tmp_path: Path) -> None:
    out, paths = samples
    again = generate(tmp_path / "again")
    assert [p.name for p in again] == [p.name for p in paths]
    first = sorted(p.name for p in out.iterdir())
    assert first == sorted(p.name for p in (tmp_path / "again").iterdir())
    for name in first:
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_other_seed_other_invoices(labels: list[dict], tmp_path: Path) -> None:
    generate(tmp_path, seed=8)
    other = [json.loads(line) for line in (tmp_path / LABELS).read_text(encoding="utf-8").splitlines()]
    assert [r["file"] for r in other] == [r["file"] for r in labels]
    assert [r["invoice_number"] for r in other] != [r["invoice_number"] for r in labels]


def test_labels_match_files(samples: tuple[Path, list[Path]], labels: list[dict]) -> None:
    out, paths = samples
    assert [p.name for p in paths] == [*EXPECTED, BROKEN]  # the broken file comes last, and has no label
    assert [row["file"] for row in labels] == list(EXPECTED)
    assert sorted(p.name for p in out.iterdir()) == sorted([*EXPECTED, BROKEN, LABELS])
    for row in labels:
        assert list(row) == KEYS
        assert row["source"] == "generated"
        assert row["currency"] == EXPECTED[row["file"]].currency
        assert all(list(item) == LINE_KEYS for item in row["line_items"])


def test_labels_arithmetic(labels: list[dict]) -> None:
    for row in labels:
        file = row["file"]
        for key in ("subtotal", "tax", "total"):
            assert AMOUNT.match(row[key]), (file, key, row[key])
        assert row["n_line_items"] == len(row["line_items"]) > 0
        subtotal = Decimal(0)
        for item in row["line_items"]:
            assert AMOUNT.match(item["unit_price"]) and AMOUNT.match(item["amount"]), (file, item)
            expected = (Decimal(item["quantity"]) * Decimal(item["unit_price"])).quantize(CENT, ROUND_HALF_UP)
            assert Decimal(item["amount"]) == expected, (file, item)
            subtotal += expected
        assert Decimal(row["subtotal"]) == subtotal, file
        rate = Decimal(EXPECTED[file].rate)
        assert Decimal(row["tax"]) == (subtotal * rate).quantize(CENT, ROUND_HALF_UP), file
        assert Decimal(row["total"]) == Decimal(row["subtotal"]) + Decimal(row["tax"]), file
        assert date.fromisoformat(row["issue_date"]) < date.fromisoformat(row["due_date"]), file


def test_pdf_text_layer_shows_the_labels(samples: tuple[Path, list[Path]], labels: list[dict]) -> None:
    out, _ = samples
    for row in labels:
        if not row["file"].endswith(".pdf"):
            continue
        expect = EXPECTED[row["file"]]
        text = "\n".join(_page_texts(out / row["file"]))
        assert row["invoice_number"] in text, row["file"]
        assert row["vendor"] in text, row["file"]
        for key in ("subtotal", "tax", "total"):
            printed = expect.money.format(_fmt(row[key], expect.group, expect.dec))
            assert printed in text, (row["file"], key, printed)
        for item in row["line_items"]:
            assert item["description"] in text, (row["file"], item["description"])
        for word in expect.words:
            assert word in text, (row["file"], word)


def test_british_dates_are_day_first(samples: tuple[Path, list[Path]], labels: list[dict]) -> None:
    out, _ = samples
    row = next(r for r in labels if r["file"] == "en-gb-invoice.pdf")
    issued = date.fromisoformat(row["issue_date"])
    assert f"{issued:%d/%m/%Y}" in "".join(_page_texts(out / row["file"]))


def test_multipage_repeats_header_and_totals_only_at_the_end(samples: tuple[Path, list[Path]],
                                                             labels: list[dict]) -> None:
    out, _ = samples
    row = next(r for r in labels if r["file"] == "de-rechnung-mehrseitig.pdf")
    pages = list(_page_texts(out / row["file"]))
    assert 2 <= len(pages) <= 3
    assert row["n_line_items"] >= 35
    total = _fmt(row["total"], ".", ",")
    for number, text in enumerate(pages, start=1):
        assert row["invoice_number"] in text and "Beschreibung" in text and "Einzelpreis" in text, number
        assert f"Seite {number} von {len(pages)}" in text
        last = number == len(pages)
        assert ("Gesamtbetrag" in text) is last and (total in text) is last, number


def test_scan_is_a_skewed_noisy_jpeg(samples: tuple[Path, list[Path]], labels: list[dict]) -> None:
    out, _ = samples
    path = out / "de-ch-rechnung-scan.jpg"
    assert path.read_bytes()[:3] == b"\xff\xd8\xff"
    with Image.open(path) as image:
        assert image.format == "JPEG" and image.mode == "L"
        dpi = round(image.info["dpi"][0])
        scan = np.asarray(image, dtype=np.float32)
    assert 150 <= dpi <= 200
    assert abs(scan.shape[1] - 210 / 25.4 * dpi) < 2 and abs(scan.shape[0] - 297 / 25.4 * dpi) < 2

    # The same invoice rendered cleanly, for comparison.
    invoice = next(inv for inv in build_invoices(7) if inv.file == path.name)
    clean_image = render_page(render_pdf(invoice), dpi)
    clean = np.asarray(clean_image, dtype=np.float32)
    assert clean.shape == scan.shape

    # Noise: a patch of empty paper is perfectly flat in the clean render and grainy in the scan.
    h, w = clean.shape
    patch = (slice(int(h * 0.66), int(h * 0.8)), slice(int(w * 0.2), int(w * 0.8)))
    assert clean[patch].min() == clean[patch].max() == 255
    assert scan[patch].std() > 2

    # Skew: rotating the clean page by 1-2 degrees (either way) explains the scan better than leaving it straight.
    small = (w // 4, h // 4)
    target = np.asarray(Image.fromarray(scan.astype(np.uint8)).resize(small), dtype=np.float32).ravel()
    clean_small = clean_image.resize(small)

    def similarity(angle: float) -> float:
        turned = clean_small.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
        return float(np.corrcoef(np.asarray(turned, dtype=np.float32).ravel(), target)[0, 1])

    scores = {angle: similarity(angle) for angle in np.arange(-2.5, 2.51, 0.25)}
    best = max(scores, key=lambda a: scores[a])
    assert 0.75 <= abs(best) <= 2.25, scores
    assert scores[best] > scores[0.0] + 0.05, scores


def test_broken_pdf_is_truncated(samples: tuple[Path, list[Path]]) -> None:
    out, _ = samples
    data = (out / BROKEN).read_bytes()
    whole = (out / "en-us-invoice.pdf").read_bytes()
    assert data.startswith(b"%PDF-") and whole.startswith(data)
    assert len(whole) // 3 < len(data) < len(whole) * 2 // 3
    assert b"%%EOF" not in data and whole.rstrip().endswith(b"%%EOF")
    with pytest.raises(pdfium.PdfiumError):
        pdfium.PdfDocument(data)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "cli"), "--seed", "7"]) == 0
    assert (tmp_path / "cli" / LABELS).is_file()
    assert BROKEN in capsys.readouterr().out
