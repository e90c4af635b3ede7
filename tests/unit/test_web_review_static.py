"""What the local API server serves the review view (api_server.py): its modules as JavaScript, pdf.js from
build/pdfjs/ under vendor/pdfjs/ (a JSON 404 naming the fix when it is missing), and a printed token that
carries the reviewers group when asked to."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest
from invoice_local import api_server
from invoice_local.api_server import ApiServer


def get(server: ApiServer, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        conn.close()


def refuse(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 404, "body": "{}"}


def test_review_modules_and_pdfjs_are_served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_server, "PDFJS_DIR", tmp_path)
    with ApiServer(handler=refuse) as server:
        for path in ("/review.js", "/page_view.js", "/app.js"):
            status, kind, body = get(server, path)
            assert (status, kind) == (200, "text/javascript; charset=utf-8") and body, path
        status, kind, body = get(server, "/vendor/pdfjs/pdf.min.mjs")
        assert status == 404 and "make run" in json.loads(body)["error"]["message"]
        (tmp_path / "pdf.min.mjs").write_text("export const x = 1;")
        status, kind, body = get(server, "/vendor/pdfjs/pdf.min.mjs")
        assert (status, kind, body) == (200, "text/javascript; charset=utf-8", b"export const x = 1;")
        assert get(server, "/vendor/pdfjs/LICENSE")[0] == 404  # only the two modules are served


def test_the_printed_token_is_a_reviewers_when_asked() -> None:
    with ApiServer(handler=refuse, token_groups=("reviewers",)) as server:
        assert server.tokens.verify(server.token)["cognito:groups"] == ["reviewers"]  # type: ignore[index]
    with ApiServer(handler=refuse) as server:
        assert "cognito:groups" not in server.tokens.verify(server.token)  # type: ignore[operator]


def test_the_page_allows_presigned_images_and_nothing_inline() -> None:
    html = (api_server.WEB_DIR / "index.html").read_text()
    csp = html.split('http-equiv="Content-Security-Policy"', 1)[1].split('content="', 1)[1].split('"', 1)[0]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "https:" in directives["img-src"] and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp


def test_the_error_codes_the_review_view_explains_are_the_apis() -> None:
    import re

    from invoice_pipeline.api.errors import Code
    from invoice_pipeline.domain.duplicates import ISSUE_CODE

    script = (api_server.WEB_DIR / "review.js").read_text()
    explained = set(re.findall(r'case "([A-Z_]+)"', script)) | set(re.findall(r'CLAIM_HELD = "([A-Z_]+)"', script))
    assert len(explained) >= 7 and explained <= {c.value for c in Code}, explained - {c.value for c in Code}
    assert f'"{ISSUE_CODE}"' in script


def test_the_line_item_cells_the_review_view_edits_are_the_patchs() -> None:
    import re

    from invoice_pipeline.api.review_models import LineItemPatch

    script = (api_server.WEB_DIR / "review.js").read_text()
    block = script.split("export const LINE_FIELDS = [", 1)[1].split("];", 1)[0]
    cells = re.findall(r'\["(\w+)", "', block)
    assert sorted(cells) == sorted(set(LineItemPatch.model_fields) - {"position", "remove"})
