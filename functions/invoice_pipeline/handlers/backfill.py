"""Backfill: one batch of the backfill's Distributed Map over an S3 listing (statemachine/backfill.asl.json)
becomes intake messages, one per object the pipeline can process, each the message its upload made.

Each object is looked at (HeadObject) for its current version, so the message names the same bucket, key and
version as the upload's event did: it gets the same execution name (domain/intake.py), and an object the
pipeline already processed starts nothing new. The listing's entries say nothing of versions, which is why
the state machine cannot send them itself. Objects the pipeline cannot or should not process are left out
(domain/backfill.py says which). The messages go ten to a SendMessageBatch; anything SQS refuses raises
IntakeUnavailable and the state machine retries the whole batch, which is harmless.

Input: {"Items": [{"Key", "Size", "Etag", "LastModified", "StorageClass"}, ...], "BatchInput": {"bucket"}}
Output: {"sent": n, "skipped": n}"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from invoice_pipeline import config
from invoice_pipeline.adapters import aws
from invoice_pipeline.domain import backfill
from invoice_pipeline.domain.events import from_s3_response
from invoice_pipeline.domain.intake import execution_name, object_created_message
from invoice_pipeline.errors import IntakeUnavailable, InvalidEvent, SourceUnavailable
from invoice_pipeline.observability import count, lambda_entry, logger
from invoice_pipeline.ports import S3Objects

SQS_BATCH = 10  # SendMessageBatch's limit
MESSAGE_SOURCE = "invoice-pipeline.backfill"
_NOT_FOUND = ("404", "NoSuchKey", "NotFound", "NoSuchVersion")


class IntakeQueue(Protocol):
    """boto3 SQS: sending to the intake queue."""

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Ports:
    s3: S3Objects
    sqs: IntakeQueue
    clock: Callable[[], datetime]


PORTS = Ports(s3=aws.LazyClient("s3"), sqs=aws.LazyClient("sqs"), clock=lambda: datetime.now(UTC))


def _head(bucket: str, key: str, s3: S3Objects) -> dict[str, Any] | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND:
            return None
        raise SourceUnavailable(f"HeadObject s3://{bucket}/{key}: {code or exc}") from exc


def _send(queue_url: str, messages: list[dict[str, Any]], sqs: IntakeQueue) -> None:
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start:start + SQS_BATCH]
        entries = [{"Id": str(i), "MessageBody": json.dumps(m)} for i, m in enumerate(chunk)]
        try:
            failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed") or []
        except ClientError as exc:
            raise IntakeUnavailable(f"SendMessageBatch: {exc.response.get('Error', {}).get('Code', exc)}") from exc
        if failed:
            reasons = sorted({f"{f.get('Code')}: {f.get('Message')}" for f in failed})
            raise IntakeUnavailable(f"SQS refused {len(failed)} of {len(entries)} messages: {'; '.join(reasons)}")


def handle(event: dict[str, Any], ports: Ports, *, account: str) -> dict[str, Any]:
    settings = config.settings()
    try:
        bucket = str(event["BatchInput"]["bucket"])
        items = list(event["Items"])
    except (KeyError, TypeError) as exc:
        raise InvalidEvent(f"a backfill batch needs Items and BatchInput.bucket: missing {exc}") from exc
    sources = backfill.sources_from_json(settings.backfill_sources)
    now = ports.clock()
    messages: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    for item in items:
        key = str(item["Key"])
        size = item.get("Size")
        reason = backfill.skip_reason(bucket, key, int(size) if size is not None else None, sources)
        head = _head(bucket, key, ports.s3) if reason is None else None
        if reason is None:
            # gone since the listing, or replaced by an empty object
            reason = "vanished" if head is None else "empty" if int(head.get("ContentLength", 0)) == 0 else None
        if reason is not None or head is None:
            skipped[reason or "vanished"] += 1
            logger.info("left out of the backfill", extra={"key": key, "reason": reason})
            continue
        src = from_s3_response(bucket, key, head)
        message = object_created_message(src, etag=str(head.get("ETag", "")).strip('"'), account=account,
                                         region=settings.aws_region, time=now, source=MESSAGE_SOURCE,
                                         reason="Backfill")
        logger.info("sending to the intake", extra={"key": key, "execution_name": execution_name(message)})
        messages.append(message)
    _send(settings.intake_queue_url, messages, ports.sqs)
    count("Backfill.sent", len(messages))
    for reason, n in skipped.items():
        count(f"Backfill.skipped.{reason}", n)
    return {"sent": len(messages), "skipped": sum(skipped.values())}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The S3 event's `account` is the bucket owner's; the sources are granted within this account.
    return handle(event, PORTS, account=str(context.invoked_function_arn).split(":")[4])
