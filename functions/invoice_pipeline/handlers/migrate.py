"""Migrate: apply pending SQL migrations, then set the functions' database roles' passwords from their secrets
(adapters/dbroles.py). Invoked once per deploy by Terraform (aws_lambda_invocation) and by local mode and
tests before anything else touches the database. Safe to run concurrently and repeatedly. The only function
that logs in as the master user. After the SQL, the data step SQL cannot do: the duplicate keys of invoices
stored before migration 0007 (adapters/duplicate_keys_backfill.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from invoice_pipeline.adapters import db, dbroles, duplicate_keys_backfill
from invoice_pipeline.observability import lambda_entry, logger
from invoice_pipeline.ports import Migrations


@dataclass(frozen=True)
class Ports:
    migrations: Migrations
    # User name -> password of each role whose secret the function was given (DATABASE_ROLE_SECRETS).
    logins: Callable[[], dict[str, str]] = dict
    # Data the SQL migrations could not write: how many invoices it gave keys to.
    backfill: Callable[[], int] = lambda: 0


PORTS = Ports(migrations=db, logins=dbroles.logins_from_secrets, backfill=duplicate_keys_backfill.backfill)


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    logins = ports.logins()
    applied = ports.migrations.migrate(logins)
    keyed = ports.backfill()
    logger.info("migrations applied", extra={"applied": applied, "logins": sorted(logins),
                                             "duplicate_keys_backfilled": keyed})
    return {"applied": applied, "available": [name for name, _ in ports.migrations.migration_files()],
            "logins": sorted(logins)}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
