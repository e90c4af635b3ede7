"""The functions' database logins (migrations/0004_roles.sql creates the roles): their passwords, set by the
migrate function, which alone logs in as the master user.

On AWS each role has a Secrets Manager secret of its own (terraform/database.tf), in the shape of the master's
(username, password, host, port, dbname): a function reads its role's secret exactly as db.py reads any, and
the migrate function, told the roles' secrets by DATABASE_ROLE_SECRETS ({"pipeline": arn, "api": arn}), makes
Postgres accept what they hold. Local mode hands db.migrate the passwords itself (invoice_local/dbroles.py).

Postgres gets a SCRAM-SHA-256 verifier, never the password: RDS logs every DDL statement
(log_statement = ddl, terraform/database.tf), ALTER ROLE included, and a salted verifier of 40 random
characters is of no use to whoever reads that log."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pg8000 is imported by the first connection (adapters/db.py)
    from pg8000.native import Connection


ROLE_SECRETS_ENV = "DATABASE_ROLE_SECRETS"
SCRAM_ITERATIONS = 4096  # Postgres' own default (scram_iterations)


class RoleRefused(ValueError):
    """A login the migrate function will not set: no such role, or one with powers beyond DML."""


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """What Postgres stores for a SCRAM-SHA-256 password (RFC 5802/7677), the form it accepts pre-hashed in
    ALTER ROLE ... PASSWORD. The passwords here are ASCII, which SASLprep leaves as they are."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def set_logins(con: Connection, logins: Mapping[str, str]) -> list[str]:
    """Give each role (user name -> password) its password. Only a plain login role is accepted: a secret
    naming the master user, a superuser or a role that can create roles is refused, not obeyed."""
    from pg8000.native import identifier, literal

    for user, password in sorted(logins.items()):
        found = con.run("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls OR rolreplication"
                        " FROM pg_roles WHERE rolname = :n", n=user)
        if not found:
            raise RoleRefused(f"no database role {user!r}: the migrations create the functions' roles")
        if found[0][0]:
            raise RoleRefused(f"database role {user!r} has powers beyond DML: its password is not set here")
        if not password:
            raise RoleRefused(f"empty password for database role {user!r}")
        con.run(f"ALTER ROLE {identifier(user)} WITH LOGIN PASSWORD {literal(scram_verifier(password))}")
    return sorted(logins)


def logins_from_secrets() -> dict[str, str]:
    """User name -> password from the secrets DATABASE_ROLE_SECRETS names; {} when it is not set (local mode,
    or a function other than migrate)."""
    from invoice_pipeline.adapters import aws

    raw = os.environ.get(ROLE_SECRETS_ENV, "").strip()
    if not raw:
        return {}
    arns: dict[str, str] = json.loads(raw)
    client = aws.client("secretsmanager")
    logins: dict[str, str] = {}
    for arn in arns.values():
        secret = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        logins[secret["username"]] = secret["password"]
    return logins
