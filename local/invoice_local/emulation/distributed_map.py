"""A Distributed Map over an S3 listing, in batches: what moto's interpreter lacks for the backfill.

moto 5.2.5 vendors an older LocalStack ASL interpreter. For a Map in DISTRIBUTED mode it
- refuses `ItemBatcher` (not in its grammar), `ProcessorConfig.ExecutionType` EXPRESS (only STANDARD) and an
  integer `ToleratedFailurePercentage` such as 0 (its grammar wants a decimal point);
- reads one page of an `s3:listObjectsV2` ItemReader (1,000 keys), in boto3's shape (`ETag`, a datetime
  `LastModified`) instead of the one Step Functions hands a child (`Etag`, epoch seconds), fails on an
  empty listing with a KeyError, and a listing S3 refuses ends as States.Runtime, not States.ItemReaderFailed;
- counts a failed child execution but never fails the Map Run ("ToleratedFailure... declarations currently
  have no effect"), so a backfill that lost a batch would succeed.

One seam: `AmazonStateLanguageParser.parse`, which every definition goes through (CreateStateMachine's
check, each execution, and server.py's ValidateStateMachineDefinition). Before moto's grammar sees a
definition with a Distributed Map, each such Map's ItemBatcher is taken out, EXPRESS children become STANDARD
(moto runs both kinds alike: in-process, recorded the same way) and an integer percentage becomes a decimal;
after parsing, those Map states get the listing, the batches and the failure threshold described above.
Any other definition is parsed by moto untouched. Not emulated, and refused at parse time rather than run
differently: an ItemBatcher beside an ItemSelector (AWS selects each item, then batches), `...Path` batch
sizes, and a batcher on the legacy `Iterator` field."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from botocore.exceptions import ClientError
from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
from moto.stepfunctions.parser.asl.component.common.parargs import Parargs
from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3 import (
    ResourceEvalS3,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor import (  # noqa: E501
    DistributedItemProcessor,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.distributed_item_processor_worker import (  # noqa: E501
    DistributedItemProcessorWorker,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record import (
    Counter,
    MapRunRecord,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

_original: Any = None  # moto's parse, kept for the canary test and for our own helper parses
BATCHER_FIELDS = {"MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"}


# --- the listing --------------------------------------------------------------------------------------------
def listing_item(content: dict[str, Any]) -> dict[str, Any]:
    """One ListObjectsV2 entry as a Distributed Map hands it to a child: Step Functions' own spelling."""
    modified = content.get("LastModified")
    return {"Etag": content.get("ETag"), "Key": content["Key"],
            "LastModified": int(modified.timestamp()) if modified is not None else None,
            "Size": content.get("Size"), "StorageClass": content.get("StorageClass", "STANDARD")}


def map_run_failed(env: Environment, typ: StatesErrorNameType, cause: str) -> FailureEventException:
    """The failure that ends a Map Run with one of Step Functions' own errors (States.ItemReaderFailed, ...)."""
    details = MapRunFailedEventDetails(error=typ.to_name(), cause=cause)
    return FailureEventException(FailureEvent(
        env=env, error_name=StatesErrorName(typ=typ), event_type=HistoryEventType.MapRunFailed,
        event_details=EventDetails(mapRunFailedEventDetails=details)))  # type: ignore[typeddict-item]


class ListingResourceEval(ResourceEvalS3):
    """moto's S3 item reader, with every page of the listing."""

    @staticmethod
    def _handle_list_objects_v2(env: Environment, resource_runtime_part: Any, state_credentials: Any) -> None:
        s3 = ResourceEvalS3._get_s3_client(resource_runtime_part=resource_runtime_part,
                                           state_credentials=state_credentials)
        parameters = env.stack.pop()
        items: list[dict[str, Any]] = []
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
                items.extend(listing_item(content) for content in page.get("Contents", []))
        except ClientError as exc:
            raise map_run_failed(env, StatesErrorNameType.StatesItemReaderFailed, str(exc)) from exc
        env.stack.append(items)


# --- batches --------------------------------------------------------------------------------------------------
@dataclass
class Batcher:
    max_items: int | None
    max_bytes: int | None
    batch_input: Parargs | None

    def batches(self, env: Environment, items: list[Any]) -> list[dict[str, Any]]:
        """The children's inputs: {"BatchInput": ..., "Items": [...]}, each within both limits."""
        batch_input = None
        if self.batch_input is not None:
            self.batch_input.eval(env=env)
            batch_input = env.stack.pop()
        batches: list[list[Any]] = []
        current: list[Any] = []
        size = 0
        for item in items:
            item_bytes = len(json.dumps(item, separators=(",", ":")).encode())
            full = (self.max_items is not None and len(current) >= self.max_items) or (
                self.max_bytes is not None and bool(current) and size + item_bytes > self.max_bytes)
            if full:
                batches.append(current)
                current, size = [], 0
            current.append(item)
            size += item_bytes
        if current:
            batches.append(current)
        head = {"BatchInput": batch_input} if batch_input is not None else {}
        return [{**head, "Items": batch} for batch in batches]


class _ScaledCounter:
    """A Map Run counter seen by one batch's child: each count is the batch's number of items."""

    def __init__(self, counter: Counter, scale: int) -> None:
        self._counter, self._scale = counter, scale

    def count(self, increment: int = 1) -> None:
        self._counter.count(increment * self._scale)

    def offset(self, offset: int) -> None:
        self._counter.offset(offset * self._scale)

    def get(self) -> int:
        return self._counter.get()


class _BatchView:
    """The Map Run record as one batch's child sees it: AWS counts items and child executions apart
    (DescribeMapRun itemCounts, executionCounts), while moto counts one child as one item."""

    def __init__(self, record: MapRunRecord, items: int) -> None:
        self._record = record
        self.execution_counter = record.execution_counter
        counters = record.item_counter
        self.item_counter = type("ItemCounts", (), {
            name: _ScaledCounter(getattr(counters, name), items)
            for name in ("aborted", "failed", "pending", "results_written", "running", "succeeded", "timed_out",
                         "total")})()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record, name)


class BatchWorker(DistributedItemProcessorWorker):
    def _eval_job(self, env: Environment, job: Any) -> None:
        record = self._map_run_record
        items = job.job_input.get("Items") if isinstance(job.job_input, dict) else None
        if isinstance(items, list):
            self._map_run_record = _BatchView(record, len(items))  # type: ignore[assignment]
        try:
            super()._eval_job(env=env, job=job)
        finally:
            self._map_run_record = record


# --- the Map Run ---------------------------------------------------------------------------------------------
class DistributedMapRun(DistributedItemProcessor):
    """moto's Distributed Map item processor, with batches and a failure threshold that ends the Map Run."""

    batcher: Batcher | None
    declared_tolerance: frozenset[str]

    def _create_worker(self, env: Environment, eval_input: Any, job_pool: Any) -> DistributedItemProcessorWorker:
        if self.batcher is None:
            return super()._create_worker(env=env, eval_input=eval_input, job_pool=job_pool)
        return BatchWorker(work_name=eval_input.state_name, job_pool=job_pool, env=env,
                           item_reader=eval_input.item_reader, parameters=eval_input.parameters,
                           item_selector=eval_input.item_selector, map_run_record=eval_input.map_run_record)

    def _map_run(self, env: Environment, eval_input: Any) -> None:
        if self.batcher is not None:
            env.stack.append(self.batcher.batches(env, env.stack.pop()))
        super()._map_run(env=env, eval_input=eval_input)
        counts = eval_input.map_run_record.item_counter
        failed = counts.failed.get() + counts.timed_out.get() + counts.aborted.get()
        if exceeds(failed, counts.total.get(), self.declared_tolerance, eval_input.tolerated_failure_count,
                   eval_input.tolerated_failure_percentage):
            raise map_run_failed(env, StatesErrorNameType.StatesExceedToleratedFailureThreshold,
                                 "The specified tolerated failure threshold was exceeded")


def exceeds(failed: int, total: int, declared: frozenset[str], count: int, percentage: float) -> bool:
    """Step Functions' rule: no failure at all is tolerated unless a threshold is declared; with both, the
    Map Run fails when either is passed."""
    if not declared:
        return failed > 0
    return ("count" in declared and failed > count) or (
        "percentage" in declared and total > 0 and 100.0 * failed / total > percentage)


# --- the seam ------------------------------------------------------------------------------------------------
Step = str | int  # a state's name, or the index of a Parallel branch


@dataclass
class _Upgrade:
    path: tuple[Step, ...]  # from the top: state names, through ItemProcessors and Parallel branches
    batcher: dict[str, Any] | None
    declared_tolerance: frozenset[str]
    lists_s3: bool


TOLERANCE_FIELDS = {"count": ("ToleratedFailureCount", "ToleratedFailureCountPath"),
                    "percentage": ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath")}


def _prepare(states: dict[str, Any], path: tuple[Step, ...], found: list[_Upgrade]) -> None:
    """Make each Distributed Map of `states` (recursively) parseable by moto; note what to add back."""
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Parallel":
            for i, branch in enumerate(state.get("Branches", [])):
                _prepare(branch.get("States", {}), (*path, name, i), found)
            continue
        if state.get("Type") != "Map":
            continue
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        config = processor.get("ProcessorConfig", {})
        if config.get("Mode") == "DISTRIBUTED":
            found.append(_prepare_distributed(name, state, (*path, name)))
            if config.get("ExecutionType") == "EXPRESS":
                config["ExecutionType"] = "STANDARD"
        _prepare(processor.get("States", {}), (*path, name), found)


def _prepare_distributed(name: str, state: dict[str, Any], path: tuple[Step, ...]) -> _Upgrade:
    batcher = state.pop("ItemBatcher", None)
    if batcher is not None:
        unknown = set(batcher) - BATCHER_FIELDS
        if unknown or not {"MaxItemsPerBatch", "MaxInputBytesPerBatch"} & set(batcher):
            raise ValueError(f"{name}: ItemBatcher {sorted(batcher)} is not emulated (supported: "
                             f"{sorted(BATCHER_FIELDS)}, with at least one of the two sizes)")
        if "ItemSelector" in state or "Parameters" in state or "ItemProcessor" not in state:
            raise ValueError(f"{name}: an ItemBatcher beside an ItemSelector, or on an Iterator, is not emulated")
    if isinstance(state.get("ToleratedFailurePercentage"), int):
        state["ToleratedFailurePercentage"] = float(state["ToleratedFailurePercentage"])
    declared = frozenset(kind for kind, fields in TOLERANCE_FIELDS.items() if any(f in state for f in fields))
    resource = str((state.get("ItemReader") or {}).get("Resource", ""))
    return _Upgrade(path=path, batcher=batcher, declared_tolerance=declared,
                    lists_s3=resource.endswith(":s3:listObjectsV2"))


def _state(program: Any, path: tuple[Step, ...]) -> Any:
    """The parsed state at `path` (see _Upgrade.path)."""
    states, state = program.states.states, cast(Any, None)
    for i, step in enumerate(path):
        if isinstance(step, int):
            states = state.branches.programs[step].states.states
            continue
        state = states[step]
        if i + 1 < len(path) and not isinstance(path[i + 1], int):
            states = state.iteration_component._states.states
    return state


def _batch_input(template: Any) -> Parargs | None:
    if template is None:
        return None
    helper = {"StartAt": "BatchInput", "States": {"BatchInput": {"Type": "Pass", "Parameters": template, "End": True}}}
    program, _tree = _original(json.dumps(helper))
    return program.states.states["BatchInput"].parameters  # type: ignore[no-any-return]


def parse(definition: str) -> tuple[Any, Any]:
    """moto's parse, with every Distributed Map of the definition made whole (see the module's docstring)."""
    try:
        prepared = json.loads(definition)
        states = prepared["States"]
    except (ValueError, TypeError, KeyError):
        return _original(definition)  # type: ignore[no-any-return]  # moto says what is wrong with it
    upgrades: list[_Upgrade] = []
    _prepare(states, (), upgrades)
    if not upgrades:
        return _original(definition)  # type: ignore[no-any-return]
    program, tree = _original(json.dumps(prepared))
    for upgrade in upgrades:
        state = _state(program, upgrade.path)
        component = state.iteration_component
        if not isinstance(component, DistributedItemProcessor):
            continue  # the legacy Iterator: moto's own behaviour (a batcher there was refused above)
        component.__class__ = DistributedMapRun
        run = cast(DistributedMapRun, component)
        batcher = upgrade.batcher
        run.batcher = None if batcher is None else Batcher(
            max_items=batcher.get("MaxItemsPerBatch"), max_bytes=batcher.get("MaxInputBytesPerBatch"),
            batch_input=_batch_input(batcher.get("BatchInput")))
        run.declared_tolerance = upgrade.declared_tolerance
        if upgrade.lists_s3 and state.item_reader is not None:
            state.item_reader.resource_eval.__class__ = ListingResourceEval
    return program, tree


def install() -> None:
    global _original
    if _original is None:
        _original = AmazonStateLanguageParser.parse
    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign,assignment]
