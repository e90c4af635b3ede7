"""`invoices demo` (what `make run` runs until the Terraform-deployed local stack lands): the real pipeline —
state machine from the real ASL, the real handlers, a real Postgres — inside the in-process AWS emulation,
fed with the sample documents of ../shared/data/textract and their recorded Textract responses. Prints one
row per document and leaves nothing running."""

from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from rich.text import Text

from invoice_local import console, logs
from invoice_local.stack import DEFAULT_STATE_DIR

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "textract"
SAMPLES = {  # document in the data set -> its recorded response pages
    "default_invoice_1.png": ["default_invoice_1.analyze_expense.json"],
    "receipt.jpg": ["receipt.analyze_expense.json"],
    "receipt_no_summary.png": ["receipt_no_summary.analyze_expense.json"],
}


def run(data_dir: Path = DEFAULT_DATA) -> int:
    from invoice_pipeline.adapters import aws, db, repository
    from moto import mock_aws

    from invoice_local.emulation import install
    from invoice_local.emulation import textract as standin
    from invoice_local.postgres import create_database, start_postgres
    from invoice_local.sandbox import deploy

    if not data_dir.is_dir():
        print(f"sample data not found at {data_dir}: put the shared data beside the repository")
        return 2
    for var, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("POWERTOOLS_METRICS_DISABLED", "true")):
        os.environ.setdefault(var, value)
    # The broken sample fails on purpose: the table reports it; the handlers' and moto's logs go to files.
    log_dir = logs.setup(DEFAULT_STATE_DIR / "logs").folder
    started = time.monotonic()
    with ExitStack() as stack:
        pg = stack.enter_context(start_postgres())
        os.environ["DATABASE_URL"] = create_database(pg, f"demo_{uuid.uuid4().hex[:8]}")
        db.migrate()
        install()
        stack.enter_context(mock_aws(config={"stepfunctions": {"execute_state_machine": True}}))
        aws.reset()
        engine = standin.RecordedResponses()
        standin.configure(engine=engine)
        env = deploy(os.environ["DATABASE_URL"], name="invoices-demo", analysis_timeout_seconds=60)
        console.stage("deploy", f"Postgres ({pg.provider}) and the AWS emulation are up; deployed "
                                f"{env.state_machine_arn}")
        for name, pages in SAMPLES.items():
            content = (data_dir / name).read_bytes()
            engine.add(content, [json.loads((data_dir / p).read_text()) for p in pages])
            env.upload(f"incoming/{name}", content)
        env.upload("incoming/broken.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")  # a truncated upload
        env.wait_for_executions(len(SAMPLES) + 1)
        rows = []
        with db.transaction() as con:
            docs = db.rows(con, "SELECT id FROM documents ORDER BY object_key")
        for d in docs:
            doc = repository.get_document(d["id"])
            invoices = repository.invoices_for(doc.id) or [{}]
            for inv in invoices:
                issues = [i["code"] for i in inv.get("issues", [])]
                rows.append({
                    "file": doc.object_key.removeprefix("incoming/"), "status": doc.status,
                    "invoice": inv.get("invoice_number"), "vendor": inv.get("vendor_name"),
                    "date": inv.get("invoice_date"), "total": inv.get("total"), "cur": inv.get("currency"),
                    "items": len(inv.get("line_items", [])) if inv else None,
                    "issues / error": doc.error_code or ", ".join(issues) or None,
                })
        console.show(console.table(rows, ["file", "status", "invoice", "vendor", "date", "total", "cur", "items",
                                          "issues / error"], max_width=32))
        console.show(Text(f"\n{len(docs)} documents in {time.monotonic() - started:.1f}s. Each document's "
                          f"execution history is in the emulation; the functions' logs are in {log_dir}."))
        db.close()
    return 0
