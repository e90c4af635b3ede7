"""X-Ray subsegments sent straight to the X-Ray daemon, without the X-Ray SDK.

Importing the SDK (its recorder, wrapt 2 and asyncio, which both pull in) and patching costs a deployed
function about a fifth of `import boto3` at every cold start (docs/performance.md). What the functions record
needs none of it: in Lambda the segment of an invocation is Lambda's own (the "facade"), and a function only
adds subsegments under it. The invocation's trace id, its facade segment's id and whether it is sampled are
in _X_AMZN_TRACE_ID, which the runtime sets before each invocation; the daemon listens on
AWS_XRAY_DAEMON_ADDRESS (UDP). Each subsegment is sent as its own document when it ends ("type": "subsegment"
with its trace and parent ids: the X-Ray segment document format), so no document outgrows a datagram.

Three kinds are recorded: a block of the functions' code (`subsegment`: the handler, a traced method), a call
of the AWS SDK (`patch_botocore`: namespace "aws", the service, operation, region, request id and HTTP
status, as the SDK's botocore patch records them; the trace header is passed on to the service), and a
statement sent to Postgres (`traced_connection`: namespace "remote", the SQL text, which carries no values:
the queries are parametrized). Sending never raises: a lost datagram loses a subsegment, not a request."""

from __future__ import annotations

import functools
import json
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

TRACE_HEADER = "X-Amzn-Trace-Id"
_DOCUMENT_HEADER = b'{"format": "json", "version": 1}\n'
_DEFAULT_DAEMON = ("127.0.0.1", 2000)
_MAX_DATAGRAM = 64_000
_STACK_FRAMES = 10


def trace_context() -> tuple[str, str] | None:
    """(trace id, facade segment id) of the current invocation, or None where it is not sampled."""
    fields = dict(part.split("=", 1) for part in os.environ.get("_X_AMZN_TRACE_ID", "").split(";") if "=" in part)
    if fields.get("Sampled") != "1" or not fields.get("Root") or not fields.get("Parent"):
        return None
    return fields["Root"], fields["Parent"]


def daemon_address() -> tuple[str, int]:
    """AWS_XRAY_DAEMON_ADDRESS: "host:port", or "tcp:host:port udp:host:port" (the UDP one is used)."""
    value = os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "").strip()
    for part in value.split():
        if part.startswith("udp:") or (":" in part and not part.startswith("tcp:")):
            host, _, port = part.removeprefix("udp:").rpartition(":")
            if host and port.isdigit():
                return host, int(port)
    return _DEFAULT_DAEMON


class Subsegment:
    """One subsegment document: filled while its block runs, sent when it ends."""

    __slots__ = ("doc",)

    def __init__(self, name: str, trace_id: str, parent_id: str, namespace: str | None = None) -> None:
        self.doc: dict[str, Any] = {"type": "subsegment", "id": os.urandom(8).hex(), "trace_id": trace_id,
                                    "parent_id": parent_id, "name": name[:200], "start_time": time.time()}
        if namespace:
            self.doc["namespace"] = namespace

    @property
    def id(self) -> str:
        return str(self.doc["id"])

    def annotate(self, key: str, value: str | int | float | bool) -> None:
        self.doc.setdefault("annotations", {})[key] = value

    def http_status(self, status: int | None) -> None:
        if not status:
            return
        self.doc.setdefault("http", {})["response"] = {"status": status}
        if 400 <= status < 500:
            self.doc["error"] = True
            if status == 429:
                self.doc["throttle"] = True
        elif status >= 500:
            self.doc["fault"] = True

    def add_exception(self, exc: BaseException, remote: bool = False) -> None:
        if not self.doc.get("error"):
            self.doc["fault"] = True
        stack = [{"path": f.filename, "line": f.lineno, "label": f.name}
                 for f in traceback.extract_tb(exc.__traceback__)[-_STACK_FRAMES:]]
        self.doc["cause"] = {"working_directory": os.getcwd(), "exceptions": [
            {"id": os.urandom(8).hex(), "type": type(exc).__name__, "message": str(exc)[:1000], "remote": remote,
             "stack": stack[::-1]}]}


class _Emitter:
    """The UDP socket to the daemon, opened on the first document."""

    def __init__(self) -> None:
        self._socket: socket.socket | None = None

    def send(self, doc: dict[str, Any]) -> None:
        try:
            data = _DOCUMENT_HEADER + json.dumps(doc, default=str, separators=(",", ":")).encode()
            if len(data) > _MAX_DATAGRAM:  # keep the subsegment, drop what made it too long
                doc = {k: v for k, v in doc.items() if k not in ("cause", "sql", "aws", "metadata")}
                data = _DOCUMENT_HEADER + json.dumps(doc, default=str, separators=(",", ":")).encode()
            if self._socket is None:
                self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._socket.sendto(data, daemon_address())
        except (OSError, TypeError, ValueError):
            pass


_emitter = _Emitter()
_open = threading.local()


def current() -> Subsegment | None:
    stack: list[Subsegment] = getattr(_open, "stack", [])
    return stack[-1] if stack else None


@contextmanager
def subsegment(name: str, namespace: str | None = None) -> Iterator[Subsegment | None]:
    """A subsegment around the block, under the innermost open one (or the invocation's segment); None, and
    nothing sent, where the invocation is not sampled. An exception is recorded and propagates."""
    context = trace_context()
    if context is None:
        yield None
        return
    stack: list[Subsegment] = _open.__dict__.setdefault("stack", [])
    parent = stack[-1].id if stack else context[1]
    segment = Subsegment(name, context[0], parent, namespace)
    stack.append(segment)
    try:
        yield segment
    except BaseException as exc:
        segment.add_exception(exc, remote=bool(namespace))
        raise
    finally:
        stack.remove(segment)
        segment.doc["end_time"] = time.time()
        _emitter.send(segment.doc)


def _response_meta(segment: Subsegment, aws: dict[str, Any], meta: dict[str, Any] | None) -> None:
    if not meta:
        return
    aws["request_id"] = meta.get("RequestId")
    segment.http_status(meta.get("HTTPStatusCode"))
    if id_2 := (meta.get("HTTPHeaders") or {}).get("x-amz-id-2"):
        aws["id_2"] = id_2


def patch_botocore() -> None:
    """Record every AWS SDK call as a subsegment and pass the trace header on to the service (once)."""
    from botocore.client import BaseClient
    from botocore.endpoint import Endpoint
    from botocore.exceptions import ClientError

    if getattr(BaseClient._make_api_call, "_xray", False):  # noqa: SLF001
        return
    make_api_call: Callable[..., Any] = BaseClient._make_api_call  # noqa: SLF001
    prepare_request: Callable[..., Any] = Endpoint.prepare_request

    @functools.wraps(make_api_call)
    def traced_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        service = client._service_model.metadata.get("endpointPrefix", "aws")  # noqa: SLF001  (as the SDK names it)
        with subsegment(service, "aws") as segment:
            if segment is None:
                return make_api_call(client, operation_name, api_params)
            aws: dict[str, Any] = {"operation": operation_name, "region": client.meta.region_name}
            segment.doc["aws"] = aws
            try:
                response = make_api_call(client, operation_name, api_params)
            except ClientError as exc:
                _response_meta(segment, aws, exc.response.get("ResponseMetadata"))
                raise
            _response_meta(segment, aws, response.get("ResponseMetadata"))
            return response

    @functools.wraps(prepare_request)
    def with_trace_header(endpoint: Any, request: Any) -> Any:
        context, segment = trace_context(), current()
        if context and segment:
            request.headers[TRACE_HEADER] = f"Root={context[0]};Parent={segment.id};Sampled=1"
        return prepare_request(endpoint, request)

    traced_call._xray = True  # type: ignore[attr-defined]  # noqa: SLF001
    BaseClient._make_api_call = traced_call  # type: ignore[method-assign]  # noqa: SLF001
    Endpoint.prepare_request = with_trace_header  # type: ignore[method-assign]


def traced_connection(con: Any, database: str, host: str, user: str) -> Any:
    """The connection, its `run` (pg8000.native) recording each statement as a subsegment."""
    run: Callable[..., Any] = con.run
    sql_meta = {"database_type": "PostgreSQL", "url": f"{host}/{database}", "user": user, "driver_version": "pg8000"}

    @functools.wraps(run)
    def traced_run(sql: str, *args: Any, **kwargs: Any) -> Any:
        with subsegment(f"{database}@{host}", "remote") as segment:
            if segment is not None:
                segment.doc["sql"] = {**sql_meta, "sanitized_query": sql[:2000]}
            return run(sql, *args, **kwargs)

    con.run = traced_run
    return con
