"""schemas/openapi.json is what the code says: generated from the routes and models, checked here, and a
valid OpenAPI 3.1 document."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="module")
def openapi() -> ModuleType:
    # Powertools reads its settings when observability.py is first imported: import under the function's.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POWERTOOLS_SERVICE_NAME", "invoice-api")
        mp.setenv("POWERTOOLS_METRICS_NAMESPACE", "InvoicePipeline")
        from invoice_pipeline.api import openapi as module
    return module


@pytest.fixture(scope="module")
def document(openapi: ModuleType) -> dict[str, Any]:
    return json.loads(openapi.PATH.read_text(encoding="utf-8"))


def test_the_file_is_what_the_code_generates(openapi: ModuleType) -> None:
    assert openapi.PATH.read_text(encoding="utf-8") == openapi.render(), (
        "schemas/openapi.json is stale: run .venv/bin/python -m invoice_pipeline.api.openapi --write")
    assert openapi.main(["--check"]) == 0


def test_it_is_a_valid_openapi_31_document(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_route_is_documented_with_its_errors(openapi: ModuleType, document: dict[str, Any]) -> None:
    from invoice_pipeline.api.app import app

    routes = {(r.method.lower(), r.openapi_path) for r in app._static_routes + app._dynamic_routes}  # noqa: SLF001
    documented = {(m, p) for p, ops in document["paths"].items() for m in ops}
    assert routes == documented
    assert documented == {("get", "/health"), ("get", "/documents"), ("post", "/documents"),
                          ("get", "/documents/{document_id}"), ("get", "/documents/{document_id}/invoice"),
                          ("post", "/documents/{document_id}/reprocess"), ("post", "/documents/reprocess"),
                          ("get", "/invoices/export"), ("get", "/invoices/{invoice_id}"),
                          ("patch", "/invoices/{invoice_id}"), ("get", "/invoices/{invoice_id}/history"),
                          ("post", "/invoices/{invoice_id}/claim"), ("post", "/invoices/{invoice_id}/release"),
                          ("post", "/invoices/{invoice_id}/approve"), ("post", "/invoices/{invoice_id}/reject"),
                          ("post", "/invoices/{invoice_id}/clear-duplicate"),
                          ("get", "/metrics/accuracy"), ("get", "/invoices/review-queue"),
                          ("get", "/documents/{document_id}/content")}
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            statuses = set(op["responses"])
            assert {"400", "413", "503"} <= statuses, (method, path)
            if path != "/health":
                assert "401" in statuses, (method, path)
                assert "security" not in op  # the document-wide bearer/sigv4 requirement applies
            if "{document_id}" in path or "{invoice_id}" in path:
                assert "404" in statuses
            if method != "get" and "{invoice_id}" in path:
                assert {"403", "409"} <= statuses, (method, path)
            assert "422" not in statuses and "500" not in statuses


def test_only_health_is_anonymous(document: dict[str, Any]) -> None:
    assert document["security"] == [{"bearer": []}, {"sigv4": []}]
    anonymous = [(m, p) for p, ops in document["paths"].items() for m, op in ops.items() if op.get("security") == []]
    assert anonymous == [("get", "/health")]


def test_error_codes_are_an_enumerated_contract(document: dict[str, Any]) -> None:
    from invoice_pipeline.api.errors import STATUS, Code

    schemas = document["components"]["schemas"]
    assert set(schemas["Code"]["enum"]) == {c.value for c in Code}
    assert set(STATUS) == set(Code)
    assert schemas["ErrorBody"]["required"] == ["code", "message"]


def test_amounts_are_strings(document: dict[str, Any]) -> None:
    invoice = document["components"]["schemas"]["Invoice"]["properties"]
    for field in ("subtotal", "tax", "discount", "total", "amount_due"):
        kinds = [s.get("type") for s in invoice[field]["anyOf"]]
        assert kinds == ["string", "null"], field
