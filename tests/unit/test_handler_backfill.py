"""The backfill function: each listed object the pipeline can process becomes the intake message its upload
made (the same execution name), ten to a SendMessageBatch; folders, empty objects, keys outside the sources
and objects gone since the listing are left out; anything SQS or S3 refuses is a named, retried error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from invoice_pipeline.domain.intake import execution_name
from invoice_pipeline.errors import IntakeUnavailable, InvalidEvent, SourceUnavailable
from invoice_pipeline.handlers import backfill
from invoice_pipeline.schemas import validate_definition

from tests.events import REMOVE, load_event
from tests.fakes import client_error

QUEUE = "https://sqs.eu-west-1.amazonaws.com/111122223333/invoices-prod-intake"
BUCKET = "invoices-prod-ingest"
NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
UPLOAD = load_event("s3_object_created")


class S3:
    """HeadObject over {key: head answer}; a missing key is boto3's bare 404."""

    def __init__(self, heads: dict[str, dict[str, Any]], error: str | None = None) -> None:
        self.heads, self.error = heads, error
        self.calls: list[dict[str, Any]] = []

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.error:
            raise client_error(self.error, "HeadObject", status=403)
        if kwargs["Key"] not in self.heads:
            raise client_error("404", "HeadObject", "Not Found", 404)
        return self.heads[kwargs["Key"]]

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("the backfill never reads an object's bytes")


class Sqs:
    def __init__(self, failed: int = 0, error: str | None = None) -> None:
        self.batches: list[list[dict[str, str]]] = []
        self.failed, self.error = failed, error

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        assert QueueUrl == QUEUE
        if self.error:
            raise client_error(self.error, "SendMessageBatch")
        self.batches.append(Entries)
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
                  for e in Entries[:self.failed]]
        return {"Successful": [{"Id": e["Id"]} for e in Entries[self.failed:]], "Failed": failed}

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(e["MessageBody"]) for batch in self.batches for e in batch]


def head(size: int, etag: str, version: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"ContentLength": size, "ETag": f'"{etag}"', "ContentType": "application/pdf"}
    if version:
        answer["VersionId"] = version
    return answer


UPLOADED = head(48213, "6f5902ac237024bdd0c176cb93063dc4", "Wq3jE2v0cGZ8X1dOe5a.Ty0rNn1xkPQh")
GLOBEX = head(120334, "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")


@pytest.fixture(autouse=True)
def settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_QUEUE_URL", QUEUE)
    monkeypatch.setenv("BACKFILL_SOURCES", json.dumps([f"{BUCKET}/incoming/"]))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")


def run(event: dict[str, Any], s3: S3, sqs: Sqs) -> dict[str, Any]:
    return backfill.handle(event, backfill.Ports(s3=s3, sqs=sqs, clock=lambda: NOW), account="111122223333")


def test_each_object_becomes_the_message_its_upload_made() -> None:
    s3 = S3({"incoming/acme-2024-0042.pdf": UPLOADED, "incoming/2023/globex-7781.png": GLOBEX})
    sqs = Sqs()
    out = run(load_event("backfill_input"), s3, sqs)
    assert out == {"sent": 2, "skipped": 2}  # the folder marker and the empty .keep
    validate_definition("states", "backfill_output", out)
    assert len(sqs.batches) == 1
    acme, globex = sqs.bodies
    # The same object version as the upload's event: the same execution, which therefore starts only once.
    assert execution_name(acme) == execution_name(UPLOAD)
    assert acme["detail"]["object"] == {k: v for k, v in UPLOAD["detail"]["object"].items() if k != "sequencer"}
    assert acme["detail"]["bucket"] == UPLOAD["detail"]["bucket"] and acme["resources"] == UPLOAD["resources"]
    assert (acme["detail-type"], acme["account"], acme["region"]) == ("Object Created", "111122223333", "eu-west-1")
    assert (acme["source"], acme["detail"]["reason"], acme["time"]) == (
        "invoice-pipeline.backfill", "Backfill", "2025-03-04T05:06:07Z")
    validate_definition("states", "s3_event", acme)
    assert globex["detail"]["object"]["key"] == "incoming/2023/globex-7781.png"
    assert execution_name(globex) != execution_name(acme)
    assert [c["Key"] for c in s3.calls] == ["incoming/acme-2024-0042.pdf", "incoming/2023/globex-7781.png"]


def test_a_message_sent_again_is_the_same_message() -> None:
    first, second = Sqs(), Sqs()
    s3 = S3({"incoming/acme-2024-0042.pdf": UPLOADED, "incoming/2023/globex-7781.png": GLOBEX})
    run(load_event("backfill_input"), s3, first)
    run(load_event("backfill_input"), s3, second)
    assert first.bodies == second.bodies


def test_an_unversioned_bucket_names_the_version_by_its_etag_as_the_upload_did() -> None:
    s3 = S3({"incoming/acme-2024-0042.pdf": {k: v for k, v in UPLOADED.items() if k != "VersionId"}})
    sqs = Sqs()
    run(load_event("backfill_input", Items__3=REMOVE), s3, sqs)
    (message,) = sqs.bodies
    assert "version-id" not in message["detail"]["object"]
    assert execution_name(message) == execution_name(
        load_event("s3_object_created", **{"detail__object__version-id": REMOVE}))


def test_keys_outside_the_sources_are_left_out_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    s3, sqs = S3({}), Sqs()
    event = load_event("backfill_input", Items__0__Key="archive/acme-2024-0042.pdf", Items__3=REMOVE)
    assert run(event, s3, sqs) == {"sent": 0, "skipped": 3}
    assert run(load_event("backfill_input", BatchInput__bucket="someone-elses"), s3, sqs)["sent"] == 0
    assert s3.calls == [] and sqs.batches == []
    # another source, granted by backfill_source_buckets: its whole bucket
    monkeypatch.setenv("BACKFILL_SOURCES", json.dumps([f"{BUCKET}/incoming/", "archive-bucket"]))
    s3 = S3({"2019/acme.pdf": UPLOADED})
    event = load_event("backfill_input", BatchInput__bucket="archive-bucket", Items__0__Key="2019/acme.pdf",
                       Items__3=REMOVE)
    assert run(event, s3, sqs) == {"sent": 1, "skipped": 2}
    assert sqs.bodies[0]["detail"]["bucket"] == {"name": "archive-bucket"}


def test_an_object_gone_or_emptied_since_the_listing_is_left_out() -> None:
    s3 = S3({"incoming/2023/globex-7781.png": head(0, "d41d8cd98f00b204e9800998ecf8427e", "v2")})  # acme: 404
    sqs = Sqs()
    assert run(load_event("backfill_input"), s3, sqs) == {"sent": 0, "skipped": 4}
    assert sqs.batches == []


def test_ten_messages_to_a_send() -> None:
    items = [{"Etag": '"e"', "Key": f"incoming/inv-{i:02d}.pdf", "LastModified": 1, "Size": 10,
              "StorageClass": "STANDARD"} for i in range(23)]
    s3 = S3({item["Key"]: head(10, "e", f"v{i}") for i, item in enumerate(items)})
    sqs = Sqs()
    assert run({"BatchInput": {"bucket": BUCKET}, "Items": items}, s3, sqs) == {"sent": 23, "skipped": 0}
    assert [len(b) for b in sqs.batches] == [10, 10, 3]
    assert len({execution_name(b) for b in sqs.bodies}) == 23


def test_what_sqs_refuses_is_a_retried_named_error() -> None:
    s3 = S3({"incoming/acme-2024-0042.pdf": UPLOADED, "incoming/2023/globex-7781.png": GLOBEX})
    with pytest.raises(IntakeUnavailable, match="1 of 2 .*InternalError"):
        run(load_event("backfill_input"), s3, Sqs(failed=1))
    with pytest.raises(IntakeUnavailable, match="KMS.AccessDeniedException"):
        run(load_event("backfill_input"), s3, Sqs(error="KMS.AccessDeniedException"))
    assert IntakeUnavailable.retryable and SourceUnavailable.retryable


def test_an_object_s3_will_not_describe_is_a_named_error() -> None:
    with pytest.raises(SourceUnavailable, match="AccessDenied"):
        run(load_event("backfill_input"), S3({}, error="AccessDenied"), Sqs())


def test_a_batch_without_its_bucket_is_an_invalid_event() -> None:
    with pytest.raises(InvalidEvent, match="BatchInput"):
        run(load_event("backfill_input", BatchInput=REMOVE), S3({}), Sqs())
