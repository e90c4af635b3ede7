"""The whole flow in the emulation: S3 upload -> EventBridge -> state machine (the real ASL) -> Register ->
StartAnalysis (task token) -> Textract stand-in -> SNS -> Callback -> Parse -> Validate -> Persist -> Postgres.

Textract's answers are real recorded responses from ../shared/data/textract. Faults (a failed job, a lost,
late or repeated notification, a crash, a database outage) and recovery from them: test_fault_matrix.py."""

from __future__ import annotations

import json
import struct
import zlib
from decimal import Decimal
from typing import Any

import pytest
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import textract as standin_mod
from invoice_pipeline.adapters import repository

from tests.shared_data import INVOICES_DIR, TEXTRACT_DIR, require


def png(seed: str, width: int = 8, height: int = 8) -> bytes:
    """A small valid PNG whose pixels depend on `seed`: distinct content for documents that have a recorded
    response but no image in the data set."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    shade = zlib.crc32(seed.encode()) & 0xFF
    raw = b"".join(b"\x00" + bytes([shade, (shade + y) & 0xFF, 0x80] * width) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def recorded(*names: str) -> list[dict[str, Any]]:
    return [json.loads(require(TEXTRACT_DIR / n).read_text()) for n in names]


# fixture -> (document bytes source, response pages, expectations). Documents without an image in the data
# set are stood in for by a generated PNG: the stand-in answers by content hash either way.
CASES: dict[str, dict[str, Any]] = {
    "default_invoice_1": {"image": "default_invoice_1.png", "pages": ["default_invoice_1.analyze_expense.json"],
                          "invoices": [{"invoice_number": "123PQR456", "total": "6231.09", "subtotal": "6169.40",
                                        "tax": "61.69", "currency": "USD", "line_items": 4}]},
    "receipt": {"image": "receipt.jpg", "pages": ["receipt.analyze_expense.json"],
                "invoices": [{"total": "1810.46", "subtotal": "1699.96", "tax": "110.50", "line_items": 4}]},
    "receipt_no_summary": {"image": "receipt_no_summary.png",
                           "pages": ["receipt_no_summary.analyze_expense.json"],
                           "invoices": [{"total": None, "line_items": 29}]},
    "multipage_invoice": {"pages": ["multipage_invoice.get_expense_analysis.json"],
                          "invoices": [{"invoice_number": "00000135", "total": "5715.00", "line_items": 8}]},
    "gessies_receipt": {"pages": ["gessies_receipt.get_expense_analysis.page1.json",
                                  "gessies_receipt.get_expense_analysis.page2.json"],
                        "invoices": [{"subtotal": "127.97", "tax": "7.68"}]},
    "trp2_expense_sample1": {"pages": ["trp2_expense_sample1.analyze_expense.json"],
                             "invoices": [{"total": "50.00", "line_items": 21}]},
    "trp2_expense_sample2": {"pages": ["trp2_expense_sample2.analyze_expense.json"],
                             "invoices": [{"total": "38.48", "subtotal": "38.48", "tax": "0.00"}]},
    "synthetic_missing_geometry": {"pages": ["synthetic_missing_geometry.analyze_expense.json"], "invoices": None},
}


def _document_bytes(name: str, case: dict[str, Any]) -> bytes:
    if "image" in case:
        return require(TEXTRACT_DIR / case["image"]).read_bytes()
    return png(name)


def _only_document(stack: Stack) -> repository.Document:
    docs = _documents()
    assert len(docs) == 1, docs
    return repository.get_document(docs[0]["id"])


def _documents() -> list[dict[str, Any]]:
    from invoice_pipeline.adapters.db import rows, transaction

    with transaction() as con:
        return rows(con, "SELECT * FROM documents ORDER BY created_at")


def _failed_states(stack: Stack, execution_arn: str) -> list[dict[str, Any]]:
    return [e for e in stack.history(execution_arn) if e["type"] == "ExecutionFailed"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_recorded_response_flows_to_postgres(stack: Stack, standin: standin_mod._State, name: str) -> None:
    case = CASES[name]
    content = _document_bytes(name, case)
    standin.engine.add(content, recorded(*case["pages"]))  # type: ignore[attr-defined]
    stack.upload(f"incoming/{name}{'.jpg' if name == 'receipt' else '.png'}", content)

    (execution,) = stack.wait_for_executions(1)
    assert execution["status"] == "SUCCEEDED", execution
    doc = _only_document(stack)
    assert doc.status in ("COMPLETED", "NEEDS_REVIEW")
    assert doc.textract_job_id and doc.sha256 and doc.media_type
    invoices = repository.invoices_for(doc.id)

    # What is stored is exactly what Parse produced from the recorded response.
    normalized = json.loads(stack.client("s3").get_object(Bucket=stack.results_bucket,
                                                          Key=doc.result_key)["Body"].read())
    assert len(invoices) == len(normalized["invoices"]) >= 1
    for stored, parsed in zip(invoices, normalized["invoices"], strict=True):
        for field in ("subtotal", "tax", "total", "amount_due", "discount"):
            assert stored[field] == (Decimal(parsed[field]) if parsed[field] is not None else None), field
        assert stored["invoice_number"] == parsed["invoice_number"]
        assert len(stored["line_items"]) == len(parsed["line_items"])
        for row, item in zip(stored["line_items"], parsed["line_items"], strict=True):
            assert row["amount"] == (Decimal(item["amount"]) if item["amount"] is not None else None)
            assert row["description"] == item["description"]

    for stored, expected in zip(invoices, case["invoices"] or [], strict=False):
        for field in ("total", "subtotal", "tax"):
            if field in expected:
                want = expected[field]
                assert stored[field] == (Decimal(want) if want is not None else None), field
                if want is not None:
                    assert str(stored[field]) == want  # exact decimal, scale kept
        if "invoice_number" in expected:
            assert stored["invoice_number"] == expected["invoice_number"]
        if "currency" in expected:
            assert stored["currency"] == expected["currency"]
        if "line_items" in expected:
            assert len(stored["line_items"]) == expected["line_items"]

    statuses = [e["to_status"] for e in repository.events_for(doc.id)]
    assert statuses == ["RECEIVED", "QUEUED", "ANALYZING", "PARSING", "VALIDATING", doc.status]


def _assert_failed(stack: Stack, error: str) -> repository.Document:
    (execution,) = stack.wait_for_executions(1)
    assert execution["status"] == "FAILED", execution
    assert execution.get("error") == error, execution
    (failed,) = _failed_states(stack, execution["executionArn"])
    assert failed["executionFailedEventDetails"]["error"] == error
    doc = _only_document(stack)
    assert doc.status == "FAILED"
    assert doc.error_code == error
    assert doc.error_message
    assert repository.events_for(doc.id)[-1]["to_status"] == "FAILED"
    assert repository.invoices_for(doc.id) == []
    return doc


def _default_invoice(standin: standin_mod._State) -> bytes:
    content = require(TEXTRACT_DIR / "default_invoice_1.png").read_bytes()
    standin.engine.add(content, recorded("default_invoice_1.analyze_expense.json"))  # type: ignore[attr-defined]
    return content


def test_throttling_clears_after_retries(stack: Stack, standin: standin_mod._State) -> None:
    # The SDK retries twice inside one invocation (standard mode), then the state machine's Retry runs
    # StartAnalysis again: 4 throttles need both layers.
    standin.faults.throttle_starts = 4
    stack.upload("incoming/a.png", _default_invoice(standin))
    (execution,) = stack.wait_for_executions(1)
    assert execution["status"] == "SUCCEEDED", execution
    doc = _only_document(stack)
    assert doc.status in ("COMPLETED", "NEEDS_REVIEW")
    assert standin.start_calls == 5
    failures = [e for e in stack.history(execution["executionArn"]) if e["type"] == "TaskFailed"]
    assert failures and all(json.loads(e["taskFailedEventDetails"].get("cause", "{}") or "{}").get("errorType",
                            e["taskFailedEventDetails"]["error"]) == "TextractThrottled" for e in failures)


def test_empty_file(stack: Stack) -> None:
    stack.upload("incoming/empty.pdf", b"")
    doc = _assert_failed(stack, "EmptyDocument")
    assert doc.object_key == "incoming/empty.pdf" and doc.size_bytes == 0


def test_unsupported_type_is_sniffed_from_bytes(stack: Stack) -> None:
    content = b"Just some text pretending to be a PDF by its name.\n" * 20
    stack.upload("incoming/notes.pdf", content)
    doc = _assert_failed(stack, "UnsupportedDocumentType")
    assert doc.size_bytes == len(content)  # refused before Register, with the size the event reported


def test_truncated_pdf(stack: Stack) -> None:
    pdf = require(INVOICES_DIR / "AmazonWebServices.pdf").read_bytes()
    stack.upload("incoming/truncated.pdf", pdf[: len(pdf) // 2])
    _assert_failed(stack, "CorruptDocument")


def test_same_content_twice_is_one_analysis_and_a_duplicate(stack: Stack, standin: standin_mod._State) -> None:
    content = _default_invoice(standin)
    stack.upload("incoming/first.png", content)
    stack.wait_for_executions(1)
    stack.upload("incoming/copy-of-first.png", content)
    first, second = stack.wait_for_executions(2)
    assert first["status"] == second["status"] == "SUCCEEDED"
    assert standin.start_calls == 1
    docs = _documents()
    assert [d["status"] for d in docs][1] == "DUPLICATE"
    assert docs[1]["duplicate_of"] == docs[0]["id"]
    assert docs[0]["status"] in ("COMPLETED", "NEEDS_REVIEW")
    assert len(repository.invoices_for(docs[0]["id"])) == 1
    assert repository.invoices_for(docs[1]["id"]) == []


def test_same_event_delivered_twice_gives_one_invoice(stack: Stack, standin: standin_mod._State) -> None:
    stack.upload("incoming/a.png", _default_invoice(standin))
    (first,) = stack.wait_for_executions(1)
    # EventBridge delivers at least once: start the state machine again with the very same event.
    stack.client("stepfunctions").start_execution(stateMachineArn=stack.state_machine_arn, name="redelivery",
                                                  input=first["input"])
    executions = stack.wait_for_executions(2)
    assert all(e["status"] == "SUCCEEDED" for e in executions)
    docs = _documents()
    assert len(docs) == 1
    assert len(repository.invoices_for(docs[0]["id"])) == 1
    assert standin.start_calls == 1
    redelivered = [e for e in executions if e["name"] == "redelivery"][0]
    states = [e["stateEnteredEventDetails"]["name"] for e in stack.history(redelivered["executionArn"])
              if e["type"].endswith("StateEntered")]
    assert states[-1] == "AlreadyRegistered"


def test_state_outputs_stay_small(stack: Stack, standin: standin_mod._State) -> None:
    """The biggest recorded response (receipt_no_summary, 29 items) must not travel through state payloads."""
    content = require(TEXTRACT_DIR / "receipt_no_summary.png").read_bytes()
    standin.engine.add(content, recorded("receipt_no_summary.analyze_expense.json"))  # type: ignore[attr-defined]
    stack.upload("incoming/big.png", content)
    (execution,) = stack.wait_for_executions(1)
    sizes = [len(json.dumps(e, default=str)) for e in stack.history(execution["executionArn"])]
    assert max(sizes) < 16_000, max(sizes)


def test_every_state_payload_matches_its_schema(stack: Stack, standin: standin_mod._State) -> None:
    """schemas/states.schema.json describes what each function receives and returns: check it against the
    payloads of real executions, a successful one with pagination and a failed one."""
    from invoice_local.emulation import lambda_runner
    from invoice_pipeline.schemas import validate_definition

    content = png("gessies")
    standin.engine.add(content, recorded("gessies_receipt.get_expense_analysis.page1.json",  # type: ignore[attr-defined]
                                         "gessies_receipt.get_expense_analysis.page2.json"))
    stack.upload("incoming/paged.png", content)
    stack.upload("incoming/empty.png", b"")
    stack.wait_for_executions(2)
    seen = set()
    key_of = {name: key for key, name in stack.function_names.items()}  # Terraform's names -> manifest keys
    for call in list(lambda_runner.invocations):
        fn = key_of[call["function"]]
        validate_definition("states", f"{fn}_input", call["event"])
        if call["ok"]:
            validate_definition("states", f"{fn}_output", call["result"])
        seen.add(fn)
    # dispatch runs on its schedule (every minute), so it may or may not have run during the test
    assert seen - {"dispatch"} == {"intake", "register", "admit", "start_analysis", "callback", "parse", "validate",
                                   "persist", "record_failure"}
