"""What the Textract stand-in saw: every call with its time and outcome, and every job's time IN_PROGRESS;
and the per-second rate limit it enforces.

A test proves "the pipeline kept inside Textract's quotas" from this record, not from the wall time of the
test: `max_rate` is the most accepted calls in any window, `max_concurrent_jobs` the most jobs running at once,
`refused` how often the stand-in said no. Times come from the stand-in's clock (monotonic unless a test
supplies its own), the same clock the limits are enforced with, so the record and the enforcement agree."""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from dataclasses import dataclass

ACCEPTED = "accepted"


@dataclass(frozen=True)
class Call:
    api: str  # StartExpenseAnalysis | GetExpenseAnalysis | AnalyzeExpense
    outcome: str  # ACCEPTED, or the error code the caller received
    job_id: str | None  # the job started (Start) or asked about (Get)
    monotonic: float  # the stand-in's clock
    wall: float  # time.time(), to line a call up with log lines

    @property
    def accepted(self) -> bool:
        return self.outcome == ACCEPTED


class SlidingWindow:
    """At most `limit` accepted calls in any `window` seconds: a call is accepted only if fewer than `limit`
    were accepted in (now - window, now]. AWS does not publish its algorithm; this is the strictest reading of
    "N transactions per second" (a token bucket would let nearly 2N through across a window boundary), so
    whatever stays inside it stays inside Textract's. Refused calls do not count. Not locked: the caller
    holds the stand-in's lock."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        self.limit, self.window = limit, window
        self._accepted: deque[float] = deque()

    def admit(self, now: float) -> bool:
        while self._accepted and self._accepted[0] <= now - self.window:
            self._accepted.popleft()
        if len(self._accepted) >= self.limit:
            return False
        self._accepted.append(now)
        return True


class CallLog:
    """Thread-safe: calls arrive on the emulation server's request threads, job ends on the jobs' threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        # (time, +1 a job started | -1 a job left IN_PROGRESS, job id), in the order they happened
        self._job_events: list[tuple[float, int, str]] = []

    def record(self, api: str, outcome: str, job_id: str | None, at: float) -> Call:
        call = Call(api=api, outcome=outcome, job_id=job_id, monotonic=at, wall=time.time())
        with self._lock:
            self._calls.append(call)
        return call

    def job_started(self, job_id: str, at: float) -> None:
        with self._lock:
            self._job_events.append((at, 1, job_id))

    def job_ended(self, job_id: str, at: float) -> None:
        with self._lock:
            self._job_events.append((at, -1, job_id))

    def calls(self, api: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if api is None or c.api == api]

    def max_rate(self, api: str, window: float = 1.0, accepted_only: bool = True) -> int:
        """The most calls of `api` (accepted ones only, by default) within any `window` seconds."""
        times = sorted(c.monotonic for c in self.calls(api) if c.accepted or not accepted_only)
        best = 0
        for i, start in enumerate(times):
            # Half-open [start, start + window): the limiter's (now - window, now] seen from the other end.
            best = max(best, bisect.bisect_left(times, start + window, lo=i) - i)
        return best

    def refused(self, api: str | None = None, code: str | None = None) -> int:
        """How many calls (of `api`, with error `code`) were refused."""
        return sum(1 for c in self.calls(api) if not c.accepted and (code is None or c.outcome == code))

    def max_concurrent_jobs(self) -> int:
        """The most jobs IN_PROGRESS at any moment."""
        with self._lock:
            events = list(self._job_events)
        running = peak = 0
        for _at, step, _job_id in events:
            running += step
            peak = max(peak, running)
        return peak
