"""Register: a new upload, the same content again (duplicate), the same object version again (redelivered
event, Lambda retry, reprocess), and the limits, with a fake S3 and a fake document store. The document
checks themselves (sniffing, PDF and image structure) are tested in test_sniff; here, which calls each
branch makes and what it returns to the state machine."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pypdfium2
import pytest
from botocore.exceptions import ClientError
from invoice_pipeline.adapters.repository import Document
from invoice_pipeline.domain.sniff import MAX_BYTES
from invoice_pipeline.errors import (
    CorruptDocument,
    DocumentDimensionsTooLarge,
    DocumentTooLarge,
    EmptyDocument,
    InvalidEvent,
    TooManyPages,
    UnsupportedDocumentType,
)
from invoice_pipeline.handlers import register
from invoice_pipeline.schemas import validate_definition

from tests.events import REMOVE, load_event
from tests.fakes import FakeDocuments, FakeS3, Journal, client_error, make_document

EVENT = load_event("register_input")
ARN = EVENT["execution_arn"]
DETAIL = EVENT["event"]["detail"]
BUCKET, KEY = DETAIL["bucket"]["name"], DETAIL["object"]["key"]
VERSION_ID, ETAG = DETAIL["object"]["version-id"], DETAIL["object"]["etag"]
WHERE = {"Bucket": BUCKET, "Key": KEY, "VersionId": VERSION_ID}


def pdf(pages: int = 1, size: tuple[float, float] = (595, 842)) -> bytes:
    document = pypdfium2.PdfDocument.new()
    for _ in range(pages):
        document.new_page(*size)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


PDF = pdf()


@pytest.fixture(autouse=True)
def work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORK_DIR", str(tmp_path))
    return tmp_path


def make_ports(journal: Journal, *, data: bytes = PDF, size: int | None = None, existing: Document | None = None,
               outcome: str = "new", duplicate_of: uuid.UUID | None = None, race: bool = False,
               s3_errors: dict[str, ClientError] | None = None) -> register.Ports:
    return register.Ports(
        documents=FakeDocuments(journal, existing=existing, outcome=outcome, duplicate_of=duplicate_of, race=race),
        s3=FakeS3(journal, {(BUCKET, KEY): data}, sizes={(BUCKET, KEY): size} if size is not None else None,
                  errors=s3_errors),
    )


def run(event: dict[str, Any], **setup: Any) -> tuple[dict[str, Any], Journal]:
    journal = Journal()
    result = register.handle(event, make_ports(journal, **setup))
    validate_definition("states", "register_output", result)
    return result, journal


def raises(error: type[Exception], event: dict[str, Any] = EVENT, **setup: Any) -> Journal:
    """Run a branch that must raise `error`; the journal of the calls made before it did."""
    journal = Journal()
    with pytest.raises(error):
        register.handle(event, make_ports(journal, **setup))
    return journal


def registered(existing_status: str, execution_arn: str) -> Document:
    return make_document(object_key=KEY, version_id=VERSION_ID, status=existing_status,
                         execution_arn=execution_arn, sha256=hashlib.sha256(PDF).hexdigest(),
                         size_bytes=len(PDF), media_type="application/pdf", page_count=1)


def test_new_upload_is_hashed_sniffed_and_registered(work_dir: Path) -> None:
    result, journal = run(EVENT)

    assert journal.names() == ["documents.find_by_source", "s3.head_object", "s3.get_object", "documents.register"]
    assert journal.of("documents.find_by_source") == [{"bucket": BUCKET, "key": KEY, "version_id": VERSION_ID}]
    assert journal.of("s3.head_object") == [WHERE]
    assert journal.of("s3.get_object") == [WHERE]
    assert journal.of("documents.register") == [{
        "bucket": BUCKET, "key": KEY, "version_id": VERSION_ID, "sha256": hashlib.sha256(PDF).hexdigest(),
        "size": len(PDF), "media_type": "application/pdf", "page_count": 1, "execution_arn": ARN,
        "reprocess": None,
    }]
    assert result["action"] == "analyze"
    assert result["status"] == "RECEIVED"
    assert (result["bucket"], result["key"], result["version_id"]) == (BUCKET, KEY, VERSION_ID)
    assert (result["sha256"], result["size"], result["page_count"]) == (hashlib.sha256(PDF).hexdigest(), len(PDF), 1)
    assert result["embedded_einvoice"] is None
    assert list(work_dir.iterdir()) == []  # the downloaded copy is gone


def test_unversioned_bucket_uses_the_etag_and_no_version_id() -> None:
    event = load_event("register_input", **{"event__detail__object__version-id": REMOVE})
    result, journal = run(event)
    assert journal.of("documents.find_by_source") == [{"bucket": BUCKET, "key": KEY, "version_id": ETAG}]
    assert journal.of("s3.head_object") == [{"Bucket": BUCKET, "Key": KEY}]
    assert journal.of("s3.get_object") == [{"Bucket": BUCKET, "Key": KEY}]
    assert journal.of("documents.register")[0]["version_id"] == ETAG
    assert result["version_id"] == ETAG and result["versioned"] is False  # an ETag, never sent to S3 as a version


def test_same_content_as_an_earlier_document_is_a_duplicate() -> None:
    original = uuid.uuid4()
    result, journal = run(EVENT, outcome="duplicate", duplicate_of=original)
    assert result["action"] == "duplicate"
    assert result["status"] == "DUPLICATE"
    assert result["duplicate_of"] == str(original)
    assert "embedded_einvoice" not in result
    assert journal.names()[-1] == "documents.register"


def test_redelivered_event_of_a_registered_version_is_skipped_without_reading_s3() -> None:
    first = "arn:aws:states:eu-west-1:111122223333:execution:invoices-prod-pipeline:first"
    result, journal = run(EVENT, existing=registered("COMPLETED", first))
    assert result["action"] == "skip"
    assert result["reason"] == f"already registered by {first}"
    assert journal.names() == ["documents.find_by_source"]  # no HEAD, no download, no second registration


def test_lambda_retry_within_the_same_execution_carries_on() -> None:
    result, journal = run(EVENT, existing=registered("DUPLICATE", ARN))
    assert result["action"] == "duplicate"
    assert journal.names() == ["documents.find_by_source"]


def test_lambda_retry_of_a_registered_pdf_looks_at_it_again_without_registering_twice(work_dir: Path) -> None:
    """What a PDF embeds is not stored on its document: the retry reads it again to route it the same way."""
    result, journal = run(EVENT, existing=registered("RECEIVED", ARN))
    assert result["action"] == "analyze"
    assert journal.names() == ["documents.find_by_source", "s3.head_object", "s3.get_object"]
    assert list(work_dir.iterdir()) == []


def test_lost_race_to_another_execution_is_skipped() -> None:
    """find_by_source saw nothing, but a concurrent execution registered the version first."""
    other = "arn:aws:states:eu-west-1:111122223333:execution:invoices-prod-pipeline:other"
    result, journal = run(EVENT, existing=registered("ANALYZING", other), outcome="existing", race=True)
    assert result["action"] == "skip"
    assert result["reason"] == f"already registered by {other}"
    assert journal.names() == ["documents.find_by_source", "s3.head_object", "s3.get_object", "documents.register"]


def test_reprocess_request_registers_the_same_version_again() -> None:
    doc = registered("FAILED", "arn:aws:states:eu-west-1:111122223333:execution:invoices-prod-pipeline:first")
    request = {"document_id": str(doc.id), "requested_by": "alice@example.com"}
    event = load_event("register_input", event__reprocess=request)
    result, journal = run(event, existing=doc)
    assert result["action"] == "analyze"
    assert result["document_id"] == str(doc.id)
    assert journal.names() == ["documents.find_by_source", "s3.head_object", "s3.get_object", "documents.register"]
    assert journal.of("documents.register")[0]["reprocess"] == request


def test_a_reprocess_that_would_replace_review_work_is_skipped_with_the_way_forward() -> None:
    doc = registered("COMPLETED", "arn:aws:states:eu-west-1:111122223333:execution:invoices-prod-pipeline:first")
    event = load_event("register_input", event__reprocess={"document_id": str(doc.id), "requested_by": "bulk"})
    result, journal = run(event, existing=doc, outcome="review_kept")
    assert (result["action"], result["document_id"]) == ("skip", str(doc.id))
    assert "discard_review=true" in result["reason"]
    assert journal.names()[-1] == "documents.register"


def test_reprocess_request_for_another_document_is_a_redelivery() -> None:
    doc = registered("FAILED", "arn:aws:states:eu-west-1:111122223333:execution:invoices-prod-pipeline:first")
    event = load_event("register_input", event__reprocess={"document_id": str(uuid.uuid4())})
    result, journal = run(event, existing=doc)
    assert result["action"] == "skip"
    assert journal.names() == ["documents.find_by_source"]


def test_empty_object_is_refused_from_its_size_alone() -> None:
    journal = raises(EmptyDocument, data=b"")
    assert journal.names() == ["documents.find_by_source", "s3.head_object"]


def test_object_over_500_mb_is_refused_before_download() -> None:
    journal = raises(DocumentTooLarge, size=MAX_BYTES + 1)
    assert journal.names() == ["documents.find_by_source", "s3.head_object"]


def stored_zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


@pytest.mark.parametrize(("data", "error"), [
    (b"PK\x03\x04 a zip file, named .pdf", UnsupportedDocumentType),
    (stored_zip("invoice.pdf", PDF), UnsupportedDocumentType),  # "%PDF-" in its first 1024 bytes
    (PDF[: len(PDF) // 2], CorruptDocument),
    (pdf(3001), TooManyPages),
    (pdf(1, size=(14_400, 14_400)), DocumentDimensionsTooLarge),  # Textract: pages up to 9,000 pt a side
])
def test_documents_textract_would_refuse_are_not_registered(data: bytes, error: type[Exception],
                                                            work_dir: Path) -> None:
    journal = raises(error, data=data)
    assert journal.names() == ["documents.find_by_source", "s3.head_object", "s3.get_object"]
    assert list(work_dir.iterdir()) == []  # cleaned up on failure too


def test_pdf_with_data_appended_after_its_end_is_registered() -> None:
    """Readers and Textract open it; it was refused as truncated. The whole object is what is hashed and sized."""
    padded = PDF + bytes(range(256)) * 400  # 100 KB after %%EOF
    result, journal = run(EVENT, data=padded)
    assert result["action"] == "analyze"
    assert (result["media_type"], result["page_count"], result["size"]) == ("application/pdf", 1, len(padded))
    assert journal.of("documents.register")[0]["sha256"] == hashlib.sha256(padded).hexdigest()


def test_object_deleted_since_the_event_is_an_invalid_event() -> None:
    journal = raises(InvalidEvent, s3_errors={"head_object": client_error("404", "HeadObject", "Not Found", 404)})
    assert journal.names() == ["documents.find_by_source", "s3.head_object"]


def test_other_s3_errors_propagate() -> None:
    denied = client_error("403", "HeadObject", "Forbidden", 403)
    with pytest.raises(ClientError) as raised:
        register.handle(EVENT, make_ports(Journal(), s3_errors={"head_object": denied}))
    assert raised.value is denied


@pytest.mark.parametrize("event", [
    load_event("register_input", event__detail__bucket=REMOVE),
    load_event("register_input", event__detail__object__key=""),
    load_event("register_input", event="not an event"),
])
def test_input_that_is_not_an_s3_event_touches_nothing(event: dict[str, Any]) -> None:
    journal = raises(InvalidEvent, event=event)
    assert journal.names() == []
