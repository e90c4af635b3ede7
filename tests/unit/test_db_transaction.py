"""db.transaction: a connection lost before, during or at the end of a transaction is DatabaseUnavailable (the
state machine retries it), never a raw driver error (which it does not retry: the document would fail for a
database outage); a statement Postgres refused propagates unchanged. Against a scripted connection; the real
outage is tests/integration/test_fault_matrix.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from invoice_pipeline.adapters import db
from invoice_pipeline.errors import DatabaseUnavailable
from pg8000.exceptions import DatabaseError, InterfaceError

UNIQUE_VIOLATION = DatabaseError({"S": "ERROR", "C": "23505", "M": "duplicate key value"})
ADMIN_SHUTDOWN = DatabaseError({"S": "FATAL", "C": "57P01", "M": "terminating connection due to administrator command"})


class ScriptedConnection:
    """Answers each statement from `failures` (statement -> exception to raise once) and records what ran."""

    def __init__(self, failures: dict[str, BaseException] | None = None) -> None:
        self.failures = dict(failures or {})
        self.ran: list[str] = []
        self.closed = False

    def run(self, sql: str, **params: Any) -> list[list[Any]]:
        self.ran.append(sql)
        failure = self.failures.pop(sql, None)
        if failure is not None:
            raise failure
        return [[1]]

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[ScriptedConnection]]:
    """The connections db will open, in order (a default one when the script runs out)."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@127.0.0.1:1/invoices")
    script: list[ScriptedConnection] = []

    def open_next() -> ScriptedConnection:
        return script.pop(0) if script else ScriptedConnection()

    db.close()
    monkeypatch.setattr(db, "_open", open_next)
    yield script
    db.close()


@pytest.mark.parametrize("lost", [InterfaceError("network error"), TimeoutError("timed out"),
                                  ConnectionResetError(104, "reset"), ADMIN_SHUTDOWN])
def test_a_connection_lost_inside_the_transaction_is_database_unavailable(opened: list[ScriptedConnection],
                                                                         lost: BaseException) -> None:
    first = ScriptedConnection({"INSERT": lost})
    opened.append(first)
    with pytest.raises(DatabaseUnavailable, match="nothing committed") as caught, db.transaction() as con:
        con.run("INSERT")
    assert caught.value.__cause__ is lost
    assert first.closed and "COMMIT" not in first.ran
    # The next transaction opens a new connection.
    with db.transaction() as con:
        assert con is not first


def test_a_refused_statement_propagates_and_keeps_the_connection(opened: list[ScriptedConnection]) -> None:
    first = ScriptedConnection({"INSERT": UNIQUE_VIOLATION})
    opened.append(first)
    with pytest.raises(DatabaseError) as caught, db.transaction() as con:
        con.run("INSERT")
    assert caught.value is UNIQUE_VIOLATION
    assert first.ran == ["START TRANSACTION", "INSERT", "ROLLBACK"] and not first.closed
    with db.transaction() as con:
        assert con is first


@pytest.mark.parametrize("stale", [InterfaceError("network error"), ADMIN_SHUTDOWN])
def test_a_connection_that_died_between_invocations_is_replaced_once(opened: list[ScriptedConnection],
                                                                    stale: BaseException) -> None:
    dead, fresh = ScriptedConnection({"START TRANSACTION": stale}), ScriptedConnection()
    opened += [dead, fresh]
    with db.transaction() as con:
        assert con is fresh
    assert dead.closed and fresh.ran == ["START TRANSACTION", "COMMIT"]


def test_still_down_after_reconnecting_is_database_unavailable(opened: list[ScriptedConnection]) -> None:
    opened += [ScriptedConnection({"START TRANSACTION": InterfaceError("network error")}),
               ScriptedConnection({"START TRANSACTION": InterfaceError("connection is closed")})]
    with pytest.raises(DatabaseUnavailable), db.transaction():
        pytest.fail("the block must not run")


def test_a_connection_lost_at_commit_is_database_unavailable(opened: list[ScriptedConnection]) -> None:
    opened.append(ScriptedConnection({"COMMIT": ADMIN_SHUTDOWN}))
    with pytest.raises(DatabaseUnavailable, match="commit failed"), db.transaction() as con:
        con.run("UPDATE")


def test_which_errors_mean_the_connection_is_lost() -> None:
    assert db.connection_lost(OSError("unreachable")) and db.connection_lost(TimeoutError())
    assert db.connection_lost(DatabaseError({"C": "08006", "M": "connection failure"}))
    assert db.connection_lost(DatabaseError({"C": "57P03", "M": "the database system is starting up"}))
    assert not db.connection_lost(UNIQUE_VIOLATION)
    assert not db.connection_lost(DatabaseError({"C": "57014", "M": "canceling statement due to statement timeout"}))
    assert not db.connection_lost(InterfaceError("identifier must be a str"))
    assert not db.connection_lost(ValueError("not a database error at all"))
