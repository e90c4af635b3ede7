"""API latency against a large database: GET /documents/{id} and a filtered GET /documents page through the
Lambda handler, and the very same SQL run raw on a pg8000 connection. Target: handler p50 and p99 within 2x
of the raw query's.

    .venv/bin/python bench/bench_api.py                       # 100,000 documents in a throwaway Postgres
    .venv/bin/python bench/bench_api.py --documents 20000 --iterations 500
    DATABASE_URL=postgresql://... .venv/bin/python bench/bench_api.py   # an existing, empty database

"Through the handler" is what the Lambda runs per request: the Powertools wrappers (logger, metrics, tracer
off), the authentication and body gates, routing, request validation, the query, response validation and
serialization, on an API Gateway payload 2.0 event. "Raw" is only the statement(s) the route runs, with the
same parameters, on a connection of the same driver. Both talk to the same server over loopback TCP.
Figures are printed and written to build/bench/api.json; nothing here asserts on time."""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "build" / "bench" / "api.json"
VENDORS = 500

SEED_SQL = [
    # Documents spread over a year, newest last; the status mix of a working system.
    """
    INSERT INTO documents (id, bucket, object_key, version_id, sha256, size_bytes, media_type, page_count,
                           status, error_code, error_message, execution_arn, created_at, updated_at)
    SELECT gen_random_uuid(), 'bench-ingest', 'incoming/' || n || '/invoice-' || n || '.pdf', md5(n::text),
           md5('content' || n) || md5('more' || n), 50000 + n % 900000, 'application/pdf', 1 + n % 4,
           CASE WHEN n % 20 < 14 THEN 'COMPLETED' WHEN n % 20 < 17 THEN 'NEEDS_REVIEW'
                WHEN n % 20 < 19 THEN 'FAILED' ELSE 'ANALYZING' END,
           CASE WHEN n % 20 BETWEEN 17 AND 18 THEN 'TextractJobFailed' END,
           CASE WHEN n % 20 BETWEEN 17 AND 18 THEN 'the job ended FAILED' END,
           'arn:aws:states:eu-west-1:111122223333:execution:bench-pipeline:' || md5(n::text),
           timestamptz '2025-01-01' + n * interval '5 minutes' + (n % 997) * interval '1 millisecond',
           timestamptz '2025-01-01' + n * interval '5 minutes' + interval '30 seconds'
    FROM generate_series(1, :documents) AS n
    """,
    # Five events per finished document, two for the others.
    """
    INSERT INTO document_events (document_id, from_status, to_status, detail, execution_arn, created_at)
    SELECT d.id, s.from_status, s.to_status, '{}'::jsonb, d.execution_arn, d.created_at + s.step * interval '5 s'
    FROM documents d
    CROSS JOIN (VALUES (0, NULL, 'RECEIVED'), (1, 'RECEIVED', 'ANALYZING'), (2, 'ANALYZING', 'PARSING'),
                       (3, 'PARSING', 'VALIDATING')) AS s(step, from_status, to_status)
    WHERE s.step < 2 OR d.status IN ('COMPLETED', 'NEEDS_REVIEW')
    """,
    """
    INSERT INTO document_events (document_id, from_status, to_status, detail, execution_arn, created_at)
    SELECT id, CASE WHEN status = 'FAILED' THEN 'ANALYZING' ELSE 'VALIDATING' END, status,
           '{"invoices": 1}'::jsonb, execution_arn, created_at + interval '25 s'
    FROM documents WHERE status IN ('COMPLETED', 'NEEDS_REVIEW', 'FAILED')
    """,
    # One invoice per finished document, from one of 500 vendors.
    """
    INSERT INTO invoices (id, document_id, seq, invoice_number, vendor_name, vendor_address, vendor_tax_id,
                          customer_name, invoice_date, currency, subtotal, tax, total, amount_due,
                          validation_status, issues, confidence, provenance, created_at)
    SELECT gen_random_uuid(), d.id, 0, 'INV-' || substr(d.version_id, 1, 8),
           'Vendor ' || (abs(hashtext(d.version_id)) % :vendors), 'Street 1, 10115 Berlin', 'DE123456789',
           'Customer Ltd', (d.created_at - interval '3 days')::date, 'EUR', 100.00, 19.00, 119.00, 119.00,
           d.status, CASE WHEN d.status = 'NEEDS_REVIEW' THEN '[{"code": "LOW_CONFIDENCE"}]' ELSE '[]' END::jsonb,
           '{"total": 0.97}'::jsonb, '{"engine": "textract", "pages": [1], "fields": {}}'::jsonb, d.updated_at
    FROM documents d WHERE d.status IN ('COMPLETED', 'NEEDS_REVIEW')
    """,
    """
    INSERT INTO line_items (invoice_id, position, description, quantity, unit_price, amount, product_code, page)
    SELECT i.id, p, 'Item ' || p, 1, 33.33, 33.33, 'P' || p, 1
    FROM invoices i CROSS JOIN generate_series(0, 2) AS p
    """,
    "ANALYZE",
]


def seed(documents: int) -> None:
    from invoice_pipeline.adapters import db

    with db.transaction() as con:
        present = con.run("SELECT count(*) FROM documents")[0][0]
        if present >= documents:
            print(f"database already holds {present} documents: not seeding")
            return
        if present:
            raise SystemExit(f"database holds {present} documents, fewer than {documents}: use an empty one")
        for sql in SEED_SQL:
            params = {k: v for k, v in (("documents", documents), ("vendors", VENDORS)) if f":{k}" in sql}
            con.run(sql, **params)
    db.close()


def percentiles(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000, "mean_ms": statistics.fmean(samples) * 1000}


def measure(handler: Callable[[int], object], raw: Callable[[int], object], iterations: int,
            warmup: int) -> tuple[dict[str, float], dict[str, float]]:
    """Handler and raw timings, interleaved call by call: whatever else the machine does at a given moment
    weighs on both alike."""
    for i in range(warmup):
        handler(i)
        raw(i)
    handler_samples, raw_samples = [], []
    for i in range(iterations):
        start = time.perf_counter()
        handler(i)
        middle = time.perf_counter()
        raw(i)
        handler_samples.append(middle - start)
        raw_samples.append(time.perf_counter() - middle)
    return percentiles(handler_samples), percentiles(raw_samples)


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "invoice-pipeline")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "InvoicePipeline")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # A request that records no metric makes Powertools warn on every flush: noise, not work.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    from invoice_local import dbroles as local_dbroles
    from invoice_local.api_server import LocalContext, build_event
    from invoice_local.postgres import create_database, start_postgres
    from invoice_pipeline.adapters import db, queries
    from invoice_pipeline.adapters.dburl import connect_kwargs
    from pg8000.native import Connection

    with ExitStack() as stack:
        if not os.environ.get("DATABASE_URL"):
            pg = stack.enter_context(start_postgres())
            os.environ["DATABASE_URL"] = create_database(pg, f"bench_{uuid.uuid4().hex[:8]}")
            print(f"Postgres: {pg.provider} {pg.version or ''} (throwaway)")
        local_dbroles.migrate()
        started = time.monotonic()
        seed(args.documents)
        print(f"seeded {args.documents} documents in {time.monotonic() - started:.1f} s")

        from invoice_pipeline.handlers.api import handler

        raw = Connection(application_name="bench-raw", **connect_kwargs(os.environ["DATABASE_URL"]))
        counts = {t: raw.run(f"SELECT count(*) FROM {t}")[0][0]  # noqa: S608 - fixed table names
                  for t in ("documents", "document_events", "invoices", "line_items")}
        ids = [r[0] for r in raw.run("SELECT id FROM documents TABLESAMPLE SYSTEM (5) LIMIT 5000")]
        random.Random(7).shuffle(ids)
        vendor = raw.run("SELECT vendor_name FROM invoices GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")[0][0]
        claims = {"sub": "bench-user", "token_use": "access"}
        context = LocalContext()

        def detail_event(i: int) -> dict[str, Any]:
            return build_event(method="GET", target=f"/documents/{ids[i % len(ids)]}", headers=[], body=b"",
                               claims=claims)

        list_query = f"status=COMPLETED&vendor={vendor.replace(' ', '%20')}&limit=50"
        list_event = build_event(method="GET", target=f"/documents?{list_query}", headers=[], body=b"",
                                 claims=claims)
        detail_events = [detail_event(i) for i in range(len(ids))]
        list_filter = queries.DocumentFilter(statuses=("COMPLETED",), vendor=vendor)
        list_sql, list_params = queries.list_sql(list_filter, limit=51, after=None)

        def check(response: dict[str, Any]) -> None:
            if response["statusCode"] != 200:
                raise SystemExit(f"unexpected answer: {response}")

        check(handler(detail_events[0], context))
        page = handler(list_event, context)
        check(page)
        items = len(json.loads(page["body"])["items"])
        rows = len(raw.run(list_sql, **list_params))

        results: dict[str, Any] = {"documents": counts, "iterations": args.iterations,
                                   "list_query": list_query, "list_items": items, "list_rows_raw": rows}
        results["detail_handler"], results["detail_raw"] = measure(
            lambda i: check(handler(detail_events[i % len(ids)], context)),
            lambda i: raw.run(queries.DETAIL_SQL, id=ids[i % len(ids)]), args.iterations, args.warmup)
        results["list_handler"], results["list_raw"] = measure(
            lambda i: check(handler(list_event, context)), lambda i: raw.run(list_sql, **list_params),
            args.iterations, args.warmup)
        plan = raw.run("EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) " + list_sql, **list_params)
        results["list_plan"] = [r[0] for r in plan]
        raw.close()
        db.close()
    return results


def report(results: dict[str, Any]) -> str:
    lines = [f"documents: {results['documents']}",
             f"list page: GET /documents?{results['list_query']} -> {results['list_items']} items",
             "", f"{'':32}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}"]
    for route, label in (("detail", "GET /documents/{id}"), ("list", "GET /documents (filtered)")):
        for kind in ("handler", "raw"):
            r = results[f"{route}_{kind}"]
            lines.append(f"{label + ' ' + kind:32}{r['p50_ms']:>10.3f}{r['p99_ms']:>10.3f}{r['mean_ms']:>10.3f}")
        h, w = results[f"{route}_handler"], results[f"{route}_raw"]
        lines.append(f"{'  handler / raw':32}{h['p50_ms'] / w['p50_ms']:>9.2f}x{h['p99_ms'] / w['p99_ms']:>9.2f}x"
                     f"{h['mean_ms'] / w['mean_ms']:>9.2f}x   (target: within 2x)")
    lines += ["", "list query plan:", *("  " + line for line in results["list_plan"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args(argv)
    results = run(args)
    print(report(results))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
