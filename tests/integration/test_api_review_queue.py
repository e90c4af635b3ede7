"""The web page's two reads for review (api/review_queue.py, api/document_content.py) through the Lambda handler
against a real Postgres: the queue holds what a person must look at, with why and who holds it, and leaves
once decided; the content route presigns the document's own bytes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.integration.test_api_review import REVIEWER, VIEWER, call, claimed, needs_review
from tests.integration.test_api_routes import (
    api_fixture,  # noqa: F401 - registers the `api` fixture here
    insert_completed,
)


def queue() -> list[dict[str, object]]:
    reply = call("GET", "/invoices/review-queue", VIEWER)
    assert reply.status == 200, reply
    return reply.json()["items"]  # type: ignore[no-any-return]


def test_the_queue_lists_what_waits_with_why_and_who_holds_it(api: str) -> None:
    insert_completed(key="incoming/fine.pdf")  # COMPLETED: nobody has to look at it
    first = needs_review(number="INV-1")
    second = needs_review(number="INV-2", total="500.00")
    assert [i["invoice_id"] for i in queue()] == [str(first), str(second)]  # oldest first
    item = queue()[0]
    assert item["reasons"] == ["TOTAL_MISMATCH"] and item["possible_duplicate"] is False
    assert (item["total"], item["currency"], item["vendor_name"], item["file"]) == ("999.00", "EUR", "ACME GmbH",
                                                                                   "a.pdf")
    assert item["claim"] is None and item["status"] == "NEEDS_REVIEW"

    claimed(first)
    assert queue()[0]["claim"]["by"] == REVIEWER["sub"]
    # A second invoice with the first's number and total is held as its possible duplicate, and says so.
    copy = needs_review(number="INV-1")
    held = next(i for i in queue() if i["invoice_id"] == str(copy))
    assert held["possible_duplicate"] is True and "POSSIBLE_DUPLICATE" in held["reasons"]

    etag = call("GET", f"/invoices/{second}", VIEWER).headers["etag"]
    claimed(second)
    assert call("POST", f"/invoices/{second}/reject", REVIEWER, {"reason": "not ours"},
                headers={"if-match": etag}).status == 200
    assert str(second) not in [i["invoice_id"] for i in queue()]
    assert call("GET", "/invoices/review-queue", VIEWER, query="?limit=1").json()["items"][0]["invoice_id"] == \
        str(first)


def test_the_content_route_presigns_the_documents_own_version(api: str) -> None:
    inv = needs_review()
    doc = call("GET", f"/invoices/{inv}", VIEWER).json()["document_id"]
    reply = call("GET", f"/documents/{doc}/content", VIEWER)
    assert reply.status == 200, reply
    body = reply.json()
    url = urlsplit(body["url"])
    assert url.path.endswith("/incoming/a.pdf") and body["expires_in"] == 300
    query = parse_qs(url.query)
    assert "X-Amz-Signature" in query or "Signature" in query
    assert len(query["versionId"][0]) == 32  # the version Register recorded (insert_document's), not the latest
    assert query["response-content-type"] == ["application/pdf"]
    missing = call("GET", "/documents/00000000-0000-4000-8000-000000000000/content", VIEWER)
    assert (missing.status, missing.code) == (404, "NOT_FOUND")
