"""The `invoices` commands for people running the local stack: up, run, submit, status, show, trace, logs, down.

They reach a running stack through `<state dir>/stack.json` (the emulation's endpoint and the database
URL), so any shell can use them while `invoices up` (or `make run`) serves."""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

from invoice_pipeline.domain.events import from_s3_response
from invoice_pipeline.domain.status import TERMINAL
from rich.table import Table
from rich.text import Text

from invoice_local import console, lambda_limits, logs
from invoice_local.postgres import MIN_MAX_CONNECTIONS
from invoice_local.stack import DEFAULT_API_PORT, DEFAULT_PORT, DEFAULT_STATE_DIR, StackInfo, StackNotRunning
from invoice_local.terminal_text import printable, printable_json
from invoice_local.textract_quotas import DEFAULT_REGION
from invoice_local.textract_quotas import DEFAULTS as TEXTRACT_DEFAULTS


class CommandError(Exception):
    """A user-facing error: printed as one line, exit code 2."""


def _info(args: argparse.Namespace) -> StackInfo:
    try:
        return StackInfo.load(args.state_dir)
    except StackNotRunning as exc:
        raise CommandError(str(exc)) from exc


def _use_database(info: StackInfo) -> None:
    from invoice_pipeline.adapters import db

    os.environ["DATABASE_URL"] = info.database_url
    db.close()


def _rows(sql: str, **params: Any) -> list[dict[str, Any]]:
    from invoice_pipeline.adapters import db

    with db.transaction() as con:
        return db.rows(con, sql, **params)


def _find_document(ref: str) -> dict[str, Any]:
    """A document by id, id prefix (as `status` prints it) or object key."""
    ref = ref.strip()
    found = _rows("SELECT * FROM documents WHERE id::text LIKE :p || '%' OR object_key = :k OR object_key = :ik"
                  " ORDER BY created_at DESC LIMIT 2", p=ref.lower(), k=ref, ik=f"incoming/{ref}")
    if not found:
        raise CommandError(f"no document matches {ref!r} (use an id from `invoices status`)")
    if len(found) > 1 and not str(found[0]["id"]).startswith(ref.lower()):
        raise CommandError(f"{ref!r} matches several documents: give more of the id")
    return found[0]


def results_rows(document_ids: list[str] | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """One row per invoice (or per document without invoices): what `run`, `submit` and `status` print."""
    where = "WHERE d.id = ANY(CAST(:ids AS uuid[]))" if document_ids else ""
    params: dict[str, Any] = {"ids": document_ids} if document_ids else {}
    # A duplicate has no invoices of its own: it shows its original's, and says whose they are.
    rows = _rows(
        "SELECT d.id, d.object_key, d.status, d.error_code, d.duplicate_of, i.invoice_number, i.vendor_name,"
        " i.invoice_date, i.total, i.currency, i.issues,"
        " (SELECT count(*) FROM line_items li WHERE li.invoice_id = i.id) AS items"
        " FROM documents d LEFT JOIN invoices i ON i.document_id = COALESCE(d.duplicate_of, d.id)"
        f" {where} ORDER BY d.created_at DESC, i.seq LIMIT {int(limit)}", **params)
    out = []
    for r in rows:
        issues = ", ".join(sorted({i["code"] for i in (r["issues"] or [])}))
        if r["duplicate_of"] is not None:
            issues = f"duplicate of {str(r['duplicate_of'])[:8]}"
        out.append({"id": str(r["id"])[:8], "file": r["object_key"].removeprefix("incoming/"), "status": r["status"],
                    "invoice": r["invoice_number"], "vendor": r["vendor_name"], "date": r["invoice_date"],
                    "total": r["total"], "cur": r["currency"], "items": r["items"] if r["invoice_number"] or
                    r["total"] is not None or r["items"] else None,
                    "issues / error": r["error_code"] or issues or None})
    return out


RESULT_COLUMNS = ["id", "file", "status", "invoice", "vendor", "date", "total", "cur", "items", "issues / error"]


def submit_files(info: StackInfo, files: list[Path], *, timeout: float = 900) -> list[str]:
    """Upload files to incoming/ and wait until each has reached a final status; returns document ids."""
    s3 = info.client("s3")
    pending: dict[tuple[str, str], Path] = {}
    status_of_done: list[str] = []
    for path in files:
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        key = f"incoming/{path.name}"
        with path.open("rb") as body:
            put = s3.put_object(Bucket=info.ingest_bucket, Key=key, Body=body)
        pending[(key, from_s3_response(info.ingest_bucket, key, put).version_id)] = path
    started, done_ids = time.monotonic(), []
    with console.documents_progress(len(pending)) as progress:
        progress(0, "uploaded")
        while pending and time.monotonic() - started < timeout:
            rows = _rows("SELECT id, object_key, version_id, status FROM documents WHERE bucket = :b"
                         " AND object_key = ANY(CAST(:keys AS text[]))", b=info.ingest_bucket,
                         keys=sorted({key for key, _version in pending}))
            found = {(r["object_key"], r["version_id"]): r for r in rows}
            counts: Counter[str] = Counter(status_of_done)
            for ref in list(pending):
                row = found.get(ref)
                if row is None:
                    counts["waiting"] += 1
                elif row["status"] in TERMINAL:
                    done_ids.append(str(row["id"]))
                    status_of_done.append(row["status"])
                    counts[row["status"]] += 1
                    del pending[ref]
                else:
                    counts[row["status"]] += 1
            progress(len(done_ids), console.status_summary(counts))
            if pending:
                time.sleep(0.3)
    if pending:
        raise CommandError(f"{len(pending)} file(s) not finished after {timeout:.0f}s: "
                           + ", ".join(str(p) for p in pending.values()))
    return done_ids


# --- commands -----------------------------------------------------------------------------------------
def stack_options(args: argparse.Namespace) -> dict[str, Any]:
    """What `up` and `run` pass to stack.up: ports, and the quotas the emulation and Postgres enforce."""
    return {"state_dir": args.state_dir, "port": args.port, "api_port": args.api_port,
            "textract_start_tps": args.textract_start_tps, "textract_get_tps": args.textract_get_tps,
            "textract_max_jobs": args.textract_max_jobs, "textract_job_seconds": args.textract_job_seconds,
            "db_max_connections": args.db_max_connections, "lambda_concurrency": args.lambda_concurrency}


def cmd_up(args: argparse.Namespace) -> int:
    from invoice_local.stack import up

    running = up(**stack_options(args))
    running.wait()
    print("local stack stopped")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """make run: start the stack, process the generated samples, print the results, keep serving."""
    from invoice_local import samples
    from invoice_local.stack import up

    t0 = time.monotonic()
    running = up(**stack_options(args))
    try:
        sample_dir = args.state_dir / "samples"
        files = samples.run_set(sample_dir)
        console.stage("samples", f"{len(files)} generated invoices in {sample_dir} ({samples.FACTURX_SAMPLE}: a"
                                 " Factur-X e-invoice, read from its XML without OCR)")
        console.stage("samples", f"{samples.RESENT_SAMPLE} is {samples.RESENT_FROM} sent again as a scan: one"
                                 " of the two is held for review as a possible duplicate (the web page's review queue)")
        _use_database(running.info)
        ids = submit_files(running.info, files)
        first = _rows("SELECT min(updated_at) - min(created_at) AS first FROM documents"
                      " WHERE id = ANY(CAST(:ids AS uuid[]))", ids=ids)[0]["first"]
        console.show(Text(""), console.table(results_rows(ids), RESULT_COLUMNS))
        peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        console.show(Text(f"\n{len(ids)} documents in {time.monotonic() - t0:.1f}s from start (first result "
                          f"{first.total_seconds():.1f}s after its upload); peak memory {peak_mb:.0f} MB"),
                     Text("Try: invoices status | invoices show ID | invoices trace ID | invoices logs ID | "
                          "invoices submit FILE...", style="dim"))
        if args.exit:
            return 0
        console.show(Text("Serving until Ctrl-C."))
        running.wait()
        return 0
    finally:
        running.stop()
        print("local stack stopped")


def cmd_submit(args: argparse.Namespace) -> int:
    info = _info(args)
    _use_database(info)
    ids = submit_files(info, [Path(f) for f in args.files], timeout=args.timeout)
    console.show(console.table(results_rows(ids), RESULT_COLUMNS))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    _use_database(_info(args))
    rows = results_rows(limit=args.limit)
    console.show(console.table(rows, RESULT_COLUMNS) if rows else Text("no documents yet"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    _use_database(_info(args))
    from invoice_pipeline.adapters import repository

    doc = _find_document(args.id)
    parts: list[Any] = [Text.assemble((f"document {doc['id']}", "bold"), f"  {printable(doc['object_key'])}  ",
                                      console.cell(doc["status"], "status"))]
    if doc["error_code"]:
        parts.append(Text(printable(f"error    {doc['error_code']}: {doc['error_message']}"), style="red"))
    if doc["duplicate_of"]:
        parts.append(Text(f"duplicate of {doc['duplicate_of']}"))
    for inv in repository.invoices_for(doc["id"]):
        fields = Table.grid(padding=(0, 2), pad_edge=True)
        fields.add_column(style="bold")
        fields.add_column()
        for label, value in (("invoice", inv["invoice_number"]), ("vendor", inv["vendor_name"]),
                             ("vendor tax id", inv["vendor_tax_id"]), ("customer", inv["customer_name"]),
                             ("date", inv["invoice_date"]), ("due", inv["due_date"]), ("po", inv["po_number"]),
                             ("currency", inv["currency"]), ("subtotal", inv["subtotal"]), ("tax", inv["tax"]),
                             ("discount", inv["discount"]), ("total", inv["total"]),
                             ("amount due", inv["amount_due"]), ("validation", inv["validation_status"])):
            if value is not None:
                fields.add_row(label, console.cell(value, "status" if label == "validation" else label))
        parts += [Text(""), fields]
        items = [{"#": li["position"] + 1, "description": (li["description"] or "").replace("\n", " "),
                  "qty": li["quantity"], "unit price": li["unit_price"], "amount": li["amount"]}
                 for li in inv["line_items"]]
        if items:
            parts += [Text(""), console.table(items, ["#", "description", "qty", "unit price", "amount"],
                                              max_width=50)]
        for issue in inv["issues"]:
            parts.append(Text(printable(f"  ! {issue['severity']:<7} {issue['code']}: {issue['message']}"),
                              style="red" if issue["severity"] == "error" else "yellow"))
    console.show(*parts)
    return 0


def cmd_trace(args: argparse.Namespace) -> int:
    from invoice_local import trace

    info = _info(args)
    _use_database(info)
    doc = _find_document(args.id)
    if not doc["execution_arn"]:
        raise CommandError(f"document {doc['id']} has no execution yet")
    execution, events = trace.fetch(info.client("stepfunctions"), doc["execution_arn"])
    console.show(trace.view(execution, events, show_io=args.io), color=not args.no_color)
    return 0


LOG_KEYS_SHOWN_ELSEWHERE = {
    "level", "location", "message", "timestamp", "service", "cold_start", "function_name", "function_memory_size",
    "function_arn", "function_request_id", "correlation_id", "xray_trace_id", "sampling_rate", "exception",
    "exception_name", "stack_trace", "document_id"}


def _log_fields(record: dict[str, Any], limit: int = 80) -> str:
    """The line's own keys (what the handler passed as extra=...), compact; an exception by its last line."""
    parts = []
    for key, value in record.items():
        if key in LOG_KEYS_SHOWN_ELSEWHERE or value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
        parts.append(f"{key}={text if len(text) <= limit else text[:limit - 1] + '…'}")
    if record.get("exception"):
        parts.append(str(record["exception"]).strip().splitlines()[-1])
    return "  ".join(parts)


def _document_for_logs(args: argparse.Namespace) -> str:
    """The document id to look for: resolved like `show` does while the stack runs; else the given prefix."""
    try:
        info = StackInfo.load(args.state_dir)
    except StackNotRunning:
        return str(args.id).strip().lower()
    _use_database(info)
    return str(_find_document(args.id)["id"])


def cmd_logs(args: argparse.Namespace) -> int:
    folder = args.state_dir / "logs"
    if not folder.is_dir():
        raise CommandError(f"no logs yet: {folder} does not exist (start the stack with `invoices up`)")
    document_id = _document_for_logs(args)
    lines = logs.read(folder, document_id)
    ids = {line.document_id for line in lines}
    if len(ids) > 1:
        raise CommandError(f"{args.id!r} matches several documents in the logs: give more of the id")
    if args.json:
        for line in lines:
            print(printable_json(line.raw))
        return 0
    if not lines:
        console.show(Text(printable(f"no log lines for {document_id} in {folder}")), stderr=True)
        return 0
    # "invoices-local-parse" -> "parse": the stack's name is the same on every file
    names = {path.name.removesuffix(".1").removesuffix(".log") for path in logs.function_files(folder)}
    prefix = os.path.commonprefix(sorted(names)) if len(names) > 1 else ""
    prefix = prefix[:prefix.rfind("-") + 1]
    out = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    out.add_column("time", no_wrap=True, style="dim")
    out.add_column("function", no_wrap=True)
    out.add_column("level", no_wrap=True)
    out.add_column("message", ratio=1, overflow="fold")
    for line in lines:
        when = line.time.astimezone().strftime("%H:%M:%S.%f")[:-3] if line.time else "-"
        message = Text(printable(line.message))
        fields = _log_fields(line.record)
        if fields:
            message.append(printable(f"  {fields}"), style="dim")
        out.add_row(when, line.function.removeprefix(prefix), Text(line.level, style=console.LEVEL_STYLES.get(
            line.level, "")), message)
    console.show(Text(printable(f"document {next(iter(ids))}: {len(lines)} log lines from {folder}"), style="dim"),
                 out)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    info = _info(args)
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(info.pid, 0)
        except ProcessLookupError:
            print("local stack stopped")
            return 0
        time.sleep(0.2)
    raise CommandError(f"the stack (pid {info.pid}) did not stop within 30 s")


def _at_least(minimum: float, kind: type[int] | type[float] = int) -> Any:
    """An argparse type: a number of `kind`, at least `minimum`."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {text}")
        return value

    return parse


def _add_limits(p: argparse.ArgumentParser) -> None:
    q = TEXTRACT_DEFAULTS
    g = p.add_argument_group(f"limits (Textract's defaults: AWS's quotas in {DEFAULT_REGION})")
    g.add_argument("--textract-start-tps", type=_at_least(1), default=q.start_tps, metavar="N",
                   help=f"StartExpenseAnalysis calls accepted per second (default {q.start_tps})")
    g.add_argument("--textract-get-tps", type=_at_least(1), default=q.get_tps, metavar="N",
                   help=f"GetExpenseAnalysis calls accepted per second (default {q.get_tps})")
    g.add_argument("--textract-max-jobs", type=_at_least(1), default=q.max_jobs, metavar="N",
                   help=f"Textract jobs running at once (default {q.max_jobs})")
    g.add_argument("--textract-job-seconds", type=_at_least(0, float), default=0.0, metavar="S",
                   help="seconds a Textract job runs before the local engine reads it (default 0)")
    g.add_argument("--db-max-connections", type=_at_least(MIN_MAX_CONNECTIONS), default=None, metavar="N",
                   help="connections Postgres accepts (default: the cluster's own, 100)")
    g.add_argument("--lambda-concurrency", type=_at_least(1), default=lambda_limits.ACCOUNT_CONCURRENCY,
                   metavar="N", help="the account's Lambda concurrency: functions' reservations must leave "
                   f"{lambda_limits.UNRESERVED_MINIMUM} of it unreserved, as in AWS "
                   f"(default {lambda_limits.ACCOUNT_CONCURRENCY})")


def register(commands: Any) -> None:
    """Add the local-stack commands to the `invoices` argument parser."""
    def add(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help=argparse.SUPPRESS)
        p.set_defaults(handler=handler)
        return p

    for name, handler, help_text in (("up", cmd_up, "start the local stack and serve until Ctrl-C"),
                                     ("run", cmd_run, "start the stack, process the sample invoices, print the "
                                                      "results and keep serving (make run)")):
        p = add(name, handler, help_text)
        p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"emulation port (default {DEFAULT_PORT})")
        p.add_argument("--api-port", type=int, default=DEFAULT_API_PORT, help="local API and web page port")
        _add_limits(p)
        if name == "run":
            p.add_argument("--exit", action="store_true", help="stop after printing the results")
    p = add("submit", cmd_submit, "upload invoices to the running stack and wait for their results")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--timeout", type=float, default=900)
    p = add("status", cmd_status, "list the latest documents and their status")
    p.add_argument("--limit", type=int, default=50)
    p = add("show", cmd_show, "show a document's invoice(s) as a table")
    p.add_argument("id", help="document id (or its first characters) or file name")
    p = add("logs", cmd_logs, "the document's log lines from every function, in time order")
    p.add_argument("id", help="document id (or its first characters) or file name")
    p.add_argument("--json", action="store_true", help="the raw JSON lines, as CloudWatch Logs would hold them")
    p = add("trace", cmd_trace, "the document's execution history, as the Step Functions console shows it")
    p.add_argument("id", help="document id (or its first characters) or file name")
    p.add_argument("--io", action="store_true", help="show each state's input and output")
    p.add_argument("--no-color", action="store_true")
    add("down", cmd_down, "stop the running local stack")
    from invoice_local import reprocess_cmd

    reprocess_cmd.add_arguments(add("reprocess", reprocess_cmd.cmd_reprocess, "reprocess one document, or every "
                                     "document matching a filter (after an outage), through the local API"))

    from invoice_local import events_cmd

    events_cmd.register(add)

    from invoice_local import accuracy_cmd

    accuracy_cmd.add_arguments(add("accuracy", accuracy_cmd.cmd_accuracy, "per-field correction rate by engine "
                                   "and by vendor, from the review audit trail, through the local API"))

    from invoice_local import backfill_cmd  # imports this module's helpers: registered last

    backfill_cmd.register(add)


__all__ = ["CommandError", "register"]
