"""Every AWS API request the emulation's server answers, counted by service and operation: what the functions,
the Step Functions interpreter and the benchmark itself asked of AWS over HTTP. (What moto's services do to
each other inside the server, such as EventBridge putting a message on a queue or SNS invoking a function,
is no HTTP request and is counted from the emulation's own statistics instead.)

The benchmark's instrument only: `install()` wraps moto's WSGI dispatcher, the one place every request passes.
The service comes from the SigV4 credential scope, the operation from X-Amz-Target (JSON protocols), the
Action parameter (query protocols) or the method and path (REST: S3, Lambda)."""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_lock = threading.Lock()
_counts: Counter[tuple[str, str]] = Counter()
_original: Any = None


def _s3_operation(method: str, path: str, query: str) -> str:
    parts = [p for p in path.split("/") if p]
    if len(parts) <= 1:  # the bucket itself (path-style addressing)
        if method == "GET":
            return "ListObjects" if ("list-type" in query or not query) else f"GetBucket?{query.split('=')[0]}"
        return f"{method}Bucket"
    return {"GET": "GetObject", "HEAD": "HeadObject", "PUT": "PutObject", "DELETE": "DeleteObject",
            "POST": "PostObject"}.get(method, method)


def _operation(environ: dict[str, Any], service: str) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    method, path, query = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""), environ.get(
        "QUERY_STRING", "")
    if service == "s3":
        return _s3_operation(method, path, query)
    if service == "lambda":
        return "Invoke" if path.endswith("/invocations") else f"{method} {path.split('/')[2] if '/' in path else path}"
    if "Action=" in query:
        return parse_qs(query).get("Action", ["?"])[0]
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size) if size else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
    return f"{method} {path}"


def _counting_call(self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Any) -> Any:
    try:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else "unsigned"
        key = (service, _operation(environ, service))
        with _lock:
            _counts[key] += 1
    except Exception:  # noqa: BLE001 - counting must never break a request
        pass
    return _original(self, environ, start_response)


def install() -> None:
    global _original
    if _original is None:
        _original = DomainDispatcherApplication.__call__
        DomainDispatcherApplication.__call__ = _counting_call  # type: ignore[method-assign]


def reset() -> None:
    with _lock:
        _counts.clear()


def counts() -> dict[tuple[str, str], int]:
    with _lock:
        return dict(_counts)
