"""`invoices eval`: per-field accuracy of the local engine on a labelled set of documents.

The labels file is JSON Lines, one document per row, as ../shared/data/invoices/labels.jsonl: `file` (found
beside the labels file), `vendor`, `invoice_number`, `issue_date`, `due_date`, `currency`, `subtotal`, `tax`,
`total` (decimal strings) and `n_line_items`. Every document is read twice:
- `as_is`: the file as it is (a digital PDF through its text layer, an image through OCR);
- `rendered`: every page of a PDF rendered to a 150 dpi PNG, the PNGs read as the pages of one document, so
  only OCR can read it (an image file is already that, and is read as it is).
Each pass goes through `normalize_expense`, exactly as the pipeline does; the first invoice of the file is
compared with the labels. A file that is not a PDF, PNG, JPEG or TIFF (Orlen.txt is plain text) is reported
as skipped with the reason and counted nowhere.

How a prediction matches a label is spelled out in MATCH_RULES, which is also written into the report next to
every document's expected and predicted values, so anyone can re-score it."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
import unicodedata
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from invoice_local.terminal_text import printable

FIELDS = ("vendor", "invoice_number", "issue_date", "due_date", "currency", "subtotal", "tax", "total",
          "n_line_items")
PASSES = ("as_is", "rendered")
RENDER_DPI = 150
MATCH_RULES = {
    "null": "a null expected value is matched only by a null prediction, and a null prediction matches only a "
            "null expected value; for n_line_items a null expected count means 0",
    "vendor": "case, accents, whitespace and punctuation ignored (letters and digits only); equal, or one "
              "contains the other (the shorter at least 3 characters): 'Coolblue' matches 'Coolblue B.V.'",
    "invoice_number": "whitespace and the case ignored, '#', ':' and trailing punctuation stripped: "
                      "'#BLR_1' matches 'BLR_1'",
    "issue_date": "the same ISO 8601 date", "due_date": "the same ISO 8601 date",
    "currency": "the same ISO 4217 code",
    "subtotal": "the same amount to the cent", "tax": "the same amount to the cent",
    "total": "the same amount to the cent",
    "n_line_items": "the same number of line items in the normalized invoice",
}


@dataclass(frozen=True)
class Task:
    file: str
    path: str
    pass_name: str
    expected: dict[str, Any]
    pages: int  # for scheduling the slowest first


# --- Labels and documents -----------------------------------------------------------------------------------
def load_labels(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("file"), str):
                raise ValueError(f"{path}:{number}: a row needs a 'file' name")
            rows.append(row)
    return rows


def expected_values(row: dict[str, Any]) -> dict[str, Any]:
    values = {field: row.get(field) for field in FIELDS if field != "n_line_items"}
    values["issue_date"] = row.get("issue_date", row.get("invoice_date"))
    count = row.get("n_line_items")
    values["n_line_items"] = count if isinstance(count, int) else 0
    return values


def _skip_reason(path: Path) -> str | None:
    from invoice_pipeline.domain.sniff import describe_bytes, sniff_media_type

    if not path.is_file():
        return "file not found beside the labels file"
    with path.open("rb") as f:
        head = f.read(1024)
    if not head:
        return "empty file"
    if sniff_media_type(head) is None:
        return f"not a document the engine reads (PDF, PNG, JPEG, TIFF): {describe_bytes(head)}"
    return None


def _page_count(path: Path) -> int:
    from invoice_pipeline.domain.sniff import PDFIUM_LOCK

    try:
        import pypdfium2 as pdfium

        with PDFIUM_LOCK:
            pdf = pdfium.PdfDocument(str(path))
            try:
                return len(pdf)
            finally:
                pdf.close()
    except Exception:  # noqa: BLE001 - images and broken files: one page is a fine guess for scheduling
        return 1


# --- One document, one pass (runs in a worker process) ------------------------------------------------------
_ENGINE: Any = None


def _engine() -> Any:
    global _ENGINE
    if _ENGINE is None:
        from invoice_local.engine import LocalExpenseEngine

        _ENGINE = LocalExpenseEngine()
    return _ENGINE


def render_pngs(content: bytes, dpi: int = RENDER_DPI) -> list[bytes]:
    """Every page of a PDF as PNG bytes: what a scanner or a screenshot would deliver."""
    import pypdfium2 as pdfium
    from invoice_pipeline.domain.sniff import PDFIUM_LOCK

    out: list[bytes] = []
    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(content)
        try:
            for index in range(len(pdf)):
                page = pdf[index]
                try:
                    image = page.render(scale=dpi / 72).to_pil().convert("RGB")
                finally:
                    page.close()
                buffer = io.BytesIO()
                image.save(buffer, format="PNG")
                out.append(buffer.getvalue())
        finally:
            pdf.close()
    return out


def run_task(task: Task) -> dict[str, Any]:
    from invoice_pipeline.domain.sniff import PDF, sniff_media_type
    from invoice_pipeline.domain.textract import normalize_expense

    started = time.perf_counter()
    result: dict[str, Any] = {"file": task.file, "pass": task.pass_name, "status": "scored", "error": None}
    invoice: dict[str, Any] = {}
    engine = _engine()
    try:
        content = Path(task.path).read_bytes()
        if task.pass_name == "rendered" and sniff_media_type(content[:1024]) == PDF:
            pages = engine.analyze_files(render_pngs(content))
        else:
            pages = engine.analyze(content, bucket="eval", key=task.file)
        normalized = normalize_expense(pages, engine="local")
        invoices = normalized.get("invoices") or []
        invoice = invoices[0] if invoices else {}
        result["invoices"] = len(invoices)
    except Exception as exc:  # noqa: BLE001 - one unreadable document is a result, not the end of the eval
        result["status"] = "error"
        result["error"] = f"{type(exc).__name__}: {exc}"
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["pages"] = [
        {"page": p.number, "source": p.source, "seconds": round(p.seconds, 3)} for p in engine.last_pages
    ]
    predicted = predicted_values(invoice)
    result["fields"] = {
        field: {
            "expected": task.expected.get(field),
            "predicted": predicted.get(field),
            "correct": matches(field, task.expected.get(field), predicted.get(field)),
        }
        for field in FIELDS
    }
    return result


def predicted_values(invoice: dict[str, Any]) -> dict[str, Any]:
    vendor = invoice.get("vendor") or {}
    return {
        "vendor": vendor.get("name"),
        "invoice_number": invoice.get("invoice_number"),
        "issue_date": invoice.get("invoice_date"),
        "due_date": invoice.get("due_date"),
        "currency": invoice.get("currency"),
        "subtotal": invoice.get("subtotal"),
        "tax": invoice.get("tax"),
        "total": invoice.get("total"),
        "n_line_items": len(invoice.get("line_items") or []),
    }


# --- Matching -----------------------------------------------------------------------------------------------
def _letters_digits(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def _identifier(text: str) -> str:
    return re.sub(r"\s+", "", text).strip("#:;,.").casefold()


def _cents(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def matches(field: str, expected: Any, predicted: Any) -> bool:
    if field == "n_line_items":
        return int(expected or 0) == int(predicted or 0)
    if expected is None or predicted is None:
        return expected is None and predicted is None
    if field == "vendor":
        a, b = _letters_digits(str(expected)), _letters_digits(str(predicted))
        if not a or not b:
            return a == b
        shorter = min(a, b, key=len)
        return a == b or (len(shorter) >= 3 and (a in b or b in a))
    if field == "invoice_number":
        return _identifier(str(expected)) == _identifier(str(predicted))
    if field in ("subtotal", "tax", "total"):
        cents = _cents(expected)
        return cents is not None and cents == _cents(predicted)
    if field == "currency":
        return str(expected).strip().upper() == str(predicted).strip().upper()
    return str(expected) == str(predicted)


# --- Scoring and reporting ----------------------------------------------------------------------------------
def summarize(results: Sequence[dict[str, Any]], passes: Sequence[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for field in FIELDS:
        entry: dict[str, Any] = {"correct": {}, "scored": {}}
        for pass_name in PASSES:
            scored = [r for r in results if r["pass"] == pass_name]
            correct = sum(1 for r in scored if r["fields"][field]["correct"])
            entry[pass_name] = round(correct / len(scored), 4) if scored and pass_name in passes else None
            entry["correct"][pass_name] = correct
            entry["scored"][pass_name] = len(scored)
        fields[field] = entry
    return fields


def page_timings(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    by_source: dict[str, list[float]] = {}
    for result in results:
        for page in result.get("pages", []):
            by_source.setdefault(page["source"], []).append(page["seconds"])
    return {
        source: {
            "pages": len(times),
            "mean_seconds": round(sum(times) / len(times), 3),
            "max_seconds": round(max(times), 3),
        }
        for source, times in sorted(by_source.items())
    }


def format_table(fields: dict[str, Any], passes: Sequence[str]) -> str:
    header = f"{'field':<16}" + "".join(f"{name:>12}" for name in PASSES if name in passes)
    lines = [header, "-" * len(header)]
    for field, entry in fields.items():
        cells = []
        for name in PASSES:
            if name not in passes:
                continue
            accuracy = entry[name]
            count = f"{entry['correct'][name]}/{entry['scored'][name]}"
            cells.append(f"{accuracy * 100:6.1f}% {count:>5}" if accuracy is not None else f"{'-':>12}")
        lines.append(f"{field:<16}" + "".join(f"{c:>12}" for c in cells))
    return "\n".join(lines)


def _init_worker(threads: int) -> None:
    # Several OCR processes side by side: each gets its share of the cores instead of all of them.
    os.environ["INVOICE_OCR_THREADS"] = str(threads)


def evaluate(
    labels: Path, report: Path, *, workers: int = 2, passes: Sequence[str] = PASSES, out: Any = None,
) -> dict[str, Any]:
    out = out or sys.stdout
    started = time.perf_counter()
    rows = load_labels(labels)
    folder = labels.parent
    tasks: list[Task] = []
    skipped: list[dict[str, str]] = []
    for row in rows:
        path = folder / row["file"]
        reason = _skip_reason(path)
        if reason is not None:
            skipped.append({"file": row["file"], "reason": reason})
            continue
        pages = _page_count(path)
        for pass_name in passes:
            tasks.append(Task(row["file"], str(path), pass_name, expected_values(row), pages))
    # OCR work first and the longest first, so two workers finish together.
    tasks.sort(key=lambda t: (t.pass_name != "rendered", -t.pages))
    workers = max(1, min(workers, len(tasks) or 1))
    if workers == 1:
        results = [run_task(task) for task in tasks]
    else:
        threads = max(1, (os.cpu_count() or 2) // workers)
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_init_worker, initargs=(threads,)) as pool:
            results = list(pool.map(run_task, tasks))
    # The report lists documents in the labels' order, each file's passes together.
    order = {(row["file"], p): (i, j) for i, row in enumerate(rows) for j, p in enumerate(PASSES)}
    results.sort(key=lambda r: order.get((r["file"], r["pass"]), (0, 0)))
    fields = summarize(results, passes)
    wall = round(time.perf_counter() - started, 2)
    document = {
        "labels": str(labels),
        "documents_dir": str(folder),
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "engine": "local",
        "passes": {
            "as_is": "the file as it is: PDF text layer where there is one, OCR otherwise",
            "rendered": f"every PDF page rendered to a {RENDER_DPI} dpi PNG and read by OCR; images as they are",
        },
        "passes_run": list(passes),
        "match_rules": MATCH_RULES,
        "fields": fields,
        "counts": {
            "labelled": len(rows),
            "skipped": len(skipped),
            **{name: {"scored": sum(1 for r in results if r["pass"] == name),
                      "errors": sum(1 for r in results if r["pass"] == name and r["status"] == "error")}
               for name in passes},
        },
        "timings": {"wall_seconds": wall, "workers": workers, "pages": page_timings(results)},
        "skipped": skipped,
        "documents": results,
    }
    from invoice_local import eval_einvoice

    # The e-invoice path, reported apart from this OCR path.
    einvoice = eval_einvoice.evaluate(labels) if eval_einvoice.has_einvoices(rows) else None
    if einvoice is not None:
        document["e_invoice"] = einvoice
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    print("OCR path (the local engine, every labelled document):", file=out)
    print(format_table(fields, passes), file=out)
    print(f"\n{len(rows) - len(skipped)} documents scored per pass, {len(skipped)} skipped:", file=out)
    for item in skipped:
        print(printable(f"  {item['file']}: {item['reason']}"), file=out)
    for name in passes:
        errors = [r for r in results if r["pass"] == name and r["status"] == "error"]
        for r in errors:
            print(printable(f"  error ({name}) {r['file']}: {r['error']}"), file=out)
    timings: dict[str, dict[str, Any]] = page_timings(results)
    for source, timing in timings.items():
        print(f"pages read by {source}: {timing['pages']}, {timing['mean_seconds']:.3f} s each on average "
              f"(max {timing['max_seconds']:.3f} s)", file=out)
    print(f"wall time {wall:.1f} s with {workers} worker(s); report: {report}", file=out)
    if einvoice is not None:
        print("\n" + eval_einvoice.format_report(einvoice), file=out)
    return document
