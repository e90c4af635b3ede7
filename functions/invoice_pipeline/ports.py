"""What the handlers need from outside their process, as small interfaces ("ports") listing only the calls
they make, so a handler's branches can be tested with fakes instead of Postgres and the AWS emulation.

The real implementations are the adapters themselves: `adapters.repository` (Postgres) is both Documents and
TaskTokens, `adapters.results` is Results, `adapters.db` is Migrations, and `adapters.aws.LazyClient` (boto3)
is S3Objects, Textract and StepFunctions. Each handler module bundles the ones it uses in a `Ports` object
built once at import and hands it to its core function `handle(event, ports)`; tests hand fakes instead
(tests/fakes.py). mypy checks that the adapters satisfy these protocols where the bundles are built.

The AWS ports keep boto3's own method names, keyword arguments and response shapes (errors are botocore
ClientErrors), so the code that maps AWS error codes to our named errors stays in the handlers, under test."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

from invoice_pipeline.adapters.repository import Document, Registration
from invoice_pipeline.domain.status import DocumentStatus


class Documents(Protocol):
    """The `documents` rows and their status events."""

    def find_by_source(self, bucket: str, key: str, version_id: str) -> Document | None: ...

    def register(self, *, bucket: str, key: str, version_id: str, sha256: str, size: int, media_type: str,
                 page_count: int, execution_arn: str | None,
                 reprocess: dict[str, Any] | None = None) -> Registration: ...

    def transition(self, doc_id: uuid.UUID | str, to_status: DocumentStatus, *, detail: dict[str, Any] | None = None,
                   execution_arn: str | None = None, **fields: Any) -> Document: ...

    def record_failure(self, *, error_code: str, error_message: str, execution_arn: str | None,
                       doc_id: str | None = None, source: tuple[str, str, str] | None = None,
                       size: int | None = None) -> Document: ...

    def persist_invoices(self, doc_id: uuid.UUID | str, normalized: dict[str, Any], *, status: DocumentStatus,
                         issues: list[dict[str, Any]], execution_arn: str | None) -> Document: ...


class TaskTokens(Protocol):
    """Step Functions task tokens, stored under the short id sent to Textract as JobTag."""

    def save_task_token(self, *, tag: str, doc_id: uuid.UUID | str, task_token: str,
                        execution_arn: str | None) -> None: ...

    def set_job_id(self, tag: str, job_id: str) -> None: ...

    def get_task_token(self, tag: str) -> dict[str, Any] | None:
        """The row: {"id", "document_id", "task_token", "execution_arn", "job_id", "consumed_at", "outcome",
        "created_at"}, or None for a tag never stored."""
        ...

    def consume_task_token(self, tag: str, outcome: str) -> bool: ...


class Results(Protocol):
    """Intermediate results in the results bucket, passed between states as pointers."""

    def put(self, document_id: str, name: str, content: Any) -> dict[str, str]: ...

    def get(self, pointer: dict[str, str]) -> Any: ...


class Migrations(Protocol):
    def migrate(self, logins: Mapping[str, str] | None = None) -> list[str]: ...

    def migration_files(self) -> list[tuple[str, str]]: ...


class S3Objects(Protocol):
    """boto3 S3: reading the uploaded object."""

    def head_object(self, **kwargs: Any) -> dict[str, Any]: ...

    def get_object(self, **kwargs: Any) -> dict[str, Any]: ...


class Textract(Protocol):
    """boto3 Textract: the asynchronous expense analysis."""

    def start_expense_analysis(self, **kwargs: Any) -> dict[str, Any]: ...

    def get_expense_analysis(self, **kwargs: Any) -> dict[str, Any]: ...


class StepFunctions(Protocol):
    """boto3 Step Functions: answering a waiting task."""

    def send_task_success(self, *, taskToken: str, output: str) -> Any: ...

    def send_task_failure(self, *, taskToken: str, error: str, cause: str) -> Any: ...
