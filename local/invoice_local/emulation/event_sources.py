"""SQS event source mappings, polled the way Lambda polls them instead of moto's inline delivery.

moto runs an SQS mapping's function inside `Queue.add_message`: on the sender's thread, one batch per message
sent, with fixed record attributes, ignoring MaximumConcurrency, ReportBatchItemFailures and visibility
timeouts (a failed batch is made visible again at once). We keep moto's mapping resource (Create/Get/List/
Update/DeleteEventSourceMapping: Terraform manages it) but never let moto register an SQS mapping on its queue
(the seam: `LambdaBackend.create_event_source_mapping`), and poll each enabled mapping from background threads,
after the Lambda developer guide (services-sqs-scaling, services-sqs-errorhandling, services-sqs-configure):

- up to MaximumConcurrency batches at once per mapping. Without it AWS starts at five concurrent batches and
  scales with the backlog (up to 1,250); we stay at five (`DEFAULT_MAXIMUM_CONCURRENCY`), AWS's starting point,
  which is also all two cores can use;
- a batch is up to BatchSize messages received with the queue's visibility timeout, gathered for up to
  MaximumBatchingWindowInSeconds (default 0: invoke with what is there);
- the function is invoked synchronously with the event `sqs_event` builds. Success deletes the batch, except
  the messages a partial batch response names when ReportBatchItemFailures is on (`sqs_event` reads it).
  A function error deletes nothing: the messages reappear after the visibility timeout, and moto's
  redrive moves a message to the dead-letter queue on the receive after maxReceiveCount;
- a throttled invoke (HTTP 429, TooManyRequestsException) keeps the batch in flight and is retried with
  backoff while its visibility timeout lasts; the mapping's poller backs off as well.

Nothing here holds moto objects across cycles: mappings, queues and functions are looked up in the backends
each time, so the pollers carry on after `snapshot.loads` swaps the backends underneath them."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaBackend, lambda_backends
from moto.core.base_backend import BackendDict
from moto.core.exceptions import ServiceException
from moto.sqs.models import Message, sqs_backends

from invoice_local.emulation.background import BackgroundLoop
from invoice_local.emulation.sqs_event import lambda_event, reported_failures

log = logging.getLogger(__name__)

DEFAULT_MAXIMUM_CONCURRENCY = 5
IDLE_WAIT_SECONDS = 0.5  # how long an idle poller blocks on its queue, and how often new mappings are looked for
_BUSY_WAIT_SECONDS = 0.1  # messages visible but none receivable (a FIFO group in flight): do not spin
_THROTTLE_BACKOFF = (0.2, 2.0)  # first and longest wait after a throttled invoke

_original: Any = None
_settings = {"default_maximum_concurrency": DEFAULT_MAXIMUM_CONCURRENCY}


@dataclass
class MappingStats:
    """What one mapping's poller did: counts of batches and messages, for tests and benchmarks."""

    uuid: str
    function_arn: str
    queue_arn: str
    batches: int = 0  # invocations that ran (throttled attempts are not batches)
    delivered: int = 0  # messages handed to the function, each redelivery counted again
    deleted: int = 0
    failed: int = 0  # messages left to reappear: function error, reported item failure, failed invoke
    throttles: int = 0
    in_flight: int = 0  # batches being processed now
    peak_concurrency: int = 0  # most batches in flight at once
    largest_batch: int = 0


@dataclass(frozen=True)
class _Mapping:
    """An enabled SQS mapping as one cycle saw it in moto's backend."""

    uuid: str
    account: str
    region: str
    function_arn: str
    queue_arn: str
    batch_size: int
    window_seconds: float
    concurrency: int
    report_failures: bool

    @property
    def queue_account(self) -> str:
        return self.queue_arn.split(":")[4]

    @property
    def queue_region(self) -> str:
        return self.queue_arn.split(":")[3]

    @property
    def queue_name(self) -> str:
        return self.queue_arn.split(":")[5]


class _State:
    """Per mapping, across cycles and snapshot restores: its concurrency slots, backoff and stats."""

    def __init__(self, mapping: _Mapping) -> None:
        self.stats = MappingStats(mapping.uuid, mapping.function_arn, mapping.queue_arn)
        self.slots = threading.Condition()
        self.taken = 0
        self.backoff_until = 0.0
        self.poller: threading.Thread | None = None

    def take_slot(self, limit: int, timeout: float) -> bool:
        with self.slots:
            if not self.slots.wait_for(lambda: self.taken < limit, timeout):
                return False
            self.taken += 1
            return True

    def give_slot(self) -> None:
        with self.slots:
            self.taken -= 1
            self.slots.notify_all()

    def count(self, **increments: int) -> None:
        with self.slots:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)
            self.stats.peak_concurrency = max(self.stats.peak_concurrency, self.stats.in_flight)


_states: dict[str, _State] = {}
_states_lock = threading.Lock()
_receive_lock = threading.Lock()  # moto's receive_message is not atomic: two pollers could take one message
_loop = BackgroundLoop("esm-manager", lambda: _manage())
_stop = _loop.stopping


# --- the seam -------------------------------------------------------------------------------------------------

def create_event_source_mapping(self: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
    """moto's method, minus the registration on the queue that makes `Queue.add_message` invoke inline."""
    esm = _original(self, spec)
    if esm.event_source_arn.split(":")[2] == "sqs":
        queues = _existing(sqs_backends, self.account_id, self.region_name)
        for queue in queues.queues.values() if queues else ():
            if queue.lambda_event_source_mappings.get(esm.function_arn) is esm:
                del queue.lambda_event_source_mappings[esm.function_arn]
    return esm


def install() -> None:
    global _original
    if getattr(LambdaBackend.create_event_source_mapping, "__module__", "") == __name__:
        return
    _original = LambdaBackend.create_event_source_mapping
    LambdaBackend.create_event_source_mapping = create_event_source_mapping  # type: ignore[method-assign]


# --- public API ------------------------------------------------------------------------------------------------

def configure(*, default_maximum_concurrency: int = DEFAULT_MAXIMUM_CONCURRENCY) -> None:
    """Concurrent batches for a mapping without ScalingConfig.MaximumConcurrency (AWS: 5, growing with the
    backlog; here fixed). Called with no arguments, restores the default."""
    if default_maximum_concurrency < 1:
        raise ValueError("default_maximum_concurrency must be at least 1")
    _settings["default_maximum_concurrency"] = default_maximum_concurrency


def start() -> None:
    """Poll every enabled SQS mapping from daemon threads until `stop()` (idempotent)."""
    _loop.start()


def stop(timeout: float = 5.0) -> None:
    """Stop polling. Batches being invoked finish; their messages are deleted or left in flight as usual."""
    _loop.stop(timeout, also=[s.poller for s in list(_states.values())])


def stats() -> dict[str, MappingStats]:
    """Mapping UUID -> a copy of its counts since the emulation started or `reset_stats()`."""
    with _states_lock:
        states = list(_states.items())
    result = {}
    for uuid, state in states:
        with state.slots:
            result[uuid] = replace(state.stats)
    return result


def reset_stats() -> None:
    with _states_lock:
        for state in _states.values():
            with state.slots:
                state.stats = MappingStats(state.stats.uuid, state.stats.function_arn, state.stats.queue_arn,
                                           in_flight=state.stats.in_flight)


# --- polling ---------------------------------------------------------------------------------------------------

def _existing(backends: BackendDict[Any], account: str, region: str) -> Any | None:
    """A backend if it exists; indexing a BackendDict would create one (and put it in the next snapshot)."""
    per_account = dict.get(backends, account)
    return None if per_account is None else dict.get(per_account, region)


def _mapping(esm: EventSourceMapping) -> _Mapping:
    scaling = esm.scaling_config or {}
    return _Mapping(
        uuid=esm.uuid, account=esm.account_id, region=esm.region, function_arn=esm.function_arn,
        queue_arn=esm.event_source_arn, batch_size=int(esm.batch_size),
        window_seconds=float(esm.max_batch_window or 0),
        concurrency=int(scaling.get("MaximumConcurrency") or _settings["default_maximum_concurrency"]),
        report_failures="ReportBatchItemFailures" in (esm.function_response_types or []))


def _enabled_mappings() -> dict[str, _Mapping]:
    found = {}
    for _account, per_account in list(dict.items(lambda_backends)):
        for _region, backend in list(dict.items(per_account)):
            for esm in backend.list_event_source_mappings("", ""):
                if esm.enabled and esm.event_source_arn.split(":")[2] == "sqs":
                    found[esm.uuid] = _mapping(esm)
    return found


def _lookup(uuid: str, account: str, region: str) -> _Mapping | None:
    backend = _existing(lambda_backends, account, region)
    esm = backend.get_event_source_mapping(uuid) if backend else None
    return _mapping(esm) if esm is not None and esm.enabled else None


def _manage() -> None:
    while True:
        try:
            for uuid, mapping in _enabled_mappings().items():
                with _states_lock:
                    state = _states.setdefault(uuid, _State(mapping))
                state.stats.function_arn = mapping.function_arn
                if state.poller is None or not state.poller.is_alive():
                    state.poller = threading.Thread(target=_poll, args=(mapping, state), daemon=True,
                                                    name=f"esm-poller-{uuid[:8]}")
                    state.poller.start()
        except Exception:  # noqa: BLE001 - e.g. a backend's dict changed while we read it: look again next cycle
            log.debug("event source mappings: scan failed", exc_info=True)
        if _stop.wait(IDLE_WAIT_SECONDS):
            return


def _poll(first: _Mapping, state: _State) -> None:
    """One mapping's poller: receive a batch whenever a slot is free, hand it to a thread of its own. Ends when
    the mapping is deleted or disabled; the manager starts another if it comes back."""
    while not _stop.is_set():
        mapping = _lookup(first.uuid, first.account, first.region)
        if mapping is None:
            return
        if not state.take_slot(mapping.concurrency, IDLE_WAIT_SECONDS):
            continue
        handed_off = False
        try:
            backoff = state.backoff_until - time.monotonic()
            if backoff > 0:
                _stop.wait(min(backoff, IDLE_WAIT_SECONDS))
                continue
            messages = _receive(mapping)
            if messages:
                threading.Thread(target=_process, args=(mapping, state, messages, time.monotonic()), daemon=True,
                                 name=f"esm-batch-{mapping.uuid[:8]}").start()
                handed_off = True
        except Exception:  # noqa: BLE001 - the poller must outlive any one failed receive
            log.exception("event source mapping %s: receive failed", mapping.uuid)
            _stop.wait(IDLE_WAIT_SECONDS)
        finally:
            if not handed_off:
                state.give_slot()


def _receive(mapping: _Mapping) -> list[Message]:
    sqs = _existing(sqs_backends, mapping.queue_account, mapping.queue_region)
    queue = sqs.queues.get(mapping.queue_name) if sqs is not None else None
    if sqs is None or queue is None:
        _stop.wait(IDLE_WAIT_SECONDS)
        return []
    deadline = time.monotonic() + mapping.window_seconds
    batch: list[Message] = []
    while not _stop.is_set():
        with _receive_lock:
            batch += sqs.receive_message(queue.name, mapping.batch_size - len(batch), 0,
                                         int(queue.visibility_timeout), ["All"])
        remaining = deadline - time.monotonic()
        if len(batch) >= mapping.batch_size or (batch and remaining <= 0):
            break
        if queue.messages:  # visible, yet nothing came: they are not ours to take now
            _stop.wait(_BUSY_WAIT_SECONDS)
        else:  # block until a sender notifies the queue; expired visibility timeouts notify nobody
            queue.wait_for_messages(min(remaining, IDLE_WAIT_SECONDS) if batch else IDLE_WAIT_SECONDS)
        if not batch and remaining <= 0:
            break
    return batch


def _process(mapping: _Mapping, state: _State, messages: list[Message], received_at: float) -> None:
    state.count(in_flight=1)
    try:
        ids = [m.id for m in messages]
        event = lambda_event(messages, mapping.queue_arn)
        outcome = _invoke(mapping, state, json.dumps(event), received_at + _visibility_timeout(mapping))
        if outcome is None:
            state.count(failed=len(messages))
            return
        payload, function_error = outcome
        state.count(batches=1, delivered=len(messages))
        with state.slots:
            state.stats.largest_batch = max(state.stats.largest_batch, len(messages))
        if function_error:
            failed = set(ids)
        elif mapping.report_failures:
            failed = reported_failures(payload, ids)
        else:
            failed = set()
        state.count(failed=len(failed), deleted=_delete(mapping, [m for m in messages if m.id not in failed]))
    except Exception:  # noqa: BLE001 - a thread of its own: log what went wrong, leave the messages in flight
        log.exception("event source mapping %s: batch failed", mapping.uuid)
    finally:
        state.count(in_flight=-1)
        state.give_slot()


def _visibility_timeout(mapping: _Mapping) -> int:
    sqs = _existing(sqs_backends, mapping.queue_account, mapping.queue_region)
    queue = sqs.queues.get(mapping.queue_name) if sqs else None
    return int(queue.visibility_timeout) if queue else 0


def _invoke(mapping: _Mapping, state: _State, body: str, deadline: float) -> tuple[bytes, bool] | None:
    """(payload, function error?), or None when the batch could not be delivered before its visibility
    timeout ran out (throttled throughout) or the invoke itself failed (no such function)."""
    wait = _THROTTLE_BACKOFF[0]
    while True:
        backend = _existing(lambda_backends, mapping.account, mapping.region)
        headers: dict[str, Any] = {}
        try:
            if backend is None:
                raise LookupError(f"no Lambda backend for {mapping.account}/{mapping.region}")
            payload = backend.invoke(mapping.function_arn, None, body,
                                     {"x-amz-invocation-type": "RequestResponse"}, headers)
        except Exception as exc:  # noqa: BLE001 - any failed invoke leaves the batch to its visibility timeout
            if not _is_throttle(exc):
                log.warning("event source mapping %s: invoke of %s failed: %s", mapping.uuid, mapping.function_arn,
                            exc)
                return None
            state.count(throttles=1)
            state.backoff_until = max(state.backoff_until, time.monotonic() + wait)
            if time.monotonic() + wait >= deadline or _stop.wait(wait):
                return None
            wait = min(wait * 2, _THROTTLE_BACKOFF[1])
            continue
        data = payload if isinstance(payload, bytes) else str(payload or "").encode()
        return data, "x-amz-function-error" in headers


def _is_throttle(exc: Exception) -> bool:
    """Lambda's TooManyRequestsException (HTTP 429), whichever of moto's exception classes carries it."""
    return (type(exc).__name__ == "TooManyRequestsException"
            or getattr(exc, "error_type", None) == "TooManyRequestsException"
            or getattr(exc, "code", None) in (429, "TooManyRequestsException"))


def _delete(mapping: _Mapping, messages: list[Message]) -> int:
    sqs = _existing(sqs_backends, mapping.queue_account, mapping.queue_region)
    deleted = 0
    for message in messages:
        try:
            if sqs is None:
                raise LookupError("no SQS backend")
            sqs.delete_message(mapping.queue_name, message.receipt_handle)
            deleted += 1
        except (ServiceException, LookupError) as exc:  # the queue was purged, deleted or restored from a snapshot
            log.debug("event source mapping %s: message %s not deleted: %s", mapping.uuid, message.id, exc)
    return deleted
