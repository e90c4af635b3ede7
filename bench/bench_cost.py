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
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cost import activity, api_calls, backfill, floor, report, usage  # noqa: E402
from bench.cost.prices import load as load_prices  # noqa: E402
from bench.cost.transitions import (  # noqa: E402
    billed_transitions,
    failures_by_state,
    log_record_bytes,
    transitions_by_state,
)

RESULTS = REPO / "bench" / "results.json"
DOC = REPO / "docs" / "cost.md"
PORT = 4591  # fixed, so that a second run restores the first one's apply (the endpoint is part of its key)
PLAN_ACCOUNT = "111122223333"
WARM_UP = 5  # documents through the steady scenario's fresh stack before its measured ones
# The lean profile: variable values that exist in terraform/variables.tf (docs/cost.md explains each).
LEAN = {"db_multi_az": "false", "db_instance_class": "db.t4g.micro", "vpc_endpoint_az_count": "1",
        "database_connection_budget": "60", "db_monitoring_interval": "0",
        "reserved_concurrency": '{register=8,admit=3,start_analysis=5,callback=8,parse=8,validate=3,persist=8,'
                                'record_failure=3,dispatch=1,migrate=1,api=10}'}
S3_PUT_CLASS = ("PutObject", "PostObject", "CopyObject", "ListObjects", "ListObjectsV2", "ListObjectVersions")


def _documents(count: int, work: Path) -> list[bytes]:
    from invoice_local import samples

    out: list[bytes] = []
    seed = 0
    while len(out) < count:
        seed += 1
        for path in samples.generate(work / f"seed{seed}", seed=seed):
            if path.suffix == ".pdf" and path.name != samples.BROKEN:
                out.append(path.read_bytes())
    return out[:count]


def _log_sizes(folder: Path) -> dict[str, int]:
    return {p.stem: p.stat().st_size for p in folder.glob("*.log")}


def _emf_metrics(folder: Path, names: list[str]) -> set[tuple[str, str, str]]:
    """(namespace, metric, dimensions) of every EMF metric in the log files of `names`."""
    found: set[tuple[str, str, str]] = set()
    for name in names:
        path = folder / f"{name}.log"
        for line in path.read_text().splitlines() if path.exists() else []:
            if '"_aws"' not in line:
                continue
            record = json.loads(line)
            for directive in record["_aws"]["CloudWatchMetrics"]:
                for dims in directive["Dimensions"]:
                    labels = ",".join(f"{d}={record.get(d)}" for d in dims)
                    found.update((directive["Namespace"], m["Name"], labels) for m in directive["Metrics"])
    return found


def _function_usage(deployed: Any, stats: dict[str, dict[str, Any]], logs_before: dict[str, int],
                    logs_after: dict[str, int], keys: list[str]) -> dict[str, usage.FunctionUsage]:
    from invoice_local import manifest

    lam = deployed.client("lambda")
    out = {}
    for key in keys:
        name = deployed.function_names[key]
        s = stats.get(name)
        if not s:
            continue
        config = lam.get_function_configuration(FunctionName=name)
        out[key] = usage.FunctionUsage(
            memory_mb=int(config["MemorySize"]), ephemeral_mb=int(config.get("EphemeralStorage", {}).get("Size", 512)),
            invocations=int(s["invocations"]), cold_starts=int(s["cold_starts"]), billed_ms=float(sum(s["billed_ms"])),
            init_ms=float(sum(s["init_ms"])), log_bytes=logs_after.get(name, 0) - logs_before.get(name, 0),
            database=manifest.functions()[key].database)
    return out


def _stored_bytes(deployed: Any) -> int:
    s3, total = deployed.client("s3"), 0
    for bucket in (deployed.ingest_bucket, deployed.results_bucket):
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            total += sum(v["Size"] for v in page.get("Versions", []))
    return total


def _run(deployed: Any, docs: list[bytes], spacing: float, log_dir: Path, name: str
         ) -> tuple[usage.RunUsage, dict[str, Any]]:
    """Upload `docs` (every `spacing` seconds) and measure what their executions used."""
    from invoice_local import manifest
    from invoice_local.emulation import event_sources, lambda_runner
    from invoice_local.emulation import textract as standin

    sfn = deployed.client("stepfunctions")
    logging_config = sfn.describe_state_machine(stateMachineArn=deployed.state_machine_arn)["loggingConfiguration"]
    level, with_data = logging_config["level"], bool(logging_config.get("includeExecutionData"))
    per_document = [k for k, f in manifest.functions().items() if f.invoked_by not in ("schedule", "deploy")]
    earlier = {e["executionArn"] for e in deployed.executions()}
    jobs_before, stored_before = set(standin.state.jobs), _stored_bytes(deployed)
    logs_before = _log_sizes(log_dir)
    lambda_runner.reset_stats()
    event_sources.reset_stats()
    api_calls.reset()
    started = time.perf_counter()
    for i, body in enumerate(docs):
        deployed.upload(f"incoming/{name}-{i:04d}.pdf", body)
        if spacing:
            time.sleep(spacing)
    finished = deployed.wait_for_executions(len(earlier) + len(docs), timeout=1800)
    executions = [e for e in finished if e["executionArn"] not in earlier]
    wall = time.perf_counter() - started
    time.sleep(1.0)  # the last log lines and the mapping's deletes
    statuses: Counter[str] = Counter()
    by_state: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    transitions = sfn_bytes = sfn_bytes_at_all = 0
    for execution in executions:
        statuses[execution["status"]] += 1
        history = deployed.history(execution["executionArn"])
        transitions += billed_transitions(history).billed
        by_state.update(transitions_by_state(history))
        failures.update(failures_by_state(history))
        sfn_bytes += log_record_bytes(history, execution["executionArn"], level, with_data)
        sfn_bytes_at_all += log_record_bytes(history, execution["executionArn"], "ALL", True)
    functions = _function_usage(deployed, lambda_runner.stats(), logs_before, _log_sizes(log_dir), per_document)
    mapping = next(iter(event_sources.stats().values()))
    jobs = [j for k, j in list(standin.state.jobs.items()) if k not in jobs_before]
    pages = sum(int(j.pages[0].get("DocumentMetadata", {}).get("Pages", 1)) for j in jobs if j.pages)
    textract_output = sum(len(json.dumps(j.pages)) for j in jobs)
    calls = api_calls.counts()
    s3_put = sum(n for (svc, op), n in calls.items() if svc == "s3" and op in S3_PUT_CLASS)
    s3_get = sum(n for (svc, op), n in calls.items() if svc == "s3" and op not in S3_PUT_CLASS)
    callbacks = functions["callback"].invocations if "callback" in functions else 0
    run = usage.RunUsage(
        documents=len(docs), pages=pages, executions=len(executions), transitions=transitions, sfn_log_bytes=sfn_bytes,
        functions=functions, intake_messages=mapping.delivered, intake_batches=mapping.batches,
        sns_publishes=callbacks, textract_jobs=len(jobs), s3_put_requests=s3_put, s3_get_requests=s3_get,
        stored_bytes=_stored_bytes(deployed) - stored_before + textract_output,
        traced_requests=len(executions) + mapping.batches + callbacks)
    seen = {"statuses": dict(statuses), "seconds": round(wall, 1), "state_machine_logging": level,
            "transitions_by_state": {k: round(v / len(docs), 3) for k, v in sorted(by_state.items())},
            "failed_attempts": dict(sorted(failures.items())),
            "state_machine_log_bytes_per_document": {level: round(sfn_bytes / len(docs)),
                                                     "ALL": round(sfn_bytes_at_all / len(docs))},
            "api_calls": {f"{svc}:{op}": n for (svc, op), n in sorted(calls.items())}}
    return run, seen


def _finished(deployed: Any, execution_arn: str, timeout: float = 900) -> dict[str, Any]:
    sfn = deployed.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.5)
    raise TimeoutError(f"{execution_arn} still running after {timeout}s")


def _backfill(deployed: Any, docs: list[bytes], log_dir: Path) -> tuple[backfill.BackfillUsage, dict[str, Any]]:
    """`docs` stored under incoming/backfill/ with no upload event (the rule's target taken away meanwhile),
    then the backfill state machine run over them, as the README's AWS CLI command starts it."""
    from invoice_local.emulation import lambda_runner

    events, s3, sfn = deployed.client("events"), deployed.client("s3"), deployed.client("stepfunctions")
    (rule,) = [r["Name"] for r in events.list_rules()["Rules"] if r["Name"].endswith("-object-created")]
    targets = events.list_targets_by_rule(Rule=rule)["Targets"]
    events.remove_targets(Rule=rule, Ids=[t["Id"] for t in targets])
    for i, body in enumerate(docs):
        s3.put_object(Bucket=deployed.ingest_bucket, Key=f"incoming/backfill/{i:04d}.pdf", Body=body)
    events.put_targets(Rule=rule, Targets=targets)
    earlier = {e["executionArn"] for e in deployed.executions()}
    # The intake held while the backfill runs, so that what is counted is the backfill's alone; the pipeline
    # then takes the messages as it takes any upload's.
    lam = deployed.client("lambda")
    (intake,) = [m for m in lam.list_event_source_mappings()["EventSourceMappings"]
                 if m["FunctionArn"].endswith(":" + deployed.function_names["intake"])]
    lam.update_event_source_mapping(UUID=intake["UUID"], Enabled=False)
    logs_before = _log_sizes(log_dir)
    lambda_runner.reset_stats()
    api_calls.reset()
    started = sfn.start_execution(stateMachineArn=deployed.backfill_state_machine_arn, name="cost-backfill",
                                  input=json.dumps({"bucket": deployed.ingest_bucket, "prefix": "incoming/backfill/"}))
    parent = _finished(deployed, started["executionArn"])
    time.sleep(0.5)
    calls = api_calls.counts()
    fn = _function_usage(deployed, lambda_runner.stats(), logs_before, _log_sizes(log_dir), ["backfill"])["backfill"]
    lam.update_event_source_mapping(UUID=intake["UUID"], Enabled=True)
    finished = deployed.wait_for_executions(len(earlier) + len(docs), timeout=1800)
    statuses = Counter(e["status"] for e in finished if e["executionArn"] not in earlier)
    (map_run,) = sfn.list_map_runs(executionArn=parent["executionArn"])["mapRuns"]
    children = int(sfn.describe_map_run(mapRunArn=map_run["mapRunArn"])["executionCounts"]["total"])
    history = deployed.history(parent["executionArn"])
    config = sfn.describe_state_machine(stateMachineArn=deployed.backfill_state_machine_arn)["loggingConfiguration"]
    listed = sum(n for (svc, op), n in calls.items() if svc == "s3" and op.startswith("ListObjects"))
    run = backfill.BackfillUsage(
        documents=len(docs), parent_transitions=billed_transitions(history, map_children=children).billed,
        children=children, function=fn, list_requests=max(listed, -(-len(docs) // 1000)),
        head_requests=calls.get(("s3", "HeadObject"), 0), send_batches=calls.get(("sqs", "SendMessageBatch"), 0),
        parent_log_bytes=log_record_bytes(history, parent["executionArn"], config["level"],
                                          bool(config.get("includeExecutionData"))))
    return run, {"status": parent["status"], "pipeline": dict(statuses), "children": children,
                 "api_calls": {f"{svc}:{op}": n for (svc, op), n in sorted(calls.items())}}


def _dispatch(deployed: Any, log_dir: Path, times: int) -> usage.FunctionUsage:
    """The scheduled function fired `times` times in a row, as its schedule fires it."""
    from invoice_local import manifest
    from invoice_local.emulation import eventbridge, lambda_runner

    key = next(k for k, f in manifest.functions().items() if f.invoked_by == "schedule")
    rule = next(r for r in deployed.client("events").list_rules()["Rules"] if r.get("ScheduleExpression"))
    before = _log_sizes(log_dir)
    lambda_runner.reset_stats()
    for _ in range(times):
        eventbridge.fire_scheduled(rule["Name"])
    time.sleep(0.5)
    return _function_usage(deployed, lambda_runner.stats(), before, _log_sizes(log_dir), [key])[key]


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


def _fresh(saved: bytes) -> None:
    """The emulation as Terraform left it, an empty database, no warm environment, a new Textract stand-in."""
    from invoice_local.emulation import lambda_runner, snapshot
    from invoice_local.emulation import textract as standin
    from invoice_local.engine import LocalExpenseEngine
    from invoice_pipeline.adapters import aws, db

    with db.transaction() as con:
        con.run("TRUNCATE documents, document_events, invoices, line_items, task_tokens CASCADE")
    snapshot.loads(saved)
    lambda_runner.reset()
    aws.reset()
    standin.configure(engine=LocalExpenseEngine(), faults=standin.Faults(job_seconds=0.0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=30, help="documents in each scenario")
    parser.add_argument("--spacing", type=float, default=2.0,
                        help="seconds between uploads in the steady scenario (the burst uploads all at once)")
    parser.add_argument("--write-doc", action="store_true", help="rewrite the generated tables of docs/cost.md")
    args = parser.parse_args()
    for var, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ[var] = value
    import logging

    logging.getLogger("moto").setLevel(logging.CRITICAL)
    from invoice_local import logs
    from invoice_local.deployment import deploy
    from invoice_local.emulation import server
    from invoice_local.postgres import ensure_database, start_postgres
    from invoice_pipeline.adapters import db

    prices = load_prices()
    work = Path(tempfile.mkdtemp(prefix="bench-cost-"))
    log_dir = logs.setup(work / "logs").folder  # each function's output in a file of its own, as CloudWatch has it
    api_calls.install()
    runs: dict[str, tuple[usage.RunUsage, dict[str, Any]]] = {}
    try:
        state_dir = REPO / "build" / "bench" / "cost-deployment"
        with start_postgres(REPO / "build" / "bench" / "cost-pgdata") as pg, server.start(PORT) as emulation:
            os.environ["DATABASE_URL"] = ensure_database(pg, "bench")
            db.migrate()
            deployed = deploy(emulation.endpoint, {"database_url": os.environ["DATABASE_URL"],
                                                   "analysis_timeout_seconds": 900}, state_dir)
            print(f"deployed in {deployed.seconds:.1f}s ({'restored' if deployed.reused else 'terraform apply'})",
                  flush=True)
            saved = (state_dir / "emulation.snapshot").read_bytes()
            docs = _documents(3 * args.documents + WARM_UP, work)
            for i, (name, spacing) in enumerate((("steady", args.spacing), ("burst", 0.0))):
                _fresh(saved)
                if name == "steady":  # its environments warm, as steady traffic keeps them
                    runs["warm-up"] = _run(deployed, docs[-WARM_UP:], spacing, log_dir, "warm-up")
                runs[name] = _run(deployed, docs[i * args.documents:(i + 1) * args.documents], spacing, log_dir,
                                  name)
                print(f"{name}: {args.documents} documents in {runs[name][1]['seconds']}s: {runs[name][1]['statuses']}",
                      flush=True)
            _fresh(saved)
            filled, filled_seen = _backfill(deployed, docs[2 * args.documents:2 * args.documents + args.documents],
                                            log_dir)
            print(f"backfill: {args.documents} stored documents: {filled_seen['status']}, "
                  f"{filled_seen['children']} children, pipeline {filled_seen['pipeline']}", flush=True)
            scheduled = _dispatch(deployed, log_dir, times=10)
            fn_names = deployed.function_names
            metric_always = _emf_metrics(log_dir, [fn_names["dispatch"]])
            metric_docs = _emf_metrics(log_dir, [n for k, n in fn_names.items() if k != "dispatch"]) - metric_always
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
        text = DOC.read_text()
        for name, content in (("summary", report.summary_table(summary)), ("prices", report.prices_table(prices)),
                              ("variable-steady", report.variable_table(items["steady"])),
                              ("variable-burst", report.variable_table(items["burst"])),
                              ("variable-cold", report.variable_table(cold_items)),
                              ("floor", report.floor_table(floors["default"])),
                              ("floor-lean", report.floor_table(floors["lean"])),
                              ("activity", report.activity_table(always)),
                              ("backfill", report.variable_table(backfill_items, "what the backfill adds"))):
            text = report.replace_block(text, name, content)
        DOC.write_text(text)
        print(f"tables written to {DOC}")
    print(f"figures written to {RESULTS} (key 'cost')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
