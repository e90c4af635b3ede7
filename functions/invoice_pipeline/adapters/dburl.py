"""libpq-style connection URLs → keyword arguments for `pg8000.native.Connection`.

pg8000 takes keyword arguments only, while every other tool in the project (DATABASE_URL, psql, the local
Postgres provider, Terraform outputs) speaks libpq URLs. Only the subset we use is understood; anything else
is rejected rather than silently ignored, so a typo in a query parameter cannot downgrade TLS unnoticed.

    postgresql://user:p%40ss@db.example.com:5432/invoices?sslmode=verify-full
    postgres://postgres@/invoices?host=/tmp/pgdata          (unix socket /tmp/pgdata/.s.PGSQL.5432)
"""

from __future__ import annotations

import getpass
import re
import ssl
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["connect_kwargs"]

_SCHEMES = ("postgresql", "postgres")
_QUERY_PARAMS = ("host", "port", "dbname", "user", "password", "sslmode", "sslrootcert")
_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DEFAULT_PORT = 5432


def connect_kwargs(url: str) -> dict[str, Any]:
    """Keyword arguments (user, password, host, port, database, unix_sock, ssl_context) for
    `pg8000.native.Connection`. Raises ValueError for a URL this function cannot honour faithfully."""
    parts = urlsplit(url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"not a Postgres URL (scheme must be one of {', '.join(_SCHEMES)}): {_redact(url)}")
    if parts.fragment:
        raise ValueError(f"a Postgres URL has no #fragment: {_redact(url)}")

    query = _query(parts.query, url)
    netloc_host = _netloc_host(parts.netloc)

    # Query parameters win over the authority part, as in libpq.
    host = query.get("host") or netloc_host or None
    port = _port(query.get("port"), parts, url)
    user = query.get("user") or (unquote(parts.username) if parts.username else None)
    password = query.get("password")
    if password is None and parts.password is not None:
        password = unquote(parts.password)
    database = query.get("dbname") or unquote(parts.path.lstrip("/")) or None

    unix_sock: str | None = None
    if host is not None and host.startswith("/"):
        # libpq: a host that is a path names the directory holding the socket; the file carries the port.
        unix_sock = f"{host.rstrip('/') or ''}/.s.PGSQL.{port}"
        host = None
    elif host is None:
        # pg8000's own default; libpq would try its compiled-in socket directory, which varies by distro.
        host = "localhost"

    return {
        # libpq defaults the role to the operating-system user; pg8000 insists on one being named.
        "user": user or getpass.getuser(),
        # An empty password (`user:@host`) means none: sending "" would only fail authentication.
        "password": password or None,
        "host": host,
        "port": port,
        "database": database,
        "unix_sock": unix_sock,
        "ssl_context": _ssl_context(
            query.get("sslmode"), query.get("sslrootcert"), unix_sock is not None, url
        ),
    }


def _query(raw: str, url: str) -> dict[str, str]:
    params = parse_qs(raw, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(params) - set(_QUERY_PARAMS))
    if unknown:
        raise ValueError(
            f"unsupported query parameter(s) {', '.join(unknown)} in {_redact(url)}; "
            f"supported: {', '.join(_QUERY_PARAMS)}"
        )
    repeated = sorted(k for k, v in params.items() if len(v) > 1)
    if repeated:
        raise ValueError(f"query parameter(s) given twice: {', '.join(repeated)} in {_redact(url)}")
    return {k: v[0] for k, v in params.items()}


def _netloc_host(netloc: str) -> str | None:
    # urlsplit().hostname lower-cases and cannot hold a percent-encoded socket directory
    # (postgresql://%2Fvar%2Frun%2Fpostgresql/db), so the host is cut out of the netloc by hand.
    hostport = netloc.rpartition("@")[2]
    if not hostport:
        return None
    if hostport.startswith("["):  # IPv6 literal: [::1]:5432
        return hostport[1 : hostport.index("]")]
    if "," in hostport:
        raise ValueError("multiple hosts in one URL are not supported")
    return unquote(hostport.partition(":")[0]) or None


def _port(raw: str | None, parts: Any, url: str) -> int:
    try:
        port = int(raw) if raw else parts.port
    except ValueError:
        raise ValueError(f"invalid port in {_redact(url)}") from None
    if port is None:
        return DEFAULT_PORT
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in {_redact(url)}")
    return int(port)


def _ssl_context(
    mode: str | None, rootcert: str | None, unix: bool, url: str
) -> ssl.SSLContext | bool | None:
    """pg8000's ssl_context has three meanings: False = plain, None = try TLS and fall back to plain
    (libpq's `prefer`), a context = TLS or fail."""
    mode = mode or "prefer"
    if mode not in _SSLMODES:
        raise ValueError(f"unknown sslmode {mode!r} in {_redact(url)}; one of {', '.join(_SSLMODES)}")
    if unix:
        # The server never offers TLS on a unix socket; libpq skips it there whatever sslmode says.
        return False
    if mode == "disable":
        return False
    if mode in ("allow", "prefer"):
        return None
    cafile = None if rootcert in (None, "", "system") else rootcert
    if mode == "verify-full":
        return ssl.create_default_context(cafile=cafile)
    if mode == "verify-ca" or (mode == "require" and cafile is not None):
        # libpq: require with a root certificate behaves as verify-ca (chain checked, host name not).
        ctx = ssl.create_default_context(cafile=cafile)
        ctx.check_hostname = False
        return ctx
    # require: encrypted, but, as in libpq, the server certificate is not checked.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _redact(url: str) -> str:
    """The URL for error messages, without its password (in the authority part or the query)."""
    parts = urlsplit(url)
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
    return parts._replace(netloc=netloc, query=query).geturl()
