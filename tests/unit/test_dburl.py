from __future__ import annotations

import getpass
import ssl

import pytest
from invoice_pipeline.adapters.dburl import connect_kwargs


def test_full_tcp_url() -> None:
    assert connect_kwargs("postgresql://app:secret@db.example.com:6543/invoices") == {
        "user": "app",
        "password": "secret",
        "host": "db.example.com",
        "port": 6543,
        "database": "invoices",
        "unix_sock": None,
        "ssl_context": None,  # libpq's default sslmode=prefer: try TLS, fall back to plain
    }


def test_postgres_scheme_and_defaults() -> None:
    kw = connect_kwargs("postgres://app@localhost/invoices")
    assert (kw["host"], kw["port"], kw["password"], kw["database"]) == ("localhost", 5432, None, "invoices")


@pytest.mark.parametrize(
    ("url", "password"),
    [
        ("postgresql://app:p%40ss%3Aw%2Ford%25@h/db", "p@ss:w/ord%"),
        ("postgresql://app:%C3%A9t%C3%A9@h/db", "été"),
        ("postgresql://app:a+b@h/db", "a+b"),  # a literal + in the userinfo is not a space
        ("postgresql://app:@h/db", None),  # empty password: none at all
        ("postgresql://app:x@h/db?password=fromquery", "fromquery"),
    ],
)
def test_passwords(url: str, password: str | None) -> None:
    assert connect_kwargs(url)["password"] == password


def test_percent_encoded_user_and_database() -> None:
    kw = connect_kwargs("postgresql://us%40er:pw@h/my%20db")
    assert (kw["user"], kw["database"]) == ("us@er", "my db")


def test_unix_socket_from_host_query_parameter() -> None:
    kw = connect_kwargs("postgresql://postgres:@/postgres?host=/tmp/pgdata")
    assert kw["unix_sock"] == "/tmp/pgdata/.s.PGSQL.5432"
    assert kw["host"] is None
    assert kw["ssl_context"] is False  # the server never offers TLS on a socket
    assert kw["password"] is None
    assert kw["database"] == "postgres"


def test_unix_socket_uses_the_port_in_the_file_name() -> None:
    kw = connect_kwargs("postgresql://u@/db?host=%2Fvar%2Frun%2Fpostgresql&port=5433")
    assert kw["unix_sock"] == "/var/run/postgresql/.s.PGSQL.5433"
    assert kw["port"] == 5433


def test_unix_socket_percent_encoded_in_authority() -> None:
    kw = connect_kwargs("postgresql://u@%2Ftmp%2Fsock:5440/db")
    assert kw["unix_sock"] == "/tmp/sock/.s.PGSQL.5440"


def test_query_parameters_override_authority() -> None:
    kw = connect_kwargs("postgresql://a:b@h:1/d?host=other&port=2&user=u&dbname=x")
    assert (kw["host"], kw["port"], kw["user"], kw["database"]) == ("other", 2, "u", "x")


def test_ipv6_literal() -> None:
    kw = connect_kwargs("postgresql://u@[::1]:5433/db")
    assert (kw["host"], kw["port"]) == ("::1", 5433)


def test_missing_host_user_database_fall_back_like_pg8000_and_libpq() -> None:
    kw = connect_kwargs("postgresql://")
    assert kw["host"] == "localhost"
    assert kw["user"] == getpass.getuser()
    assert kw["database"] is None  # the server then uses the user name


def test_sslmode_disable() -> None:
    assert connect_kwargs("postgresql://u@h/d?sslmode=disable")["ssl_context"] is False


@pytest.mark.parametrize("mode", ["allow", "prefer"])
def test_sslmode_opportunistic(mode: str) -> None:
    assert connect_kwargs(f"postgresql://u@h/d?sslmode={mode}")["ssl_context"] is None


def test_sslmode_require_encrypts_without_verifying() -> None:
    ctx = connect_kwargs("postgresql://u@h/d?sslmode=require")["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_NONE
    assert not ctx.check_hostname


def test_sslmode_verify_full_checks_chain_and_host_name() -> None:
    ctx = connect_kwargs("postgresql://u@h/d?sslmode=verify-full")["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname


def test_sslmode_verify_ca_checks_chain_only() -> None:
    ctx = connect_kwargs("postgresql://u@h/d?sslmode=verify-ca")["ssl_context"]
    assert isinstance(ctx, ssl.SSLContext)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert not ctx.check_hostname


def test_sslrootcert_must_exist() -> None:
    with pytest.raises(FileNotFoundError):
        connect_kwargs("postgresql://u@h/d?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")


def test_kwargs_are_accepted_by_pg8000() -> None:
    import inspect

    from pg8000.core import CoreConnection

    # pg8000.native.Connection forwards *args/**kwargs to CoreConnection, whose signature is the real one.
    accepted = set(inspect.signature(CoreConnection.__init__).parameters)
    assert set(connect_kwargs("postgresql://u:p@h/d")) <= accepted


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/d", "scheme"),
        ("postgresql://u@h/d?sslmode=sometimes", "sslmode"),
        ("postgresql://u@h/d?sslmod=require", "sslmod"),  # a typo must not silently drop TLS
        ("postgresql://u@h:99999/d", "port"),
        ("postgresql://u@h:abc/d", "port"),
        ("postgresql://u@h/d?port=0", "port"),
        ("postgresql://u@h/d?host=a&host=b", "twice"),
        ("postgresql://u@h1,h2/d", "multiple hosts"),
    ],
)
def test_rejected(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        connect_kwargs(url)


def test_errors_do_not_leak_the_password() -> None:
    with pytest.raises(ValueError) as info:
        connect_kwargs("postgresql://u:hunter2@h/d?sslmode=nope&password=hunter3")
    assert "hunter2" not in str(info.value)
    assert "hunter3" not in str(info.value)
