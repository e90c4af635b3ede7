"""The event fixtures of tests/events: each state's input matches its schemas/states.schema.json definition,
the AWS-made events have the shapes AWS documents, the fixtures tell one consistent story, and the loader's
overrides do what they say."""

from __future__ import annotations

import json

import pytest
from invoice_pipeline.domain.events import s3_source
from invoice_pipeline.errors import SchemaViolation
from invoice_pipeline.handlers.start_analysis import job_tag
from invoice_pipeline.schemas import validate_definition

from tests.events import REMOVE, event_names, load_event

STATE_INPUTS = ["register_input", "start_analysis_input", "parse_input", "read_einvoice_input", "validate_input",
                "persist_input", "record_failure_input"]
SCHEMA_OF = {**{name: name for name in STATE_INPUTS},
             "s3_object_created": "s3_event", "sns_textract_completion": "callback_input",
             "sqs_intake_batch": "intake_input", "backfill_input": "backfill_input"}


def test_every_fixture_is_checked_or_known() -> None:
    assert set(event_names()) == set(SCHEMA_OF) | {"migrate_input", "textract_expense_analysis_failed"}


def test_failed_job_status_has_get_expense_analysis_fields() -> None:
    """GetExpenseAnalysis's response fields (Amazon Textract API Reference); a Warning is ErrorCode and Pages."""
    response = load_event("textract_expense_analysis_failed")
    assert set(response) <= {"DocumentMetadata", "JobStatus", "NextToken", "ExpenseDocuments", "Warnings",
                             "StatusMessage", "AnalyzeExpenseModelVersion"}
    assert response["JobStatus"] in {"IN_PROGRESS", "SUCCEEDED", "FAILED", "PARTIAL_SUCCESS"}
    for warning in response["Warnings"]:
        assert set(warning) == {"ErrorCode", "Pages"} and all(isinstance(p, int) for p in warning["Pages"])


def test_intake_batch_is_an_sqs_event_carrying_the_s3_event() -> None:
    record = load_event("sqs_intake_batch")["Records"][0]
    assert {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource",
            "eventSourceARN", "awsRegion"} <= set(record)
    assert record["eventSource"] == "aws:sqs"
    assert json.loads(record["body"]) == load_event("s3_object_created")


@pytest.mark.parametrize("name", sorted(SCHEMA_OF))
def test_fixture_matches_its_state_schema(name: str) -> None:
    validate_definition("states", SCHEMA_OF[name], load_event(name))


def test_schema_check_has_teeth() -> None:
    with pytest.raises(SchemaViolation, match="task_token"):
        validate_definition("states", "start_analysis_input", load_event("start_analysis_input", task_token=REMOVE))


def test_s3_event_is_eventbridge_object_created() -> None:
    event = load_event("s3_object_created")
    assert {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"} <= set(event)
    assert (event["detail-type"], event["source"]) == ("Object Created", "aws.s3")
    assert event["resources"] == [f"arn:aws:s3:::{event['detail']['bucket']['name']}"]
    assert {"key", "size", "etag", "version-id", "sequencer"} <= set(event["detail"]["object"])
    assert {"request-id", "requester", "reason"} <= set(event["detail"])


def test_backfill_batch_is_a_listing_of_the_ingest_bucket_holding_the_upload() -> None:
    batch = load_event("backfill_input")
    upload = s3_source(load_event("s3_object_created"))
    assert batch["BatchInput"] == {"bucket": upload.bucket}
    for item in batch["Items"]:  # Step Functions' spelling of a ListObjectsV2 entry, not boto3's
        assert set(item) == {"Etag", "Key", "LastModified", "Size", "StorageClass"}
        assert isinstance(item["LastModified"], int) and item["Etag"].startswith('"')
    listed = batch["Items"][0]
    assert (listed["Key"], listed["Size"], listed["Etag"].strip('"')) == (
        upload.key, upload.size, load_event("s3_object_created")["detail"]["object"]["etag"])


def test_sns_record_carries_textract_notification() -> None:
    record = load_event("sns_textract_completion")["Records"][0]
    assert record["EventSource"] == "aws:sns"
    assert record["Sns"]["Type"] == "Notification"
    note = json.loads(record["Sns"]["Message"])
    assert set(note) == {"JobId", "Status", "API", "JobTag", "Timestamp", "DocumentLocation"}
    assert note["API"] == "StartExpenseAnalysis"
    assert isinstance(note["Timestamp"], int)  # milliseconds since the epoch
    assert set(note["DocumentLocation"]) == {"S3ObjectName", "S3Bucket"}


def test_catch_payload_is_the_failed_state_input_plus_error() -> None:
    payload = load_event("record_failure_input")
    state = dict(payload["input"])
    error = state.pop("error")
    assert state == load_event("s3_object_created")  # Register's Catch: ResultPath $.error on the execution input
    assert set(error) == {"Error", "Cause"}
    cause = json.loads(error["Cause"])
    assert set(cause) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert cause["errorType"] == error["Error"]


def test_fixtures_describe_one_upload() -> None:
    s3_event = load_event("s3_object_created")
    src = s3_source(s3_event)
    assert load_event("register_input")["event"] == s3_event
    document = load_event("start_analysis_input")["document"]
    assert (document["bucket"], document["key"], document["version_id"]) == (src.bucket, src.key, src.version_id)
    for name in ("parse_input", "validate_input", "persist_input"):
        assert load_event(name)["document"] == document, name
    # The same upload read as an e-invoice (Register found a factur-x.xml in it).
    assert load_event("read_einvoice_input")["document"] == {**document, "action": "einvoice",
                                                             "embedded_einvoice": "factur-x.xml"}
    assert load_event("validate_input")["parsed"] == load_event("persist_input")["parsed"]
    note = json.loads(load_event("sns_textract_completion")["Records"][0]["Sns"]["Message"])
    assert note["JobTag"] == job_tag(document["document_id"])
    assert note["JobId"] == load_event("parse_input")["analysis"]["job_id"]
    assert note["DocumentLocation"] == {"S3ObjectName": src.key, "S3Bucket": src.bucket}
    arns = {load_event(name)["execution_arn"] for name in STATE_INPUTS}
    assert len(arns) == 1


def test_overrides_reach_into_json_strings_lists_and_remove_keys() -> None:
    event = load_event("sns_textract_completion", Records__0__Sns__Message__Status="FAILED",
                       Records__0__Sns__Message__StatusMessage="bad page")
    note = json.loads(event["Records"][0]["Sns"]["Message"])
    assert (note["Status"], note["StatusMessage"], note["API"]) == ("FAILED", "bad page", "StartExpenseAnalysis")

    unversioned = load_event("register_input", **{"event__detail__object__version-id": REMOVE})
    assert "version-id" not in unversioned["event"]["detail"]["object"]
    assert "version-id" in load_event("register_input")["event"]["detail"]["object"]  # copies, not the cache


def test_override_of_a_missing_path_is_an_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        load_event("parse_input", nope__job_id="x")
    with pytest.raises(FileNotFoundError, match="register_input"):
        load_event("no_such_event")
