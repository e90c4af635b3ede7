"""Every route, filter and error of the API, through the Lambda handler, against a real Postgres.

Requests are HTTP API (payload 2.0) events as API Gateway sends them, with the JWT authorizer's claims (or the
IAM caller) in requestContext.authorizer; the helpers below are shared by the other test_api_* modules."""

from __future__ import annotations

import base64
import html
import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
import requests
from botocore.config import Config
from invoice_local.api_server import LocalContext, build_event
from invoice_local.emulation import server
from invoice_pipeline.adapters import aws, db, repository
from invoice_pipeline.api import cursor, routes

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


# --- helpers (imported by the other test_api_* modules) ---------------------------------------------------
class Reply:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.status: int = raw["statusCode"]
        self.headers: dict[str, str] = {k.lower(): v for k, v in (raw.get("headers") or {}).items()}
        body = raw.get("body") or ""
        self.content = base64.b64decode(body) if raw.get("isBase64Encoded") else body.encode()

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def code(self) -> str | None:
        body = self.json()
        return body.get("error", {}).get("code") if isinstance(body, dict) else None

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.content[:300]!r})"


def call(method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None,
         auth: str | None = "jwt", headers: dict[str, str] | None = None, raw_body: bytes | None = None) -> Reply:
    """Call the Lambda handler with the event API Gateway would build. auth: "jwt", "iam" or None."""
    # Imported on first use, under the `api` fixture's environment: Powertools reads its settings (the metrics
    # namespace) when observability.py is first imported, and the pipeline's own tests rely on them.
    from invoice_pipeline.handlers.api import handler

    target = path + ("?" + urlencode(query, doseq=True) if query else "")
    hdrs = dict(headers or {})
    payload = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
    if body is not None and raw_body is None:
        hdrs.setdefault("content-type", "application/json")
    claims = {"sub": "user-1", "email": "user@example.com", "token_use": "access"} if auth == "jwt" else None
    event = build_event(method=method, target=target, headers=list(hdrs.items()), body=payload, claims=claims)
    if auth == "iam":
        event["requestContext"]["authorizer"] = {"iam": {
            "accessKey": "AKIA...", "accountId": "111122223333", "callerId": "AROA:machine",
            "userArn": "arn:aws:sts::111122223333:assumed-role/exporter/machine", "userId": "AROA:machine"}}
    return Reply(handler(event, LocalContext()))


def insert_document(*, key: str = "incoming/a.pdf", status: str = "RECEIVED", created_at: datetime | None = None,
                    sha256: str | None = None, error: tuple[str, str] | None = None,
                    execution_arn: str | None = None, duplicate_of: uuid.UUID | None = None) -> uuid.UUID:
    """A document row (with its first event) as Register would leave it, at a chosen time."""
    doc_id = uuid.uuid4()
    created = created_at or datetime.now(UTC)
    arn = execution_arn or f"arn:aws:states:eu-west-1:111122223333:execution:invoices-pipeline:{doc_id.hex}"
    with db.transaction() as con:
        con.run(
            "INSERT INTO documents (id, bucket, object_key, version_id, sha256, size_bytes, media_type,"
            " page_count, status, duplicate_of, error_code, error_message, execution_arn, created_at, updated_at)"
            " VALUES (:id, 'ingest', :k, :v, :s, 1234, 'application/pdf', 1, :st, :dup, :ec, :em, :x, :t, :t)",
            id=doc_id, k=key, v=uuid.uuid4().hex, s=sha256 or uuid.uuid4().hex * 2, st=status, dup=duplicate_of,
            ec=error[0] if error else None, em=error[1] if error else None, x=arn, t=created,
        )
        con.run("INSERT INTO document_events (document_id, from_status, to_status, detail, execution_arn,"
                " created_at) VALUES (:d, NULL, 'RECEIVED', '{}', :x, :t)", d=doc_id, x=arn, t=created)
        if status != "RECEIVED":
            con.run("INSERT INTO document_events (document_id, from_status, to_status, detail, execution_arn,"
                    " created_at) VALUES (:d, 'RECEIVED', :st, CAST(:detail AS jsonb), :x, :t)",
                    d=doc_id, st=status, x=arn, t=created + timedelta(seconds=5),
                    detail=json.dumps({"error": error[0]} if error else {}))
    return doc_id


def invoice(*, number: str | None = "INV-1", vendor: str | None = "ACME GmbH", total: str | None = "119.00",
            invoice_date: str | None = "2024-02-15", items: int = 2, currency: str = "EUR",
            customer: str | None = "Buyer Ltd") -> dict[str, Any]:
    """A normalized invoice (schemas/invoice.schema.json) with the fields Persist stores."""
    return {
        "invoice_number": number, "vendor": {"name": vendor, "address": "Street 1, Berlin", "tax_id": "DE123"},
        "customer": {"name": customer, "address": None}, "invoice_date": invoice_date, "due_date": None,
        "po_number": None, "currency": currency, "subtotal": "100.00", "tax": "19.00", "discount": None,
        "total": total, "amount_due": total,
        "line_items": [{"description": f"Item {i}", "quantity": "1", "unit_price": "50.00", "amount": "50.00",
                        "product_code": f"P{i}", "page": 1} for i in range(items)],
        "confidence": {"total": 0.98}, "provenance": {"engine": "textract", "pages": [1], "fields": {}},
    }


def insert_completed(*, key: str = "incoming/a.pdf", created_at: datetime | None = None,
                     invoices: list[dict[str, Any]] | None = None, status: str = "COMPLETED",
                     issues: list[dict[str, Any]] | None = None) -> uuid.UUID:
    doc_id = insert_document(key=key, created_at=created_at)
    repository.persist_invoices(doc_id, {"invoices": invoices if invoices is not None else [invoice()]},
                                status=status, issues=issues or [], execution_arn=None)
    return doc_id


@pytest.fixture(name="api")
def api_fixture(clean_db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean database and the API function's settings (no AWS behind them: routes that need AWS use the
    aws_env fixture as well)."""
    monkeypatch.setenv("INGEST_BUCKET", "invoices-test-ingest")
    monkeypatch.setenv("RESULTS_BUCKET", "invoices-test-results")
    monkeypatch.setenv("STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:invoices-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "invoice-pipeline")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "InvoicePipeline")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    yield clean_db  # type: ignore[misc]


def ids(reply: Reply) -> list[str]:
    return [item["id"] for item in reply.json()["items"]]


# --- authentication -----------------------------------------------------------------------------------
ROUTES = [
    ("GET", "/documents"), ("POST", "/documents"), ("GET", f"/documents/{uuid.uuid4()}"),
    ("GET", f"/documents/{uuid.uuid4()}/invoice"), ("POST", f"/documents/{uuid.uuid4()}/reprocess"),
    ("GET", "/invoices/export"), ("GET", "/invoices/export?format=xlsx"), ("GET", "/documents/not-a-uuid"),
    ("GET", "/no/such/route"), ("DELETE", "/documents"), ("GET", "/documents?limit=-1"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_unauthenticated_requests_get_401_on_every_route(api: str, method: str, path: str) -> None:
    reply = call(method, path, auth=None)
    assert reply.status == 401, reply
    assert reply.code == "UNAUTHORIZED"
    assert reply.headers["www-authenticate"].startswith("Bearer")


def test_a_jwt_without_subject_is_not_a_principal(api: str) -> None:
    from invoice_pipeline.handlers.api import handler

    event = build_event(method="GET", target="/documents", headers=[], body=b"", claims={"email": "x@y"})
    assert handler(event, LocalContext())["statusCode"] == 401


def test_health_is_the_only_anonymous_route(api: str) -> None:
    reply = call("GET", "/health", auth=None)
    assert reply.status == 200, reply
    assert reply.json() == {"status": "ok", "database": "ok"}
    assert call("POST", "/health", auth=None).status == 401


def test_machine_routes_need_iam_and_people_routes_need_jwt(api: str) -> None:
    insert_completed()
    assert call("GET", "/iam/documents", auth="iam").status == 200
    assert len(call("GET", "/iam/documents", auth="iam").json()["items"]) == 1
    # An authorizer context that does not belong to the route came through a misconfigured route.
    assert call("GET", "/iam/documents", auth="jwt").status == 401
    assert call("GET", "/documents", auth="iam").status == 401


# --- GET /documents -----------------------------------------------------------------------------------
def test_list_is_newest_first_and_cursor_pages_cover_everything_once(api: str) -> None:
    # Two documents share a timestamp: the id breaks the tie, so no row is skipped or repeated.
    created = [T0 + timedelta(minutes=i) for i in range(7)] + [T0 + timedelta(minutes=3)]
    docs = [insert_document(key=f"incoming/{i}.pdf", created_at=t) for i, t in enumerate(created)]
    expected = [str(d) for d, _ in sorted(zip(docs, created, strict=True), key=lambda p: (p[1], p[0].hex),
                                          reverse=True)]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        reply = call("GET", "/documents", query={"limit": 3, **({"cursor": token} if token else {})})
        assert reply.status == 200, reply
        seen += ids(reply)
        pages += 1
        token = reply.json()["next_cursor"]
        if token is None:
            break
    assert seen == expected
    assert pages == 3


def test_pages_stay_stable_while_new_documents_arrive(api: str) -> None:
    old = [insert_document(key=f"incoming/old-{i}.pdf", created_at=T0 + timedelta(minutes=i)) for i in range(6)]
    first = call("GET", "/documents", query={"limit": 3})
    assert ids(first) == [str(d) for d in reversed(old[3:])]
    for i in range(4):  # uploads that arrive while the client reads page 1
        insert_document(key=f"incoming/new-{i}.pdf")
    second = call("GET", "/documents", query={"limit": 3, "cursor": first.json()["next_cursor"]})
    assert ids(second) == [str(d) for d in reversed(old[:3])]
    assert second.json()["next_cursor"] is None
    # A fresh first page shows the newcomers.
    assert len([i for i in call("GET", "/documents").json()["items"] if "/new-" in i["key"]]) == 4


def test_list_items_carry_the_first_invoice(api: str) -> None:
    doc = insert_completed(invoices=[invoice(number="A-1", total="10.50"), invoice(number="A-2")])
    (item,) = call("GET", "/documents").json()["items"]
    assert item["id"] == str(doc)
    assert item["invoice_count"] == 2
    assert (item["invoice_number"], item["total"], item["currency"]) == ("A-1", "10.50", "EUR")
    assert item["status"] == "COMPLETED"
    assert item["vendor_name"] == "ACME GmbH"


def test_filter_by_status(api: str) -> None:
    done = insert_completed(key="incoming/done.pdf")
    failed = insert_document(key="incoming/bad.pdf", status="FAILED", error=("CorruptDocument", "truncated"))
    review = insert_completed(key="incoming/review.pdf", status="NEEDS_REVIEW")
    assert ids(call("GET", "/documents", query={"status": "FAILED"})) == [str(failed)]
    assert set(ids(call("GET", "/documents", query={"status": "COMPLETED,NEEDS_REVIEW"}))) == {str(done), str(review)}
    # The parameter repeated means the same as commas (API Gateway joins repeated values with commas).
    assert set(ids(call("GET", "/documents", query={"status": ["FAILED", "COMPLETED"]}))) == {str(done), str(failed)}
    item = call("GET", "/documents", query={"status": "FAILED"}).json()["items"][0]
    assert item["error_code"] == "CorruptDocument"


def test_filter_by_vendor_is_exact_and_case_insensitive(api: str) -> None:
    acme = insert_completed(invoices=[invoice(vendor="ACME GmbH")])
    insert_completed(invoices=[invoice(vendor="ACME GmbH & Co. KG")])
    insert_completed(invoices=[invoice(vendor=None)])
    assert ids(call("GET", "/documents", query={"vendor": "acme gmbh"})) == [str(acme)]
    assert ids(call("GET", "/documents", query={"vendor": "ACME"})) == []


def test_filter_by_text_searches_file_vendor_customer_and_number(api: str) -> None:
    by_key = insert_completed(key="incoming/x/Quarterly_report.pdf", invoices=[invoice(vendor="V1")])
    by_vendor = insert_completed(invoices=[invoice(vendor="Northwind Traders")])
    by_number = insert_completed(invoices=[invoice(number="NW-2024-007", vendor="Other")])
    by_customer = insert_completed(invoices=[invoice(customer="Contoso Northwind branch", vendor="Z")])
    literal = insert_completed(invoices=[invoice(number="50%_off", vendor="Y")])
    assert ids(call("GET", "/documents", query={"q": "quarterly"})) == [str(by_key)]
    assert set(ids(call("GET", "/documents", query={"q": "northwind"}))) == {str(by_vendor), str(by_customer)}
    assert ids(call("GET", "/documents", query={"q": "nw-2024"})) == [str(by_number)]
    # % and _ are literal characters, not wildcards.
    assert ids(call("GET", "/documents", query={"q": "%_"})) == [str(literal)]
    assert ids(call("GET", "/documents", query={"q": "0_o"})) == []


def test_filter_by_received_time(api: str) -> None:
    early = insert_document(created_at=T0)
    middle = insert_document(created_at=T0 + timedelta(days=1))
    late = insert_document(created_at=T0 + timedelta(days=2))
    day1 = (T0 + timedelta(days=1)).isoformat()
    assert ids(call("GET", "/documents", query={"received_from": day1})) == [str(late), str(middle)]
    assert ids(call("GET", "/documents", query={"received_to": day1})) == [str(early)]
    assert ids(call("GET", "/documents", query={"received_from": "2024-03-02T13:00:00+01:00",
                                                "received_to": "2024-03-02T12:00:01z"})) == [str(middle)]
    assert ids(call("GET", "/documents", query={"received_from": day1, "received_to": T0.isoformat()})) == []


def test_filter_by_invoice_date_and_vendor_on_the_same_invoice(api: str) -> None:
    feb = insert_completed(invoices=[invoice(invoice_date="2024-02-10", vendor="ACME")])
    both = insert_completed(invoices=[invoice(invoice_date="2024-01-05", vendor="ACME"),
                                      invoice(invoice_date="2024-03-05", vendor="Other")])
    assert ids(call("GET", "/documents", query={"invoice_date_from": "2024-02-01",
                                                "invoice_date_to": "2024-02-29"})) == [str(feb)]
    assert set(ids(call("GET", "/documents", query={"invoice_date_from": "2024-03-01"}))) == {str(both)}
    # Vendor and date must hold for one and the same invoice: ACME's invoice in `both` is from January.
    assert ids(call("GET", "/documents", query={"vendor": "acme", "invoice_date_from": "2024-02-01"})) == [str(feb)]


@pytest.mark.parametrize("query", [
    {"status": "DONE"}, {"status": "COMPLETED,"}, {"status": ""}, {"limit": 0}, {"limit": 201}, {"limit": "ten"},
    {"received_from": "yesterday"}, {"received_to": "2024-02-30T00:00:00Z"}, {"invoice_date_from": "2024-13-01"},
    {"received_from": "2024-03-02T12:00:00"}, {"received_to": "1700000000"}, {"invoice_date_from": "0"},
    {"invoice_date_to": "01/02/2024"}, {"q": ""}, {"q": "a\x00b"}, {"vendor": "v" * 201}, {"vendor": "\x00"},
])
def test_bad_filters_are_400(api: str, query: dict[str, Any]) -> None:
    reply = call("GET", "/documents", query=query)
    assert reply.status == 400, reply
    assert reply.code == "BAD_REQUEST"
    assert reply.json()["error"]["details"][0]["field"].startswith("query.")


def test_bad_cursors_are_400_bad_cursor(api: str) -> None:
    insert_document()
    fingerprint = cursor.fingerprint({})
    forged = [
        "not-a-cursor!", "e30", base64.urlsafe_b64encode(b"[1,2]").decode(), "x" * 600,
        base64.urlsafe_b64encode(json.dumps({"v": 1, "t": "yesterday", "i": "x", "f": fingerprint}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"v": 1, "t": "2024-01-01T00:00:00", "i": str(uuid.uuid4()),
                                             "f": fingerprint}).encode()).decode(),  # no offset: not ours
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]
    for token in forged:
        reply = call("GET", "/documents", query={"cursor": token})
        assert (reply.status, reply.code) == (400, "BAD_CURSOR"), (token, reply)


def test_a_cursor_is_only_valid_for_its_filters(api: str) -> None:
    for i in range(3):  # three invoices (the same one three times would be held as possible duplicates)
        insert_completed(key=f"incoming/{i}.pdf", invoices=[invoice(number=f"INV-{i}", total=f"11{i}.00")])
    token = call("GET", "/documents", query={"limit": 1, "status": "COMPLETED"}).json()["next_cursor"]
    assert call("GET", "/documents", query={"limit": 1, "status": "COMPLETED", "cursor": token}).status == 200
    reply = call("GET", "/documents", query={"limit": 1, "status": "FAILED", "cursor": token})
    assert (reply.status, reply.code) == (400, "BAD_CURSOR")
    # The page size is not part of the query's identity: a client may change it between pages.
    assert call("GET", "/documents", query={"limit": 2, "status": "COMPLETED", "cursor": token}).status == 200


# --- GET /documents/{id} ------------------------------------------------------------------------------
def test_document_detail_has_status_timeline_error_and_console_link(api: str) -> None:
    arn = "arn:aws:states:eu-west-1:111122223333:execution:invoices-pipeline:abc"
    doc = insert_document(status="FAILED", error=("TextractJobFailed", "job FAILED: bad page"), execution_arn=arn)
    reply = call("GET", f"/documents/{doc}")
    assert reply.status == 200, reply
    body = reply.json()
    assert body["id"] == str(doc) and body["status"] == "FAILED"
    assert body["error"] == {"code": "TextractJobFailed", "message": "job FAILED: bad page"}
    assert body["execution_arn"] == arn
    assert body["console_url"] == ("https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
                                   f"#/v2/executions/details/{arn}")
    assert [(e["from_status"], e["to_status"]) for e in body["timeline"]] == [(None, "RECEIVED"),
                                                                              ("RECEIVED", "FAILED")]
    assert body["timeline"][1]["detail"] == {"error": "TextractJobFailed"}
    assert body["invoice_count"] == 0
    assert reply.headers["content-type"] == "application/json"


def test_completed_document_has_no_error(api: str) -> None:
    doc = insert_completed()
    body = call("GET", f"/documents/{doc}").json()
    assert body["error"] is None and body["invoice_count"] == 1
    assert [e["to_status"] for e in body["timeline"]] == ["RECEIVED", "COMPLETED"]
    assert body["timeline"][-1]["detail"]["invoices"] == 1


@pytest.mark.parametrize("doc_id", ["not-a-uuid", "123", "%20", "00000000-0000-0000-0000-00000000000g",
                                    "'; DROP TABLE documents; --"])
def test_malformed_ids_are_400(api: str, doc_id: str) -> None:
    for path in (f"/documents/{doc_id}", f"/documents/{doc_id}/invoice", f"/documents/{doc_id}/reprocess"):
        reply = call("POST" if path.endswith("reprocess") else "GET", path)
        assert reply.status in (400, 404), (path, reply)  # a path the router cannot even match is 404
        assert reply.code in ("BAD_REQUEST", "NOT_FOUND")


def test_unknown_ids_are_404(api: str) -> None:
    unknown = uuid.uuid4()
    for method, path in (("GET", f"/documents/{unknown}"), ("GET", f"/documents/{unknown}/invoice"),
                         ("POST", f"/documents/{unknown}/reprocess")):
        reply = call(method, path)
        assert (reply.status, reply.code) == (404, "NOT_FOUND"), (path, reply)


# --- GET /documents/{id}/invoice ----------------------------------------------------------------------
def test_invoice_view_has_line_items_issues_and_exact_amounts(api: str) -> None:
    issues = [{"code": "TOTAL_MISMATCH", "severity": "error", "invoice_index": 0, "field": "total",
               "message": "total is not subtotal + tax"}]
    doc = insert_completed(invoices=[invoice(total="119.0000", items=3)], status="NEEDS_REVIEW", issues=issues)
    reply = call("GET", f"/documents/{doc}/invoice")
    assert reply.status == 200, reply
    body = reply.json()
    assert body["status"] == "NEEDS_REVIEW"
    (inv,) = body["invoices"]
    assert inv["total"] == "119.0000"  # the stored scale, as a string
    assert inv["vendor"] == {"name": "ACME GmbH", "address": "Street 1, Berlin", "tax_id": "DE123"}
    assert inv["validation_status"] == "NEEDS_REVIEW"
    assert [i["position"] for i in inv["line_items"]] == [0, 1, 2]
    assert inv["line_items"][0] == {"position": 0, "description": "Item 0", "quantity": "1", "unit_price": "50.00",
                                    "amount": "50.00", "product_code": "P0", "page": 1, "unit": None,
                                    "tax_rate": None}
    assert inv["issues"][0]["code"] == "TOTAL_MISMATCH" and inv["issues"][0]["severity"] == "error"
    assert inv["confidence"] == {"total": 0.98}
    assert inv["invoice_date"] == "2024-02-15"


def test_document_without_invoice_is_404_no_invoice(api: str) -> None:
    failed = insert_document(status="FAILED", error=("EmptyDocument", "0 bytes"))
    reply = call("GET", f"/documents/{failed}/invoice")
    assert (reply.status, reply.code) == (404, "NO_INVOICE")
    assert "EmptyDocument" in reply.json()["error"]["message"]
    running = insert_document(status="ANALYZING")
    assert call("GET", f"/documents/{running}/invoice").code == "NO_INVOICE"


# --- POST /documents ----------------------------------------------------------------------------------
def _policy(reply: Reply) -> dict[str, Any]:
    return json.loads(base64.b64decode(reply.json()["fields"]["policy"]))


def test_upload_ticket_is_a_presigned_post_under_incoming(api: str) -> None:
    reply = call("POST", "/documents", body={"filename": "../../etc/März rechnung.PDF",
                                             "content_type": "application/pdf", "size": 123_456})
    assert reply.status == 201, reply
    ticket = reply.json()
    assert ticket["method"] == "POST" and ticket["expires_in"] == 900 and ticket["max_bytes"] == 123_456
    assert ticket["key"].startswith("incoming/") and ticket["key"].endswith("/M_rz_rechnung.PDF")
    assert ".." not in ticket["key"]
    assert ticket["fields"]["key"] == ticket["key"]
    assert ticket["fields"]["Content-Type"] == "application/pdf"
    assert ticket["fields"]["x-amz-meta-uploaded-by"] == "jwt:user-1"
    conditions = _policy(reply)["conditions"]
    assert ["content-length-range", 1, 123_456] in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert {"bucket": "invoices-test-ingest"} in conditions


def test_upload_over_the_limit_is_413(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_MAX_BYTES", "1000")
    png = {"filename": "a.png", "content_type": "image/png"}
    reply = call("POST", "/documents", body={**png, "size": 1001})
    assert (reply.status, reply.code) == (413, "PAYLOAD_TOO_LARGE")
    assert call("POST", "/documents", body={**png, "size": 1000}).status == 201


def test_s3_holds_an_upload_to_the_ticket_the_route_issued(api: str, emulation: server.EmulationServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The form POST /documents issues, posted to the emulated S3 as the web page posts it: what the ticket
    allows is stored with its Content-Type; a file over or under the announced size, another type, another
    key, an extra field or a missing signature is refused with S3's own code and message."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulation.endpoint)
    aws.reset()
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="invoices-test-ingest")
    # Under a KMS key by default, as terraform/storage.tf sets every bucket: S3 then takes SigV4 forms only.
    s3.put_bucket_encryption(Bucket="invoices-test-ingest", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/test"}}]})
    pdf = b"%PDF-1.4\n%%EOF\n"  # 15 bytes

    def ticket() -> dict[str, Any]:
        reply = call("POST", "/documents", body={**PDF, "size": len(pdf)})
        assert reply.status == 201, reply
        return reply.json()  # type: ignore[no-any-return]

    def upload(t: dict[str, Any], content: bytes = pdf, **fields: str | None) -> tuple[int, str, str]:
        form = {k: v for k, v in {**t["fields"], **fields}.items() if v is not None}
        answer = requests.post(t["url"], data=form, files={"file": ("a.pdf", content, "application/pdf")},
                               timeout=30)
        code = re.search(r"<Code>(.*?)</Code>", answer.text)
        message = re.search(r"<Message>(.*?)</Message>", answer.text)
        return answer.status_code, code.group(1) if code else "", html.unescape(message.group(1)) if message else ""

    try:
        ok = ticket()
        assert ok["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
        assert upload(ok)[0] == 204
        # A SigV2 form (what boto3 signs in us-east-1 unless told s3v4) is refused for the KMS bucket.
        sigv2 = boto3.client("s3", endpoint_url=emulation.endpoint, config=Config(signature_version="s3"))
        legacy = sigv2.generate_presigned_post("invoices-test-ingest", "incoming/legacy.pdf")
        assert "AWSAccessKeyId" in legacy["fields"]
        assert upload({"url": legacy["url"], "fields": legacy["fields"]})[:2] == (400, "InvalidArgument")
        head = s3.head_object(Bucket="invoices-test-ingest", Key=ok["key"])
        assert head["ContentType"] == "application/pdf" and head["ContentLength"] == len(pdf)
        assert head["Metadata"] == {"uploaded-by": "jwt:user-1"}

        t = ticket()
        status, code, message = upload(t, pdf + b"x")
        assert (status, code) == (400, "EntityTooLarge")
        assert message == "Your proposed upload exceeds the maximum allowed size"
        assert upload(t, b"")[:2] == (400, "EntityTooSmall")
        policy_failed = "Invalid according to Policy: Policy Condition failed: "
        assert upload(t, **{"Content-Type": "text/html"}) == (
            403, "AccessDenied", policy_failed + '["eq", "$Content-Type", "application/pdf"]')
        status, code, message = upload(t, key="incoming/elsewhere.pdf")
        assert (status, code) == (403, "AccessDenied") and message.startswith(policy_failed + '["eq", "$key", ')
        assert upload(t, **{"x-amz-meta-uploaded-by": "someone-else"})[:2] == (403, "AccessDenied")
        assert upload(t, **{"x-amz-meta-note": "hi"}) == (
            403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-note")
        (signature,) = [name for name in t["fields"] if name.lower() in ("signature", "x-amz-signature")]
        assert upload(t, **{signature: None})[:2] == (400, "InvalidArgument")
        anonymous = {name: None for name in t["fields"] if name not in ("key", "Content-Type")}
        assert upload(t, **anonymous) == (403, "AccessDenied", "Access Denied")
        monkeypatch.setattr(routes, "PRESIGN_SECONDS", -1)
        assert upload(ticket()) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        # Nothing but the allowed upload was stored.
        assert [o["Key"] for o in s3.list_objects_v2(Bucket="invoices-test-ingest")["Contents"]] == [ok["key"]]
    finally:
        for o in s3.list_objects_v2(Bucket="invoices-test-ingest").get("Contents", []):
            s3.delete_object(Bucket="invoices-test-ingest", Key=o["Key"])
        s3.delete_bucket(Bucket="invoices-test-ingest")


PDF = {"filename": "a.pdf", "content_type": "application/pdf"}


@pytest.mark.parametrize("body", [
    {}, PDF, {"filename": "", "content_type": "image/png", "size": 1}, {**PDF, "content_type": "text/plain", "size": 1},
    {**PDF, "size": 0}, {**PDF, "size": -1}, {**PDF, "size": "many"}, {**PDF, "size": 10, "bucket": "other"},
    {**PDF, "size": 600 * 1024 * 1024}, [1, 2], "a string", None,
])
def test_bad_upload_requests_are_400(api: str, body: Any) -> None:
    reply = call("POST", "/documents", raw_body=json.dumps(body).encode(), headers={"content-type": "application/json"})
    assert (reply.status, reply.code) == (400, "BAD_REQUEST"), reply


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000, b""])
def test_unparsable_bodies_are_400(api: str, raw: bytes) -> None:
    reply = call("POST", "/documents", raw_body=raw, headers={"content-type": "application/json"})
    assert (reply.status, reply.code) == (400, "BAD_REQUEST"), reply


def test_a_body_that_is_not_json_is_415(api: str) -> None:
    reply = call("POST", "/documents", raw_body=b"filename=a.pdf", headers={"content-type": "text/plain"})
    assert (reply.status, reply.code) == (415, "UNSUPPORTED_MEDIA_TYPE"), reply


def test_oversized_requests_are_413(api: str) -> None:
    body = {"filename": "a" * 20_000, "content_type": "application/pdf", "size": 1}
    reply = call("POST", "/documents", body=body)
    assert (reply.status, reply.code) == (413, "PAYLOAD_TOO_LARGE"), reply
    assert call("GET", "/documents", raw_body=b"x" * 100_000, headers={"content-type": "text/plain"}).status == 413


def test_missing_settings_are_503_not_configured(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_BUCKET", "")
    reply = call("POST", "/documents", body={"filename": "a.pdf", "content_type": "application/pdf", "size": 1})
    assert (reply.status, reply.code) == (503, "NOT_CONFIGURED")


# --- routing and failures -----------------------------------------------------------------------------
def test_unknown_route_is_404_and_wrong_method_is_405(api: str) -> None:
    assert call("GET", "/invoices").code == "NOT_FOUND"
    reply = call("DELETE", f"/documents/{uuid.uuid4()}")
    assert (reply.status, reply.code) == (405, "METHOD_NOT_ALLOWED")
    assert reply.headers["allow"] == "GET"
    assert call("PUT", "/documents").headers["allow"] == "GET, POST"


def test_database_down_is_503_not_500(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody:x@127.0.0.1:1/none?sslmode=disable")
    db.close()
    try:
        for method, path in (("GET", "/health"), ("GET", "/documents"), ("GET", f"/documents/{uuid.uuid4()}")):
            reply = call(method, path, auth=None if path == "/health" else "jwt")
            assert (reply.status, reply.code) == (503, "DATABASE_UNAVAILABLE"), reply
            assert reply.headers["retry-after"] == "5"
    finally:
        monkeypatch.undo()
        db.close()


def test_export_filters_match_the_list(api: str) -> None:
    insert_completed(key="incoming/a.pdf", invoices=[invoice(vendor="ACME", number="A1", invoice_date="2024-01-01")])
    insert_completed(key="incoming/b.pdf", invoices=[invoice(vendor="Other", number="B1", invoice_date="2024-02-01")])
    reply = call("GET", "/invoices/export", query={"vendor": "acme"})
    assert reply.status == 200
    assert {row.split(",")[5] for row in reply.content.decode().splitlines()[1:]} == {"A1"}
    reply = call("GET", "/invoices/export", query={"invoice_date_from": date(2024, 1, 15).isoformat()})
    assert {row.split(",")[5] for row in reply.content.decode().splitlines()[1:]} == {"B1"}
    reply = call("GET", "/invoices/export", query={"format": "pdf"})
    assert (reply.status, reply.code) == (400, "BAD_REQUEST")


def test_amounts_are_never_floats(api: str) -> None:
    insert_completed(invoices=[invoice(total="0.10")])
    body = call("GET", "/documents").json()
    assert body["items"][0]["total"] == "0.10"
    assert Decimal(body["items"][0]["total"]) == Decimal("0.10")
