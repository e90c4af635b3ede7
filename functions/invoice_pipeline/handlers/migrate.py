"""Migrate: apply pending SQL migrations. Invoked once per deploy by Terraform (aws_lambda_invocation) and
by local mode and tests before anything else touches the database. Safe to run concurrently and repeatedly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from invoice_pipeline.adapters import db
from invoice_pipeline.observability import lambda_entry, logger
from invoice_pipeline.ports import Migrations


@dataclass(frozen=True)
class Ports:
    migrations: Migrations


PORTS = Ports(migrations=db)


def handle(event: dict[str, Any], ports: Ports) -> dict[str, Any]:
    applied = ports.migrations.migrate()
    logger.info("migrations applied", extra={"applied": applied})
    return {"applied": applied, "available": [name for name, _ in ports.migrations.migration_files()]}


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, PORTS)
