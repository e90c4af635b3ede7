"""The event Lambda sends a function for a batch of SQS messages, and how it reads the function's answer.

Both after the Lambda developer guide: the record shape from "Using Lambda with Amazon SQS" (with-sqs.html, its
example event) and the partial batch response rules from "Handling errors for an SQS event source"
(services-sqs-errorhandling.html): with ReportBatchItemFailures on, an empty or null `batchItemFailures` (or
an empty or null response) is a full success; an itemIdentifier that is empty, null, under another key or
not a message of the batch, or a response that is not JSON, fails the whole batch."""

from __future__ import annotations

import base64
import json
from typing import Any

from moto.sqs.models import Message


def lambda_event(messages: list[Message], queue_arn: str) -> dict[str, Any]:
    return {"Records": [_record(m, queue_arn) for m in messages]}


def reported_failures(payload: bytes, ids: list[str]) -> set[str]:
    """The message ids a partial batch response names; every id when the response is malformed."""
    try:
        response = json.loads(payload or b"null")
    except ValueError:
        return set(ids)
    # Any other JSON value is a return value with no partial batch response in it: nothing failed.
    items = response.get("batchItemFailures") if isinstance(response, dict) else None
    failed = set()
    for item in items or ():
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return set(ids)
        failed.add(identifier)
    return failed


def _record(message: Message, queue_arn: str) -> dict[str, Any]:
    attributes: dict[str, str | None] = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": message.sender_id,
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if queue_arn.endswith(".fifo"):
        attributes.update(SequenceNumber=message.sequence_number, MessageGroupId=message.group_id,
                          MessageDeduplicationId=message.deduplication_id)
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {k: v for k, v in attributes.items() if v is not None},
        "messageAttributes": {name: _message_attribute(value) for name, value in message.message_attributes.items()},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_arn.split(":")[3],
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """SendMessage's shape ({"DataType", "StringValue"|"BinaryValue"}) as Lambda's event carries it."""
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
    if value.get("StringValue") is not None:
        out["stringValue"] = value["StringValue"]
    if value.get("BinaryValue") is not None:
        binary = value["BinaryValue"]
        out["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
    return out
