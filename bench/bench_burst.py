"""A month-end burst through the local pipeline: N distinct generated invoices dropped at once, under
Textract's and Postgres' limits scaled down (5 starts/s, 20 jobs at once, 2 s jobs, 30 connections), on the
pipeline as `terraform apply` deploys it into the emulation, with every Lambda function in worker processes.

Prints a summary and merges it into bench/results.json under --results-key (default "burst"). The driver,
the scaled limits and the measures are local/invoice_local/burst.py's (tests/integration/test_burst.py runs
the same with 100 documents). See bench/README.md.

    .venv/bin/python bench/bench_burst.py --documents 1000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
WORK = REPO / "build" / "bench" / "burst"
RESULTS = REPO / "bench" / "results.json"


def _progress(every: float = 10.0):  # type: ignore[no-untyped-def]
    last = [0.0]

    def report(counts: dict[str, int], elapsed: float) -> None:
        if elapsed - last[0] >= every:
            last[0] = elapsed
            shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            print(f"  {elapsed:6.0f}s  {shown}", flush=True)

    return report


def _merge(key: str, value: dict[str, object]) -> None:
    current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    current[key] = value
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")


def _machine() -> dict[str, object]:
    commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                            text=True, check=False).stdout.strip()
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "commit": commit,
            "load_average_at_start": round(load[0], 2), "date": time.strftime("%Y-%m-%d %H:%M")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=7200.0, help="give up waiting after this many seconds")
    parser.add_argument("--stall", type=float, default=300.0, help="give up after this long without progress")
    parser.add_argument("--log-level", default="INFO", help="the functions' log level (Terraform's log_level)")
    parser.add_argument("--port", type=int, default=4595, help="the emulation's port (fixed: a second run "
                        "reuses the first one's apply)")
    parser.add_argument("--results-key", default="burst", help="key of bench/results.json to write")
    args = parser.parse_args()
    for var, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                       ("AWS_DEFAULT_REGION", "us-east-1"), ("POWERTOOLS_METRICS_DISABLED", "true")):
        os.environ[var] = value
    from invoice_local import burst, logs
    from invoice_local import dbroles as local_dbroles
    from invoice_local.burst_summary import render
    from invoice_local.deployment import deploy
    from invoice_local.emulation import server
    from invoice_local.postgres import LOG_FILE, ensure_database, start_postgres
    from invoice_pipeline.adapters import db

    machine = _machine()
    logs.setup(WORK / "logs")  # the functions' and the emulator's lines go to files, not to this terminal
    docs = burst.documents(args.documents)
    variables = burst.terraform_variables()
    print(f"{len(docs)} documents generated; Terraform variables {variables}", flush=True)
    pgdata = WORK / "pgdata"
    with start_postgres(pgdata, max_connections=burst.DB_MAX_CONNECTIONS) as pg, server.start(args.port) as emu:
        os.environ["DATABASE_URL"] = ensure_database(pg, "burst")
        local_dbroles.migrate()
        with db.transaction() as con:
            con.run("TRUNCATE documents CASCADE")  # an earlier run's documents, invoices, tokens and slots
        db.close()  # this process holds no connection during the run but the driver's own
        deployed = deploy(emu.endpoint, {"database_url": os.environ["DATABASE_URL"], "log_level": args.log_level,
                                         **variables}, WORK / "deployment")
        print(f"deployed in {deployed.seconds:.1f}s ({'restored' if deployed.reused else 'terraform apply'}); "
              f"uploading {len(docs)} documents at once", flush=True)
        report = burst.run(deployed, docs, os.environ["DATABASE_URL"], postgres_log=pgdata / LOG_FILE,
                           timeout=args.timeout, stall_seconds=args.stall, progress=_progress())
    print(render(report))
    # Other work on the machine slows the emulation (one process serves every AWS call): say how busy it was.
    machine["load_average_at_end"] = round(os.getloadavg()[0], 2)
    _merge(args.results_key, {"machine": machine, "terraform_variables": variables, **report.as_dict()})
    print(f"written to {RESULTS} under {args.results_key!r}")
    return 0 if report.final == report.documents and report.lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
