"""The benchmark's scenarios on the deployed stack, and what they used: documents uploaded (steady or at once),
a backfill of stored documents, the schedule fired; each measured from the emulation (Lambda runner and event
source statistics, the executions' histories, the functions' log files, the requests at its dispatcher, the
Textract stand-in's jobs, the buckets)."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.cost import api_calls, backfill, usage
from bench.cost.transitions import billed_transitions, failures_by_state, log_record_bytes, transitions_by_state

S3_PUT_CLASS = ("PutObject", "PostObject", "CopyObject", "ListObjects", "ListObjectsV2", "ListObjectVersions")


def documents(count: int, work: Path) -> list[bytes]:
    from invoice_local import samples

    out: list[bytes] = []
    seed = 0
    while len(out) < count:
        seed += 1
        for path in samples.generate(work / f"seed{seed}", seed=seed):
            if path.suffix == ".pdf" and path.name != samples.BROKEN:
                out.append(path.read_bytes())
    return out[:count]


def log_sizes(folder: Path) -> dict[str, int]:
    return {p.stem: p.stat().st_size for p in folder.glob("*.log")}


def emf_metrics(folder: Path, names: list[str]) -> set[tuple[str, str, str]]:
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


def function_usage(deployed: Any, stats: dict[str, dict[str, Any]], logs_before: dict[str, int],
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


def run_documents(deployed: Any, docs: list[bytes], spacing: float, log_dir: Path, name: str
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
    logs_before = log_sizes(log_dir)
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
    functions = function_usage(deployed, lambda_runner.stats(), logs_before, log_sizes(log_dir), per_document)
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


def run_backfill(deployed: Any, docs: list[bytes], log_dir: Path) -> tuple[backfill.BackfillUsage, dict[str, Any]]:
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
    logs_before = log_sizes(log_dir)
    lambda_runner.reset_stats()
    api_calls.reset()
    started = sfn.start_execution(stateMachineArn=deployed.backfill_state_machine_arn, name="cost-backfill",
                                  input=json.dumps({"bucket": deployed.ingest_bucket, "prefix": "incoming/backfill/"}))
    parent = _finished(deployed, started["executionArn"])
    time.sleep(0.5)
    calls = api_calls.counts()
    fn = function_usage(deployed, lambda_runner.stats(), logs_before, log_sizes(log_dir), ["backfill"])["backfill"]
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


def fire_schedule(deployed: Any, log_dir: Path, times: int) -> usage.FunctionUsage:
    """The scheduled function fired `times` times in a row, as its schedule fires it."""
    from invoice_local import manifest
    from invoice_local.emulation import eventbridge, lambda_runner

    key = next(k for k, f in manifest.functions().items() if f.invoked_by == "schedule")
    rule = next(r for r in deployed.client("events").list_rules()["Rules"] if r.get("ScheduleExpression"))
    before = log_sizes(log_dir)
    lambda_runner.reset_stats()
    for _ in range(times):
        eventbridge.fire_scheduled(rule["Name"])
    time.sleep(0.5)
    return function_usage(deployed, lambda_runner.stats(), before, log_sizes(log_dir), [key])[key]


def fresh(saved: bytes) -> None:
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
