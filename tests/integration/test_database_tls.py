"""The AWS path to the database verifies TLS (issue 10, item 1): a real Postgres serves a certificate from a
CA made here; the connection the functions open from the Secrets Manager secret accepts it with that CA,
and refuses it, with DatabaseUnavailable naming the rejected certificate, with another CA or under a host
name the certificate does not carry. Mocked only at the AWS boundary (moto's Secrets Manager). ~3 s."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pg8000.native
import pytest
from cryptography.hazmat.primitives import serialization
from invoice_local.postgres import PostgresHandle, start_postgres
from invoice_pipeline.adapters import db, dbroles, dbtls
from invoice_pipeline.adapters.dburl import connect_kwargs
from invoice_pipeline.errors import DatabaseUnavailable
from moto import mock_aws

from tests.certs import make_ca, make_server_cert, pem


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PostgresHandle, Path, Path]]:
    """A throwaway Postgres serving a certificate for `localhost` from a test CA; (handle, that CA, another)."""
    certs = tmp_path_factory.mktemp("ca")
    ca = make_ca("invoice test CA")
    (certs / "ca.pem").write_bytes(pem(ca[1]))
    (certs / "other-ca.pem").write_bytes(pem(make_ca("someone else's CA")[1]))
    key, cert = make_server_cert(ca, "localhost")
    handle = start_postgres(prefer="binaries")
    try:
        assert handle.data_dir is not None
        owner = handle.data_dir.stat()
        # Postgres reads its key only when the server's user owns it and nobody else can read it.
        for name, data in (("server.crt", pem(cert)), ("server.key", key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption()))):
            path = handle.data_dir / name
            path.write_bytes(data)
            path.chmod(0o600)
            os.chown(path, owner.st_uid, owner.st_gid)
        con = pg8000.native.Connection(**connect_kwargs(handle.url))
        try:
            con.run("ALTER SYSTEM SET ssl = on")  # TLS settings take effect on reload, no restart
            con.run("SELECT pg_reload_conf()")
        finally:
            con.close()
        yield handle, certs / "ca.pem", certs / "other-ca.pem"
    finally:
        handle.stop()


def connect_from_secret(handle: PostgresHandle, host: str, cafile: Path) -> list[list[object]]:
    """What db._open does on AWS: settings from the secret, TLS verified against `cafile`."""
    url = connect_kwargs(handle.url)
    with mock_aws():
        import boto3

        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="db", SecretString=json.dumps({"username": url["user"], "password": url["password"],
                                                "host": host, "port": handle.port, "dbname": "postgres"}))["ARN"]
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        kwargs = db._secret_kwargs(arn, cafile=cafile)
    try:
        con = db.Connection(timeout=10, **kwargs)
    except Exception as exc:
        # the same translation db._open makes
        raise DatabaseUnavailable(f"cannot connect to Postgres: {dbtls.rejected(exc) or exc}") from exc
    try:
        return con.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        con.close()


def test_the_certificate_from_the_packaged_ca_is_accepted_and_the_session_is_encrypted(tls_server) -> None:
    handle, ca, _ = tls_server
    assert connect_from_secret(handle, "localhost", ca) == [[True]]


def test_a_certificate_from_another_ca_is_refused_with_a_named_error(tls_server) -> None:
    handle, _, other = tls_server
    with pytest.raises(DatabaseUnavailable, match="TLS certificate was rejected: .*certificate verify failed|"
                                                  "TLS certificate was rejected: unable to get local issuer"):
        connect_from_secret(handle, "localhost", other)


def test_the_right_ca_under_another_host_name_is_refused(tls_server) -> None:
    """Host name verification is on: 127.0.0.1 is the same server, but not the name its certificate carries."""
    handle, ca, _ = tls_server
    with pytest.raises(DatabaseUnavailable, match="TLS certificate was rejected: .*(mismatch|IP address)"):
        connect_from_secret(handle, "127.0.0.1", ca)


def test_without_a_packaged_bundle_no_connection_is_attempted(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(dbtls, "BUNDLE_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DatabaseUnavailable, match="no RDS CA bundle in the code package"):
        db._secret_kwargs("arn:aws:secretsmanager:us-east-1:123456789012:secret:db")


def test_a_role_logs_in_from_its_own_secret_as_the_migrate_function_set_it(tls_server, monkeypatch) -> None:
    """Issue 10, item 2, the AWS path end to end: the migrate function reads the role's secret and sets its
    password; the API's connection from that secret, over verified TLS, is that role and may not write."""
    handle, ca, _ = tls_server
    monkeypatch.setenv("DATABASE_URL", handle.url)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        import boto3

        arn = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="db/api", SecretString=json.dumps({"username": "invoice_api", "password": "Api-only-7f3c",
                                                    "host": "localhost", "port": handle.port,
                                                    "dbname": "postgres"}))["ARN"]
        monkeypatch.setenv(dbroles.ROLE_SECRETS_ENV, json.dumps({"api": arn}))
        db.close()
        try:
            db.migrate(dbroles.logins_from_secrets())
        finally:
            db.close()
        kwargs = db._secret_kwargs(arn, cafile=ca)
    con = db.Connection(timeout=10, **kwargs)
    try:
        assert con.run("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") == \
            [["invoice_api", True]]
        with pytest.raises(pg8000.native.DatabaseError, match="permission denied"):
            con.run("UPDATE documents SET status = status")
    finally:
        con.close()
