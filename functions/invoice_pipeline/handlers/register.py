"""Register: identify the uploaded object, check it, hash it, and create (or find) its document row.

Input: {"event": <EventBridge S3 Object Created event>, "execution_arn": str}
Output: {"action": "analyze" | "einvoice" | "duplicate" | "skip", "document_id", ...} — the state machine routes on
action: "einvoice" (domain/upload.py) skips Textract for the ReadEInvoice state."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from invoice_pipeline import config
from invoice_pipeline.adapters import aws, repository
from invoice_pipeline.domain.analysis_timeout import analysis_timeout
from invoice_pipeline.domain.events import S3Source, s3_source
from invoice_pipeline.domain.sniff import MAX_BYTES, PDF, XML
from invoice_pipeline.domain.status import DocumentStatus
from invoice_pipeline.domain.upload import ANALYZE, EINVOICE, action_for, inspect_upload
from invoice_pipeline.errors import DocumentTooLarge, EmptyDocument, InvalidEvent
from invoice_pipeline.observability import count, lambda_entry, logger
from invoice_pipeline.ports import Documents, S3Objects

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Ports:
    documents: Documents
    s3: S3Objects


PORTS = Ports(documents=repository, s3=aws.LazyClient("s3"))


def _head(src: S3Source, s3: S3Objects) -> dict[str, Any]:
    try:
        return s3.head_object(**src.s3_args())
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise InvalidEvent(f"s3://{src.bucket}/{src.key} no longer exists") from exc
        raise


def _download_hashing(src: S3Source, target: Path, s3: S3Objects) -> str:
    """Stream the object to local storage and hash it on the way: memory stays flat for a 500 MB file."""
    body = s3.get_object(**src.s3_args())["Body"]
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in body.iter_chunks(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def _analysis_timeout(page_count: int | None) -> int:
    """StartAnalysis's TimeoutSeconds for this document (its TimeoutSecondsPath): grows with the pages."""
    settings = config.settings()
    return analysis_timeout(page_count, base_seconds=settings.analysis_timeout_seconds,
                            per_page_seconds=settings.analysis_timeout_seconds_per_page,
                            max_seconds=settings.analysis_timeout_max_seconds)


def _output(action: str, doc: repository.Document, src: S3Source, **extra: Any) -> dict[str, Any]:
    return {
        "action": action,
        "document_id": str(doc.id),
        "status": doc.status,
        "bucket": src.bucket,
        "key": src.key,
        "version_id": src.version_id,
        "versioned": src.versioned,
        "sha256": doc.sha256,
        "media_type": doc.media_type,
        "page_count": doc.page_count,
        "size": doc.size_bytes,
        "duplicate_of": str(doc.duplicate_of) if doc.duplicate_of else None,
        "analysis_timeout_seconds": _analysis_timeout(doc.page_count),
        **extra,
    }


def _already_registered(doc: repository.Document, src: S3Source, execution_arn: str) -> dict[str, Any]:
    """The same object version was registered before. A Lambda retry inside this very execution carries on;
    a redelivered S3 event (another execution) stops here, so one upload never yields two invoices."""
    if doc.execution_arn == execution_arn and doc.status == DocumentStatus.RECEIVED:
        # A bare XML can only be read as an e-invoice (a PDF's attachment is looked at again: _own_retry).
        return _output(EINVOICE if doc.media_type == XML else ANALYZE, doc, src)
    if doc.execution_arn == execution_arn and doc.status == DocumentStatus.DUPLICATE:
        return _output("duplicate", doc, src)
    logger.info("object version already registered: skipping", extra={"document_id": str(doc.id),
                                                                       "status": doc.status})
    count("RedeliveredEvent")
    return _output("skip", doc, src, reason=f"already registered by {doc.execution_arn}")


def _own_retry(doc: repository.Document | None, execution_arn: str) -> bool:
    """A Lambda retry of this very execution's Register after it registered a PDF: whether the PDF embeds an
    e-invoice is not stored on the document, so it is looked at again, or a Factur-X would go to Textract."""
    return (doc is not None and doc.execution_arn == execution_arn and doc.status == DocumentStatus.RECEIVED
            and doc.media_type == PDF)


def _reprocess_request(raw_event: Any, existing: repository.Document | None,
                       execution_arn: str) -> dict[str, Any] | None:
    """The `reprocess` request (POST /documents/{id}/reprocess) when it names the document of this very S3
    object and this execution has not registered it yet (a retry of Register goes the usual way)."""
    request = raw_event.get("reprocess") if isinstance(raw_event, dict) else None
    if not isinstance(request, dict) or existing is None or existing.execution_arn == execution_arn:
        return None
    return request if str(request.get("document_id")) == str(existing.id) else None


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    src = s3_source(event.get("event"))
    execution_arn = str(event.get("execution_arn") or "")
    logger.append_keys(bucket=src.bucket, key=src.key)

    existing = ports.documents.find_by_source(src.bucket, src.key, src.version_id)
    reprocess = _reprocess_request(event.get("event"), existing, execution_arn)
    own_retry = _own_retry(existing, execution_arn) and reprocess is None
    if existing is not None and reprocess is None and not own_retry:
        return _already_registered(existing, src, execution_arn)

    size = int(_head(src, ports.s3)["ContentLength"])
    if size == 0:
        raise EmptyDocument(f"s3://{src.bucket}/{src.key} is empty (0 bytes)")
    if size > MAX_BYTES:
        raise DocumentTooLarge(f"{size} bytes is over the {MAX_BYTES}-byte limit")

    fd, tmp = tempfile.mkstemp(prefix="register-", dir=config.settings().work_dir)
    os.close(fd)
    path = Path(tmp)
    try:
        sha256 = _download_hashing(src, path, ports.s3)
        info = inspect_upload(path, size=size)
    finally:
        path.unlink(missing_ok=True)

    if own_retry and existing is not None:
        return _output(action_for(info), existing, src, embedded_einvoice=info.embedded_einvoice)
    reg = ports.documents.register(
        bucket=src.bucket, key=src.key, version_id=src.version_id, sha256=sha256, size=size,
        media_type=info.media_type, page_count=info.page_count, execution_arn=execution_arn, reprocess=reprocess,
    )
    logger.set_correlation_id(str(reg.document.id))
    if reg.outcome == "existing":
        return _already_registered(reg.document, src, execution_arn)
    if reg.outcome == "review_kept":
        logger.warning("reprocess skipped: a reviewer has worked on its invoices since it was requested",
                       extra={"document_id": str(reg.document.id),
                              "requested_by": (reprocess or {}).get("requested_by")})
        count("ReprocessKeptReview")
        return _output("skip", reg.document, src, reason="a reviewer has worked on its invoices: reprocess it with "
                                                         "discard_review=true to replace that work")
    if reg.outcome == "duplicate":
        count("DuplicateDocument")
        logger.info("same content already processed", extra={"duplicate_of": str(reg.document.duplicate_of)})
        return _output("duplicate", reg.document, src)
    count("DocumentReprocessed" if reprocess else "DocumentRegistered")
    return _output(action_for(info), reg.document, src, embedded_einvoice=info.embedded_einvoice)


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
