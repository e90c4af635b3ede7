"""Integration fixtures: a real Postgres, the moto emulation with state machine execution on and our
patches installed, and the pipeline deployed into it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from invoice_local.emulation import install as install_emulation
from invoice_local.emulation import lambda_runner
from invoice_local.emulation import textract as textract_standin
from invoice_local.postgres import create_database, start_postgres
from invoice_local.sandbox import REGION, Stack, deploy
from invoice_pipeline.adapters import aws, db
from moto import mock_aws


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    handle = start_postgres()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def database_url(postgres: object) -> Iterator[str]:
    url = create_database(postgres, f"it_{uuid.uuid4().hex[:8]}")
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    db.close()
    db.migrate()
    yield url
    db.close()
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous


@pytest.fixture
def clean_db(database_url: str) -> str:
    with db.transaction() as con:
        con.run("TRUNCATE documents, document_events, invoices, line_items, task_tokens CASCADE")
    return database_url


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    install_emulation()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        aws.reset()
        yield
    aws.reset()


@pytest.fixture
def standin() -> textract_standin._State:
    """The Textract stand-in, reset: an empty set of recorded responses and no faults."""
    return textract_standin.configure()


@pytest.fixture
def stack(aws_env: None, clean_db: str, standin: textract_standin._State) -> Stack:
    lambda_runner.invocations.clear()
    return deploy(clean_db)
