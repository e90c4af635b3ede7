"""`invoices events`: the downstream events (InvoiceCompleted, DocumentFailed, ...) as they arrive on the
pipeline's EventBridge bus, one line each. Local mode deploys a rule taking every event of the bus to a queue
(terraform/downstream_events.tf, events_tap); this reads that queue, so what it prints is what the bus got,
after the outbox, the publishing and EventBridge's delivery:

    $ invoices events --follow
    14:43:35.039  #12  InvoiceCompleted    3f560dc9  COMPLETED     24911           Bergmatter Haustechnik AG  975.09 CHF
    14:43:36.101  #13  DocumentFailed      214805c5  FAILED        CorruptDocument: the PDF is truncated or damaged

Each event is shown once: the command consumes the queue, as one consumer would. A stack that is not running,
or an emulation that does not answer, is one line and exit status 2."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from invoice_local.stack import StackInfo, StackNotRunning
from invoice_local.terminal_text import line

# SQS's longest wait for a message: an idle --follow makes one request every 20 s.
LONG_POLL_SECONDS = 20


class EventsError(Exception):
    """A failure the user can act on: one line, exit status 2 (invoices' CommandError)."""


def tap_queue_name(state_machine_arn: str) -> str:
    """The events tap's queue, named like the deployment's other resources (<project>-<environment>-...)."""
    name = state_machine_arn.rsplit(":", 1)[-1]
    return f"{name.removesuffix('-pipeline')}-events-tap"


def _short(value: Any) -> str:
    return str(value)[:8] if value else "-"


def _when(detail: Mapping[str, Any]) -> str:
    try:
        return datetime.fromisoformat(str(detail.get("occurred_at"))).astimezone().strftime("%H:%M:%S.%f")[:-3]
    except ValueError:
        return "--:--:--.---"


def describe(event: Mapping[str, Any]) -> str:
    """One readable line of an event as EventBridge delivers it (detail-type, detail)."""
    detail = event.get("detail") or {}
    kind = str(event.get("detail-type") or "?")
    head = f"{_when(detail)}  #{detail.get('sequence', '?')}  {kind:<18}  {_short(detail.get('document_id'))}  " \
           f"{str(detail.get('status') or '-'):<12}"
    error = detail.get("error")
    if isinstance(error, Mapping):
        return f"{head}  {error.get('code')}: {error.get('message')}"
    totals = detail.get("totals") or {}
    vendor = (detail.get("vendor") or {}).get("name") or "-"
    parts = [f"{detail.get('invoice_number') or '-':<14}", f"{vendor[:40]:<40}",
             f"{totals.get('total') or '-'} {totals.get('currency') or ''}".rstrip()]
    if detail.get("issues"):
        parts.append("issues " + ",".join(detail["issues"]))
    if detail.get("reason"):
        parts.append(f"reason {detail['reason']}")
    return f"{head}  " + "  ".join(parts)


def _queue(info: StackInfo) -> tuple[Any, str]:
    from botocore.exceptions import BotoCoreError, ClientError

    sqs = info.client("sqs")
    name = tap_queue_name(info.state_machine_arn)
    try:
        return sqs, str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if "NonExistentQueue" in str(exc.response.get("Error", {}).get("Code", "")):
            raise EventsError(f"the running stack has no events queue ({name}): it was deployed before the "
                              "events existed. Restart it with `invoices up`.") from None
        raise EventsError(f"the emulation refused to name the events queue: {exc}") from None
    except BotoCoreError as exc:
        raise EventsError(f"the local stack's emulation at {info.endpoint} does not answer: {exc}") from None


def received(sqs: Any, url: str, wait_seconds: int) -> Iterator[dict[str, Any]]:
    """The events waiting in the queue (up to ten a call), each deleted once read; stops when a call of
    `wait_seconds` returns none."""
    from botocore.exceptions import BotoCoreError, ClientError

    while True:
        try:
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds)
        except (BotoCoreError, ClientError) as exc:
            raise EventsError(f"the events queue could not be read (is the stack still running?): {exc}") from None
        messages = answer.get("Messages") or []
        if not messages:
            return
        batch = []
        for message in messages:
            try:
                batch.append(json.loads(message["Body"]))
            except json.JSONDecodeError:
                batch.append({"detail-type": "(not JSON)", "detail": {}})
        # A message's place in the queue is not the order of the events: show them by sequence.
        yield from sorted(batch, key=lambda e: (e.get("detail") or {}).get("sequence") or 0)
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for n, m in enumerate(messages)])


def _wait(args: argparse.Namespace, deadline: float | None) -> int:
    """How long one receive waits: a glance without --follow, else SQS's longest, or what --seconds leaves."""
    if not args.follow:
        return 1
    if deadline is None:
        return LONG_POLL_SECONDS
    return max(1, min(LONG_POLL_SECONDS, round(deadline - time.monotonic())))


def cmd_events(args: argparse.Namespace) -> int:
    from invoice_local.commands import CommandError

    try:
        info = StackInfo.load(args.state_dir)
        sqs, url = _queue(info)
        deadline = time.monotonic() + args.seconds if args.seconds else None
        shown = 0
        while True:
            for event in received(sqs, url, wait_seconds=_wait(args, deadline)):
                line(describe(event))
                shown += 1
            if not args.follow or (deadline is not None and time.monotonic() >= deadline):
                break
    except (StackNotRunning, EventsError) as exc:
        raise CommandError(str(exc)) from None
    if not args.follow and not shown:
        line("no new events on the bus (invoices events --follow waits for them)")
    return 0


def register(add: Any) -> None:
    """The `events` subcommand, added with commands.register's `add`."""
    p = add("events", cmd_events, "the downstream events (InvoiceCompleted, DocumentFailed, ...) arriving on the "
                                  "pipeline's EventBridge bus, one line each")
    p.add_argument("--follow", "-f", action="store_true", help="keep waiting for new events until Ctrl-C")
    p.add_argument("--seconds", type=float, default=None, help=argparse.SUPPRESS)  # --follow for this long
