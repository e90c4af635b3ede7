"""The e-invoice path's accuracy, reported by `make eval` apart from the OCR path's.

An e-invoice skips OCR: `read_einvoice` reads its XML. Two sets measure it, field by field:
- `shared`: the e-invoices among ../shared/data/invoices (the rows of labels.jsonl that carry
  `document_type_code`, the data's own statement of which are e-invoices); the reader was built on them.
- `held_out`: the sample generator's invoices (invoice_local.samples) under EVAL_SEEDS, never used for tuning,
  each written three ways by factur-x's own writers (samples/einvoice.py): a bare CII XML, a UBL XML and a
  Factur-X PDF (the rendered page with the CII attached). Every XML is checked against its profile's XSD with
  factur-x, and the count of those that pass is reported.
The fields are the OCR eval's (eval.FIELDS, matched by eval.MATCH_RULES) plus the document type and the line
items (MATCH_RULES here), and the reader's findings (XSD failures, a PDF showing another number or total) are
counted: an honest e-invoice of the held-out set must have none."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from invoice_local import eval as ocr_eval

# Reserved for measuring the e-invoice path: never used to tune the reader or by a test. Disjoint from the seeds
# the samples are shown with (7), the tests use (2, 8), and the OCR eval's tuning and held-out ranges.
EVAL_SEEDS: tuple[int, ...] = (20_000, 20_001, 20_002)
FIELDS = (*ocr_eval.FIELDS, "document_type_code", "line_items")
LINE_FIELDS = ("description", "quantity", "unit_price", "amount")
SETS = ("shared", "held_out")
MATCH_RULES = {
    **ocr_eval.MATCH_RULES,
    "document_type_code": "the same UNTDID 1001 code (380, 381, 384, ...)",
    "line_items": "the same number of lines, and line by line the same description (whitespace runs read as "
                  "one space) and the same quantity, unit price and amount as numbers ('8' is '8.0000')",
}


def has_einvoices(rows: Sequence[dict[str, Any]]) -> bool:
    """The e-invoice path is reported for a labelled set that holds e-invoices (as ../shared/data/invoices does),
    with the held-out set beside it; a set of OCR documents only (a test's) gets the OCR report alone."""
    return any("document_type_code" in row for row in rows)


def expected_values(row: dict[str, Any]) -> dict[str, Any]:
    return {**ocr_eval.expected_values(row), "document_type_code": row.get("document_type_code"),
            "line_items": [{k: line.get(k) for k in LINE_FIELDS} for line in row.get("line_items") or []]}


def predicted_values(invoice: dict[str, Any]) -> dict[str, Any]:
    return {**ocr_eval.predicted_values(invoice), "document_type_code": invoice.get("document_type"),
            "line_items": [{k: line.get(k) for k in LINE_FIELDS} for line in invoice.get("line_items") or []]}


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _line_matches(expected: dict[str, Any], predicted: dict[str, Any]) -> bool:
    def words(text: Any) -> str | None:
        return re.sub(r"\s+", " ", str(text)).strip() if text is not None else None

    return words(expected["description"]) == words(predicted["description"]) and all(
        _number(expected[k]) == _number(predicted[k]) for k in ("quantity", "unit_price", "amount"))


def matches(field: str, expected: Any, predicted: Any) -> bool:
    if field == "document_type_code":
        return expected == predicted
    if field == "line_items":
        return len(expected) == len(predicted) and all(
            _line_matches(e, p) for e, p in zip(expected, predicted, strict=True))
    return ocr_eval.matches(field, expected, predicted)


def score(name: str, set_name: str, form: str, content: bytes, expected: dict[str, Any]) -> dict[str, Any]:
    """Read one e-invoice and compare its first invoice with `expected`."""
    from invoice_pipeline.domain.einvoice import read_einvoice

    result: dict[str, Any] = {"file": name, "set": set_name, "form": form, "status": "scored", "error": None,
                              "findings": []}
    invoice: dict[str, Any] = {}
    try:
        invoices = read_einvoice(content)["invoices"]
        invoice = invoices[0]
        result["findings"] = [f["code"] for f in invoice["provenance"].get("findings") or []]
    except Exception as exc:  # noqa: BLE001 - an unreadable file is a result, not the end of the eval
        result["status"], result["error"] = "error", f"{type(exc).__name__}: {exc}"
    predicted = predicted_values(invoice)
    result["fields"] = {
        field: {"expected": expected.get(field), "predicted": predicted.get(field),
                "correct": matches(field, expected.get(field), predicted.get(field))}
        for field in FIELDS
    }
    return result


def shared_results(labels: Path) -> list[dict[str, Any]]:
    rows = [row for row in ocr_eval.load_labels(labels) if "document_type_code" in row]
    out = []
    for row in rows:
        path = labels.parent / row["file"]
        if not path.is_file():
            continue
        content = path.read_bytes()
        form = "pdf" if content.startswith(b"%PDF") else "xml"
        out.append(score(row["file"], "shared", form, content, expected_values(row)))
    return out


def held_out_cases(seeds: Sequence[int]) -> Iterator[tuple[str, str, bytes, dict[str, Any], bool]]:
    """(name, form, bytes, expected values, XML valid against its XSD) for every sample invoice of `seeds` in
    every e-invoice form."""
    from facturx import xml_check_xsd

    from invoice_local.samples.catalog import build_invoices
    from invoice_local.samples.einvoice import FORMS, label, xml_of

    for seed in seeds:
        for invoice in build_invoices(seed):
            truth = expected_values(label(invoice))
            stem = invoice.file.rsplit(".", 1)[0]
            for form, build, flavor in FORMS:
                content = build(invoice)
                try:
                    valid = bool(xml_check_xsd(xml_of(form, content), flavor=flavor, level="en16931"))
                except Exception:  # noqa: BLE001 - factur-x raises on an invalid XML: that is the answer
                    valid = False
                yield f"{seed}/{stem}.{form}", form, content, truth, valid


def held_out_results(seeds: Sequence[int]) -> list[dict[str, Any]]:
    out = []
    for name, form, content, truth, valid in held_out_cases(seeds):
        result = score(name, "held_out", form, content, truth)
        result["xsd_valid"] = valid
        out.append(result)
    return out


def summarize(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for field in FIELDS:
        entry: dict[str, Any] = {"correct": {}, "scored": {}}
        for set_name in SETS:
            scored = [r for r in results if r["set"] == set_name]
            correct = sum(1 for r in scored if r["fields"][field]["correct"])
            entry[set_name] = round(correct / len(scored), 4) if scored else None
            entry["correct"][set_name], entry["scored"][set_name] = correct, len(scored)
        fields[field] = entry
    return fields


def evaluate(labels: Path, *, seeds: Sequence[int] | None = None) -> dict[str, Any]:
    """The e-invoice section of the eval report (held-out seeds: EVAL_SEEDS unless given)."""
    started = time.perf_counter()
    seeds = EVAL_SEEDS if seeds is None else seeds
    results = shared_results(labels) + held_out_results(seeds)
    held = [r for r in results if r["set"] == "held_out"]
    return {
        "engine": "e-invoice",
        "sets": {"shared": "the e-invoices of the labelled set (rows with document_type_code)",
                 "held_out": f"sample invoices of seeds {list(seeds)} (never tuned on) as CII, UBL and Factur-X, "
                             "written by factur-x"},
        "match_rules": MATCH_RULES,
        "fields": summarize(results),
        "counts": {
            **{s: {"scored": sum(1 for r in results if r["set"] == s),
                   "errors": sum(1 for r in results if r["set"] == s and r["status"] == "error"),
                   "with_findings": sum(1 for r in results if r["set"] == s and r["findings"])} for s in SETS},
            "held_out_forms": {form: sum(1 for r in held if r["form"] == form) for form in ("cii", "ubl", "factur-x")},
            "held_out_xsd_valid": sum(1 for r in held if r.get("xsd_valid")),
        },
        "wall_seconds": round(time.perf_counter() - started, 2),
        "documents": results,
    }


def format_report(section: dict[str, Any]) -> str:
    """The e-invoice table, in the OCR table's layout, with one column per set."""
    header = f"{'field':<20}" + "".join(f"{name:>14}" for name in SETS)
    lines = ["E-invoice path (the XML read, no OCR):", header, "-" * len(header)]
    for field, entry in section["fields"].items():
        cells = []
        for name in SETS:
            accuracy = entry[name]
            count = f"{entry['correct'][name]}/{entry['scored'][name]}"
            cells.append(f"{accuracy * 100:6.1f}% {count:>6}" if accuracy is not None else f"{'-':>14}")
        lines.append(f"{field:<20}" + "".join(f"{c:>14}" for c in cells))
    counts = section["counts"]
    held = counts["held_out"]["scored"]
    lines.append(f"held out: {held} files ({', '.join(f'{n} {f}' for f, n in counts['held_out_forms'].items())}), "
                 f"{counts['held_out_xsd_valid']} valid against their XSD (factur-x)")
    for name in SETS:
        lines.append(f"{name}: {counts[name]['errors']} unreadable, {counts[name]['with_findings']} with findings")
    for result in section["documents"]:
        if result["status"] == "error":
            lines.append(f"  error ({result['set']}) {result['file']}: {result['error']}")
    lines.append(f"e-invoice eval: {section['wall_seconds']:.1f} s")
    return "\n".join(lines)
