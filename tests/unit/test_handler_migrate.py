"""Migrate: applies what is pending, sets the roles' passwords from their secrets, and reports both with every
migration available."""

from __future__ import annotations

from invoice_pipeline.handlers import migrate

from tests.events import load_event
from tests.fakes import FakeMigrations, Journal


def test_reports_applied_and_available_migrations() -> None:
    journal = Journal()
    migrations = FakeMigrations(journal, files=["0001_init.sql", "0002_more.sql"], applied=["0002_more.sql"])
    result = migrate.handle(load_event("migrate_input"),
                            migrate.Ports(migrations=migrations, logins=lambda: {"invoice_api": "pw"}))
    assert result == {"applied": ["0002_more.sql"], "available": ["0001_init.sql", "0002_more.sql"],
                      "logins": ["invoice_api"]}
    assert journal.names() == ["migrations.migrate", "migrations.migration_files"]
    assert journal[0].args == {"logins": {"invoice_api": "pw"}}
