"""The functions' database roles (issue 10, item 2), on a real Postgres migrated as the pipeline's is: the API
role reads and records reprocess requests but cannot change or delete a row, or create anything; the pipeline
role writes its tables but cannot change the schema; neither reaches a table it does not use; every table was
decided about; and each deployed function is configured as its own role, not as the administrator. ~2 s
beside the session's deployment."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pg8000.native
import pytest
from invoice_local import dbroles as local_dbroles
from invoice_local import manifest
from invoice_pipeline.adapters import db, dbroles
from invoice_pipeline.adapters.dburl import connect_kwargs
from pg8000.exceptions import DatabaseError

INSUFFICIENT_PRIVILEGE = "42501"
# Tables no function role may touch, on purpose: the migrations' own bookkeeping.
NO_ROLE = {"schema_migrations"}


def _connect(url: str) -> pg8000.native.Connection:
    return pg8000.native.Connection(timeout=10, **connect_kwargs(url))


@pytest.fixture(scope="module")
def as_role(database_url: str) -> Iterator[dict[str, pg8000.native.Connection]]:
    cons = {key: _connect(url) for key, url in local_dbroles.role_urls(database_url).items()}
    try:
        yield cons
    finally:
        for con in cons.values():
            con.close()


def refused(con: pg8000.native.Connection, sql: str) -> bool:
    """Whether Postgres refuses `sql` for lack of privilege (run in a transaction that is rolled back)."""
    con.run("BEGIN")
    try:
        con.run(sql)
    except DatabaseError as exc:
        return exc.args[0].get("C") == INSUFFICIENT_PRIVILEGE
    finally:
        con.run("ROLLBACK")
    return False


def test_the_api_role_reads_and_records_requests_but_changes_nothing(as_role, database_url: str) -> None:
    api = as_role["api"]
    assert api.run("SELECT current_user")[0][0] == manifest.database_roles()["api"]
    for table in ("documents", "document_events", "invoices", "line_items"):
        assert not refused(api, f"SELECT count(*) FROM {table}")
    assert not refused(api, "INSERT INTO document_events (document_id, to_status) SELECT id, status FROM documents"
                            " LIMIT 1")
    for sql in ("UPDATE documents SET status = status", "DELETE FROM documents", "DELETE FROM invoices",
                # Review writes invoices column by column (0006_review.sql): never what the pipeline decided
                # about where an invoice came from.
                "UPDATE invoices SET document_id = document_id", "UPDATE invoices SET provenance = '{}'",
                "UPDATE invoices SET seq = seq", "UPDATE line_items SET page = 1",
                "UPDATE invoice_audit SET actor = 'x'", "DELETE FROM invoice_audit", "TRUNCATE invoice_audit",
                "DELETE FROM document_events", "TRUNCATE documents",
                "SELECT * FROM task_tokens", "SELECT * FROM textract_slots", "UPDATE textract_pace SET id = 1",
                "SELECT * FROM schema_migrations", "CREATE TABLE api_owned (x int)",
                "CREATE TEMPORARY TABLE api_temp (x int)", "ALTER TABLE documents ADD COLUMN x int"):
        assert refused(api, sql), sql


def test_the_audit_trail_is_append_only_for_the_api_role_and_its_owner(as_role, database_url: str) -> None:
    """Review (0006_review.sql): the API role corrects invoices column by column and adds audit rows, but no
    role changes or deletes one: the grants refuse the API, a trigger refuses everyone, the owner included."""
    api, owner = as_role["api"], _connect(database_url)
    try:
        doc = owner.run("INSERT INTO documents (id, bucket, object_key, version_id, status) VALUES"
                        " (gen_random_uuid(), 'b', 'k', gen_random_uuid()::text, 'COMPLETED') RETURNING id")[0][0]
        api.run("INSERT INTO invoice_audit (invoice_id, document_id, actor, action, status_after) VALUES"
                " (gen_random_uuid(), :d, 'rev-1', 'CLAIM', 'NEEDS_REVIEW')", d=doc)
        assert not refused(api, "UPDATE invoices SET total = total, validation_status = validation_status")
        assert not refused(api, "SELECT id FROM invoices FOR UPDATE")
        for sql in ("UPDATE invoice_audit SET actor = 'someone else'", "UPDATE invoice_audit SET new_value = 'x'",
                    "DELETE FROM invoice_audit", "TRUNCATE invoice_audit"):
            assert refused(api, sql), sql
            if not sql.startswith("TRUNCATE"):  # TRUNCATE stays the owner's (emptying a database wholesale)
                assert refused(owner, sql), f"owner: {sql}"
        assert api.run("SELECT actor FROM invoice_audit WHERE document_id = :d", d=doc) == [["rev-1"]]
    finally:
        owner.close()


def test_the_pipeline_role_writes_its_tables_but_cannot_change_the_schema(as_role) -> None:
    pipeline = as_role["pipeline"]
    assert not refused(pipeline, "SELECT next_start_at FROM textract_pace WHERE id = 1 FOR UPDATE")
    assert not refused(pipeline, "DELETE FROM textract_slots WHERE state = 'HELD' AND expires_at < now()")
    for sql in ("CREATE TABLE pipeline_owned (x int)", "CREATE TEMPORARY TABLE pipeline_temp (x int)",
                "ALTER TABLE documents ADD COLUMN x int", "DROP TABLE line_items", "TRUNCATE documents",
                "CREATE INDEX ON documents (bucket)", "DELETE FROM documents", "DELETE FROM document_events",
                "SELECT * FROM schema_migrations", "INSERT INTO schema_migrations (name) VALUES ('x')"):
        assert refused(pipeline, sql), sql


def test_every_table_is_granted_deliberately_and_no_role_has_powers(database_url: str) -> None:
    """A later migration's table is reachable by a function only through a GRANT of its own: this fails for a
    table that no role was granted (unless listed in NO_ROLE), so nobody adds one without deciding."""
    roles = sorted(manifest.database_roles().values())
    con = _connect(database_url)
    try:
        tables = {r[0] for r in con.run("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        granted = {r[0] for r in con.run("SELECT DISTINCT table_name FROM information_schema.role_table_grants"
                                         " WHERE table_schema = 'public' AND grantee = ANY(:r)", r=roles)}
        powers = con.run("SELECT rolname FROM pg_roles WHERE rolname = ANY(:r) AND (rolsuper OR rolcreaterole"
                         " OR rolcreatedb OR rolbypassrls OR rolreplication OR NOT rolcanlogin)", r=roles)
    finally:
        con.close()
    assert tables - NO_ROLE == granted, "tables without a GRANT to a function role (or granted on purpose)"
    assert not (granted & NO_ROLE)
    assert powers == []


def test_the_migrate_step_will_not_set_a_password_for_the_administrator(database_url: str) -> None:
    admin = connect_kwargs(database_url)["user"]
    with pytest.raises(dbroles.RoleRefused, match="powers beyond DML"):
        db.migrate({admin: "taken-over"})
    with pytest.raises(dbroles.RoleRefused, match="no database role"):
        db.migrate({"nobody_here": "x"})


def test_each_deployed_function_logs_in_as_its_role(stack: Any, database_url: str) -> None:
    """What Terraform configured, read back from the deployment: the migrate function alone has the
    administrator's URL; every other function that connects names its role, and Postgres agrees."""
    lam = stack.client("lambda")
    roles, admin = manifest.database_roles(), connect_kwargs(database_url)["user"]
    seen: dict[str, str] = {}
    for key, fn in manifest.functions().items():
        env = lam.get_function_configuration(FunctionName=stack.function_names[key])["Environment"]["Variables"]
        if fn.database_role is None:
            assert "DATABASE_URL" not in env and "DATABASE_SECRET_ARN" not in env, key
            continue
        url = env["DATABASE_URL"]
        expected = admin if fn.database_role == "migration" else roles[fn.database_role]
        assert urlsplit(url).username == expected, key
        if url not in seen:
            con = _connect(url)
            try:
                seen[url] = con.run("SELECT current_user")[0][0]
            finally:
                con.close()
        assert seen[url] == expected, key
    assert set(seen.values()) == {admin, *roles.values()}
