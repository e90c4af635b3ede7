"""A month-end burst of 100 distinct invoices at once, under Textract's and Postgres' limits scaled down (5
starts/s, 20 jobs at once, 2 s jobs, 30 connections): every document ends in a final state, none is lost,
no invoice is written twice, none fails for a load reason, Textract's quotas and Postgres' connections held,
and the Lambda environments did concurrent database work. bench/bench_burst.py runs the same driver
(invoice_local.burst) with 1,000 documents and reports the figures.

The deployment is the session's, applied again by Terraform with the burst's variables (a Postgres of its
own with 30 connections, admission control at the scaled quotas, reserved concurrencies within the
connection budget): `deployment.redeploy` updates only the functions those variables change, which costs
well under a fresh apply. No assertion depends on timing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from invoice_local import burst
from invoice_local import dbroles as local_dbroles
from invoice_local.burst_summary import render
from invoice_local.deployment import Deployment, redeploy
from invoice_local.emulation import server, snapshot
from invoice_local.postgres import LOG_FILE, PostgresHandle, PostgresUnavailable, create_database, start_postgres
from invoice_pipeline.adapters import db

from tests.shared_data import skip_or_fail

pytestmark = pytest.mark.integration

DOCUMENTS = 100
# local.tfvars' analysis timeout, as the bench runs: TEST_VARIABLES' 12 s is for watching a lost notification
# time out, and in a burst a document may wait longer than that for its completion without anything wrong.
VARIABLES = {"analysis_timeout_seconds": 300}


@pytest.fixture(scope="module")
def burst_postgres() -> Iterator[PostgresHandle]:
    """A Postgres of its own that refuses a 31st connection (the session's keeps its default)."""
    tried: list[str] = []
    for provider in ("binaries", "pgserver"):  # never DATABASE_URL: a server found running keeps its limit
        try:
            handle = start_postgres(prefer=provider, max_connections=burst.DB_MAX_CONNECTIONS)
            break
        except PostgresUnavailable as exc:
            tried.extend(exc.tried)
    else:
        skip_or_fail(f"no Postgres to start with max_connections: {tried}")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def burst_stack(deployed: tuple[Deployment, bytes], emulation: server.EmulationServer,
                burst_postgres: PostgresHandle, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[tuple[Deployment, str]]:
    base, saved = deployed
    url = create_database(burst_postgres, "burst")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        db.close()
        local_dbroles.migrate()
        db.close()  # the functions' connections are the ones that count: this process keeps none open
    deployment = redeploy(base, saved, {"database_url": url, **burst.terraform_variables(), **VARIABLES},
                          tmp_path_factory.mktemp("burst-deployment"))
    print(f"burst deployment: terraform apply of the changed variables in {deployment.seconds:.1f}s")
    try:
        yield deployment, url
    finally:
        snapshot.loads(saved)  # the session's deployment again; its workers, not the burst's, run from now on


@pytest.mark.timeout(900)
def test_a_burst_ends_final_with_nothing_lost_duplicated_or_failed_for_load(
        burst_stack: tuple[Deployment, str], burst_postgres: PostgresHandle) -> None:
    deployment, url = burst_stack
    assert burst_postgres.data_dir is not None
    report = burst.run(deployment, burst.documents(DOCUMENTS), url, postgres_log=burst_postgres.data_dir / LOG_FILE,
                       timeout=600, stall_seconds=120)
    summary = render(report)
    print(summary)  # shown with -s, and in the report of a failure

    assert (report.uploaded, report.final, report.lost) == (DOCUMENTS, DOCUMENTS, 0), summary
    assert sum(report.executions.values()) == DOCUMENTS and "RUNNING" not in report.executions, summary
    assert (report.duplicated_invoices, report.documents_beyond_one_per_object, report.final_without_invoice) == (
        0, 0, 0), summary
    assert report.load_caused_failed == 0, summary

    textract, quotas = report.textract, burst.QUOTAS
    assert textract["starts_accepted"] >= DOCUMENTS, summary
    assert textract["start_rate_max_1s"] <= quotas.start_tps, summary
    assert textract["max_concurrent_jobs"] <= quotas.max_jobs, summary
    # Admission control kept the running jobs within the quota: Textract never had to refuse a start for it.
    assert textract["refused"].get("StartExpenseAnalysis LimitExceededException", 0) == 0, summary

    pg = report.postgres
    assert pg["max_connections"] == burst.DB_MAX_CONNECTIONS and pg["peak_server"] <= pg["max_connections"], summary
    # The reserved concurrencies bounded the functions' connections within the budget, and Postgres refused none.
    assert 2 <= pg["peak_application"] <= burst.CONNECTION_BUDGET and pg["refused"] == 0, summary
    # Environments of their own did database work side by side (each with its own connection).
    connecting = {name: s for name, s in report.lambda_functions.items() if s["database"]}
    assert max(s["peak"] for s in connecting.values()) >= 2, summary
    assert sum(s["invocations"] for s in connecting.values()) >= 5 * DOCUMENTS, summary

