"""Postgres connection (pg8000), transactions and migrations.

One connection per process, opened on first use and reused across warm invocations (a Lambda process runs
one invocation at a time); a broken connection is dropped and reopened once. Local mode runs each invocation
in a worker process of its own too (the emulation's execution environments), so the lock only matters where
several threads of one process use it: the local CLI, tests under moto's decorator, migrations. Credentials
come from DATABASE_URL (local mode, tests) or from a Secrets Manager secret (AWS), never from code; either
names the function's own database role (functions/manifest.json database_role; the master user only for the
migrate function). On the AWS path the server's certificate and host name are always verified
(adapters/dbtls.py)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoice_pipeline import config
from invoice_pipeline.adapters import aws, dbroles
from invoice_pipeline.adapters.dbtls import packaged_bundle, rejected, verified_context
from invoice_pipeline.adapters.dburl import connect_kwargs
from invoice_pipeline.errors import DatabaseUnavailable
from invoice_pipeline.tracing import traced_connection

# pg8000 (with scramp and asn1crypto, about a third of `import boto3`) is imported by the first connection, not
# with this module: importing a handler, a Lambda's init, stays short (docs/performance.md). `Connection`,
# `DatabaseError` and `InterfaceError` are still attributes of this module (`__getattr__` below).
if TYPE_CHECKING:
    from pg8000.native import Connection

# Every session the functions open carries this name (pg_stat_activity.application_name): what tells the
# pipeline's connections from people's and tools' (bench and tests count them against the connection budget).
APPLICATION_NAME = "invoice-pipeline"
# The connection is gone or unusable, as opposed to a statement Postgres refused: pg8000's network errors, a
# socket timeout (OSError), and the SQLSTATEs of a lost or ending session (class 08; 57P01-57P03: the server is
# shutting down, crashed, or not accepting connections yet). Postgres rolls back whatever a lost session had
# begun, so the work can run again once the database is back: DatabaseUnavailable, which the state machine
# retries for as long as an RDS failover lasts.
_LOST_MESSAGES = ("network error", "communication error", "connection is closed")
_LOST_SQLSTATES = ("57P01", "57P02", "57P03")


def driver_errors() -> tuple[type[BaseException], ...]:
    """What a call to Postgres may raise: pg8000's InterfaceError and DatabaseError, and OSError (socket)."""
    from pg8000.exceptions import DatabaseError, InterfaceError

    return (InterfaceError, DatabaseError, OSError)


def database_error() -> type[Exception]:
    """pg8000's DatabaseError: a statement Postgres refused."""
    from pg8000.exceptions import DatabaseError

    return DatabaseError


def __getattr__(name: str) -> Any:
    if name == "Connection":
        from pg8000.native import Connection

        return Connection
    if name in ("DatabaseError", "InterfaceError"):
        from pg8000 import exceptions

        return getattr(exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def connection_lost(exc: BaseException) -> bool:
    from pg8000.exceptions import DatabaseError, InterfaceError

    if isinstance(exc, OSError):
        return True
    if isinstance(exc, InterfaceError):
        return any(m in str(exc) for m in _LOST_MESSAGES)
    if isinstance(exc, DatabaseError):
        info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        code = str(info.get("C", ""))
        return code.startswith("08") or code in _LOST_SQLSTATES
    return False


_lock = threading.RLock()
_con: Connection | None = None
_con_source: tuple[str | None, str | None] = (None, None)  # what _con was opened from


def _secret_kwargs(secret_arn: str, cafile: Path | None = None) -> dict[str, Any]:
    """Connection settings from the secret, with TLS verified against `cafile` (the packaged RDS CA bundle
    unless a test names another)."""
    context = verified_context(cafile or packaged_bundle())
    raw = aws.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    secret = json.loads(raw)
    return {
        "user": secret["username"],
        "password": secret["password"],
        "host": secret["host"],
        "port": int(secret.get("port", 5432)),
        "database": secret.get("dbname", "postgres"),
        "ssl_context": context,
    }


def _open() -> Connection:
    settings = config.settings()
    if settings.database_url:
        kwargs = connect_kwargs(settings.database_url)
    elif settings.database_secret_arn:
        kwargs = _secret_kwargs(settings.database_secret_arn)
    else:
        raise DatabaseUnavailable("neither DATABASE_URL nor DATABASE_SECRET_ARN is set")
    from pg8000.native import Connection

    try:
        con = Connection(timeout=30, application_name=APPLICATION_NAME, **kwargs)
    except driver_errors() as exc:
        raise DatabaseUnavailable(f"cannot connect to Postgres: {rejected(exc) or exc}") from exc
    # Where tracing is on, each statement is an X-Ray subsegment (invoice_pipeline.tracing).
    return traced_connection(con, str(kwargs.get("database")), str(kwargs.get("host") or "localhost"),
                             str(kwargs.get("user")))


def connection() -> Connection:
    global _con, _con_source
    with _lock:
        settings = config.settings()
        source = (settings.database_url, settings.database_secret_arn)
        if _con is not None and source != _con_source:
            close()  # local mode and tests may point the process at another database
        if _con is None:
            _con = _open()
            _con_source = source
        return _con


def close() -> None:
    global _con
    with _lock:
        con, _con = _con, None
    if con is not None:
        # closing a dead socket may fail; it is gone either way
        with contextlib.suppress(Exception):
            con.close()


@contextmanager
def transaction() -> Iterator[Connection]:
    """BEGIN ... COMMIT on the process connection; ROLLBACK on any error. A connection that died since the
    last invocation is replaced once before anything is written; one lost in the middle of the transaction
    (the server went down, a socket timeout) raises DatabaseUnavailable: nothing was committed."""
    with _lock:
        con = connection()
        try:
            con.run("START TRANSACTION")
        except driver_errors() as exc:
            if not connection_lost(exc):
                raise
            close()
            con = connection()
            try:
                con.run("START TRANSACTION")
            except driver_errors() as exc:
                close()
                if not connection_lost(exc):
                    raise
                raise DatabaseUnavailable(f"Postgres connection lost: {exc}") from exc
        try:
            yield con
        except BaseException as exc:
            try:
                con.run("ROLLBACK")
            except driver_errors():
                close()
            if connection_lost(exc):
                close()
                raise DatabaseUnavailable(f"Postgres connection lost in a transaction (nothing committed): "
                                          f"{type(exc).__name__}: {exc}") from exc
            raise
        try:
            con.run("COMMIT")
        except driver_errors() as exc:
            if not connection_lost(exc):
                raise
            close()
            raise DatabaseUnavailable(f"commit failed, connection lost: {exc}") from exc


def rows(con: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Run a parameterized query and return rows as dicts keyed by column name."""
    result = con.run(sql, **params)
    if not con.columns:
        return []
    names = [c["name"] for c in con.columns]
    return [dict(zip(names, row, strict=True)) for row in result or []]


# --- migrations ---------------------------------------------------------------------------------------
_MIGRATION_LOCK = 726_354_1  # pg_advisory_xact_lock key: concurrent migrate calls apply each file once


def migration_files() -> list[tuple[str, str]]:
    folder = resources.files("invoice_pipeline.adapters") / "migrations"
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
    return [(p.name, p.read_text(encoding="utf-8")) for p in files]


def migrate(logins: Mapping[str, str] | None = None) -> list[str]:
    """Apply pending migrations in order, each in the same transaction as its bookkeeping row; then, in that
    transaction too, give the functions' roles the passwords `logins` holds (user name -> password,
    adapters/dbroles.py)."""
    applied_now: list[str] = []
    with transaction() as con:
        con.run("SELECT pg_advisory_xact_lock(:k)", k=_MIGRATION_LOCK)
        con.run(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r[0] for r in con.run("SELECT name FROM schema_migrations")}
        for name, sql in migration_files():
            if name in done:
                continue
            con.execute_simple(sql)
            con.run("INSERT INTO schema_migrations (name) VALUES (:n)", n=name)
            applied_now.append(name)
        dbroles.set_logins(con, logins or {})
    return applied_now
