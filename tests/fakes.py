"""In-memory stand-ins for the handlers' ports (functions/invoice_pipeline/ports.py), for unit tests that
run a handler's `handle(event, ports)` without Postgres or the AWS emulation.

Every call lands in one shared Journal, in order, with its arguments by name, so a test asserts on exactly
which calls a branch made (and which it did not). The AWS fakes raise botocore ClientErrors shaped as boto3
raises them; `client_error` builds one."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from invoice_pipeline.adapters.repository import Document, Registration

RESULTS_BUCKET = "invoices-prod-results"


@dataclass(frozen=True)
class Call:
    port: str
    method: str
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.port}.{self.method}"


class Journal(list[Call]):
    def record(self, port: str, method: str, **args: Any) -> None:
        self.append(Call(port, method, copy.deepcopy(args)))

    def names(self) -> list[str]:
        return [call.name for call in self]

    def of(self, name: str) -> list[dict[str, Any]]:
        """The arguments of every call of one method ("tokens.consume_task_token")."""
        return [call.args for call in self if call.name == name]


def client_error(code: str, operation: str, message: str = "", status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


def make_document(**fields: Any) -> Document:
    values: dict[str, Any] = {
        "id": uuid.UUID("0f6b2c7e-4a1d-4c57-9b8e-2d6a3f1c9e04"), "bucket": "invoices-prod-ingest",
        "object_key": "incoming/acme-2024-0042.pdf", "version_id": "Wq3jE2v0cGZ8X1dOe5a.Ty0rNn1xkPQh",
        "sha256": None, "size_bytes": None, "media_type": None, "page_count": None, "status": "RECEIVED",
        "duplicate_of": None, "error_code": None, "error_message": None, "execution_arn": None,
        "textract_job_id": None, "result_key": None, "created_at": datetime(2024, 11, 12, tzinfo=UTC),
        "updated_at": datetime(2024, 11, 12, tzinfo=UTC),
    }
    values.update(fields)
    return Document(**values)


# --- stores ---------------------------------------------------------------------------------------------
class FakeDocuments:
    """Documents: `existing` is what find_by_source finds (unless `race`: registered by a concurrent execution
    after find_by_source looked); `register` answers with `outcome` ("new", "duplicate", "existing")."""

    def __init__(self, journal: Journal, *, existing: Document | None = None, outcome: str = "new",
                 duplicate_of: uuid.UUID | None = None, race: bool = False) -> None:
        self.journal = journal
        self.existing = existing
        self.race = race
        self.outcome = outcome
        self.duplicate_of = duplicate_of
        self.status: dict[str, str] = {}

    def find_by_source(self, bucket: str, key: str, version_id: str) -> Document | None:
        self.journal.record("documents", "find_by_source", bucket=bucket, key=key, version_id=version_id)
        found = None if self.race else self.existing
        if found and (found.bucket, found.object_key, found.version_id) == (bucket, key, version_id):
            return found
        return None

    def register(self, *, bucket: str, key: str, version_id: str, sha256: str, size: int, media_type: str,
                 page_count: int, execution_arn: str | None,
                 reprocess: dict[str, Any] | None = None) -> Registration:
        self.journal.record("documents", "register", bucket=bucket, key=key, version_id=version_id, sha256=sha256,
                            size=size, media_type=media_type, page_count=page_count, execution_arn=execution_arn,
                            reprocess=reprocess)
        if self.outcome in ("existing", "review_kept"):
            assert self.existing is not None, f"outcome {self.outcome!r} needs an existing document"
            return Registration(self.existing, self.outcome)
        doc = make_document(
            id=uuid.UUID(str(reprocess["document_id"])) if reprocess else uuid.uuid4(), bucket=bucket,
            object_key=key, version_id=version_id, sha256=sha256, size_bytes=size, media_type=media_type,
            page_count=page_count, execution_arn=execution_arn,
            status="DUPLICATE" if self.outcome == "duplicate" else "RECEIVED",
            duplicate_of=self.duplicate_of if self.outcome == "duplicate" else None,
        )
        return Registration(doc, self.outcome)

    def transition(self, doc_id: uuid.UUID | str, to_status: str, *, detail: dict[str, Any] | None = None,
                   execution_arn: str | None = None, **fields: Any) -> Document:
        self.journal.record("documents", "transition", doc_id=str(doc_id), to_status=to_status, detail=detail,
                            execution_arn=execution_arn, **fields)
        self.status[str(doc_id)] = to_status
        return make_document(id=uuid.UUID(str(doc_id)), status=to_status)

    def record_failure(self, *, error_code: str, error_message: str, execution_arn: str | None,
                       doc_id: str | None = None, source: tuple[str, str, str] | None = None,
                       size: int | None = None) -> Document:
        self.journal.record("documents", "record_failure", error_code=error_code, error_message=error_message,
                            execution_arn=execution_arn, doc_id=doc_id, source=source, size=size)
        doc = make_document(id=uuid.UUID(doc_id) if doc_id else uuid.uuid4(), status="FAILED",
                            error_code=error_code, error_message=error_message)
        if source:
            doc = replace(doc, bucket=source[0], object_key=source[1], version_id=source[2])
        return doc

    def persist_invoices(self, doc_id: uuid.UUID | str, normalized: dict[str, Any], *, status: str,
                         issues: list[dict[str, Any]], execution_arn: str | None) -> Document:
        self.journal.record("documents", "persist_invoices", doc_id=str(doc_id), normalized=normalized,
                            status=status, issues=issues, execution_arn=execution_arn)
        return make_document(id=uuid.UUID(str(doc_id)), status=status)


class FakeTaskTokens:
    """TaskTokens over a dict of rows shaped like the task_tokens table's."""

    def __init__(self, journal: Journal, rows: dict[str, dict[str, Any]] | None = None) -> None:
        self.journal = journal
        self.rows = rows or {}

    def save_task_token(self, *, tag: str, doc_id: uuid.UUID | str, task_token: str,
                        execution_arn: str | None) -> None:
        self.journal.record("tokens", "save_task_token", tag=tag, doc_id=str(doc_id), task_token=task_token,
                            execution_arn=execution_arn)
        self.rows[tag] = token_row(tag, doc_id=str(doc_id), task_token=task_token, execution_arn=execution_arn)

    def set_job_id(self, tag: str, job_id: str) -> None:
        self.journal.record("tokens", "set_job_id", tag=tag, job_id=job_id)
        if tag in self.rows:
            self.rows[tag]["job_id"] = job_id

    def get_task_token(self, tag: str) -> dict[str, Any] | None:
        self.journal.record("tokens", "get_task_token", tag=tag)
        row = self.rows.get(tag)
        return dict(row) if row else None

    def consume_task_token(self, tag: str, outcome: str) -> bool:
        self.journal.record("tokens", "consume_task_token", tag=tag, outcome=outcome)
        row = self.rows.get(tag)
        if row is None or row["consumed_at"] is not None:
            return False
        row.update(consumed_at=datetime.now(UTC), outcome=outcome)
        return True


def token_row(tag: str, *, doc_id: str, task_token: str, execution_arn: str | None = None,
              job_id: str | None = None, consumed_at: datetime | None = None,
              outcome: str | None = None) -> dict[str, Any]:
    return {"id": tag, "document_id": uuid.UUID(doc_id), "task_token": task_token, "execution_arn": execution_arn,
            "job_id": job_id, "consumed_at": consumed_at, "outcome": outcome, "created_at": datetime.now(UTC)}


class FakeResults:
    """Results in a dict, stored as JSON would be (a round trip, so no shared objects)."""

    def __init__(self, journal: Journal, stored: dict[str, Any] | None = None) -> None:
        self.journal = journal
        self.stored: dict[str, Any] = {}
        for key, content in (stored or {}).items():
            self.stored[key] = json.loads(json.dumps(content))

    def put(self, document_id: str, name: str, content: Any) -> dict[str, str]:
        self.journal.record("results", "put", document_id=document_id, name=name, content=content)
        key = f"results/{document_id}/{name}.json"
        self.stored[key] = json.loads(json.dumps(content))
        return {"bucket": RESULTS_BUCKET, "key": key}

    def get(self, pointer: dict[str, str]) -> Any:
        self.journal.record("results", "get", pointer=pointer)
        if pointer["key"] not in self.stored:
            raise client_error("NoSuchKey", "GetObject", status=404)
        return json.loads(json.dumps(self.stored[pointer["key"]]))


class FakeMigrations:
    def __init__(self, journal: Journal, files: list[str], applied: list[str]) -> None:
        self.journal, self.files, self.applied = journal, files, applied

    def migrate(self, logins: Mapping[str, str] | None = None) -> list[str]:
        self.journal.record("migrations", "migrate", logins=dict(logins or {}))
        return list(self.applied)

    def migration_files(self) -> list[tuple[str, str]]:
        self.journal.record("migrations", "migration_files")
        return [(name, f"-- {name}") for name in self.files]


# --- AWS ------------------------------------------------------------------------------------------------
class FakeBody:
    """The StreamingBody of get_object: read() and iter_chunks()."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self) -> bytes:
        return self.data

    def iter_chunks(self, chunk_size: int = 1024) -> Iterator[bytes]:
        for start in range(0, len(self.data), chunk_size):
            yield self.data[start:start + chunk_size]


class FakeS3:
    """S3Objects over {(bucket, key): bytes}. `sizes` overrides a ContentLength (a 600 MB object without 600 MB)
    and `errors` makes a method raise (by method name)."""

    def __init__(self, journal: Journal, objects: dict[tuple[str, str], bytes] | None = None, *,
                 sizes: dict[tuple[str, str], int] | None = None,
                 errors: dict[str, ClientError] | None = None) -> None:
        self.journal = journal
        self.objects = objects or {}
        self.sizes = sizes or {}
        self.errors = errors or {}

    def _find(self, method: str, kwargs: dict[str, Any]) -> tuple[str, str]:
        self.journal.record("s3", method, **kwargs)
        if method in self.errors:
            raise self.errors[method]
        where = (kwargs["Bucket"], kwargs["Key"])
        if where not in self.objects and where not in self.sizes:
            # HeadObject has no body to carry an error code: boto3 reports the bare HTTP status.
            raise client_error("404" if method == "head_object" else "NoSuchKey", method, "Not Found", 404)
        return where

    def head_object(self, **kwargs: Any) -> dict[str, Any]:
        where = self._find("head_object", kwargs)
        size = self.sizes.get(where, len(self.objects.get(where, b"")))
        return {"ContentLength": size, "ContentType": "binary/octet-stream", "ETag": '"6f5902ac237024bd"'}

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        where = self._find("get_object", kwargs)
        data = self.objects[where]
        return {"Body": FakeBody(data), "ContentLength": len(data)}


class FakeTextract:
    """Textract's expense analysis. `pages` are GetExpenseAnalysis responses, served in order and chained by
    NextToken whatever tokens they were recorded with; `errors` makes a method raise (by method name)."""

    def __init__(self, journal: Journal, *, job_id: str = "job-1", pages: list[dict[str, Any]] | None = None,
                 errors: dict[str, ClientError] | None = None) -> None:
        self.journal = journal
        self.job_id = job_id
        self.errors = errors or {}
        self.pages = [copy.deepcopy(p) for p in pages or []]
        for number, page in enumerate(self.pages, start=1):
            page.pop("NextToken", None)
            if number < len(self.pages):
                page["NextToken"] = f"page-{number + 1}"

    def start_expense_analysis(self, **kwargs: Any) -> dict[str, Any]:
        self.journal.record("textract", "start_expense_analysis", **kwargs)
        if "start_expense_analysis" in self.errors:
            raise self.errors["start_expense_analysis"]
        return {"JobId": self.job_id}

    def get_expense_analysis(self, **kwargs: Any) -> dict[str, Any]:
        self.journal.record("textract", "get_expense_analysis", **kwargs)
        if "get_expense_analysis" in self.errors:
            raise self.errors["get_expense_analysis"]
        token = kwargs.get("NextToken")
        index = int(token.removeprefix("page-")) - 1 if token else 0
        return copy.deepcopy(self.pages[index])


class FakeStepFunctions:
    """SendTaskSuccess/SendTaskFailure; `error` is raised by both (after being journaled)."""

    def __init__(self, journal: Journal, error: ClientError | None = None) -> None:
        self.journal = journal
        self.error = error

    def send_task_success(self, *, taskToken: str, output: str) -> dict[str, Any]:
        self.journal.record("sfn", "send_task_success", taskToken=taskToken, output=output)
        if self.error:
            raise self.error
        return {}

    def send_task_failure(self, *, taskToken: str, error: str, cause: str) -> dict[str, Any]:
        self.journal.record("sfn", "send_task_failure", taskToken=taskToken, error=error, cause=cause)
        if self.error:
            raise self.error
        return {}


class FakeSlots:
    """Textract slots (adapters/slots.py): `grants` is what each reserve() hands out, in turn (then none);
    `held` names the documents holding or waiting for a slot, which release() frees."""

    def __init__(self, journal: Journal, *, grants: list[list[Any]] | None = None,
                 held: set[str] | None = None, queued_before: bool = False) -> None:
        self.journal = journal
        self.grants = list(grants or [])
        self.held = set(held or ())
        self.queued_before = queued_before

    def enqueue(self, document_id: str, task_token: str, execution_arn: str | None) -> bool:
        self.journal.record("slots", "enqueue", document_id=document_id, task_token=task_token,
                            execution_arn=execution_arn)
        self.held.add(document_id)
        return self.queued_before

    def reserve(self, limits: Any) -> tuple[list[Any], list[str]]:
        self.journal.record("slots", "reserve")
        return (self.grants.pop(0) if self.grants else []), []

    def requeue(self, document_id: str) -> None:
        self.journal.record("slots", "requeue", document_id=document_id)

    def release(self, document_id: str) -> bool:
        self.journal.record("slots", "release", document_id=document_id)
        if document_id in self.held:
            self.held.discard(document_id)
            return True
        return False

    def queue(self) -> Any:
        from invoice_pipeline.adapters.slots import Queue

        self.journal.record("slots", "queue")
        return Queue(waiting=len(self.held), held=0, oldest_waiting_seconds=0.0)
