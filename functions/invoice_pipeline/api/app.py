"""The resolver, the gates in front of it, and the error responses.

`handle(event, context)` is what the Lambda (and the local API server) calls. Before any routing it refuses
an unauthenticated request (401; API Gateway's authorizers should have refused it already) and an oversized,
undecodable or form-encoded body (413/400/415); then the Powertools resolver validates the request against the route's
declared parameters and models and runs the route. Every failure leaves as {"error": {"code", "message"}}:
bad input is 4xx, never 500."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError
from botocore.exceptions import BotoCoreError
from pg8000.exceptions import InterfaceError

from invoice_pipeline.api import accuracy, auth, document_content, review, review_queue, routes
from invoice_pipeline.api.errors import ApiError, Code
from invoice_pipeline.errors import DatabaseUnavailable, DocumentNotFound
from invoice_pipeline.observability import logger

# The only request body is POST /documents' small JSON: anything near this size is not a real client.
MAX_REQUEST_BYTES = 16 * 1024
# An error message names the path it was asked for, up to this many characters: never echo a huge request.
SHOWN_PATH_CHARS = 200

app = APIGatewayHttpResolver(enable_validation=True, strip_prefixes=[auth.MACHINE_PREFIX])
app.include_router(review_queue.router)  # before routes: /invoices/review-queue is not an invoice id
app.include_router(routes.router)
app.include_router(review.router)
app.include_router(accuracy.router)
app.include_router(document_content.router)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body,
                    headers={"Cache-Control": "no-store", **(headers or {})})


def error_response(err: ApiError) -> Response[Any]:
    headers = dict(err.headers)
    if err.code is Code.UNAUTHORIZED:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="invoices"')
    return _json(err.status, err.body(), headers)


@app.exception_handler(ApiError)
def _api_error(err: ApiError) -> Response[Any]:
    return error_response(err)


def _where(loc: Any) -> str:
    parts = [str(p) for p in (loc if isinstance(loc, (list, tuple)) else [loc])]
    return ".".join(parts) or "request"


@app.exception_handler(RequestValidationError)
def _invalid(err: RequestValidationError) -> Response[Any]:
    # The resolver reports a response that does not match its model with this same class: that is our bug.
    if any(_where(e.get("loc")).startswith("response") for e in err.errors()):
        logger.error("response does not match its model", extra={"errors": err.errors()[:5]})
        return error_response(ApiError(Code.INTERNAL_ERROR, "internal error: response failed validation"))
    # pydantic's messages name the rule broken ("Input should be a valid UUID"), never our code or files;
    # the offending input itself is left out so that nothing is echoed back.
    details = [{"field": _where(e.get("loc")), "problem": str(e.get("msg") or e.get("type"))}
               for e in err.errors()][:20]
    fields = ", ".join(dict.fromkeys(d["field"] for d in details))
    return error_response(ApiError(Code.BAD_REQUEST, f"invalid request: {fields}", details=details))


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported(err: RequestUnsupportedContentType) -> Response[Any]:
    return error_response(ApiError(Code.UNSUPPORTED_MEDIA_TYPE, "the request body must be application/json"))


@app.exception_handler(DocumentNotFound)
def _not_found(err: DocumentNotFound) -> Response[Any]:
    return error_response(ApiError(Code.NOT_FOUND, err.message))


@app.exception_handler([DatabaseUnavailable, InterfaceError])
def _database_down(err: Exception) -> Response[Any]:
    logger.error("database unavailable", extra={"error": str(err)})
    return error_response(ApiError(Code.DATABASE_UNAVAILABLE, "the database is unavailable; try again shortly",
                                   headers={"Retry-After": "5"}))


@app.exception_handler(BotoCoreError)
def _aws_down(err: BotoCoreError) -> Response[Any]:
    # S3 or Step Functions unreachable (not an error answer from them, which stays a 500 with its log).
    logger.error("AWS unreachable", extra={"error": str(err)})
    return error_response(ApiError(Code.AWS_UNAVAILABLE, "an AWS service is unreachable; try again shortly",
                                   headers={"Retry-After": "5"}))


def shown_path(path: str) -> str:
    """The request's path as an error message names it: cut past SHOWN_PATH_CHARS, saying how long it was."""
    if len(path) <= SHOWN_PATH_CHARS:
        return path
    return f"{path[:SHOWN_PATH_CHARS]}... ({len(path)} characters)"


def _allowed_methods(path: str) -> list[str]:
    # The resolver keeps its routes in these two lists (Powertools 3.x, pinned): enough to tell 405 from 404.
    routes_ = app._static_routes + app._dynamic_routes  # noqa: SLF001
    return sorted({r.method for r in routes_ if r.rule.match(path)})


@app.not_found
def _no_route(err: NotFoundError) -> Response[Any]:
    path = app.context.get("_path") or "/"
    allowed = _allowed_methods(path)
    if allowed:
        return error_response(ApiError(Code.METHOD_NOT_ALLOWED, f"{shown_path(path)} allows {', '.join(allowed)}",
                                       headers={"Allow": ", ".join(allowed)}))
    return error_response(ApiError(Code.NOT_FOUND, f"no route {shown_path(path)}"))


@app.exception_handler(Exception)
def _unexpected(err: Exception) -> Response[Any]:
    request_id = (app.current_event.request_context.request_id or "") if app.current_event else ""
    logger.exception("unhandled error", extra={"request_id": request_id})
    return error_response(ApiError(Code.INTERNAL_ERROR, f"internal error (request {request_id or 'unknown'})"))


# --- the gates before routing -------------------------------------------------------------------------
def _header(event: dict[str, Any], name: str) -> str:
    headers = event.get("headers") or {}
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return ""


def _body_problem(event: dict[str, Any]) -> ApiError | None:
    content_type = _header(event, "content-type").strip().lower()
    if content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        # No route takes a form; the resolver would try to parse one anyway, and a malformed one (a missing
        # boundary) escapes its parser as an exception.
        return ApiError(Code.UNSUPPORTED_MEDIA_TYPE, "request bodies are application/json")
    body = event.get("body")
    if not body:
        return None
    if not isinstance(body, str):
        return ApiError(Code.BAD_REQUEST, "unreadable request body")
    if len(body) > MAX_REQUEST_BYTES * 4 // 3 + 4:
        return ApiError(Code.PAYLOAD_TOO_LARGE, f"request body over {MAX_REQUEST_BYTES} bytes")
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
    except (binascii.Error, UnicodeEncodeError):
        return ApiError(Code.BAD_REQUEST, "request body is not valid base64 or UTF-8")
    if len(raw) > MAX_REQUEST_BYTES:
        return ApiError(Code.PAYLOAD_TOO_LARGE, f"request body over {MAX_REQUEST_BYTES} bytes")
    if not content_type or content_type.startswith("application/json"):
        # Checked here because the resolver's own parsing lets undecodable bytes or absurd nesting escape
        # as exceptions (a 500); what passes here it parses without surprises.
        try:
            json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return ApiError(Code.BAD_REQUEST, "request body is not valid UTF-8 JSON")
    return None


def _method_problem(event: dict[str, Any], path: str) -> ApiError | None:
    """A concrete path is its own resource, as OpenAPI matches it before a templated one: GET
    /documents/reprocess is a method that path does not have (405), not GET /documents/{document_id} with an
    id that is no UUID. The resolver would try the templated route, so this is decided before it runs."""
    if path.startswith(auth.MACHINE_PREFIX + "/"):
        path = path[len(auth.MACHINE_PREFIX):]
    methods = sorted({r.method for r in app._static_routes if r.rule.match(path)})  # noqa: SLF001
    method = str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "").upper()
    if not methods or method in methods:
        return None
    return ApiError(Code.METHOD_NOT_ALLOWED, f"{shown_path(path)} allows {', '.join(methods)}",
                    headers={"Allow": ", ".join(methods)})


def _raw(response: Response[Any]) -> dict[str, Any]:
    """A response built outside the resolver, in the HTTP API payload 2.0 format."""
    headers = {k: v if isinstance(v, str) else ", ".join(v) for k, v in response.headers.items()}
    return {"statusCode": response.status_code, "headers": headers, "isBase64Encoded": False,
            "body": json.dumps(response.body, separators=(",", ":"))}


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    path = auth.route_path(event)
    doc_id = path.split("/")[2] if path.startswith("/documents/") else None
    logger.set_correlation_id(doc_id or (event.get("requestContext") or {}).get("requestId") or str(uuid.uuid4()))

    principal = auth.principal_of(event)
    if principal is None and not auth.is_anonymous_route(event):
        return _raw(error_response(ApiError(Code.UNAUTHORIZED, "missing or invalid credentials")))
    problem = _body_problem(event) or _method_problem(event, path)
    if problem is not None:
        return _raw(error_response(problem))
    app.append_context(principal=principal)
    return app.resolve(event, context)
