"""The functions' database roles in local mode. On AWS each role's password is generated into a Secrets
Manager secret and the migrate function sets it (invoice_pipeline/adapters/dbroles.py); here the Postgres is
local mode's own and has no RDS in front of it, so local mode makes the passwords itself and hands the
functions libpq URLs naming their roles (terraform variable database_role_urls), while the migrate step sets
them through the same code as on AWS (db.migrate(logins=...)).

The passwords are derived from the administrator's URL without its database name (HMAC-SHA256): roles belong to
the cluster, so every database of one cluster (each test session makes its own) gets the same passwords and
no migration of one locks out another's functions; a deployment made for the same URL can be restored as it
was (deployment.key). Whoever can read that URL is the cluster's superuser anyway."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from invoice_pipeline.adapters.dburl import connect_kwargs

from invoice_local import manifest


def _password(admin_url: str, role: str) -> str:
    settings = connect_kwargs(admin_url)
    cluster = "\0".join(str(settings[k]) for k in ("host", "port", "unix_sock", "user", "password"))
    return hmac.new(cluster.encode(), role.encode(), hashlib.sha256).hexdigest()[:40]


def logins(admin_url: str) -> dict[str, str]:
    """Role name -> password, for db.migrate(logins=...)."""
    return {name: _password(admin_url, name) for name in manifest.database_roles().values()}


def role_urls(admin_url: str) -> dict[str, str]:
    """Role key (pipeline, api) -> the admin URL with that role's name and password in place of the admin's."""
    parts = urlsplit(admin_url)
    if "user=" in parts.query or "password=" in parts.query:
        raise ValueError("local mode's DATABASE_URL must name its user and password before the host "
                         "(postgresql://user:password@host/db), not as query parameters")
    hostport = parts.netloc.rpartition("@")[2]
    return {key: urlunsplit(parts._replace(netloc=f"{quote(name, safe='')}:{_password(admin_url, name)}@{hostport}"))
            for key, name in manifest.database_roles().items()}


def with_database_roles(variables: dict[str, Any]) -> dict[str, Any]:
    """Terraform variables with database_role_urls made from database_url (local mode: each function logs in as
    its role; only the migrate function gets database_url itself)."""
    url = variables.get("database_url")
    if not url:
        return variables
    return {**variables, "database_role_urls": role_urls(url)}


def migrate() -> list[str]:
    """db.migrate() on the Postgres DATABASE_URL names (its administrator), setting the local roles' passwords:
    what local mode, the tests and the benchmarks run before the functions connect."""
    import os

    from invoice_pipeline.adapters import db

    return db.migrate(logins(os.environ["DATABASE_URL"]))
