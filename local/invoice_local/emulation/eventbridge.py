"""EventBridge rule targets that moto drops: state machines and Lambda functions.

moto delivers S3 "Object Created" events to rules, but `Rule.send_to_targets` only knows log groups, SQS,
archives and event buses (anything else raises, and S3 swallows the error). We deliver state machine
targets with StartExecution (a unique name each time, as EventBridge does) and Lambda targets with an
asynchronous invoke, and hand every other target to moto. moto also stamps every event with one fixed id and
a numeric time; AWS sends a unique id and an ISO 8601 time, so we do too. moto's own targets get the unique id
but keep the numeric time: its SQS and log group paths format the time themselves and fail (silently, under
S3) on a string.

moto stores a rule's ScheduleExpression but never fires it. A scheduler thread (started with the server) fires
every ENABLED rule with a `rate(N minute|minutes|hour|hours|day|days)` expression once per period, counted
from when it first sees the rule (as a rate schedule counts from the rule's creation), with AWS's "Scheduled
Event" (source aws.events, resources [rule ARN], detail {}) through the same delivery as any other event. A
rule without an event pattern gets no events from its bus (moto's empty pattern would match them all).
`cron(...)` expressions are not emulated (a correct AWS cron, with its ? L W # fields and UTC calendar, is
more than local mode needs): the scheduler says so once per rule in the log. Local mode and tests run the
clock faster with `configure()`, and `fire_scheduled()` fires a rule's schedule at once."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from moto.events.models import Rule, events_backends
from moto.events.utils import _BASE_EVENT_MESSAGE
from moto.utilities.arns import parse_arn

from invoice_local.emulation.background import BackgroundLoop

_lock = threading.Lock()
_original: Any = None
deliveries: list[dict[str, Any]] = []  # what was delivered where, for tests
log = logging.getLogger(__name__)


def _realistic(event: dict[str, Any]) -> dict[str, Any]:
    event = dict(event)
    if event.get("id") == _BASE_EVENT_MESSAGE["id"]:
        event["id"] = str(uuid.uuid4())
    if isinstance(event.get("time"), (int, float)):
        event["time"] = datetime.fromtimestamp(event["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event.pop("ingestion-time", None)  # moto's bookkeeping for its input transformer; AWS sends no such key
    return event


def _deliver(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
    arn = parse_arn(target["Arn"])
    payload = target.get("Input") or json.dumps(event)
    if arn.service == "states":
        from moto.stepfunctions.responses import get_backend

        execution = get_backend(arn.account, arn.region).start_execution(
            state_machine_arn=target["Arn"], name=str(uuid.uuid4()), execution_input=payload,
        )
        deliveries.append({"rule": rule.name, "target": target["Arn"], "execution_arn": execution.execution_arn})
    else:
        from moto.awslambda.utils import get_backend as lambda_backend

        lambda_backend(arn.account, arn.region).invoke(
            function_name=target["Arn"], qualifier=None, body=payload,
            headers={"x-amz-invocation-type": "Event"}, response_headers={},
        )
        deliveries.append({"rule": rule.name, "target": target["Arn"]})


def send_to_targets(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
    """An event put on the rule's bus. A rule without an event pattern (a schedule) matches none, as in
    EventBridge: moto's empty pattern matches every event, which would invoke a scheduled function once per
    upload. Only its schedule fires it (_deliver_all)."""
    pattern = self.event_pattern
    if not pattern.get_pattern() or not pattern.matches_event(original_event):  # type: ignore[arg-type]
        return
    _deliver_all(self, original_event, transform_input)


def _deliver_all(self: Rule, original_event: dict[str, Any], transform_input: bool = True) -> None:
    event = _realistic(original_event)
    ours = [t for t in self.targets if parse_arn(t["Arn"]).service in ("states", "lambda")]
    for target in ours:
        _deliver(self, target, event)
    theirs = [t for t in self.targets if t not in ours]
    if theirs:
        with _lock:  # moto's method reads self.targets: show it only the targets it supports
            saved = self.targets
            self.targets = theirs
            try:
                _original(self, {**original_event, "id": event["id"]}, transform_input)
            finally:
                self.targets = saved


def install() -> None:
    global _original
    if getattr(Rule.send_to_targets, "__name__", "") == send_to_targets.__name__ and _original is not None:
        return
    _original = Rule.send_to_targets
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]


# --- scheduled rules -------------------------------------------------------------------------------------------

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_clock: dict[str, float | None] = {"speedup": 1.0, "period_override": None}
_scheduler = BackgroundLoop("eventbridge-scheduler", lambda: _run_scheduler())
_scheduler_stop = _scheduler.stopping


def configure(*, schedule_speedup: float = 1.0, schedule_period_override_seconds: float | None = None) -> None:
    """Run rate schedules faster: every period divided by `schedule_speedup` (60: rate(1 minute) fires every
    second), or every rate rule firing every `schedule_period_override_seconds`. No arguments: AWS's clock."""
    if schedule_speedup <= 0 or (schedule_period_override_seconds is not None
                                 and schedule_period_override_seconds <= 0):
        raise ValueError("schedule_speedup and schedule_period_override_seconds must be positive")
    _clock.update(speedup=schedule_speedup, period_override=schedule_period_override_seconds)


def rate_seconds(expression: str) -> int | None:
    """A rate expression's period in seconds; None for anything else (cron)."""
    match = _RATE.match(expression.strip())
    return int(match[1]) * _UNIT_SECONDS[match[2].rstrip("s")] if match else None


def _period(expression: str) -> float | None:
    seconds = rate_seconds(expression)
    if seconds is None:
        return None
    return _clock["period_override"] or seconds / float(_clock["speedup"] or 1.0)


class Schedule:
    """When each rate rule is due, by rule ARN. A rule is first due one period after it is first seen; a
    changed expression or clock starts its count again; a late tick fires once, not once per missed period."""

    def __init__(self) -> None:
        self._next: dict[str, tuple[str, float, float]] = {}  # ARN -> (expression, period, due)

    def due(self, rules: Iterable[tuple[str, str]], now: float) -> list[str]:
        """ARNs of the (ARN, expression) pairs to fire at `now`; pairs left out are forgotten."""
        firing, seen = [], set()
        for arn, expression in rules:
            period = _period(expression)
            if period is None:
                continue
            seen.add(arn)
            known = self._next.get(arn)
            if known is None or known[:2] != (expression, period):
                self._next[arn] = (expression, period, now + period)
            elif now >= known[2]:
                firing.append(arn)
                following = known[2] + period
                self._next[arn] = (expression, period, following if following > now else now + period)
        for arn in set(self._next) - seen:
            del self._next[arn]
        return firing

    def shortest_period(self) -> float | None:
        return min((period for _, period, _ in self._next.values()), default=None)


def _scheduled_rules(enabled_only: bool = True) -> Iterator[Rule]:
    """Every rule with a ScheduleExpression, looked up afresh (a snapshot restore replaces them all)."""
    for _account, per_account in list(dict.items(events_backends)):
        for _region, backend in list(dict.items(per_account)):
            bus = backend.event_buses.get("default")  # the only bus that takes schedules
            for rule in list(bus.rules.values()) if bus else ():
                if rule.scheduled_expression and (rule.state == "ENABLED" or not enabled_only):
                    yield rule


def _scheduled_event(rule: Rule) -> dict[str, Any]:
    now = time.time()
    # moto's shape (numeric time, ingestion-time): send_to_targets makes it AWS's for our targets.
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": rule.account_id, "time": now, "region": rule.region_name, "resources": [rule.arn],
            "detail": {}, "ingestion-time": now}


def fire_scheduled(rule_name: str, *, account_id: str | None = None, region: str | None = None) -> dict[str, Any]:
    """Fire a scheduled rule now, as its schedule would, and return the event sent. Delivery runs on the
    caller's thread (a Lambda target has run when this returns). A cron rule fires too; a disabled one not."""
    rules = [r for r in _scheduled_rules(enabled_only=False) if r.name == rule_name
             and account_id in (None, r.account_id) and region in (None, r.region_name)]
    if len(rules) != 1:
        raise LookupError(f"{len(rules)} scheduled rules named {rule_name!r}: give account_id and region")
    rule = rules[0]
    if rule.state != "ENABLED":
        raise ValueError(f"rule {rule_name!r} is {rule.state}: a disabled rule does not fire")
    event = _scheduled_event(rule)
    _deliver_all(rule, event)
    return _realistic(event)


def _fire_quietly(rule: Rule) -> None:
    try:
        _deliver_all(rule, _scheduled_event(rule))
    except Exception:  # noqa: BLE001 - one rule's failed delivery must not stop the schedule
        log.exception("scheduled rule %s: delivery failed", rule.arn)


def _run_scheduler() -> None:
    schedule = Schedule()
    told_cron: set[str] = set()
    while True:
        try:
            rules = {rule.arn: rule for rule in _scheduled_rules()}
            for arn in schedule.due(((arn, str(r.scheduled_expression)) for arn, r in rules.items()),
                                    time.monotonic()):
                # A Lambda target is invoked asynchronously in AWS: a slow one must not hold up the others.
                threading.Thread(target=_fire_quietly, args=(rules[arn],), daemon=True,
                                 name=f"eventbridge-schedule-{rules[arn].name}").start()
            for arn, rule in rules.items():
                if arn not in told_cron and rate_seconds(str(rule.scheduled_expression)) is None:
                    told_cron.add(arn)
                    log.info("scheduled rule %s: %s is not emulated (only rate expressions fire by themselves);"
                             " eventbridge.fire_scheduled fires it", arn, rule.scheduled_expression)
        except Exception:  # noqa: BLE001 - e.g. a backend's dict changed while we read it: look again next tick
            log.debug("scheduled rules: scan failed", exc_info=True)
        shortest = schedule.shortest_period()
        if _scheduler_stop.wait(min(0.5, max(0.02, shortest / 4)) if shortest else 0.5):
            return


def start_scheduler() -> None:
    """Fire scheduled rules from a daemon thread until `stop_scheduler()` (idempotent)."""
    _scheduler.start()


def stop_scheduler(timeout: float = 5.0) -> None:
    _scheduler.stop(timeout)
