"""Migrate: apply pending SQL migrations, then set the functions' database roles' passwords from their secrets
(adapters/dbroles.py). Invoked once per deploy by Terraform (aws_lambda_invocation) and by local mode and
tests before anything else touches the database. Safe to run concurrently and repeatedly. The only function
that logs in as the master user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from invoice_pipeline.adapters import db, dbroles
from invoice_pipeline.observability import lambda_entry, logger
from invoice_pipeline.ports import Migrations


@dataclass(frozen=True)
class Ports:
    migrations: Migrations
    # User name -> password of each role whose secret the function was given (DATABASE_ROLE_SECRETS).
    logins: Callable[[], dict[str, str]] = dict


PORTS = Ports(migrations=db, logins=dbroles.logins_from_secrets)


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    logins = ports.logins()
    applied = ports.migrations.migrate(logins)
    logger.info("migrations applied", extra={"applied": applied, "logins": sorted(logins)})
    return {"applied": applied, "available": [name for name, _ in ports.migrations.migration_files()],
            "logins": sorted(logins)}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
