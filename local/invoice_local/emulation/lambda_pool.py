"""Lambda's execution environments and concurrency quotas, for the worker processes of lambda_process.py.

Each concurrent invocation of a function runs in an environment of its own. An idle environment of the same
function version and configuration (lambda_spec.FunctionSpec) takes the next invocation (warm); otherwise a
new one starts (cold). Environments of an older configuration are retired, as are those idle longer than
`idle_seconds`, and on `reset()` all of them but the idle ones it is told to keep.

Kept across a restored snapshot (lambda_runner.restored, which snapshot.loads calls; the tests restore the
deployment before each test, local mode at start): an idle environment whose function the restored state
holds with the same FunctionSpec (version, ARN, handler, runtime, memory, timeout, code sha256, variables),
started under the same settings (which code comes first, the endpoint, the log file). Lambda keeps an
environment for as long as its function version is unchanged, and restoring the same deployment changes
nothing Lambda would see, so the next invocation is warm there as it would be in AWS. What such an
environment carries is what a warm one carries in AWS: its imported modules, SDK clients (pointed at the
same endpoint, holding no service state), its Postgres connection (to the same database; one that died in
between is reopened on first use, as after an outage), and what a handler keeps at module scope (the
pipeline's: the intake's pacer, the time of its last start; settings are read per call, and Powertools'
logger, metrics and tracer state is per invocation). A function created or changed after the restore is
not the restored one and never meets an environment of an earlier state. Busy environments are killed
(their invocations belonged to the state that was replaced), as are asynchronous events still waiting.

Concurrency is what Lambda counts: invocations in flight. A function with reserved concurrency may have that
many; the others share the account limit minus every reservation. Over the limit, a synchronous invocation is
refused (`Throttled`, which the runner turns into AWS's 429); an asynchronous one waits for a free slot, as
Lambda's internal queue keeps retrying it (for up to six hours, `async_max_wait_seconds`).

What CloudWatch would show is recorded: `AWS/Lambda` metrics in the emulation's CloudWatch
(ConcurrentExecutions per function and for the account, Invocations, Errors, Throttles, Duration), and
`stats()` with current and peak environments, cold starts, throttles and per-invocation billed durations."""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from invoice_local import lambda_limits
from invoice_local.emulation.lambda_process import Outcome, WorkerProcess, runtime_failure
from invoice_local.emulation.lambda_spec import FunctionSpec, code_dir, sys_path

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
# Lambda lets an environment's INIT phase run this long before it gives up (or the timeout, if longer).
INIT_SECONDS = 10.0


class Throttled(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Superseded(Exception):
    """The emulation was reset while an asynchronous event waited: the state it belonged to is gone."""


@dataclass
class Settings:
    account_concurrency: int = lambda_limits.ACCOUNT_CONCURRENCY
    # What PutFunctionConcurrency must leave unreserved (or the whole limit, if lower: "...below its minimum
    # value of [10]" on an account whose limit is 10).
    unreserved_minimum: int = lambda_limits.UNRESERVED_MINIMUM
    idle_seconds: float = 600.0
    async_max_wait_seconds: float = 6 * 3600.0
    code: str = "repo"  # or "deployed": see lambda_spec
    endpoint: str | None = None  # the emulation's URL, for the workers' SDK; None: no workers can run
    log_file: Callable[[str], Path | None] = lambda _name: None


@dataclass
class FunctionStats:
    memory_mb: int = 0
    environments: int = 0  # live now, busy or idle
    peak_environments: int = 0
    concurrent: int = 0  # invocations in flight now: CloudWatch's ConcurrentExecutions
    peak: int = 0
    invocations: int = 0
    cold_starts: int = 0
    throttles: int = 0
    errors: int = 0
    timeouts: int = 0
    init_ms: list[float] = field(default_factory=list)
    durations_ms: list[float] = field(default_factory=list)
    billed_ms: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("init_ms", "durations_ms", "billed_ms"):
            out[name] = list(out[name])
        out["gb_seconds"] = sum(self.billed_ms) / 1000 * self.memory_mb / 1024
        return out


@dataclass(eq=False)  # identity: environments are kept in sets
class Environment:
    spec: FunctionSpec
    process: WorkerProcess
    log_stream: str
    generation: int
    origin: tuple[Any, ...] = ()  # the settings it started under besides its spec (Pool._origin)
    last_used: float = 0.0


@dataclass(frozen=True)
class Invocation:
    outcome: Outcome
    request_id: str
    pid: int | None
    cold: bool
    init_ms: float | None
    billed_ms: int  # rounded up to the millisecond, as Lambda bills; INIT included (billed since Aug 2025)
    memory_mb: int


def reservations(account: str, region: str) -> dict[str, int]:
    """Reserved concurrency per function, as PutFunctionConcurrency (Terraform's
    reserved_concurrent_executions) left it in moto."""
    from moto.awslambda.models import lambda_backends

    found: dict[str, int] = {}
    for fn in lambda_backends[account][region].list_functions():
        if fn.reserved_concurrency is not None and str(fn.reserved_concurrency) != "":
            found[fn.function_name] = int(fn.reserved_concurrency)
    return found


def refuse_reservation(settings: Settings, account: str, region: str, function_name: str, value: int) -> str | None:
    """Why PutFunctionConcurrency of `value` for `function_name` is refused, as Lambda words it, or None."""
    others = sum(n for name, n in reservations(account, region).items() if name != function_name)
    minimum = min(settings.unreserved_minimum, settings.account_concurrency)
    if settings.account_concurrency - others - value < minimum:
        return ("Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}].")
    return None


def _publish(spec: FunctionSpec, points: list[tuple[str, float, str, bool]]) -> None:
    """(metric, value, unit, per function?) into the emulation's CloudWatch, namespace AWS/Lambda."""
    from moto.cloudwatch.models import cloudwatch_backends

    dims = [{"Name": "FunctionName", "Value": spec.name}]
    data = [{"MetricName": name, "Value": value, "Unit": unit, "Dimensions": dims if per_function else []}
            for name, value, unit, per_function in points]
    with contextlib.suppress(Exception):  # metrics must never fail an invocation
        cloudwatch_backends[spec.account][spec.region].put_metric_data("AWS/Lambda", data)


class Pool:
    def __init__(self) -> None:
        self.settings = Settings()
        self._cv = threading.Condition()
        self._generation = 0
        self._idle: dict[tuple[str, str, str], list[Environment]] = defaultdict(list)
        self._every: set[Environment] = set()  # busy or idle, to kill them all on reset
        self._in_flight: dict[tuple[str, str, str], int] = defaultdict(int)
        self._live: dict[tuple[str, str, str], int] = defaultdict(int)
        self._stats: dict[str, FunctionStats] = {}
        self._account_peak = 0
        self._account_peak_environments = 0
        self._reaper: threading.Thread | None = None

    # --- invocations ----------------------------------------------------------------------------------
    def run(self, fn: Any, event: Any, *, wait: bool) -> Invocation:
        """Run one invocation of moto's function `fn`: refused with Throttled over the limit unless `wait`."""
        spec = FunctionSpec.of(fn)
        env, generation = self._acquire(spec, wait=wait)
        cold = env is None
        request_id = str(uuid.uuid4())
        init_ms: float | None = None
        try:
            if env is None:
                env = self._start(spec, fn, generation)
                init_ms = env.process.init_ms
            if env.process.init_error is not None:
                outcome = Outcome(json.dumps(env.process.init_error), "Unhandled", 0.0)
            else:
                outcome = env.process.invoke(event, spec.context(request_id, env.log_stream), spec.timeout)
        except Exception as exc:  # noqa: BLE001 - the slot must be given back whatever failed
            outcome = Outcome(runtime_failure("Runtime.ExitError", f"RequestId: {request_id} Error: {exc}"),
                              "Unhandled", 0.0)
        invocation = Invocation(outcome=outcome, request_id=request_id, pid=env.process.pid if env else None,
                                cold=cold, init_ms=init_ms, memory_mb=spec.memory_mb,
                                billed_ms=math.ceil(outcome.duration_ms + (init_ms or 0.0)))
        self._release(spec, FunctionSpec.of(fn), env, generation, invocation)
        return invocation

    def _acquire(self, spec: FunctionSpec, *, wait: bool) -> tuple[Environment | None, int]:
        """A slot within the limits (waiting for one if `wait`), and an idle environment for it if there is
        one (None: start one)."""
        retired: list[Environment] = []
        with self._cv:
            generation = self._generation
            deadline = time.monotonic() + self.settings.async_max_wait_seconds
            held_back = False
            while (reason := self._over_limit(spec)) is not None:
                if not held_back:  # one throttle per invocation held back, however long it waits
                    held_back = True
                    self._stats_of(spec).throttles += 1
                    _publish(spec, [("Throttles", 1, "Count", True)])
                remaining = deadline - time.monotonic()
                if not wait or remaining <= 0:
                    raise Throttled(reason)
                self._cv.wait(remaining)
                if self._generation != generation:
                    raise Superseded()
            self._in_flight[spec.key] += 1
            idle = self._idle[spec.key]
            usable = [e for e in idle if e.spec == spec and e.process.alive]
            env = usable[-1] if usable else None  # the most recently used, as Lambda prefers a warm one
            retired = [e for e in idle if e not in usable]
            idle[:] = [e for e in usable if e is not env]
            for gone in retired:
                self._live[spec.key] -= 1
                self._every.discard(gone)
            if env is None:
                self._live[spec.key] += 1  # the environment about to start
            self._observe(spec)
            concurrency = self._publishable(spec)
        for gone in retired:
            gone.process.kill()
        _publish(spec, concurrency)
        return env, generation

    def _origin(self, spec: FunctionSpec) -> tuple[Any, ...]:
        """What an environment takes from the emulation's settings when it starts (which code comes first,
        the endpoint its SDK reaches, where its output goes): one started under others is not kept."""
        return self.settings.code, self.settings.endpoint, self.settings.log_file(spec.name)

    def _start(self, spec: FunctionSpec, fn: Any, generation: int) -> Environment:
        package = code_dir(getattr(fn, "code_bytes", None))
        first, last = sys_path(self.settings.code, package)
        stream = spec.new_log_stream()
        process = WorkerProcess(
            handler=spec.handler, path_first=first, path_last=last, log_file=self.settings.log_file(spec.name),
            env=spec.process_environment(endpoint=self.settings.endpoint or "", code_dir=package, log_stream=stream),
            init_seconds=max(INIT_SECONDS, spec.timeout))
        env = Environment(spec=spec, process=process, log_stream=stream, generation=generation,
                          origin=self._origin(spec))
        with self._cv:
            if generation == self._generation:
                self._every.add(env)
                stats = self._stats_of(spec)
                stats.cold_starts += 1
                stats.init_ms.append(process.init_ms)
            self._ensure_reaper()
        if generation != self._generation:
            process.kill()
        return env

    def _release(self, spec: FunctionSpec, now_spec: FunctionSpec, env: Environment | None, generation: int,
                 invocation: Invocation) -> None:
        outcome = invocation.outcome
        # After a timeout or crash Lambda starts afresh; a handled error leaves the environment warm.
        retire = env is not None and (outcome.function_error == "Unhandled" or now_spec != env.spec
                                      or not env.process.alive)
        with self._cv:
            current = generation == self._generation
            if current:
                self._in_flight[spec.key] -= 1
                stats = self._stats_of(spec)
                stats.invocations += 1
                stats.errors += 0 if outcome.ok else 1
                stats.timeouts += outcome.timed_out
                stats.durations_ms.append(outcome.duration_ms)
                stats.billed_ms.append(invocation.billed_ms)
                if env is None or retire:
                    self._live[spec.key] -= 1
                    if env is not None:
                        self._every.discard(env)
                else:
                    env.last_used = time.monotonic()
                    self._idle[spec.key].append(env)
                self._observe(spec)
            concurrency = self._publishable(spec) if current else []
            self._cv.notify_all()
        if env is not None and (retire or not current):
            env.process.kill()
        if current:
            _publish(spec, [*concurrency, ("Invocations", 1, "Count", True),
                            ("Errors", 0 if outcome.ok else 1, "Count", True),
                            ("Duration", outcome.duration_ms, "Milliseconds", True)])

    def _over_limit(self, spec: FunctionSpec) -> str | None:
        reserved = reservations(spec.account, spec.region)
        in_flight = {name: n for (account, region, name), n in self._in_flight.items()
                     if (account, region) == (spec.account, spec.region)}
        if spec.name in reserved:
            return RESERVED_LIMIT if in_flight.get(spec.name, 0) >= reserved[spec.name] else None
        unreserved = self.settings.account_concurrency - sum(reserved.values())
        used = sum(n for name, n in in_flight.items() if name not in reserved)
        return ACCOUNT_LIMIT if used >= unreserved else None

    # --- bookkeeping (under self._cv) -----------------------------------------------------------------
    def _stats_of(self, spec: FunctionSpec) -> FunctionStats:
        stats = self._stats.setdefault(spec.name, FunctionStats())
        stats.memory_mb = spec.memory_mb
        return stats

    def _observe(self, spec: FunctionSpec) -> None:
        stats = self._stats_of(spec)
        stats.concurrent = self._in_flight[spec.key]
        stats.environments = self._live[spec.key]
        stats.peak = max(stats.peak, stats.concurrent)
        stats.peak_environments = max(stats.peak_environments, stats.environments)
        self._account_peak = max(self._account_peak, sum(self._in_flight.values()))
        self._account_peak_environments = max(self._account_peak_environments, sum(self._live.values()))

    def _publishable(self, spec: FunctionSpec) -> list[tuple[str, float, str, bool]]:
        account_total = sum(n for (account, region, _), n in self._in_flight.items()
                            if (account, region) == (spec.account, spec.region))
        return [("ConcurrentExecutions", self._in_flight[spec.key], "Count", True),
                ("ConcurrentExecutions", account_total, "Count", False)]

    # --- idle environments ----------------------------------------------------------------------------
    def _ensure_reaper(self) -> None:
        if self._reaper is None or not self._reaper.is_alive():
            self._reaper = threading.Thread(target=self._reap, name="lambda-idle-reaper", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        while True:
            with self._cv:
                idle_for = self.settings.idle_seconds
                self._cv.wait(max(0.05, min(idle_for / 2, 10.0)))
                cutoff = time.monotonic() - idle_for
                expired = [env for envs in self._idle.values() for env in envs if env.last_used < cutoff]
                for env in expired:
                    self._idle[env.spec.key].remove(env)
                    self._live[env.spec.key] -= 1
                    self._every.discard(env)
                    self._observe(env.spec)
                done = not self._every
                if done:
                    self._reaper = None
            for env in expired:
                env.process.kill()
            if done:
                return

    # --- the public surface ---------------------------------------------------------------------------
    def reset(self, keep: Collection[FunctionSpec] = ()) -> None:
        """Retire every environment (busy ones too: their invocations fail as a crashed runtime does) except
        the idle ones of a function configuration in `keep` that started under the current settings; drop
        waiting asynchronous events and forget the statistics (the kept environments are counted afresh)."""
        wanted = set(keep)
        with self._cv:
            self._generation += 1
            kept = [env for envs in self._idle.values() for env in envs
                    if env.spec in wanted and env.origin == self._origin(env.spec) and env.process.alive]
            doomed = [env for env in self._every if env not in kept]
            self._every = set(kept)
            self._idle.clear()
            self._in_flight.clear()
            self._live.clear()
            self._stats.clear()
            for env in sorted(kept, key=lambda e: e.last_used):  # the most recently used stays last
                env.generation = self._generation
                self._idle[env.spec.key].append(env)
                self._live[env.spec.key] += 1
            for envs in self._idle.values():
                self._observe(envs[0].spec)
            self._account_peak = 0
            self._account_peak_environments = len(kept)
            self._cv.notify_all()
        for env in doomed:
            env.process.kill()

    def settings_changed(self) -> None:
        """Wake the idle reaper and waiting events: a shorter idle time or a higher limit applies now."""
        with self._cv:
            self._cv.notify_all()

    def reset_stats(self) -> None:
        with self._cv:
            self._stats = {name: FunctionStats(memory_mb=s.memory_mb, environments=s.environments,
                                               peak_environments=s.environments, concurrent=s.concurrent,
                                               peak=s.concurrent) for name, s in self._stats.items()}
            self._account_peak = sum(self._in_flight.values())
            self._account_peak_environments = sum(self._live.values())

    def stats(self) -> dict[str, dict[str, Any]]:
        with self._cv:
            return {name: s.as_dict() for name, s in self._stats.items()}

    def account_stats(self) -> dict[str, int]:
        with self._cv:
            return {"environments": sum(self._live.values()), "peak_environments": self._account_peak_environments,
                    "concurrent": sum(self._in_flight.values()), "peak": self._account_peak}

    def pids(self, function_name: str, *, busy: bool = False) -> list[int]:
        """The worker processes of a function's environments (busy: only those running an invocation now;
        warm idle ones may have been kept since an earlier test)."""
        with self._cv:
            idle = {id(env) for envs in self._idle.values() for env in envs}
            return sorted(env.process.pid for env in self._every
                          if env.spec.name == function_name and not (busy and id(env) in idle))
