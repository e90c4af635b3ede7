"""`invoices backfill s3://bucket/prefix`: objects already stored go through the pipeline of the running local
stack, by the backfill state machine Terraform deployed (terraform/backfill.tf): the very run that
`aws stepfunctions start-execution --state-machine-arn $(terraform output -raw backfill_state_machine_arn)`
starts in AWS (README, "Backfill").

Two bars: the objects the backfill's Distributed Map has handled (its Map Run's item counts, as
DescribeMapRun reports them), then the documents the pipeline has finished (final statuses in Postgres). It
ends with one summary line and the results table `submit` prints. Which objects the backfill sends, and so
which documents to wait for, it works out from the same listing with the same rules the backfill function
applies (domain/backfill.py); an object whose document is already final counts as done at once."""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import invoice_pipeline.domain.backfill as rules
from botocore.exceptions import ClientError
from invoice_pipeline.domain.events import from_s3_response
from invoice_pipeline.domain.intake import execution_name
from invoice_pipeline.domain.status import TERMINAL
from rich.text import Text

from invoice_local import console
from invoice_local.commands import RESULT_COLUMNS, CommandError, _info, _rows, _use_database, results_rows
from invoice_local.stack import StackInfo

POLL_SECONDS = 0.3


@dataclass
class Plan:
    """What s3://bucket/prefix holds for the backfill: every current object, and which of them it sends."""

    bucket: str
    prefix: str
    listed: int = 0
    send: dict[tuple[str, str], str] = field(default_factory=dict)  # (key, version_id) -> execution name
    left_out: Counter[str] = field(default_factory=Counter)


@dataclass
class Outcome:
    plan: Plan
    execution_arn: str
    started: int  # pipeline executions this backfill started (the others had run before)
    document_ids: list[str]
    statuses: Counter[str]
    seconds: float

    def summary(self) -> str:
        plan = self.plan
        left_out = ", ".join(f"{n} {reason}" for reason, n in sorted(plan.left_out.items())) or "none"
        already = len(plan.send) - self.started
        return (f"backfill s3://{plan.bucket}/{plan.prefix}: {plan.listed} objects listed, {len(plan.send)} sent "
                f"(left out: {left_out}); {self.started} started the pipeline, {already} had been processed "
                f"before; {console.status_summary(self.statuses) or 'no documents'} in {self.seconds:.1f}s")


def parse_url(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise CommandError(f"not an S3 URL: {url!r} (give s3://bucket/prefix)")
    try:
        source = rules.Source.parse(url)
    except ValueError:
        raise CommandError(f"not an S3 URL: {url!r} (give s3://bucket/prefix)") from None
    return source.bucket, source.prefix


def deployed_sources(info: StackInfo) -> list[rules.Source]:
    """The sources as Terraform granted them: the backfill function's BACKFILL_SOURCES, the function found
    through the state machine that invokes it."""
    sfn, lam = info.client("stepfunctions"), info.client("lambda")
    described = sfn.describe_state_machine(stateMachineArn=info.backfill_state_machine_arn)
    definition = json.loads(described["definition"])
    (task,) = definition["States"]["SendObjects"]["ItemProcessor"]["States"].values()
    environment = lam.get_function_configuration(FunctionName=task["Resource"])["Environment"]["Variables"]
    return rules.sources_from_json(environment["BACKFILL_SOURCES"])


def plan(info: StackInfo, bucket: str, prefix: str) -> Plan:
    """List s3://bucket/prefix (current versions) and sort the objects as the backfill function will."""
    sources = deployed_sources(info)
    prefixes = rules.prefixes_to_list(bucket, prefix, sources)
    granted = ", ".join(map(str, sources))
    if not prefixes:
        raise CommandError(f"s3://{bucket}/{prefix} is outside what the backfill may read ({granted}; "
                           "more with the backfill_source_buckets variable)")
    if len(prefixes) > 1:
        raise CommandError(f"s3://{bucket}/{prefix} covers several backfill sources: give one of "
                           + ", ".join(f"s3://{bucket}/{p}" for p in prefixes))
    s3 = info.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        raise CommandError(f"no bucket {bucket!r} in the local stack "
                           f"({exc.response.get('Error', {}).get('Code', exc)})") from None
    found = Plan(bucket=bucket, prefix=prefixes[0])
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=found.prefix):
        for version in page.get("Versions", []):
            if not version.get("IsLatest"):
                continue
            found.listed += 1
            key = version["Key"]
            reason = rules.skip_reason(bucket, key, version.get("Size"), sources)
            if reason:
                found.left_out[reason] += 1
                continue
            src = from_s3_response(bucket, key, version)
            message = {"detail": {"bucket": {"name": bucket}, "object": {
                "key": key, "etag": str(version.get("ETag", "")).strip('"'),
                **({"version-id": src.version_id} if src.versioned else {})}}}
            found.send[(key, src.version_id)] = execution_name(message)
    return found


def _pipeline_execution_names(info: StackInfo) -> set[str]:
    names: set[str] = set()
    for page in info.client("stepfunctions").get_paginator("list_executions").paginate(
            stateMachineArn=info.state_machine_arn):
        names.update(e["name"] for e in page["executions"])
    return names


def _watch_map_run(info: StackInfo, execution_arn: str, total: int, deadline: float) -> dict[str, Any]:
    """The backfill execution's end, with the Map Run's progress on a bar meanwhile."""
    sfn = info.client("stepfunctions")
    with console.LiveProgress("backfill", total, "objects handled") as progress:
        progress(0, "listing")
        while time.monotonic() < deadline:
            execution = sfn.describe_execution(executionArn=execution_arn)
            runs = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
            if runs:
                run = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])
                items, children = run["itemCounts"], run["executionCounts"]
                done = items["succeeded"] + items["failed"] + items["timedOut"] + items["aborted"]
                progress(min(done, total), f"{children['running']} batches running")
            if execution["status"] != "RUNNING":
                progress(total, execution["status"].lower())
                return execution  # type: ignore[no-any-return]
            time.sleep(POLL_SECONDS)
    raise CommandError(f"the backfill did not finish in time: {execution_arn}")


def _wait_for_documents(found: Plan, deadline: float) -> tuple[list[str], Counter[str]]:
    """Document ids of the objects sent, once each is final; the bar counts the final ones."""
    pending = set(found.send)
    done: dict[tuple[str, str], dict[str, Any]] = {}
    with console.documents_progress(len(pending)) as progress:
        progress(0, "queued")
        while pending and time.monotonic() < deadline:
            rows = _rows("SELECT id, object_key, version_id, status FROM documents WHERE bucket = :b"
                         " AND object_key = ANY(CAST(:keys AS text[]))", b=found.bucket,
                         keys=sorted({key for key, _version in pending}))
            in_flight: Counter[str] = Counter()
            for row in rows:
                ref = (row["object_key"], row["version_id"])
                if ref not in pending:
                    continue
                if row["status"] in TERMINAL:
                    done[ref] = row
                    pending.discard(ref)
                else:
                    in_flight[row["status"]] += 1
            counts = Counter(row["status"] for row in done.values()) + in_flight
            counts["waiting"] = len(pending) - sum(in_flight.values())
            progress(len(done), console.status_summary(counts))
            if pending:
                time.sleep(POLL_SECONDS)
    if pending:
        raise CommandError(f"{len(pending)} document(s) not finished in time: "
                           + ", ".join(key for key, _version in sorted(pending)[:5]))
    return [str(row["id"]) for row in done.values()], Counter(row["status"] for row in done.values())


def backfill(info: StackInfo, url: str, *, timeout: float = 900) -> Outcome:
    """Run the backfill of `url` on the local stack and wait for the documents it sends."""
    started_at = time.monotonic()
    deadline = started_at + timeout
    bucket, prefix = parse_url(url)
    if not info.backfill_state_machine_arn:
        raise CommandError("the running stack predates the backfill: restart it (invoices down; invoices up)")
    _use_database(info)
    found = plan(info, bucket, prefix)
    before = _pipeline_execution_names(info)
    # Named: moto answers StartExecution without a name with an ARN ending in "None".
    name = f"cli-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    execution_arn = info.client("stepfunctions").start_execution(
        stateMachineArn=info.backfill_state_machine_arn, name=name,
        input=json.dumps({"bucket": found.bucket, "prefix": found.prefix}))["executionArn"]
    ended = _watch_map_run(info, execution_arn, found.listed, deadline)
    if ended["status"] != "SUCCEEDED":
        raise CommandError(f"the backfill {ended['status']}: {ended.get('error') or '-'}: "
                           f"{ended.get('cause') or 'see `aws stepfunctions describe-execution`'} ({execution_arn})")
    ids, statuses = _wait_for_documents(found, deadline)
    new = set(found.send.values()) - before
    return Outcome(plan=found, execution_arn=execution_arn, started=len(new), document_ids=ids, statuses=statuses,
                   seconds=time.monotonic() - started_at)


def cmd_backfill(args: argparse.Namespace) -> int:
    parse_url(args.url)  # a wrong URL is worth saying before anything else
    outcome = backfill(_info(args), args.url, timeout=args.timeout)
    console.show(Text(outcome.summary()), soft_wrap=True)  # one line, however long
    if outcome.document_ids:
        rows = results_rows(outcome.document_ids, limit=max(50, len(outcome.document_ids)))
        console.show(Text(""), console.table(rows, RESULT_COLUMNS))
    return 0


def register(add: Any) -> None:
    """The `backfill` subcommand, added with commands.register's `add`."""
    p = add("backfill", cmd_backfill, "run objects already stored in S3 through the pipeline (the backfill "
                                      "state machine), with progress, and print their results")
    p.add_argument("url", metavar="s3://bucket/prefix",
                   help="what to backfill: the ingest bucket's incoming/ (or under it), or a source granted by "
                        "the backfill_source_buckets variable")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for everything (default 900)")
