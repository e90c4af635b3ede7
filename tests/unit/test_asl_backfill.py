"""The backfill's state machine definition (statemachine/backfill.asl.json), rendered as Terraform renders
it: a Distributed Map over an S3 listing, batched, of bounded concurrency, with Express children that only
do what an Express workflow can, and a named failure for each way it can end short. Checked against the
States Language independently of moto (whose interpreter needs emulation/distributed_map.py to run it)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from invoice_local import asl
from invoice_pipeline import errors

from tests.unit.test_asl import BACKFILL_VALUES, RETRY_FIELDS

MAP_FIELDS = {"Type", "Comment", "Label", "ItemReader", "ItemBatcher", "ItemSelector", "ItemProcessor",
              "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailurePercentage", "ToleratedFailureCount",
              "ResultWriter", "ResultPath", "ResultSelector", "InputPath", "OutputPath", "Retry", "Catch", "Next",
              "End"}
SERVICE_INTEGRATIONS = ("arn:aws:states:::s3:listObjectsV2",)


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(asl.render(BACKFILL_VALUES, asl.BACKFILL_TEMPLATE))


def backfill_map(definition: dict[str, Any]) -> dict[str, Any]:
    (state,) = [s for s in definition["States"].values() if s["Type"] == "Map"]
    return state


def test_template_has_only_placeholders_and_every_one_gets_a_value() -> None:
    text = asl.BACKFILL_TEMPLATE.read_text()
    for integration in SERVICE_INTEGRATIONS:
        text = text.replace(integration, "")
    assert "arn:" not in text
    assert not re.search(r"\b\d{12}\b", text), "an account id literal"
    assert asl.placeholders(template=asl.BACKFILL_TEMPLATE) == set(BACKFILL_VALUES)
    with pytest.raises(ValueError, match="without value"):
        asl.render({"backfill_function_arn": "x"}, asl.BACKFILL_TEMPLATE)


def test_a_distributed_map_over_an_s3_listing_of_the_input(definition: dict[str, Any]) -> None:
    state = backfill_map(definition)
    assert definition["StartAt"] == "SendObjects" and state is definition["States"]["SendObjects"]
    assert set(state) <= MAP_FIELDS, set(state) - MAP_FIELDS
    assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert state["ItemReader"] == {"Resource": "arn:aws:states:::s3:listObjectsV2",
                                   "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"}}
    assert "ReaderConfig" not in state["ItemReader"]  # a listing, not a manifest or file to parse


def test_concurrency_is_bounded_by_the_variable_and_batches_fit_one_send(definition: dict[str, Any]) -> None:
    state = backfill_map(definition)
    assert state["MaxConcurrency"] == BACKFILL_VALUES["backfill_max_concurrency"] > 0  # 0 would mean unbounded
    batcher = state["ItemBatcher"]
    assert 1 <= batcher["MaxItemsPerBatch"] <= 10  # SendMessageBatch takes ten
    # The listing's entries carry no bucket: the batch does.
    assert batcher["BatchInput"] == {"bucket.$": "$.bucket"}


def test_children_only_do_what_an_express_workflow_can(definition: dict[str, Any]) -> None:
    processor = backfill_map(definition)["ItemProcessor"]
    (task,) = processor["States"].values()
    assert processor["StartAt"] == "SendToIntake" and task["Type"] == "Task" and task["End"] is True
    assert task["Resource"] == BACKFILL_VALUES["backfill_function_arn"]  # a plain invoke: no .sync, no token
    for retry in task["Retry"]:
        assert set(retry) <= RETRY_FIELDS and retry["MaxAttempts"] >= 1 and retry["JitterStrategy"] == "FULL"
    retried = {e for r in task["Retry"] for e in r["ErrorEquals"]}
    assert {"IntakeUnavailable", "SourceUnavailable", "Lambda.TooManyRequestsException"} <= retried


def test_every_short_end_is_a_named_failure(definition: dict[str, Any]) -> None:
    state = backfill_map(definition)
    assert state["ToleratedFailurePercentage"] == 0
    assert state["ResultPath"] is None  # children's results are the Map Run's, not the execution's output
    caught = {c["ErrorEquals"][0]: definition["States"][c["Next"]] for c in state["Catch"]}
    assert set(caught) == {"States.ItemReaderFailed", "States.ExceedToleratedFailureThreshold"}
    ours = {cls.__name__ for cls in errors.ALL_ERRORS}
    for fail in caught.values():
        assert fail["Type"] == "Fail" and fail["Error"] in ours and fail["CausePath"] == "$.error.Cause"
    assert caught["States.ItemReaderFailed"]["Error"] == "BackfillSourceUnreadable"
    assert caught["States.ExceedToleratedFailureThreshold"]["Error"] == "BackfillIncomplete"
    assert definition["States"][state["Next"]]["Type"] == "Succeed"
    targets = {state["Next"], *(c["Next"] for c in state["Catch"])}
    assert targets | {"SendObjects"} == set(definition["States"])
