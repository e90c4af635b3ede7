"""Fixtures of every test that runs the pipeline (integration, iac and e2e; tests/conftest.py loads them):
a real Postgres, the AWS emulation (moto with our patches) served on 127.0.0.1, and the pipeline deployed
into it by `terraform apply` of terraform/ with local.tfvars, once per test session. Every test that uses
`stack` starts from the emulation exactly as Terraform left it (a snapshot restored before each test), so
tests neither see each other's executions and objects nor pay for a second apply.

When collection shows that a test needs the deployment, Postgres starts and the apply begins at once, in a
process of its own (tests/deploy_ahead.py), while the tests before the first one that needs it run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from invoice_local import dbroles as local_dbroles
from invoice_local.deployment import REGION, Deployment, deploy
from invoice_local.emulation import lambda_runner, server, snapshot
from invoice_local.emulation import textract as textract_standin
from invoice_local.postgres import create_database, start_postgres
from invoice_pipeline.adapters import aws, db

from tests import deploy_ahead
from tests.shared_data import skip_or_fail

# local.tfvars, with the waits short enough for a test to watch a lost notification time out.
TEST_VARIABLES = {"analysis_timeout_seconds": 12, "analysis_timeout_seconds_per_page": 1,
                  "textract_retry_interval_seconds": 1,
                  "textract_retry_max_attempts": 3, "log_level": "INFO"}


# What pytest_collection_finish started ahead of the fixtures: "postgres", "database_url", "deploy".
_ahead: dict[str, Any] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start Postgres and the session's terraform apply now if a test will need the deployment."""
    from invoice_local import terraform

    if session.config.option.collectonly or not any("deployed" in getattr(item, "fixturenames", ())
                                                    for item in session.items):
        return
    try:
        terraform.binary()
    except terraform.TerraformUnavailable:
        return  # the deployed fixture says so, skipping or failing as CI wants
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    handle = start_postgres()
    url = create_database(handle, f"it_{uuid.uuid4().hex[:8]}")
    _ahead.update(postgres=handle, database_url=url)
    _ahead["deploy"] = deploy_ahead.start(server.free_port(), factory.mktemp("deployment"),
                                          {"database_url": url, **TEST_VARIABLES}, REGION)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """What was started ahead and never handed to a fixture (an interrupted or deselected run)."""
    ahead = _ahead.pop("deploy", None)
    if ahead is not None:
        ahead.stop()
    handle = _ahead.pop("postgres", None)
    if handle is not None:
        handle.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    handle = _ahead.pop("postgres", None) or start_postgres()
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def database_url(postgres: object) -> Iterator[str]:
    url = _ahead.pop("database_url", None) or create_database(postgres, f"it_{uuid.uuid4().hex[:8]}")
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    db.close()
    local_dbroles.migrate()
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
def standin() -> textract_standin._State:
    """The Textract stand-in, reset: an empty set of recorded responses and no faults."""
    return textract_standin.configure()


@pytest.fixture(scope="session")
def emulation() -> Iterator[server.EmulationServer]:
    saved = dict(os.environ)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})
    os.environ.pop("AWS_PROFILE", None)
    # Each session applies Terraform afresh, so the packages the workers import are this checkout's, as built.
    lambda_runner.configure(code="deployed")
    # On the port the deployment ahead was applied to, once it is done, so that deployed() can restore it.
    ahead: deploy_ahead.Ahead | None = _ahead.get("deploy")
    port = ahead.port if ahead is not None and ahead.wait() and deploy_ahead.port_free(ahead.port) else None
    emu = server.start(port)
    try:
        yield emu
    finally:
        emu.stop()
        # Tests under moto's decorator run functions in this process, with their environment in os.environ.
        os.environ.clear()
        os.environ.update(saved)
        aws.reset()


@pytest.fixture(scope="session")
def deployed(emulation: server.EmulationServer, database_url: str,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[Deployment, bytes]:
    """terraform apply of terraform/ (local.tfvars + TEST_VARIABLES) to the emulation, once per session;
    returns the deployment and the emulation's state right after it."""
    from invoice_local import terraform

    try:
        terraform.binary()
    except terraform.TerraformUnavailable as exc:
        skip_or_fail(str(exc))
    # The deployment applied ahead, restored if it was made for this emulation and database; else applied now.
    ahead: deploy_ahead.Ahead | None = _ahead.pop("deploy", None)
    state_dir = ahead.state_dir if ahead is not None else tmp_path_factory.mktemp("deployment")
    deployment = deploy(emulation.endpoint, {"database_url": database_url, **TEST_VARIABLES}, state_dir,
                        reuse=ahead is not None)
    return deployment, (state_dir / "emulation.snapshot").read_bytes()


@pytest.fixture
def stack(deployed: tuple[Deployment, bytes], emulation: server.EmulationServer, clean_db: str,
          standin: textract_standin._State, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """The deployed pipeline, as Terraform left it."""
    deployment, saved = deployed
    snapshot.loads(saved)
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulation.endpoint)
    monkeypatch.setenv("DATABASE_URL", clean_db)
    lambda_runner.invocations.clear()
    aws.reset()
    return deployment
