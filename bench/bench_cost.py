"""The cost per 1,000 invoices, from what real executions use, and the fixed monthly floor, from the plan.

M generated digital PDFs go through the pipeline as `terraform apply` deploys it into the emulation (worker-
process Lambdas, a real Postgres, the local engine behind Textract's expense APIs), admission control
included: S3 -> EventBridge -> the intake queue and function -> the state machine, Queue (admit, waiting for
a slot with a task token) -> StartAnalysis -> the SNS callback -> Parse, Validate, Persist. Then:

  variable   per document, priced with bench/cost/prices.json: state transitions counted in the executions'
             histories, Lambda requests and billed GB-seconds (measured durations x the memory Terraform
             configured), SQS, SNS, EventBridge, S3 requests and storage, log bytes, X-Ray, KMS, Secrets
             Manager; split into Textract (pages measured) and everything else, and their ratio;
  floor      a month, with no documents: the resources of a plan of terraform/ with its defaults (as a real
             account gets it) and with the lean profile, plus the always-on activity (the dispatch schedule,
             measured warm; custom metrics; the queue's data keys); the volume at which it equals Textract.

The figures go to bench/results.json under "cost" (other keys are kept); --write-doc also rewrites the
generated tables of docs/cost.md.

    .venv/bin/python bench/bench_cost.py [--documents 30] [--spacing 0] [--write-doc]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cost import activity, api_calls, backfill, floor, measure, report, usage  # noqa: E402
from bench.cost.prices import load as load_prices  # noqa: E402

RESULTS = REPO / "bench" / "results.json"
DOC = REPO / "docs" / "cost.md"
PORT = 4591  # fixed, so that a second run restores the first one's apply (the endpoint is part of its key)
PLAN_ACCOUNT = "111122223333"
WARM_UP = 5  # documents through the steady scenario's fresh stack before its measured ones
# The lean profile: variable values that exist in terraform/variables.tf (docs/cost.md explains each).
LEAN = {"db_multi_az": "false", "db_instance_class": "db.t4g.micro", "vpc_endpoint_az_count": "1",
        "database_connection_budget": "60", "db_monitoring_interval": "0",
        "reserved_concurrency": '{register=8,admit=3,start_analysis=5,callback=8,parse=8,validate=3,persist=8,'
                                'record_failure=3,dispatch=1,publish_events=1,migrate=1,api=10,read_einvoice=1}'}


def _plans(endpoint: str) -> dict[str, dict[str, Any]]:
    from invoice_local import terraform

    base = {"account_id": PLAN_ACCOUNT, "local_endpoint": endpoint}
    jobs = {"default": base, "lean": {**base, **LEAN}}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(terraform.plan, REPO / "build" / "bench" / f"cost-plan-{name}", variables)
                   for name, variables in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


def _merge_results(figures: dict[str, Any]) -> None:
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing["cost"] = figures
    RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")


def _init_ms(run: usage.RunUsage) -> dict[str, float]:
    """Mean INIT milliseconds per function over the run's cold starts."""
    return {k: f.init_ms / f.cold_starts for k, f in run.functions.items() if f.cold_starts}


def _scenario_figures(run: usage.RunUsage, seen: dict[str, Any], prices: Any, init_ms: dict[str, float]
                      ) -> dict[str, Any]:
    items = usage.line_items(run, prices)
    cold = usage.line_items(run, prices, all_cold=init_ms)
    textract = usage.textract_usd_per_document(run, prices)
    return {
        "documents": run.documents, "statuses": seen["statuses"], "seconds": seen["seconds"],
        "pages_per_document": round(run.pages / run.documents, 3),
        "transitions_per_document": round(run.transitions / run.documents, 3),
        "transitions_by_state": seen["transitions_by_state"],
        "state_machine_log_bytes_per_document": seen["state_machine_log_bytes_per_document"],
        "failed_attempts": seen["failed_attempts"],
        "lambda": {k: {"invocations": f.invocations, "cold_starts": f.cold_starts, "memory_mb": f.memory_mb,
                       "billed_ms_per_invocation": round(f.billed_ms / max(f.invocations, 1), 1),
                       "init_ms_per_cold_start": round(f.init_ms / max(f.cold_starts, 1), 1),
                       "gb_seconds_per_document": round(f.gb_seconds / run.documents, 5),
                       "log_bytes_per_document": round(f.log_bytes / run.documents)}
                   for k, f in run.functions.items()},
        "intake": {"messages": run.intake_messages, "batches": run.intake_batches},
        "variable_per_1000": {f"{i.service}: {i.what}": round(i.usd_per_1000, 5) for i in items},
        "textract_per_1000": round(textract * 1000, 4),
        "other_per_1000": round(usage.total(items) * 1000, 4),
        "other_per_1000_every_invocation_cold": round(usage.total(cold) * 1000, 4),
        "other_over_textract": round(usage.total(items) / textract, 4),
        "other_over_textract_every_invocation_cold": round(usage.total(cold) / textract, 4),
        "api_calls": seen["api_calls"],
    }


def _summary(runs: dict[str, tuple[usage.RunUsage, dict[str, Any]]], items: dict[str, list[usage.LineItem]],
             cold_items: list[usage.LineItem], textract: float, monthly: dict[str, float], prices: Any,
             init_ms: dict[str, float]) -> list[tuple[str, str, str]]:
    """The figures docs/cost.md opens with."""
    steady, seen = runs["steady"]
    pct = {name: usage.total(i) / textract for name, i in items.items()}
    # The same documents before the Succeed state went and the log level became ERROR: one transition more,
    # and every history event logged with its data.
    before = usage.total(items["steady"]) + (prices["sfn_standard_transition"] + prices["logs_ingest_gb"] *
                                             seen["state_machine_log_bytes_per_document"]["ALL"] / 1e9)
    per_page = prices["textract_expense_page"]
    same = "same"
    return [
        ("Textract (AnalyzeExpense), per 1,000 invoices", f"**{report.usd(textract * 1000)}** "
         f"({steady.pages / steady.documents:.2f} pages each)", same),
        ("everything else, steady traffic, per 1,000", f"**{report.usd(usage.total(items['steady']) * 1000)}** "
         f"({100 * pct['steady']:.2f} % of Textract; {steady.transitions / steady.documents:.1f} transitions each)",
         same),
        ("the same before this work's two changes (modelled)",
         f"{report.usd(before * 1000)} ({100 * before / textract:.2f} %)", same),
        ("everything else, every invocation cold (INIT "
         f"{min(init_ms.values()) / 1000:.1f}-{max(init_ms.values()) / 1000:.1f} s)",
         f"{report.usd(usage.total(cold_items) * 1000)} ({100 * usage.total(cold_items) / textract:.2f} %)", same),
        ("everything else, 30 at once into a cold stack",
         f"{report.usd(usage.total(items['burst']) * 1000)} ({100 * pct['burst']:.2f} %; "
         f"{runs['burst'][0].transitions / runs['burst'][0].documents:.1f} transitions each)", same),
        ("fixed floor, a month", f"**{report.usd(monthly['default'])}**", f"**{report.usd(monthly['lean'])}**"),
        ("monthly volume at which the floor equals Textract's cost",
         f"{monthly['default'] / per_page:,.0f} pages", f"{monthly['lean'] / per_page:,.0f} pages"),
    ]


def _write_doc(blocks: dict[str, str]) -> None:
    text = DOC.read_text()
    for name, content in blocks.items():
        text = report.replace_block(text, name, content)
    DOC.write_text(text)
    print(f"tables written to {DOC}")


def _floor_only(write_doc: bool) -> int:
    """The plans alone: the floor's resource tables and the price table (what tests/iac/test_cost_floor.py
    checks); the measured tables and the summary keep the last full run's figures."""
    from invoice_local.emulation import server

    prices = load_prices()
    with server.start() as emulation:  # answers the plan's one call (a generated password)
        plans = _plans(emulation.endpoint)
    blocks = {"floor": report.floor_table(floor.inventory(plans["default"], prices)),
              "floor-lean": report.floor_table(floor.inventory(plans["lean"], prices)),
              "prices": report.prices_table(prices)}
    for name, table in blocks.items():
        print(f"\n{name}:\n{table}")
    if write_doc:
        _write_doc(blocks)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=30, help="documents in each scenario")
    parser.add_argument("--spacing", type=float, default=2.0,
                        help="seconds between uploads in the steady scenario (the burst uploads all at once)")
    parser.add_argument("--write-doc", action="store_true", help="rewrite the generated tables of docs/cost.md")
    parser.add_argument("--floor-only", action="store_true",
                        help="only plan terraform/ and print (or write) the floor's resource tables and the prices: "
                             "a few minutes, after a change to terraform/ or prices.json")
    args = parser.parse_args()
    for var, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ[var] = value
    import logging

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    from invoice_local import dbroles as local_dbroles
    from invoice_local import logs
    from invoice_local.deployment import deploy
    from invoice_local.emulation import server
    from invoice_local.postgres import ensure_database, start_postgres
    from invoice_pipeline.adapters import db

    prices = load_prices()
    if args.floor_only:
        return _floor_only(args.write_doc)
    work = Path(tempfile.mkdtemp(prefix="bench-cost-"))
    log_dir = logs.setup(work / "logs").folder  # each function's output in a file of its own, as CloudWatch has it
    api_calls.install()
    runs: dict[str, tuple[usage.RunUsage, dict[str, Any]]] = {}
    try:
        state_dir = REPO / "build" / "bench" / "cost-deployment"
        with start_postgres(REPO / "build" / "bench" / "cost-pgdata") as pg, server.start(PORT) as emulation:
            os.environ["DATABASE_URL"] = ensure_database(pg, "bench")
            local_dbroles.migrate()
            deployed = deploy(emulation.endpoint, {"database_url": os.environ["DATABASE_URL"],
                                                   "analysis_timeout_seconds": 900}, state_dir)
            print(f"deployed in {deployed.seconds:.1f}s ({'restored' if deployed.reused else 'terraform apply'})",
                  flush=True)
            saved = (state_dir / "emulation.snapshot").read_bytes()
            n = args.documents
            docs = measure.documents(3 * n + WARM_UP, work)
            for i, (name, spacing) in enumerate((("steady", args.spacing), ("burst", 0.0))):
                measure.fresh(saved)
                if name == "steady":  # its environments warm, as steady traffic keeps them
                    runs["warm-up"] = measure.run_documents(deployed, docs[-WARM_UP:], spacing, log_dir, "warm-up")
                runs[name] = measure.run_documents(deployed, docs[i * n:(i + 1) * n], spacing, log_dir, name)
                print(f"{name}: {args.documents} documents in {runs[name][1]['seconds']}s: {runs[name][1]['statuses']}",
                      flush=True)
            measure.fresh(saved)
            filled, filled_seen = measure.run_backfill(deployed, docs[2 * n:3 * n], log_dir)
            print(f"backfill: {args.documents} stored documents: {filled_seen['status']}, "
                  f"{filled_seen['children']} children, pipeline {filled_seen['pipeline']}", flush=True)
            scheduled = measure.fire_schedule(deployed, log_dir, times=10)
            fn_names = deployed.function_names
            metric_always = measure.emf_metrics(log_dir, [fn_names["dispatch"]])
            others = [name for key, name in fn_names.items() if key != "dispatch"]
            metric_docs = measure.emf_metrics(log_dir, others) - metric_always
            print("planning terraform/ with its defaults and with the lean profile ...", flush=True)
            plans = _plans(emulation.endpoint)
            db.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    warm_up = runs.pop("warm-up")[0]
    steady = runs["steady"][0]
    items = {name: usage.line_items(run, prices) for name, (run, _) in runs.items()}
    # INIT as the warm-up measured it: environments started one at a time, not 30 at once on two cores
    init_ms = {**_init_ms(runs["burst"][0]), **_init_ms(warm_up)}
    cold_items = usage.line_items(steady, prices, all_cold=init_ms)
    textract = usage.textract_usd_per_document(steady, prices)
    invocations = sum(floor.schedules(plans["default"], prices.hours_per_month).values())
    always = activity.activity(invocations, scheduled, len(metric_always), len(metric_docs), prices)
    floors = {name: floor.inventory(plan, prices) for name, plan in plans.items()}
    monthly = {name: floor.total(f) + activity.total(always) for name, f in floors.items()}
    per_page = prices["textract_expense_page"]
    figures: dict[str, Any] = {
        "prices": {"region": prices.region, "retrieved": prices.retrieved},
        "scenarios": {name: _scenario_figures(run, seen, prices, init_ms) for name, (run, seen) in runs.items()},
        "target_other_over_textract": 0.03,
        "floor_monthly": {name: round(total, 2) for name, total in monthly.items()},
        "floor_resources_monthly": {name: round(floor.total(f), 2) for name, f in floors.items()},
        "always_on_activity_monthly": round(activity.total(always), 2),
        "break_even_pages_per_month": {name: round(total / per_page) for name, total in monthly.items()},
        "lean_profile": LEAN,
        "dispatch_warm_ms": round((scheduled.billed_ms - scheduled.init_ms) / max(scheduled.invocations, 1), 1),
        "custom_metrics": {"every_minute": sorted(m[1] for m in metric_always),
                           "document_processing": sorted(m[1] for m in metric_docs)},
    }
    summary = _summary(runs, items, cold_items, textract, monthly, prices, init_ms)
    figures["init_ms_every_invocation_cold"] = {k: round(v) for k, v in sorted(init_ms.items())}
    backfill_items = backfill.line_items(filled, prices)
    figures["backfill_added_per_1000"] = {f"{i.service}: {i.what}": round(i.usd_per_1000, 5) for i in backfill_items}
    figures["backfill_added_per_1000_total"] = round(usage.total(backfill_items) * 1000, 4)
    figures["backfill_run"] = filled_seen
    _merge_results(figures)
    for name, (run, seen) in runs.items():
        other = usage.total(items[name])
        print(f"\n{name}: {seen['transitions_by_state']}\n{report.variable_table(items[name])}")
        print(f"Textract ${textract * 1000:.2f} per 1,000 documents ({run.pages / run.documents:.2f} pages each); "
              f"everything else ${other * 1000:.4f} ({100 * other / textract:.2f} % of Textract; target 3 %)")
    print(f"steady, every invocation cold: ${usage.total(cold_items) * 1000:.4f} "
          f"({100 * usage.total(cold_items) / textract:.2f} %)")
    for name, f in floors.items():
        print(f"\nfloor, {name} profile:\n{report.floor_table(f)}")
    print(f"\n{report.activity_table(always)}")
    print(f"\nbackfill, added per document:\n{report.variable_table(backfill_items, 'what the backfill adds')}")
    for name, total in monthly.items():
        print(f"floor, {name}: ${total:.2f} a month = Textract's cost at {total / per_page:,.0f} pages a month")
    if args.write_doc:
        _write_doc({"summary": report.summary_table(summary), "prices": report.prices_table(prices),
                    "variable-steady": report.variable_table(items["steady"]),
                    "variable-burst": report.variable_table(items["burst"]),
                    "variable-cold": report.variable_table(cold_items),
                    "floor": report.floor_table(floors["default"]), "floor-lean": report.floor_table(floors["lean"]),
                    "activity": report.activity_table(always),
                    "backfill": report.variable_table(backfill_items, "what the backfill adds")})
    print(f"figures written to {RESULTS} (key 'cost')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
