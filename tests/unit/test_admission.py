"""Admission control: the grant arithmetic (pure), the dispatch loop over fake slots and Step Functions, and
the handlers that queue, dispatch and wait out a start time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from invoice_pipeline import dispatch as dispatch_mod
from invoice_pipeline.domain.admission import Grant, Limits, plan
from invoice_pipeline.handlers import admit, start_analysis
from invoice_pipeline.handlers import dispatch as dispatch_handler
from invoice_pipeline.schemas import validate_definition

from tests.events import load_event
from tests.fakes import FakeDocuments, FakeSlots, FakeStepFunctions, FakeTaskTokens, FakeTextract, Journal, client_error

T0 = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
LIMITS = Limits(max_jobs=3, start_rate=4, lease_seconds=600)
WAITING = [(f"doc-{i}", f"token-{i}") for i in range(5)]


def test_grants_fill_free_slots_oldest_first_spaced_at_the_rate() -> None:
    grants, next_start = plan(now=T0, next_start_at=T0 - timedelta(hours=1), held=1, waiting=WAITING, limits=LIMITS)
    assert [g.document_id for g in grants] == ["doc-0", "doc-1"]  # 3 slots, 1 held
    assert [g.start_at for g in grants] == [T0, T0 + timedelta(seconds=0.25)]
    assert next_start == T0 + timedelta(seconds=0.5)
    assert all(g.expires_at == g.start_at + timedelta(seconds=600) for g in grants)


def test_the_clock_carries_the_rate_across_dispatches() -> None:
    later = T0 + timedelta(seconds=2)
    grants, _ = plan(now=T0, next_start_at=later, held=0, waiting=WAITING[:1], limits=LIMITS)
    assert grants[0].start_at == later  # an earlier dispatch already booked the next 2 s


@pytest.mark.parametrize("held", [3, 7])
def test_no_free_slot_no_grant_clock_unchanged(held: int) -> None:
    assert plan(now=T0, next_start_at=T0, held=held, waiting=WAITING, limits=LIMITS) == ([], T0)


def test_impossible_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        Limits(max_jobs=0, start_rate=1, lease_seconds=1)


def _grant(doc: str) -> Grant:
    return Grant(doc, f"token-{doc}", T0, T0 + timedelta(seconds=600))


def test_dispatch_answers_each_grant_with_its_start_time() -> None:
    journal = Journal()
    slots = FakeSlots(journal, grants=[[_grant("a"), _grant("b")]])
    out = dispatch_mod.dispatch(slots, FakeStepFunctions(journal), LIMITS)
    assert (out.granted, out.gone, out.requeued) == (2, 0, 0)
    sent = journal.of("sfn.send_task_success")
    assert [c["taskToken"] for c in sent] == ["token-a", "token-b"]
    slot = json.loads(sent[0]["output"])
    validate_definition("states", "slot", slot)
    assert slot["start_at"] == "2026-12-01T12:00:00Z"


@pytest.mark.parametrize("code", ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"])
def test_a_gone_execution_frees_its_slot_and_dispatch_goes_on(code: str) -> None:
    journal = Journal()
    slots = FakeSlots(journal, grants=[[_grant("a")], [_grant("b")]], held={"a"})
    sfn = FakeStepFunctions(journal, client_error(code, "SendTaskSuccess"))
    out = dispatch_mod.dispatch(slots, sfn, LIMITS)
    assert out.gone == 2 and journal.names().count("slots.reserve") == 3
    assert journal.of("slots.release")[0] == {"document_id": "a"}


def test_a_passing_error_puts_the_grant_back_in_the_queue() -> None:
    journal = Journal()
    slots = FakeSlots(journal, grants=[[_grant("a")]])
    out = dispatch_mod.dispatch(slots, FakeStepFunctions(journal, client_error("ThrottlingException", "x")), LIMITS)
    assert out.requeued == 1 and journal.of("slots.requeue") == [{"document_id": "a"}]
    assert journal.names().count("slots.reserve") == 1


def test_admit_queues_the_document_under_its_token_then_dispatches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTRACT_MAX_JOBS", "2")
    event = load_event("start_analysis_input", slot=None)
    event.pop("slot")
    validate_definition("states", "admit_input", event)
    journal = Journal()
    out = admit.handle(event, admit.Ports(slots=FakeSlots(journal), sfn=FakeStepFunctions(journal)))
    validate_definition("states", "admit_output", out)
    assert journal.names() == ["slots.enqueue", "slots.reserve"]
    assert journal.of("slots.enqueue")[0]["task_token"] == event["task_token"]


def test_dispatch_function_reports_the_queue() -> None:
    journal = Journal()
    out = dispatch_handler.handle({}, dispatch_handler.Ports(slots=FakeSlots(journal, held={"x"}),
                                                             sfn=FakeStepFunctions(journal)))
    assert out["waiting"] == 1 and journal.names() == ["slots.reserve", "slots.queue"]


def _start_ports(journal: Journal, now: datetime, slept: list[float]) -> start_analysis.Ports:
    return start_analysis.Ports(documents=FakeDocuments(journal), tokens=FakeTaskTokens(journal, {}),
                                textract=FakeTextract(journal), sleep=slept.append, now=lambda: now)


def test_start_analysis_waits_out_the_fraction_of_a_second_the_wait_state_truncated(
        monkeypatch: pytest.MonkeyPatch) -> None:
    event: dict[str, Any] = load_event("start_analysis_input")
    start = datetime.fromisoformat(event["slot"]["start_at_precise"])
    slept: list[float] = []
    start_analysis.handle(event, _start_ports(Journal(), start - timedelta(seconds=0.4), slept))
    assert slept == [pytest.approx(0.4)]
    slept.clear()
    start_analysis.handle(event, _start_ports(Journal(), start + timedelta(seconds=3), slept))
    assert slept == []
