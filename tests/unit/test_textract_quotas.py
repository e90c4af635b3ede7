"""Textract's quotas per region, the stand-in's per-second window and the measures taken from its call record."""

from __future__ import annotations

import pytest
from invoice_local.emulation.textract_calls import ACCEPTED, CallLog, SlidingWindow
from invoice_local.textract_quotas import DEFAULTS, Quotas


def test_defaults_are_us_east_1s_quotas() -> None:
    assert DEFAULTS == Quotas.for_region("us-east-1") == Quotas(start_tps=5, get_tps=5, max_jobs=600)
    assert Quotas.for_region("us-west-2").start_tps == 5
    assert Quotas.for_region("eu-central-1") == Quotas(start_tps=1, get_tps=1, max_jobs=100)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_a_quota_is_a_whole_number_of_at_least_one(bad: object) -> None:
    with pytest.raises(ValueError, match="start_tps"):
        Quotas(start_tps=bad, get_tps=1, max_jobs=1)  # type: ignore[arg-type]


def test_the_window_admits_limit_calls_in_any_second_and_counts_only_accepted_ones() -> None:
    window = SlidingWindow(limit=2)
    assert [window.admit(t) for t in (0.0, 0.1, 0.2, 0.9)] == [True, True, False, False]
    # 1.0: the call at 0.0 has left (now - 1, now]; the one at 0.1 has not; the refused ones never counted.
    assert [window.admit(t) for t in (1.0, 1.05, 1.1, 1.1)] == [True, False, True, False]


def record(log: CallLog, api: str, times: list[float], outcome: str = ACCEPTED) -> None:
    for t in times:
        log.record(api, outcome, None, t)


def test_max_rate_is_the_most_calls_in_any_half_open_window() -> None:
    log = CallLog()
    record(log, "Start", [0.0, 0.5, 0.99, 1.0, 1.49, 3.0])
    record(log, "Start", [0.6, 0.7], outcome="ProvisionedThroughputExceededException")
    record(log, "Get", [0.0, 0.01, 0.02, 0.03])

    assert log.max_rate("Start") == 4  # [0.5, 1.5): 0.5, 0.99, 1.0, 1.49 (1.0 is outside [0.0, 1.0))
    assert log.max_rate("Start", accepted_only=False) == 6  # [0.5, 1.5) with the two refused calls
    assert log.max_rate("Start", window=0.5) == 2
    assert log.max_rate("Get") == 4
    assert log.max_rate("Analyze") == 0


def test_refused_counts_by_api_and_code() -> None:
    log = CallLog()
    record(log, "Start", [0.0], outcome="LimitExceededException")
    record(log, "Start", [0.1, 0.2], outcome="ProvisionedThroughputExceededException")
    record(log, "Start", [0.3])
    record(log, "Get", [0.4], outcome="ThrottlingException")

    assert log.refused("Start") == 3
    assert log.refused("Start", "LimitExceededException") == 1
    assert log.refused() == 4
    assert log.refused("Get", "LimitExceededException") == 0


def test_max_concurrent_jobs_follows_starts_and_ends_in_order() -> None:
    log = CallLog()
    for step, job in (("start", "a"), ("start", "b"), ("end", "a"), ("start", "c"), ("start", "d"),
                      ("end", "b"), ("end", "c"), ("start", "e")):
        (log.job_started if step == "start" else log.job_ended)(job, 0.0)
    assert log.max_concurrent_jobs() == 3  # b, c, d
