"""The SQS event Lambda builds for a batch, and how a partial batch response is read (emulation/sqs_event.py),
against the rules of the Lambda developer guide (services-sqs-errorhandling)."""

from __future__ import annotations

import json

import pytest
from invoice_local.emulation.sqs_event import lambda_event, reported_failures
from moto.sqs.models import Message

IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, "ok"])
def test_an_empty_or_null_response_is_a_full_success(response: object) -> None:
    assert reported_failures(json.dumps(response).encode(), IDS) == set()


def test_the_named_messages_alone_failed() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]}
    assert reported_failures(json.dumps(response).encode(), IDS) == {"m2", "m3"}


@pytest.mark.parametrize("item", [{"itemIdentifier": ""}, {"itemIdentifier": None}, {"messageId": "m1"},
                                  {"itemIdentifier": "not-in-the-batch"}, "m1"])
def test_a_malformed_item_fails_the_whole_batch(item: object) -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "m1"}, item]}
    assert reported_failures(json.dumps(response).encode(), IDS) == set(IDS)


def test_a_response_that_is_not_json_fails_the_whole_batch() -> None:
    assert reported_failures(b"{not json", IDS) == set(IDS)


def test_a_record_carries_the_message_as_received() -> None:
    message = Message("m1", "body")
    message.message_attributes = {"kind": {"DataType": "String", "StringValue": "invoice"},
                                  "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}}
    message.mark_sent()
    message.mark_received(visibility_timeout=30)

    (record,) = lambda_event([message], "arn:aws:sqs:eu-west-1:123456789012:intake")["Records"]

    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["attributes"]["SentTimestamp"] == str(message.sent_timestamp)
    assert record["attributes"]["ApproximateFirstReceiveTimestamp"] == str(message.approximate_first_receive_timestamp)
    assert record["receiptHandle"] == message.receipt_handle
    assert record["md5OfBody"] == "841a2d689ad86bd1611447453c22c6fc"  # md5("body")
    assert record["md5OfMessageAttributes"] == message.attribute_md5
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    assert record["messageAttributes"]["kind"]["stringValue"] == "invoice"
    assert record["awsRegion"] == "eu-west-1"
    assert "MessageGroupId" not in record["attributes"]


def test_a_fifo_record_carries_its_group_and_deduplication_id() -> None:
    message = Message("m1", "body")
    message.group_id, message.deduplication_id, message.sequence_number = "doc-1", "sha-1", "100"
    message.mark_sent()
    message.mark_received()

    (record,) = lambda_event([message], "arn:aws:sqs:eu-west-1:123456789012:intake.fifo")["Records"]

    assert {k: record["attributes"][k] for k in ("MessageGroupId", "MessageDeduplicationId", "SequenceNumber")} == {
        "MessageGroupId": "doc-1", "MessageDeduplicationId": "sha-1", "SequenceNumber": "100"}
    assert "md5OfMessageAttributes" not in record
