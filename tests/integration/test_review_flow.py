"""Review on the deployed stack (issue 12): an invoice the pipeline sent to NEEDS_REVIEW is claimed, corrected
and approved by a reviewer through the local API server, which runs the api function as Terraform configured
it, so every statement runs as the API's own database role (invoice_api). A viewer's PATCH is 403, a stale
If-Match 412, the history lists each change, and that role cannot change or delete an audit row. The
invoice's events are read from the EventBridge bus itself (local mode's tap rule and its queue, what
`invoices events` reads): InvoiceNeedsReview when the pipeline stored it, then InvoiceApproved when the
reviewer approved it, in that order, each valid against its schema."""

from __future__ import annotations

import copy
import json
from typing import Any

import pg8000.native
import pytest
import requests
from invoice_local.api_server import ApiServer
from invoice_local.deployment import Deployment as Stack
from invoice_local.emulation import eventbridge
from invoice_local.emulation import textract as standin_mod
from invoice_pipeline.adapters.dburl import connect_kwargs
from pg8000.exceptions import DatabaseError

from tests.integration.test_downstream_events import read_tap as on_the_bus
from tests.integration.test_pipeline import png, recorded
from tests.unit.test_downstream_events import validate_event

WRONG_TOTAL, RIGHT_TOTAL = "6281.09", "6231.09"  # subtotal 6169.40 + tax 61.69 = 6231.09


def _misread_total() -> list[dict[str, Any]]:
    """default_invoice_1's real Textract answer, with the total misread by one digit."""
    pages = copy.deepcopy(recorded("default_invoice_1.analyze_expense.json"))
    for doc in pages[0]["ExpenseDocuments"]:
        for field in doc["SummaryFields"]:
            if field["Type"]["Text"] == "TOTAL":
                field["ValueDetection"]["Text"] = f"${WRONG_TOTAL}"
    return pages


def test_a_reviewer_corrects_and_approves_what_the_pipeline_sent_to_review(
        stack: Stack, standin: standin_mod._State, monkeypatch: pytest.MonkeyPatch) -> None:
    content = png("review-flow")
    standin.engine.add(content, _misread_total())  # type: ignore[attr-defined]
    stack.upload("incoming/review.png", content)
    (execution,) = stack.wait_for_executions(1)
    assert execution["status"] == "SUCCEEDED"
    # Persist published the invoice's first event right after its commit: it is on the bus before any review.
    (needs_review,) = on_the_bus(stack, 1)

    function = stack.client("lambda").get_function_configuration(FunctionName=stack.function_names["api"])
    env = function["Environment"]["Variables"]
    for name, value in env.items():  # restored after the test (ApiServer writes them into os.environ)
        monkeypatch.setenv(name, value)
    assert connect_kwargs(env["DATABASE_URL"])["user"] == "invoice_api"
    with ApiServer(function=function) as server:
        def as_(subject: str, *groups: str) -> dict[str, str]:
            token = server.tokens.issue(subject, **{"cognito:groups": list(groups)})
            return {"Authorization": f"Bearer {token}"}

        reviewer, viewer = as_("rev-1", "reviewers"), as_("view-1", "viewers")
        docs = requests.get(f"{server.url}/documents", headers=viewer, timeout=30).json()["items"]
        assert [d["status"] for d in docs] == ["NEEDS_REVIEW"]
        (inv,) = requests.get(f"{server.url}/documents/{docs[0]['id']}/invoice", headers=viewer,
                              timeout=30).json()["invoices"]
        assert inv["total"] == WRONG_TOTAL and "TOTAL_MISMATCH" in [i["code"] for i in inv["issues"]]
        url = f"{server.url}/invoices/{inv['id']}"

        read = requests.get(url, headers=viewer, timeout=30)
        etag = read.headers["ETag"]
        denied = requests.patch(url, headers={**viewer, "If-Match": etag}, json={"total": RIGHT_TOTAL}, timeout=30)
        assert (denied.status_code, denied.json()["error"]["code"]) == (403, "FORBIDDEN")

        assert requests.post(f"{url}/claim", headers=reviewer, timeout=30).status_code == 200
        # The engine misread the total and found no vendor name: one correction mends both.
        corrected = requests.patch(url, headers={**reviewer, "If-Match": etag},
                                   json={"total": RIGHT_TOTAL, "vendor": {"name": "Any Company"}}, timeout=30)
        assert corrected.status_code == 200, corrected.text
        body = corrected.json()["invoice"]
        assert body["total"] == RIGHT_TOTAL and body["vendor"]["name"] == "Any Company"
        assert body["validation_status"] == "COMPLETED", body["issues"]  # validation ran again and passed
        stale = requests.patch(url, headers={**reviewer, "If-Match": etag}, json={"po_number": "PO-1"}, timeout=30)
        assert (stale.status_code, stale.json()["error"]["code"]) == (412, "PRECONDITION_FAILED")
        po = requests.patch(url, headers={**reviewer, "If-Match": corrected.headers["ETag"]},
                            json={"po_number": "PO-1"}, timeout=30)
        assert po.status_code == 200, po.text

        approved = requests.post(f"{url}/approve", headers=reviewer, timeout=30)
        assert approved.status_code == 200, approved.text
        assert approved.json()["invoice"]["validation_status"] == "APPROVED"
        assert approved.json()["ready_for_payment"] is True
        # The approval's event waits in the outbox (written in the decision's transaction) for the scheduled
        # publish-events function: Terraform's rule, fired now rather than in up to a minute.
        eventbridge.fire_scheduled(stack.function_names["publish_events"])
        (approval,) = on_the_bus(stack, 1)

        events = requests.get(f"{url}/history", headers=viewer, timeout=30).json()["events"]
        assert [(e["action"], e["field"]) for e in events] == [
            ("CLAIM", None), ("EDIT", "vendor.name"), ("EDIT", "total"), ("EDIT", "po_number"), ("APPROVE", None)]
        total = events[2]
        assert (total["actor"], total["old_value"], total["new_value"], total["original_value"]) == (
            "rev-1", WRONG_TOTAL, RIGHT_TOTAL, WRONG_TOTAL)
        assert total["engine"] == "textract" and total["original_confidence"] is not None
        assert events[1]["original_value"] is None  # the engine found no vendor name

    # The bus got the invoice's two events in the order they happened: each read before the next existed, and
    # their sequences (the outbox's, which orders publishing) rising.
    assert [e["detail-type"] for e in (needs_review, approval)] == ["InvoiceNeedsReview", "InvoiceApproved"]
    assert needs_review["detail"]["sequence"] < approval["detail"]["sequence"]
    for event in (needs_review, approval):
        assert event["source"] == "invoice-pipeline"
        validate_event(event["detail-type"], event["detail"])
    first, last = needs_review["detail"], approval["detail"]
    assert (first["invoice_id"], first["status"], first["ready_for_payment"]) == (inv["id"], "NEEDS_REVIEW", False)
    assert first["totals"]["total"] == WRONG_TOTAL and "TOTAL_MISMATCH" in first["issues"]
    assert (last["invoice_id"], last["status"], last["ready_for_payment"]) == (inv["id"], "APPROVED", True)
    assert last["totals"] == {"total": RIGHT_TOTAL, "currency": inv["currency"], "amount_due": inv["amount_due"]}
    assert (last["vendor"]["name"], last["actor"]) == ("Any Company", "rev-1")

    # The role the api function logs in as cannot rewrite or erase what it wrote.
    con = pg8000.native.Connection(timeout=10, **connect_kwargs(env["DATABASE_URL"]))
    try:
        for sql in ("UPDATE invoice_audit SET new_value = '1.00'", "DELETE FROM invoice_audit",
                    "TRUNCATE invoice_audit"):
            with pytest.raises(DatabaseError) as refused:
                con.run(sql)
            assert refused.value.args[0]["C"] == "42501", sql  # insufficient_privilege
        rows = con.run("SELECT action, field, new_value FROM invoice_audit WHERE invoice_id = :i ORDER BY id",
                       i=inv["id"])
        assert json.loads(json.dumps(rows)) == [
            ["CLAIM", None, None], ["EDIT", "vendor.name", "Any Company"], ["EDIT", "total", RIGHT_TOTAL],
            ["EDIT", "po_number", "PO-1"], ["APPROVE", None, None]]
    finally:
        con.close()
