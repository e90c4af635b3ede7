"""Every place that names the statuses agrees with the one definition, invoice_pipeline.domain.status. Python
code imports it; these tests hold what cannot (the JSON schemas, the web page) and what is generated from it
(the OpenAPI document) to it. The SQL CHECK constraints are checked on a migrated database in
tests/integration/test_status_constraints.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from invoice_pipeline.domain.status import (
    TERMINAL,
    VALIDATION_OUTCOMES,
    DocumentStatus,
    InvoiceStatus,
    ReprocessableStatus,
)

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "functions" / "web"
FLOW = [s.value for s in DocumentStatus]
NAMES = set(FLOW) | {s.value for s in InvoiceStatus}


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _enums(node: Any, where: str = "#") -> Iterator[tuple[str, list[Any]]]:
    """Every `enum` list in a JSON document, with where it is."""
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield where, node["enum"]
        for key, value in node.items():
            yield from _enums(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _enums(value, f"{where}/{i}")


def _one(pattern: str, text: str, what: str) -> str:
    found = re.findall(pattern, text, flags=re.DOTALL)
    assert len(found) == 1, f"expected exactly one {what}, found {len(found)}: the test no longer reads it"
    return str(found[0])


def test_the_definition_itself() -> None:
    assert FLOW[0] == "RECEIVED"
    assert set(DocumentStatus) > TERMINAL
    # The final statuses come last, after every status a document passes through.
    assert FLOW[-len(TERMINAL):] == [s.value for s in DocumentStatus if s in TERMINAL]
    assert set(InvoiceStatus) >= VALIDATION_OUTCOMES
    # What validation decides for the invoices is the document's final status too.
    assert {s.value for s in VALIDATION_OUTCOMES} <= {s.value for s in TERMINAL}
    # A bulk reprocess selects by final status, all but DUPLICATE, listed in flow order.
    assert [s.value for s in ReprocessableStatus] == [s.value for s in DocumentStatus
                                                       if s in TERMINAL and s is not DocumentStatus.DUPLICATE]


def test_states_schema() -> None:
    defs = _json(ROOT / "schemas" / "states.schema.json")["$defs"]
    assert defs["document"]["properties"]["status"]["enum"] == FLOW
    for name in ("validate_output", "persist_output"):
        assert set(defs[name]["properties"]["status"]["enum"]) == {s.value for s in VALIDATION_OUTCOMES}, name
    # No other list of status names hides in the file.
    places = {where for where, values in _enums(defs) if set(values) & NAMES}
    assert places == {"#/document/properties/status", "#/validate_output/properties/status",
                      "#/persist_output/properties/status"}


def test_openapi_document() -> None:
    # schemas/openapi.json is generated from the models (test_api_openapi.py checks it is fresh); here: the
    # models name the statuses through the enums, so the document holds each list once, as a component.
    doc = _json(ROOT / "schemas" / "openapi.json")
    schemas = doc["components"]["schemas"]
    assert schemas["DocumentStatus"]["enum"] == FLOW
    assert schemas["InvoiceStatus"]["enum"] == [s.value for s in InvoiceStatus]
    assert schemas["ReprocessableStatus"]["enum"] == [s.value for s in ReprocessableStatus]
    places = {where for where, values in _enums(doc) if set(values) & NAMES}
    assert places == {"#/components/schemas/DocumentStatus", "#/components/schemas/InvoiceStatus",
                      "#/components/schemas/ReprocessableStatus"}
    refs = json.dumps(doc).count('"#/components/schemas/DocumentStatus"')
    assert refs >= 6  # list and export filters, summary, detail, timeline (from and to), invoices


def test_api_models() -> None:
    from invoice_pipeline.api import models

    assert models.DocumentSummary.model_fields["status"].annotation is DocumentStatus
    assert models.Invoice.model_fields["validation_status"].annotation is InvoiceStatus
    assert models.BulkReprocessRequest.model_fields["status"].annotation == list[ReprocessableStatus]


def test_cli() -> None:
    from invoice_local import commands

    assert commands.TERMINAL is TERMINAL


def _page_terminal(source: str) -> set[str]:
    listed = _one(r"const TERMINAL = new Set\(\[(.*?)\]\);", source, "TERMINAL set in app.js")
    return set(re.findall(r'"([A-Z_]+)"', listed))


def test_web_page_terminal_set() -> None:
    # The page has no Python to import: its copy is held to the definition here.
    assert _page_terminal((WEB / "app.js").read_text(encoding="utf-8")) == {s.value for s in TERMINAL}


def test_web_page_decided_set() -> None:
    from invoice_pipeline.domain.status import DECISIONS

    source = (WEB / "app.js").read_text(encoding="utf-8")
    listed = _one(r"const DECIDED = new Set\(\[(.*?)\]\);", source, "DECIDED set in app.js")
    assert set(re.findall(r'"([A-Z_]+)"', listed)) == {s.value for s in DECISIONS}


def test_web_page_status_filter() -> None:
    page = (WEB / "index.html").read_text(encoding="utf-8")
    select = _one(r'<select name="status" id="filter-status">(.*?)</select>', page, "status filter in index.html")
    assert re.findall(r"<option>([A-Z_]+)</option>", select) == FLOW


def test_web_page_styles_every_status() -> None:
    css = (WEB / "style.css").read_text(encoding="utf-8")
    styled = set(re.findall(r"\.status-([A-Z_]+)\b", css))
    assert styled == NAMES


@pytest.mark.parametrize("drift", ["extra", "missing"])
def test_a_drifted_page_is_caught(drift: str) -> None:
    """The page's copy is read by pattern: one that drifts must fail the comparison, not slip by."""
    source = (WEB / "app.js").read_text(encoding="utf-8")
    drifted = source.replace('"DUPLICATE"', '"DUPLICATE", "QUEUED"' if drift == "extra" else '"DUPLICATE_"', 1)
    assert drifted != source
    assert _page_terminal(drifted) != {s.value for s in TERMINAL}
