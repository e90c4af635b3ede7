"""Event sources as the intake path uses them: S3 "Object Created" → EventBridge rule → SQS queue."""

from __future__ import annotations

import json

import boto3
from invoice_local.deployment import REGION


def test_s3_object_created_reaches_an_sqs_target_with_a_unique_id_and_iso_time(aws_env: None) -> None:
    """moto formats an SQS target's event time itself: handed the ISO time our Lambda and state machine targets
    get, it raised, and S3 swallowed the error, so the intake queue received nothing."""
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="intake")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="intake", EventPattern=json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]}))
    events.put_targets(Rule="intake", Targets=[{"Id": "queue", "Arn": queue_arn}])
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="ingest-bucket")
    s3.put_bucket_notification_configuration(Bucket="ingest-bucket",
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})

    for key in ("incoming/a.pdf", "incoming/b.pdf"):
        s3.put_object(Bucket="ingest-bucket", Key=key, Body=b"%PDF-1.7")

    bodies = [json.loads(m["Body"]) for m in
              sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])]
    assert sorted(b["detail"]["object"]["key"] for b in bodies) == ["incoming/a.pdf", "incoming/b.pdf"]
    assert len({b["id"] for b in bodies}) == 2
    assert all(b["time"].endswith("Z") and "T" in b["time"] for b in bodies)
