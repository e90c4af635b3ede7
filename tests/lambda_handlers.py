"""Handlers for tests/integration/test_lambda_environments.py, deployed as a one-file code package (this file,
as `lambda_handlers.py`) into the emulation. Each runs in a worker process of its own, so they coordinate
with the test through files: a gate to wait for, and a rendezvous folder where concurrent invocations meet.
Every wait is bounded, so a broken emulation fails the test instead of hanging it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

WAIT_SECONDS = 60.0
calls = 0  # module state: one counter per execution environment


def _wait_for(condition: Any) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _meet(folder: str, expected: int, note: str) -> list[str]:
    """Leave a marker (holding `note`) in `folder` and wait until `expected` markers are there: every
    invocation that returns from here overlapped with all the others."""
    here = Path(folder)
    (here / f"{os.getpid()}.marker").write_text(note)
    _wait_for(lambda: len(list(here.glob("*.marker"))) >= expected)
    return [p.read_text() for p in sorted(here.glob("*.marker"))]


def identify(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Who ran this: the process, its count of calls, its environment; optionally after a rendezvous or a
    gate."""
    global calls
    calls += 1
    met = _meet(event["meet"], int(event["expected"]), str(os.getpid())) if event.get("meet") else []
    if event.get("gate"):
        _wait_for(Path(event["gate"]).exists)
    return {"pid": os.getpid(), "calls": calls, "met": len(met), "function": context.function_name,
            "memory": context.memory_limit_in_mb, "remaining_ms": context.get_remaining_time_in_millis(),
            "env": {k: os.environ.get(k) for k in ("COLOUR", "AWS_LAMBDA_FUNCTION_NAME",
                                                    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_REGION",
                                                    "AWS_ENDPOINT_URL")}}


def hang(event: dict[str, Any], context: Any) -> None:
    time.sleep(3600)


def fail(event: dict[str, Any], context: Any) -> None:
    raise ValueError("asked to fail")


def database(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The pipeline's own database adapter (one connection per process, opened on first use): which backend
    this environment holds, and how many of the concurrent invocations' backends Postgres shows at once."""
    from invoice_pipeline.adapters import db

    backend = int(db.connection().run("SELECT pg_backend_pid()")[0][0])
    if not event.get("meet"):
        return {"pid": os.getpid(), "backend": backend}
    backends = [int(b) for b in _meet(event["meet"], int(event["expected"]), str(backend))]
    with db.transaction() as con:
        con.run("SELECT pg_sleep(0.05)")  # a query of its own while the others hold theirs
        seen = con.run("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(CAST(:pids AS int[])) "
                       "AND application_name = 'invoice-pipeline'", pids=backends)[0][0]
    return {"pid": os.getpid(), "backend": backend, "backends_seen": int(seen)}


def logged(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from invoice_pipeline.observability import lambda_entry, logger

    @lambda_entry
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.info("worker says hello", extra={"pid": os.getpid()})
        return {"pid": os.getpid()}

    return run(event, context)
