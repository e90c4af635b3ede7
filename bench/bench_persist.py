"""Persist throughput: invoices a second written by the Persist function's own code against a real Postgres.

The documents are registered first (repository.register, as Register does), then each goes through
`invoice_pipeline.handlers.persist.handle` with the function's real repository port: one transaction per
document that replaces its invoices, inserts them and their line items, and moves the document to its final
status with its event. Only the S3 results port is replaced by an in-memory one (the normalized invoice and
the validation outcome Persist reads from S3). The invoice is the normalizer's output on a real Textract
response (../shared/data/textract/default_invoice_1.analyze_expense.json). One connection, one document at a
time: the figure is what one Persist environment sustains.

    .venv/bin/python bench/bench_persist.py [--documents 300] [--json build/bench/persist.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESPONSE = REPO.parent / "shared" / "data" / "textract" / "default_invoice_1.analyze_expense.json"


class MemoryResults:
    """The results port (adapters/results.py) without S3: pointers are keys of a dict."""

    def __init__(self) -> None:
        self.stored: dict[str, Any] = {}

    def put(self, document_id: str, name: str, content: Any) -> dict[str, str]:
        key = f"{document_id}/{name}"
        self.stored[key] = content
        return {"key": key}

    def get(self, pointer: dict[str, str]) -> Any:
        return self.stored[pointer["key"]]


def run(documents: int) -> dict[str, Any]:
    from invoice_local import dbroles as local_dbroles
    from invoice_local.postgres import ensure_database, start_postgres
    from invoice_pipeline.adapters import db, repository
    from invoice_pipeline.domain.status import DocumentStatus
    from invoice_pipeline.domain.textract import normalize_expense
    from invoice_pipeline.handlers import persist

    normalized = normalize_expense([json.loads(RESPONSE.read_text())])
    invoices = len(normalized["invoices"])
    line_items = sum(len(i.get("line_items", [])) for i in normalized["invoices"])
    with start_postgres(REPO / "build" / "bench" / "pgdata") as pg:
        os.environ["DATABASE_URL"] = ensure_database(pg, "bench_persist")
        local_dbroles.migrate()
        with db.transaction() as con:
            con.run("TRUNCATE documents, document_events, invoices, line_items, task_tokens CASCADE")
        results = MemoryResults()
        ports = persist.Ports(documents=repository, results=results)  # type: ignore[arg-type]
        stamp = time.time_ns()
        events = []
        for i in range(documents):
            sha = hashlib.sha256(f"bench-persist-{stamp}-{i}".encode()).hexdigest()
            reg = repository.register(bucket="bench", key=f"incoming/persist-{i}.pdf", version_id=str(stamp),
                                      sha256=sha, size=1000, media_type="application/pdf", page_count=1,
                                      execution_arn=None)
            doc_id = str(reg.document.id)
            events.append({"document": {"document_id": doc_id},
                           "parsed": {"result": results.put(doc_id, "normalized", normalized)},
                           "validation": {"issues": results.put(doc_id, "validation", {
                               "status": DocumentStatus.COMPLETED.value, "issues": []})}})
        persist.handle(events[0], ports)  # the connection and the statements' first use, out of the timing
        start = time.perf_counter()
        for event in events[1:]:
            persist.handle(event, ports)
        seconds = time.perf_counter() - start
        with db.transaction() as con:
            written = con.run("SELECT count(*) FROM invoices")[0][0]
        db.close()
    timed = documents - 1
    return {"documents": timed, "invoices_per_document": invoices, "line_items_per_invoice": line_items // invoices,
            "seconds": round(seconds, 3), "invoices_per_second": round(timed * invoices / seconds, 1),
            "ms_per_document": round(1000 * seconds / timed, 2), "invoices_written": written,
            "response": RESPONSE.name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    for var, value in (("AWS_DEFAULT_REGION", "us-east-1"), ("POWERTOOLS_METRICS_DISABLED", "true"),
                       ("POWERTOOLS_LOG_LEVEL", "ERROR"), ("POWERTOOLS_TRACE_DISABLED", "true")):
        os.environ.setdefault(var, value)
    result = run(args.documents)
    print(f"persist: {result['invoices_per_second']} invoices/s ({result['ms_per_document']} ms a document, "
          f"{result['line_items_per_invoice']} line items each, {result['documents']} documents)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
