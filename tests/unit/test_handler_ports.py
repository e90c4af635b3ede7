"""How the handlers get their ports: each module builds the real adapters once, at import; `handler` is a thin
wrapper that passes them to `handle`; the AWS ports reuse one client per process and still see a client made
after a test's AWS mock started."""

from __future__ import annotations

import json
import time
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from invoice_pipeline.adapters import aws, db, dbroles, duplicate_keys_backfill, repository, results, slots
from invoice_pipeline.handlers import (
    admit,
    callback,
    dispatch,
    migrate,
    parse,
    persist,
    publish_events,
    read_einvoice,
    record_failure,
    register,
    start_analysis,
    validate,
)
from invoice_pipeline.publish import PUBLISHER

from tests.events import load_event
from tests.fakes import FakeSlots, FakeStepFunctions, FakeTaskTokens, FakeTextract, Journal, token_row

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")

REAL_PORTS: dict[ModuleType, dict[str, Any]] = {
    register: {"documents": repository, "s3": "s3"},
    start_analysis: {"documents": repository, "tokens": repository, "textract": "textract", "sleep": time.sleep,
                     "now": start_analysis.PORTS.now},
    callback: {"tokens": repository, "sfn": "stepfunctions", "slots": slots, "textract": "textract"},
    admit: {"slots": slots, "sfn": "stepfunctions"},
    dispatch: {"slots": slots, "sfn": "stepfunctions"},
    parse: {"documents": repository, "results": results, "textract": "textract"},
    read_einvoice: {"documents": repository, "results": results, "s3": "s3"},
    validate: {"documents": repository, "results": results},
    persist: {"documents": repository, "results": results, "events": PUBLISHER},
    record_failure: {"documents": repository, "slots": slots, "sfn": "stepfunctions", "events": PUBLISHER},
    publish_events: {"events": PUBLISHER},
    migrate: {"migrations": db, "logins": dbroles.logins_from_secrets,
              "backfill": duplicate_keys_backfill.backfill},
}


def lambda_context(name: str) -> SimpleNamespace:
    return SimpleNamespace(function_name=name, function_version="$LATEST", memory_limit_in_mb=256,
                           invoked_function_arn=f"arn:aws:lambda:eu-west-1:111122223333:function:{name}",
                           aws_request_id="5f1c8d2e-7a3b-4c6d-9e0f-1a2b3c4d5e6f")


@pytest.mark.parametrize("module", list(REAL_PORTS), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_default_ports_are_the_real_adapters(module: ModuleType) -> None:
    ports = module.PORTS
    for name, expected in REAL_PORTS[module].items():
        port = getattr(ports, name)
        if isinstance(expected, str):
            assert isinstance(port, aws.LazyClient) and port.service == expected, name
        else:
            assert port is expected, name
    assert set(vars(ports)) == set(REAL_PORTS[module])


@pytest.mark.parametrize("module", list(REAL_PORTS), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_handler_passes_the_event_and_the_module_ports_to_handle(module: ModuleType,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, Any]] = []

    def spy(event: Any, ports: Any) -> dict[str, Any]:
        seen.append((event, ports))
        return {"ok": True}

    monkeypatch.setattr(module, "handle", spy)
    event = {"document": {"document_id": "0f6b2c7e-4a1d-4c57-9b8e-2d6a3f1c9e04"}}
    assert module.handler(event, lambda_context(module.__name__)) == {"ok": True}
    assert seen == [(event, module.PORTS)]


def test_fakes_substituted_for_the_module_ports_serve_the_real_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    """The other way to test a handler: replace its PORTS and call the Lambda entry point itself."""
    journal = Journal()
    note = json.loads(load_event("sns_textract_completion")["Records"][0]["Sns"]["Message"])
    row = token_row(note["JobTag"], doc_id="0f6b2c7e-4a1d-4c57-9b8e-2d6a3f1c9e04", task_token="token-1",
                    job_id=note["JobId"])
    fakes = callback.Ports(tokens=FakeTaskTokens(journal, {note["JobTag"]: row}), sfn=FakeStepFunctions(journal),
                           slots=FakeSlots(journal), textract=FakeTextract(journal))
    monkeypatch.setattr(callback, "PORTS", fakes)

    assert callback.handler(load_event("sns_textract_completion"), lambda_context("callback")) == {
        "outcomes": ["succeeded"]}
    assert journal.names() == ["tokens.get_task_token", "sfn.send_task_success", "tokens.consume_task_token",
                               "slots.release", "slots.reserve"]


def test_lazy_client_reuses_one_client_per_process_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[SimpleNamespace] = []

    def fake_boto3_client(service: str, config: Any = None) -> SimpleNamespace:
        client = SimpleNamespace(service=service, send_task_success=lambda **kw: {"client": len(made)})
        made.append(client)
        return client

    aws.reset()
    monkeypatch.setattr(aws.boto3, "client", fake_boto3_client)
    try:
        port = aws.LazyClient("stepfunctions")
        assert made == []  # nothing is created at import time
        first = port.send_task_success(taskToken="t", output="{}")
        second = port.send_task_success(taskToken="t", output="{}")
        assert first == second == {"client": 1}  # warm invocations: the same client
        assert [c.service for c in made] == ["stepfunctions"]

        aws.reset()  # what a test's AWS mock does: the next call gets a client made under it
        assert port.send_task_success(taskToken="t", output="{}") == {"client": 2}
        assert len(made) == 2
    finally:
        aws.reset()
