"""The local API server: the API Lambda's own handler behind a small HTTP server on 127.0.0.1, plus the web
page (functions/web/) and its config.json.

Each request becomes the API Gateway HTTP API (payload 2.0) event API Gateway would send; the response goes
back the way API Gateway would translate it. Authentication stands in for the JWT authorizer: a random HS256
secret is generated at start and one token is issued and printed; a request with a valid token gets its
claims in requestContext.authorizer.jwt.claims (as strings, as API Gateway passes them); a request without
one gets no authorizer context at all, and the handler itself refuses it (401) -- the same defence in depth
that guards the deployed function.

The handler runs under one lock: a Lambda instance handles one event at a time, and the Powertools resolver
keeps per-request state on the module. The server's threads are daemons, and `main()` also stops when its
parent process goes away, so nothing outlives what started it.

    python -m invoice_local.api_server --port 8080     # reads DATABASE_URL, INGEST_BUCKET, ... from the environment
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import mimetypes
import os
import secrets
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from invoice_pipeline.api.errors import STATUS, Code
from invoice_pipeline.api.roles import REVIEWERS

from invoice_local.logs import function_context

HOST = "127.0.0.1"
WEB_DIR = Path(__file__).resolve().parents[2] / "functions" / "web"
STATIC_FILES = {"/": "index.html", "/index.html": "index.html", "/app.js": "app.js", "/style.css": "style.css",
                "/review.js": "review.js", "/page_view.js": "page_view.js"}
# pdf.js, for the review view's PDF pages: fetched into build/pdfjs/ by vendor_pdfjs.py (make run, make test).
PDFJS_DIR = Path(__file__).resolve().parents[2] / "build" / "pdfjs"
PDFJS_FILES = {"/vendor/pdfjs/pdf.min.mjs": "pdf.min.mjs", "/vendor/pdfjs/pdf.worker.min.mjs": "pdf.worker.min.mjs"}
ISSUER = "invoice-local"
AUDIENCE = "invoice-api"
TOKEN_SECONDS = 12 * 3600
MAX_BODY = 10 * 1024 * 1024  # API Gateway HTTP API's payload limit
_PARENT_POLL = 0.5

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
# What http.server refuses by itself (its send_error), by the API's error code.
_SERVER_ERRORS = {414: Code.URI_TOO_LONG, 431: Code.HEADERS_TOO_LARGE}
_SERVER_MESSAGES = {Code.URI_TOO_LONG: "the request line (method, path and query) is over 65536 bytes",
                    Code.HEADERS_TOO_LARGE: "too many request headers, or one over 65536 bytes"}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalTokens:
    """HS256 JWTs signed with a secret that lives only as long as this server."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def issue(self, subject: str = "local-user", *, seconds: int = TOKEN_SECONDS, **extra: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + seconds,
                  "token_use": "access", "scope": "invoices/api", "username": subject, **extra}
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a token we issued that has not expired, else None. Only HS256 is accepted (a token
        that names another algorithm, "none" included, is refused before its signature is looked at)."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64url(parts[0]))
            if not isinstance(header, dict) or header.get("alg") != "HS256":
                return None
            expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64url(parts[2])):
                return None
            claims = json.loads(_unb64url(parts[1]))
        except (ValueError, TypeError):
            return None
        if not isinstance(claims, dict) or claims.get("iss") != ISSUER or claims.get("aud") != AUDIENCE:
            return None
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= time.time():
            return None
        return claims


def _claim_text(value: Any) -> str:
    # API Gateway hands JWT claims to the integration as strings; lists look like "[a b]".
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_event(*, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
                claims: dict[str, Any] | None, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """The HTTP API payload 2.0 event for one request (API Gateway's $default route and stage)."""
    parts = urlsplit(target)
    raw_path = parts.path or "/"
    merged: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        merged[key] = f"{merged[key]},{value}" if key in merged else value  # repeated headers: comma-joined
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True, errors="replace"):
        query[name] = f"{query[name]},{value}" if name in query else value  # as API Gateway joins them
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": parts.query,
        "headers": merged,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": merged.get("host", HOST),
            "domainPrefix": "local",
            "http": {"method": method, "path": unquote(raw_path), "protocol": "HTTP/1.1",
                     "sourceIp": source_ip, "userAgent": merged.get("user-agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    if "cookie" in merged:
        event["cookies"] = [c.strip() for c in merged["cookie"].split(";") if c.strip()]
    if claims is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": {k: _claim_text(v) for k, v in claims.items()},
                    "scopes": str(claims.get("scope", "")).split() or None}}
    if body:
        content_type = merged.get("content-type", "").lower()
        textual = content_type.startswith(("text/", "application/json")) or content_type.endswith("+json")
        try:
            text = body.decode("utf-8") if textual else None
        except UnicodeDecodeError:
            text = None
        if text is None:  # API Gateway base64-encodes bodies it does not consider text
            event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
        else:
            event["body"] = text
    return event


class ApiServer:
    """The server, started on a thread: `url`, `token` (valid for 12 hours), `stop()`. A context manager.

    `environment` is applied to os.environ, where the handler reads its settings (INGEST_BUCKET,
    RESULTS_BUCKET, STATE_MACHINE_ARN, DATABASE_URL, ...) exactly as in Lambda; AWS calls go wherever
    AWS_ENDPOINT_URL points (the emulation in local mode). `function`, the api function's configuration as
    Terraform deployed it (GetFunctionConfiguration), supplies both the environment and the context's name,
    ARN, memory and timeout, so that local mode serves the API with what terraform/ declares.
    `web_config` is served as /config.json. `token_groups` go into the printed token's cognito:groups (the
    roles of api/roles.py): `invoices run` and `main()` give its user the reviewers group."""

    def __init__(self, handler: Handler | None = None, *, port: int = 0, web_dir: Path = WEB_DIR,
                 environment: dict[str, str] | None = None, web_config: dict[str, Any] | None = None,
                 quiet: bool = True, function: dict[str, Any] | None = None,
                 token_groups: tuple[str, ...] = ()) -> None:
        self.context_of = LocalContext
        if function is not None:
            environment = {**function.get("Environment", {}).get("Variables", {}), **(environment or {})}
            self.context_of = LocalContext.of(function)
        if environment:
            os.environ.update(environment)
        # What Terraform sets on the function; Powertools reads them once, when the handler is first imported.
        for name, value in (("POWERTOOLS_SERVICE_NAME", "invoice-pipeline"),
                            ("POWERTOOLS_METRICS_NAMESPACE", "InvoicePipeline"),
                            ("POWERTOOLS_TRACE_DISABLED", "true")):
            os.environ.setdefault(name, value)
        if handler is None:
            from invoice_pipeline.adapters import aws

            aws.reset()
            from invoice_pipeline.handlers.api import handler as api_handler

            handler = api_handler
        self.handler = handler
        self.tokens = LocalTokens()
        groups: dict[str, Any] = {"cognito:groups": list(token_groups)} if token_groups else {}
        self.token = self.tokens.issue(**groups)
        self.web_dir = web_dir
        self.web_config = web_config or {"auth": {"mode": "local"}, "apiBaseUrl": ""}
        self.quiet = quiet
        self.requests = 0  # how many requests reached the handler (schemathesis' count is checked with it)
        self._lambda_lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((HOST, port), self._request_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="local-api-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lambda_lock, function_context(self.context_of.function_name):
            self.requests += 1
            return self.handler(event, self.context_of())

    def _request_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Request(_Request):
            api = server

        return Request


class LocalContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name = "invoices-local-api"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:invoices-local-api"
    memory_limit_in_mb = 512

    timeout_seconds = 30  # API Gateway's integration timeout

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + self.timeout_seconds

    @classmethod
    def of(cls, function: dict[str, Any]) -> type[LocalContext]:
        """A context class for a deployed function's configuration."""
        return type("DeployedContext", (cls,), {
            "function_name": function["FunctionName"], "invoked_function_arn": function["FunctionArn"],
            "memory_limit_in_mb": int(function["MemorySize"]),
            "timeout_seconds": min(cls.timeout_seconds, int(function["Timeout"])),
        })

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _Request(BaseHTTPRequestHandler):
    api: ApiServer
    protocol_version = "HTTP/1.1"
    server_version = "invoice-local-api"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
        if not self.api.quiet:
            super().log_message(format, *args)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        self._send(status, {"Content-Type": "application/json"}, body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals, before any route (a request line over its 64 KB, too many or too long
        headers, a malformed request line): the API's JSON error, as for every other answer, instead of
        http.server's HTML page. The message never repeats the request."""
        api_code = _SERVER_ERRORS.get(code, Code.BAD_REQUEST)
        self.close_connection = True
        self._error(STATUS[api_code], api_code.value, _SERVER_MESSAGES.get(api_code, "malformed HTTP request"))

    def _read_body(self) -> bytes | None:
        """The request body; None when it is over API Gateway's limit (the connection is then closed)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _static(self, path: str) -> bool:
        if self.command not in ("GET", "HEAD"):
            return False
        if path == "/config.json":
            self._send(200, {"Content-Type": "application/json", "Cache-Control": "no-store"},
                       json.dumps(self.api.web_config).encode())
            return True
        name = STATIC_FILES.get(path)
        file = self.api.web_dir / name if name else None
        if path in PDFJS_FILES:
            name, file = PDFJS_FILES[path], PDFJS_DIR / PDFJS_FILES[path]
            if not file.is_file():  # the page says so (make run fetches it)
                self._error(404, "NOT_FOUND", f"{file} is missing: run make run (or make test) once")
                return True
        if name is None or file is None:
            return False
        # .mjs: a module script must come with a JavaScript type (mimetypes does not know .mjs everywhere).
        content_type = "text/javascript" if name.endswith((".js", ".mjs")) else (
            mimetypes.guess_type(name)[0] or "application/octet-stream")
        self._send(200, {"Content-Type": f"{content_type}; charset=utf-8", "Cache-Control": "no-cache"},
                   file.read_bytes())
        return True

    def _claims(self) -> dict[str, Any] | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.api.tokens.verify(token.strip())

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._error(400, "BAD_REQUEST", "malformed request body framing")
            return
        if body is None:
            self._error(413, "PAYLOAD_TOO_LARGE", f"request body over {MAX_BODY} bytes")
            return
        path = urlsplit(self.path).path
        if self._static(path):
            return
        event = build_event(method=self.command, target=self.path, headers=list(self.headers.items()), body=body,
                            claims=self._claims(), source_ip=self.client_address[0])
        try:
            response = self.api.invoke(event)
        except Exception:  # noqa: BLE001 - a function error: API Gateway answers 500 and the log has the rest
            traceback.print_exc()
            self._send(500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}')
            return
        headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[str(name)] = ", ".join(str(v) for v in values)
        raw = response.get("body") or ""
        payload = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode("utf-8")
        headers.setdefault("Date", formatdate(usegmt=True))
        self._send(int(response.get("statusCode", 200)), headers, payload)

    def __getattr__(self, name: str) -> Any:
        # http.server answers 501 to any method it has no do_<METHOD> for; API Gateway hands every method to
        # the function, which answers 405 for the ones a path does not have.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)


def _watch_parent(stop: threading.Event) -> None:
    parent = os.getppid()
    while not stop.wait(_PARENT_POLL):
        if os.getppid() != parent:
            stop.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m invoice_local.api_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    with ApiServer(port=args.port, quiet=not args.verbose, token_groups=(REVIEWERS,)) as server:
        print(f"API and web page on {server.url}  (stops with Ctrl-C or when its parent process exits)")
        print(f"token: {server.token}")
        print(f"sign in directly: {server.url}/#token={server.token}", flush=True)
        threading.Thread(target=_watch_parent, args=(stop,), daemon=True).start()
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
