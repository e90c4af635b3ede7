"""Migrate: apply pending SQL migrations. Invoked once per deploy by Terraform (aws_lambda_invocation) and
by local mode and tests before anything else touches the database. Safe to run concurrently and repeatedly."""

from __future__ import annotations

from typing import Any

from invoice_pipeline.adapters import db
from invoice_pipeline.observability import lambda_entry, logger


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    applied = db.migrate()
    logger.info("migrations applied", extra={"applied": applied})
    return {"applied": applied, "available": [name for name, _ in db.migration_files()]}
