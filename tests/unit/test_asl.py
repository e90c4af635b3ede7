"""The state machine definition: rendered as Terraform renders it, and checked against the rules of the
Amazon States Language independently of moto (which accepts some definitions AWS rejects). The backfill's
definition has its own tests (test_asl_backfill.py); the error names both retry are checked here."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from invoice_local import asl
from invoice_pipeline import errors

VALUES = {
    "register_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-register",
    "admit_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-admit",
    "start_analysis_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-start-analysis",
    "parse_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-parse",
    "validate_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-validate",
    "persist_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-persist",
    "read_einvoice_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-read-einvoice",
    "record_failure_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-record-failure",
    "textract_retry_interval_seconds": 5,
    "textract_retry_max_attempts": 6,
}

BACKFILL_VALUES = {
    "backfill_function_arn": "arn:aws:lambda:eu-west-1:111122223333:function:x-backfill",
    "backfill_max_concurrency": 7,
}

STATE_FIELDS = {
    "Task": {"Type", "Comment", "Resource", "Parameters", "ResultSelector", "ResultPath", "InputPath",
             "OutputPath", "Retry", "Catch", "Next", "End", "TimeoutSeconds", "TimeoutSecondsPath",
             "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"},
    "Choice": {"Type", "Comment", "Choices", "Default", "InputPath", "OutputPath"},
    "Succeed": {"Type", "Comment", "InputPath", "OutputPath"},
    "Fail": {"Type", "Comment", "Error", "ErrorPath", "Cause", "CausePath"},
    "Pass": {"Type", "Comment", "Result", "ResultPath", "Parameters", "InputPath", "OutputPath", "Next", "End"},
    # exactly one of Seconds, Timestamp, SecondsPath, TimestampPath (the ASL specification)
    "Wait": {"Type", "Comment", "Seconds", "Timestamp", "SecondsPath", "TimestampPath", "InputPath", "OutputPath",
             "Next", "End"},
}
RETRY_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds",
                "JitterStrategy"}


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(asl.render(VALUES))


def test_template_has_only_placeholders_no_account_region_or_arn() -> None:
    text = asl.TEMPLATE.read_text()
    without_service_integrations = text.replace("arn:aws:states:::lambda:invoke.waitForTaskToken", "")
    assert "arn:" not in without_service_integrations
    assert not re.search(r"\b\d{12}\b", text), "an account id literal"
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il)-[a-z]+-\d\b", text), "a region literal"


def test_every_placeholder_gets_a_value_and_every_value_is_used() -> None:
    assert asl.placeholders() == set(VALUES)
    with pytest.raises(ValueError, match="without value"):
        asl.render({k: v for k, v in VALUES.items() if k != "parse_function_arn"})
    with pytest.raises(ValueError, match="never used"):
        asl.render({**VALUES, "extra": 1})


def test_states_are_valid_asl(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert definition["StartAt"] in states
    for name, state in states.items():
        kind = state["Type"]
        assert kind in STATE_FIELDS, name
        assert set(state) <= STATE_FIELDS[kind], (name, set(state) - STATE_FIELDS[kind])
        if kind in ("Task", "Pass"):
            assert ("Next" in state) != bool(state.get("End")), f"{name}: exactly one of Next/End"
        if kind == "Fail":
            assert not ({"Error", "ErrorPath"} <= set(state)) and not ({"Cause", "CausePath"} <= set(state))
        for retry in state.get("Retry", []):
            assert set(retry) <= RETRY_FIELDS
            assert retry["MaxAttempts"] >= 0 and retry["IntervalSeconds"] >= 1 and retry["BackoffRate"] >= 1
            assert retry.get("JitterStrategy", "NONE") in ("FULL", "NONE")
        for key, value in state.get("Parameters", {}).items():
            _check_parameters(key, value)


def _check_parameters(key: str, value: Any) -> None:
    if key.endswith(".$"):
        assert isinstance(value, str) and value.startswith("$"), key
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_parameters(k, v)


def _targets(state: dict[str, Any]) -> list[str]:
    out = [state[k] for k in ("Next", "Default") if k in state]
    out += [c["Next"] for c in state.get("Choices", [])] + [c["Next"] for c in state.get("Catch", [])]
    return out


def test_every_state_is_reachable_and_every_target_exists(definition: dict[str, Any]) -> None:
    states = definition["States"]
    seen, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for target in _targets(states[name]):
            assert target in states, f"{name} -> {target}"
            todo.append(target)
    assert seen == set(states)


def test_every_task_catches_everything_into_record_failure_then_fail(definition: dict[str, Any]) -> None:
    states = definition["States"]
    for name, state in states.items():
        if state["Type"] != "Task":
            continue
        catch_all = [c for c in state["Catch"] if "States.ALL" in c["ErrorEquals"]]
        assert catch_all, name
        assert catch_all[-1] is state["Catch"][-1], f"{name}: States.ALL must be the last catcher"
        expected = "FailureNotRecorded" if name == "RecordFailure" else "RecordFailure"
        assert catch_all[0]["Next"] == expected
    assert states["RecordFailure"]["Next"] == "Failed"
    assert states["Failed"] == {**states["Failed"], "Type": "Fail", "ErrorPath": "$.failure.Error",
                                "CausePath": "$.failure.Cause"}


def test_callback_wait_has_a_timeout_and_textract_errors_are_retried(definition: dict[str, Any]) -> None:
    start = definition["States"]["StartAnalysis"]
    assert start["Resource"].endswith("lambda:invoke.waitForTaskToken")
    # Per document: Register grows the wait with the page count; the specification allows one of the two.
    assert start["TimeoutSecondsPath"] == "$.document.analysis_timeout_seconds" and "TimeoutSeconds" not in start
    assert start["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    retried = {e for r in start["Retry"] for e in r["ErrorEquals"]}
    assert {"TextractThrottled", "TextractUnavailable"} <= retried
    throttle = next(r for r in start["Retry"] if "TextractThrottled" in r["ErrorEquals"])
    assert throttle["BackoffRate"] > 1 and throttle["JitterStrategy"] == "FULL"


# An RDS Multi-AZ failover typically takes 60-120 s (the RDS user guide): documents that meet it must wait it out.
FAILOVER_SECONDS = 120


def _waits(retry: dict[str, Any], draw: random.Random) -> float:
    """One draw of the total time a retrier waits before giving up (full jitter: each wait uniform up to its
    cap), as Step Functions computes it."""
    total, interval = 0.0, float(retry["IntervalSeconds"])
    for _ in range(retry["MaxAttempts"]):
        cap = min(interval, retry.get("MaxDelaySeconds", interval))
        total += draw.uniform(0, cap) if retry.get("JitterStrategy") == "FULL" else cap
        interval *= retry["BackoffRate"]
    return total


def test_every_task_rides_out_a_database_failover(definition: dict[str, Any]) -> None:
    """Every function behind a Task uses Postgres. A document that meets an outage (DatabaseUnavailable) waits
    it out: with full jitter the total wait is random, and in 20,000 seeded draws fewer than 1 in 1,000 stay
    under a 2-minute failover (tests/integration/test_fault_matrix.py stops Postgres for 60 s). No single wait
    exceeds 30 s, so documents resume within 30 s of the database's return, spread out, not all at once."""
    retriers = {}
    for name, state in definition["States"].items():
        if state["Type"] == "Task":
            (retry,) = [r for r in state["Retry"] if "DatabaseUnavailable" in r["ErrorEquals"]]
            assert retry["JitterStrategy"] == "FULL" and retry["MaxDelaySeconds"] <= 30, name
            retriers[json.dumps(retry, sort_keys=True)] = name
    for policy, name in retriers.items():
        retry, draw = json.loads(policy), random.Random(9)
        short = sum(_waits(retry, draw) < FAILOVER_SECONDS for _ in range(20_000))
        assert short < 20, f"{name}: {short} in 20,000 retry sequences end within {FAILOVER_SECONDS} s"


def _all_states(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The states of a definition and of its Maps' item processors."""
    out = []
    for state in definition["States"].values():
        out.append(state)
        if "ItemProcessor" in state:
            out += _all_states(state["ItemProcessor"])
    return out


def test_retried_error_names_are_our_retryable_errors(definition: dict[str, Any]) -> None:
    """The ASLs (the pipeline's, the backfill's) retry errors by class name: each name must exist and be
    marked retryable, and every retryable error must be retried somewhere."""
    ours = {cls.__name__: cls for cls in errors.ALL_ERRORS}
    backfill = json.loads(asl.render(BACKFILL_VALUES, asl.BACKFILL_TEMPLATE))
    retried = {e for s in _all_states(definition) + _all_states(backfill) for r in s.get("Retry", [])
               for e in r["ErrorEquals"] if not e.startswith(("Lambda.", "States."))}
    for name in retried:
        assert name in ours and ours[name].retryable, name
    assert {n for n, c in ours.items() if c.retryable} <= retried


def _longest_wait_seconds(retry: dict[str, Any]) -> float:
    """The longest a retrier can keep a state retrying: the sum of its intervals, capped by MaxDelaySeconds
    (full jitter waits between 0 and that; half of it on average)."""
    total, interval = 0.0, float(retry["IntervalSeconds"])
    for _ in range(retry["MaxAttempts"]):
        total += min(interval, retry.get("MaxDelaySeconds", interval))
        interval *= retry.get("BackoffRate", 2.0)
    return total


def test_a_throttled_function_is_waited_for_not_failed(definition: dict[str, Any]) -> None:
    """Reserved concurrency bounds the Postgres connections, so in a burst the functions are throttled on
    purpose: every Lambda task retries Lambda.TooManyRequestsException on its own retrier (first, so no
    shorter one matches it), long enough that a document waits out a burst (on average over 45 minutes)
    instead of failing as the Lambda service errors' 8 attempts would make it."""
    for name, state in definition["States"].items():
        if state["Type"] != "Task":
            continue
        throttled = [r for r in state["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert len(throttled) == 1 and throttled[0]["ErrorEquals"] == ["Lambda.TooManyRequestsException"], name
        retry = throttled[0]
        assert retry["JitterStrategy"] == "FULL", name
        assert _longest_wait_seconds(retry) / 2 >= 45 * 60, name


def test_an_einvoice_skips_textract_and_joins_at_validate(definition: dict[str, Any]) -> None:
    """Register's action "einvoice" goes to ReadEInvoice, whose result takes Parse's place ($.parsed) before
    Validate; only its "ocr" answer (a PDF of an unsupported profile, by the deployment's setting) reaches
    Queue. No path from Register through ReadEInvoice to Validate passes a Textract state."""
    states = definition["States"]
    route = {c["StringEquals"]: c["Next"] for c in states["Route"]["Choices"] if c["Variable"] == "$.document.action"}
    assert route["einvoice"] == "ReadEInvoice"
    read = states["ReadEInvoice"]
    assert read["Resource"] == VALUES["read_einvoice_function_arn"]
    assert read["ResultPath"] == states["Parse"]["ResultPath"] == "$.parsed"
    assert read["Parameters"] == {"document.$": "$.document", "execution_arn.$": "$$.Execution.Id"}
    after = states[read["Next"]]
    assert after["Type"] == "Choice" and after["Default"] == "Validate"
    assert [(c["Variable"], c["StringEquals"], c["Next"]) for c in after["Choices"]] == [
        ("$.parsed.action", "ocr", "Queue")]
    # The same retriers and catcher as Validate, a Task of the same kind (Lambda, database).
    assert read["Retry"] == states["Validate"]["Retry"] and read["Catch"] == states["Validate"]["Catch"]
