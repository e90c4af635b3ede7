"""Admission control's arithmetic: which waiting documents get a Textract slot now, and when each may call
StartExpenseAnalysis. Pure: adapters/slots.py runs it inside the transaction that holds the start-rate clock.

Textract enforces two quotas on asynchronous expense analysis: starts per second and jobs running at once.
A document holds a slot from its grant until Textract's completion reaches us (or it fails, or its lease
expires), which covers the job's whole run, so held slots bound Textract's running jobs. Grants get start
times spaced 1/rate apart; the state machine's Wait state holds each execution until its time, so starts
stay within the rate without any polling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Limits:
    max_jobs: int  # slots: Textract jobs running at once
    start_rate: float  # StartExpenseAnalysis calls a second
    lease_seconds: float  # a slot whose execution died without releasing it is reclaimed after this

    def __post_init__(self) -> None:
        if self.max_jobs < 1 or self.start_rate <= 0 or self.lease_seconds <= 0:
            raise ValueError(f"impossible admission limits: {self}")


@dataclass(frozen=True)
class Grant:
    document_id: str
    task_token: str
    start_at: datetime
    expires_at: datetime


def plan(*, now: datetime, next_start_at: datetime, held: int, waiting: list[tuple[str, str]],
         limits: Limits) -> tuple[list[Grant], datetime]:
    """Grants for the oldest `waiting` (document id, task token) pairs that fit in the free slots, and the
    clock's next start time after them."""
    free = max(0, limits.max_jobs - held)
    spacing = timedelta(seconds=1 / limits.start_rate)
    lease = timedelta(seconds=limits.lease_seconds)
    at = max(now, next_start_at)
    grants: list[Grant] = []
    for document_id, token in waiting[:free]:
        grants.append(Grant(document_id, token, at, at + lease))
        at += spacing
    return grants, (at if grants else next_start_at)
