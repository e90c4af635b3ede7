"""Documents per minute through the local pipeline, and the pipeline's own overhead per document.

Three runs, each through the pipeline as `terraform apply` deploys it into the emulation (restored to its
just-deployed state before each run), with a real Postgres (the same path as the tests and local mode):
  digital   generated digital PDFs, read by the local engine from their text layer;
  scanned   generated scanned-looking JPEGs, read by the local engine with OCR;
  overhead  distinct small PNGs answered instantly by recorded responses: everything but the analysis
            (S3, EventBridge, Step Functions, the task-token callback, parse, validate, persist).
Every document is uploaded at once, as a drop folder would; the figure is documents / wall time.

    .venv/bin/python bench/bench_pipeline.py [--digital 12] [--scanned 4] [--overhead 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _documents(kind: str, count: int, work: Path) -> list[bytes]:
    from invoice_local import samples

    out: list[bytes] = []
    seed = 0
    while len(out) < count:
        seed += 1
        files = samples.generate(work / f"seed{seed}", seed=seed)
        for path in files:
            digital = path.suffix == ".pdf" and path.name != samples.BROKEN
            if (kind == "digital" and digital) or (kind == "scanned" and path.suffix == ".jpg"):
                out.append(path.read_bytes())
    return out[:count]


def _run(kind: str, docs: list[bytes], engine: object, deployed: object, saved: bytes) -> dict[str, float]:
    from invoice_local.emulation import snapshot
    from invoice_local.emulation import textract as standin
    from invoice_pipeline.adapters import aws, db

    with db.transaction() as con:
        con.run("TRUNCATE documents, document_events, invoices, line_items, task_tokens CASCADE")
    snapshot.loads(saved)  # the emulation as Terraform left it: no executions of an earlier run
    aws.reset()
    standin.configure(engine=engine, faults=standin.Faults(job_seconds=0.0))  # type: ignore[arg-type]
    start = time.perf_counter()
    for i, body in enumerate(docs):
        deployed.upload(f"incoming/{kind}-{i}", body)  # type: ignore[attr-defined]
    execs = deployed.wait_for_executions(len(docs), timeout=3600)  # type: ignore[attr-defined]
    wall = time.perf_counter() - start
    ok = sum(1 for e in execs if e["status"] == "SUCCEEDED")
    return {"documents": len(docs), "succeeded": ok, "seconds": round(wall, 2),
            "documents_per_minute": round(60 * len(docs) / wall, 1),
            "seconds_per_document": round(wall / len(docs), 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digital", type=int, default=12)
    parser.add_argument("--scanned", type=int, default=4)
    parser.add_argument("--overhead", type=int, default=30)
    args = parser.parse_args()
    for var, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("POWERTOOLS_METRICS_DISABLED", "true"),
                       ("POWERTOOLS_LOG_LEVEL", "ERROR")):
        os.environ[var] = value
    import logging

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    from invoice_local import dbroles as local_dbroles
    from invoice_local.deployment import deploy
    from invoice_local.emulation import server
    from invoice_local.emulation import textract as standin
    from invoice_local.engine import LocalExpenseEngine
    from invoice_local.postgres import ensure_database, start_postgres
    from invoice_pipeline.adapters import db

    from tests.integration.test_pipeline import png

    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    results: dict[str, dict[str, float]] = {}
    try:
        # A kept cluster and a fixed port: the same inputs let a second run reuse the first one's apply.
        state_dir = REPO / "build" / "bench" / "deployment"
        with start_postgres(REPO / "build" / "bench" / "pgdata") as pg, server.start(4597) as emulation:
            os.environ["DATABASE_URL"] = ensure_database(pg, "bench")
            local_dbroles.migrate()
            deployed = deploy(emulation.endpoint, {"database_url": os.environ["DATABASE_URL"],
                                                   "log_level": "ERROR", "analysis_timeout_seconds": 900}, state_dir)
            print(f"deployed in {deployed.seconds:.1f}s ({'reused' if deployed.reused else 'terraform apply'})")
            saved = (state_dir / "emulation.snapshot").read_bytes()
            engine = LocalExpenseEngine()
            for kind, count in (("digital", args.digital), ("scanned", args.scanned)):
                if count:
                    results[kind] = _run(kind, _documents(kind, count, work), engine, deployed, saved)
                    print(kind, results[kind], flush=True)
            if args.overhead:
                recorded = standin.RecordedResponses()
                page = json.loads((REPO.parent / "shared" / "data" / "textract" /
                                   "default_invoice_1.analyze_expense.json").read_text())
                docs = [png(f"overhead-{i}") for i in range(args.overhead)]
                for body in docs:
                    recorded.add(body, [page])
                results["overhead"] = _run("overhead", docs, recorded, deployed, saved)
                print("overhead", results["overhead"], flush=True)
            db.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = REPO / "build" / "bench" / "pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"cpus": os.cpu_count(), "results": results}, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
