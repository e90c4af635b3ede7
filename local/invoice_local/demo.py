"""`invoices demo`: the quick variant of `make run` without OCR. The local stack (stack.up: Postgres, the
emulation, the pipeline as `terraform apply` deployed it) is fed the sample documents of
../shared/data/textract with their recorded Textract responses. Prints one row per document and leaves
nothing running."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

from rich.text import Text

from invoice_local import console

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "textract"
SAMPLES = {  # document in the data set -> its recorded response pages
    "default_invoice_1.png": ["default_invoice_1.analyze_expense.json"],
    "receipt.jpg": ["receipt.analyze_expense.json"],
    "receipt_no_summary.png": ["receipt_no_summary.analyze_expense.json"],
}


def run(data_dir: Path = DEFAULT_DATA) -> int:
    from invoice_pipeline.adapters import db

    from invoice_local.emulation import textract as standin
    from invoice_local.stack import up

    if not data_dir.is_dir():
        print(f"sample data not found at {data_dir}: put the shared data beside the repository")
        return 2
    started = time.monotonic()
    engine = standin.RecordedResponses()
    running = up(engine=engine)
    try:
        deployed = running.deployment
        before = {e["executionArn"] for e in deployed.executions()}
        run_id = uuid.uuid4().hex[:6]
        for name, pages in SAMPLES.items():
            content = (data_dir / name).read_bytes()
            engine.add(content, [json.loads((data_dir / p).read_text()) for p in pages])
            deployed.upload(f"incoming/demo-{run_id}/{name}", content)
        deployed.upload(f"incoming/demo-{run_id}/broken.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")  # truncated
        deployed.wait_for_executions(len(before) + len(SAMPLES) + 1, timeout=300)
        with db.transaction() as con:
            docs = db.rows(con, "SELECT id FROM documents WHERE object_key LIKE :p ORDER BY object_key",
                           p=f"incoming/demo-{run_id}/%")
        from invoice_local.commands import RESULT_COLUMNS, results_rows

        rows = results_rows([str(d["id"]) for d in docs])  # the table `invoices run` and `status` print
        console.show(console.table(rows, RESULT_COLUMNS))
        console.show(Text(f"\n{len(docs)} documents in {time.monotonic() - started:.1f}s. `invoices trace ID` "
                          f"shows an execution the way the console does; the functions' logs are in "
                          f"{running.state_dir / 'logs'}."))
    finally:
        running.stop()
    return 0
