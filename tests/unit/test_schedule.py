"""When the emulation fires a scheduled EventBridge rule (emulation/eventbridge.py Schedule), on a clock the
test drives: no sleeping."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from invoice_local.emulation import eventbridge
from invoice_local.emulation.eventbridge import Schedule, rate_seconds

RULE = "arn:aws:events:eu-west-1:123456789012:rule/dispatch"


@pytest.fixture(autouse=True)
def aws_clock() -> Iterator[None]:
    eventbridge.configure()
    yield
    eventbridge.configure()


@pytest.mark.parametrize(("expression", "seconds"), [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 hours)", 7200),
    ("rate(1 day)", 86400), ("rate(7 days)", 604800), ("cron(0 2 * * ? *)", None), ("rate(1 second)", None)])
def test_rate_expressions(expression: str, seconds: int | None) -> None:
    assert rate_seconds(expression) == seconds


def test_a_rule_fires_once_per_period_counted_from_when_it_is_first_seen() -> None:
    schedule = Schedule()
    rules = [(RULE, "rate(1 minute)")]
    assert schedule.due(rules, 1000.0) == []
    assert schedule.due(rules, 1059.9) == []
    assert schedule.due(rules, 1060.0) == [RULE]
    assert schedule.due(rules, 1061.0) == []
    assert schedule.due(rules, 1120.0) == [RULE]


def test_a_late_tick_fires_once_not_once_per_missed_period() -> None:
    schedule = Schedule()
    rules = [(RULE, "rate(1 minute)")]
    schedule.due(rules, 0.0)
    assert schedule.due(rules, 600.0) == [RULE]
    assert schedule.due(rules, 601.0) == []


def test_a_rule_left_out_is_forgotten_and_counts_again_when_it_returns() -> None:
    schedule = Schedule()
    schedule.due([(RULE, "rate(1 minute)")], 0.0)
    assert schedule.due([], 30.0) == []  # disabled or deleted
    assert schedule.due([(RULE, "rate(1 minute)")], 60.0) == []
    assert schedule.due([(RULE, "rate(1 minute)")], 120.0) == [RULE]


def test_a_changed_expression_starts_the_count_again() -> None:
    schedule = Schedule()
    schedule.due([(RULE, "rate(1 minute)")], 0.0)
    assert schedule.due([(RULE, "rate(5 minutes)")], 60.0) == []
    assert schedule.due([(RULE, "rate(5 minutes)")], 360.0) == [RULE]


def test_cron_rules_are_not_scheduled() -> None:
    schedule = Schedule()
    rules = [(RULE, "cron(* * * * ? *)")]
    assert schedule.due(rules, 0.0) == [] and schedule.due(rules, 10**6) == []
    assert schedule.shortest_period() is None


def test_the_fast_clock_divides_every_period() -> None:
    eventbridge.configure(schedule_speedup=60)
    schedule = Schedule()
    rules = [(RULE, "rate(1 minute)")]
    schedule.due(rules, 0.0)
    assert schedule.due(rules, 1.0) == [RULE]
    assert schedule.shortest_period() == 1.0


def test_a_period_override_applies_to_every_rate_rule_and_restarts_counts() -> None:
    schedule = Schedule()
    rules = [(RULE, "rate(1 day)")]
    schedule.due(rules, 0.0)
    eventbridge.configure(schedule_period_override_seconds=0.5)
    assert schedule.due(rules, 0.1) == []  # the clock changed: count from now
    assert schedule.due(rules, 0.6) == [RULE]


def test_configure_refuses_a_clock_that_never_ticks() -> None:
    with pytest.raises(ValueError):
        eventbridge.configure(schedule_speedup=0)
    with pytest.raises(ValueError):
        eventbridge.configure(schedule_period_override_seconds=-1)
