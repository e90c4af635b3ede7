"""RecordFailure: the Catch payload ({"input": <failed state's input + "error": {Error, Cause}>}) becomes a
FAILED document with a named error and a readable cause, which the Fail state then shows."""

from __future__ import annotations

import json
from typing import Any

import pytest
from invoice_pipeline.handlers import record_failure
from invoice_pipeline.schemas import validate_definition

from tests.events import REMOVE, load_event
from tests.fakes import FakeDocuments, FakeSlots, FakeStepFunctions, Journal

EVENT = load_event("record_failure_input")
ARN = EVENT["execution_arn"]
OBJECT = EVENT["input"]["detail"]["object"]
SOURCE = (EVENT["input"]["detail"]["bucket"]["name"], OBJECT["key"], OBJECT["version-id"])
DOCUMENT = load_event("start_analysis_input")["document"]


def run(event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The handler's output and the one record_failure call it made."""
    journal = Journal()
    ports = record_failure.Ports(documents=FakeDocuments(journal), slots=FakeSlots(journal),
                                 sfn=FakeStepFunctions(journal))
    output = record_failure.handle(event, ports)
    validate_definition("states", "record_failure_output", output)
    # a document that held no slot frees none, so nothing is dispatched
    assert journal.names() == ["documents.record_failure", "slots.release"]
    return output, journal.of("documents.record_failure")[0]


def test_failure_before_register_records_the_upload_by_its_s3_source() -> None:
    output, call = run(EVENT)
    message = json.loads(EVENT["input"]["error"]["Cause"])["errorMessage"]
    assert call == {"error_code": "CorruptDocument", "error_message": message, "execution_arn": ARN,
                    "doc_id": None, "source": SOURCE, "size": OBJECT["size"]}  # a refused upload keeps its size
    assert output["Error"] == "CorruptDocument"
    assert output["Cause"] == message  # the Lambda error's message, not its JSON and stack trace


def test_failure_after_register_names_the_document() -> None:
    event = load_event("record_failure_input", input__document=DOCUMENT,
                       input__error__Cause__errorType="TextractJobFailed", input__error__Error="TextractJobFailed",
                       input__error__Cause__errorMessage="Textract job FAILED: page 3")
    output, call = run(event)
    assert call["doc_id"] == DOCUMENT["document_id"]
    assert (call["error_code"], call["error_message"]) == ("TextractJobFailed", "Textract job FAILED: page 3")
    assert output["document_id"] == DOCUMENT["document_id"]


@pytest.mark.parametrize(("error", "cause", "name", "words"), [
    ("States.Timeout", None, "TaskTimedOut", "completion notification never came"),
    ("States.HeartbeatTimeout", "", "TaskTimedOut", "no heartbeat"),
    ("States.Runtime", "An error occurred while executing the state 'Parse'", "StateMachineRuntimeError",
     "while executing the state 'Parse'"),
    ("States.Permissions", "not authorized", "StateMachinePermissionError", "not authorized"),
    ("States.ResultPathMatchFailure", "cannot apply $.parsed", "StateMachineError", "cannot apply $.parsed"),
])
def test_step_functions_errors_get_a_name_of_ours(error: str, cause: str | None, name: str, words: str) -> None:
    event = load_event("record_failure_input", input__document=DOCUMENT,
                       input__error={"Error": error, "Cause": cause})
    output, call = run(event)
    assert call["error_code"] == output["Error"] == name
    assert words in output["Cause"] and error in output["Cause"]


def test_a_cause_that_is_not_json_is_kept_as_it_is() -> None:
    event = load_event("record_failure_input", input__error={"Error": "Lambda.Unknown", "Cause": "out of memory"})
    output, _ = run(event)
    assert (output["Error"], output["Cause"]) == ("Lambda.Unknown", "out of memory")


def test_input_without_an_error_or_a_source_still_records_something() -> None:
    event = load_event("record_failure_input", input__error=REMOVE, input__detail=REMOVE, input__document=DOCUMENT)
    output, call = run(event)
    assert call["error_code"] == output["Error"] == "UnknownError"
    assert (call["doc_id"], call["source"]) == (DOCUMENT["document_id"], None)
