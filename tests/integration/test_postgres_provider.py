"""The local Postgres providers (DATABASE_URL, machine binaries, pgserver) really start, serve, stop, and
never outlive the process that started them."""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pg8000.native
import pytest
from invoice_local import postgres
from invoice_local.postgres import (
    MIN_MAJOR,
    PostgresHandle,
    PostgresUnavailable,
    create_database,
    find_binaries,
    start_postgres,
)
from invoice_pipeline.adapters.dburl import connect_kwargs

from tests.shared_data import skip_or_fail

pytestmark = pytest.mark.integration

LOCAL_PROVIDERS = ["binaries", "pgserver"]
GONE_WITHIN = 20.0  # seconds: a bound on waiting, not a performance assertion


def require_provider(provider: str) -> None:
    found = find_binaries(provider)
    if provider == "binaries":
        found = [b for b in found if b.major >= MIN_MAJOR]
        if not found:
            skip_or_fail(
                f"no PostgreSQL {MIN_MAJOR}+ binaries (initdb, postgres) in PATH or /usr/lib/postgresql"
            )
    elif not found:
        skip_or_fail("pgserver is not installed (pip install pgserver)")


@pytest.fixture(autouse=True)
def no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's DATABASE_URL would otherwise win over the provider under test.
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """A directory under /tmp that the cluster's user can traverse even when the tests run as root
    (pytest's tmp_path lives under a 0700 directory)."""
    base = Path(tempfile.mkdtemp(prefix="invoice-pgtest-", dir="/tmp"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def query(url: str, sql: str) -> list[list[object]]:
    con = pg8000.native.Connection(**connect_kwargs(url))
    try:
        return con.run(sql)
    finally:
        con.close()


def process_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: Callable[[], bool], timeout: float = GONE_WITHIN) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def assert_server_gone(pid: int, port: int, socket_path: Path | None, data_dir: Path | None) -> None:
    assert wait_until(lambda: not process_running(pid)), f"postmaster {pid} still running"
    assert not port_open(port), f"port {port} still accepts connections"
    if socket_path is not None:
        assert not socket_path.exists(), f"{socket_path} still there"
    if data_dir is not None:
        assert wait_until(lambda: not data_dir.exists()), f"temporary {data_dir} not removed"


# --- each local provider ------------------------------------------------------------------------------
@pytest.mark.parametrize("provider", LOCAL_PROVIDERS)
def test_provider_starts_serves_and_stops(provider: str) -> None:
    require_provider(provider)
    with start_postgres(prefer=provider) as pg:
        assert pg.provider == provider
        assert pg.owned and pg.temporary
        assert pg.pid is not None and pg.port is not None and pg.data_dir is not None
        print(f"{provider}: PostgreSQL {pg.version} up in {pg.startup_seconds:.2f} s")

        (version,) = query(pg.url, "select version()")[0]
        assert f"PostgreSQL {pg.version}" in str(version)
        assert query(pg.url, "show listen_addresses") == [["127.0.0.1"]]
        assert pg.socket_path is not None and pg.socket_path.is_socket()

        db_url = create_database(pg, "provider_test")
        assert query(db_url, "select current_database()") == [["provider_test"]]
        query(db_url, "create table t (x int)")
        # Fresh means fresh: a second call drops what the first one left.
        create_database(pg, "provider_test")
        assert query(db_url, "select count(*) from pg_tables where tablename = 't'") == [[0]]

        socket_url = f"postgresql://postgres@/postgres?host={pg.socket_dir}&port={pg.port}"
        assert query(socket_url, "select 1") == [[1]]

        pid, port, socket_path, data_dir = pg.pid, pg.port, pg.socket_path, pg.data_dir
    assert_server_gone(pid, port, socket_path, data_dir)
    pg.stop()  # idempotent


@pytest.mark.parametrize("provider", LOCAL_PROVIDERS)
def test_persistent_data_dir_survives_a_restart(provider: str, private_tmp: Path) -> None:
    require_provider(provider)
    data_dir = private_tmp / "pgdata"
    with start_postgres(data_dir, prefer=provider) as pg:
        assert not pg.temporary
        query(pg.url, "create table kept (x int)")
        query(pg.url, "insert into kept values (42)")

        # A second start on the same directory shares the running server instead of fighting over it,
        # and its stop leaves the server to its owner.
        with start_postgres(data_dir, prefer=provider) as again:
            assert not again.owned
            assert again.port == pg.port
            assert query(again.url, "select x from kept") == [[42]]
        assert query(pg.url, "select 1") == [[1]]
        pid = pg.pid
    assert pid is not None
    assert wait_until(lambda: not process_running(pid))
    assert (data_dir / "PG_VERSION").exists(), "a persistent data directory must be kept"

    with start_postgres(data_dir, prefer=provider) as pg:
        assert query(pg.url, "select x from kept") == [[42]]


@pytest.mark.parametrize("provider", LOCAL_PROVIDERS)
def test_an_outage_refuses_connections_then_serves_the_same_url_and_data(provider: str) -> None:
    """halt/resume (the fault matrix's database outage): the server is really down, its sessions ended, and
    comes back on the same port with its data, under the same supervisor."""
    require_provider(provider)
    with start_postgres(prefer=provider) as pg:
        query(pg.url, "create table kept (x int)")
        query(pg.url, "insert into kept values (7)")
        session = pg8000.native.Connection(**connect_kwargs(pg.url))
        first_pid, supervisor = pg.pid, pg.supervisor_pid
        with pg.outage():
            assert first_pid is not None and wait_until(lambda: not process_running(first_pid))
            with pytest.raises((pg8000.native.InterfaceError, OSError)):
                query(pg.url, "select 1")
            with pytest.raises((pg8000.native.InterfaceError, pg8000.native.DatabaseError, OSError)):
                session.run("select 1")  # ended by the shutdown
        assert pg.pid != first_pid and pg.supervisor_pid == supervisor
        assert query(pg.url, "select x from kept") == [[7]]
        with pytest.raises(RuntimeError, match="resume failed"):
            pg.resume()  # not halted
        data_dir = pg.data_dir
    assert data_dir is not None and wait_until(lambda: not data_dir.exists())

@pytest.mark.parametrize("provider", LOCAL_PROVIDERS)
def test_a_kept_cluster_restarted_at_once_keeps_its_port(provider: str, private_tmp: Path) -> None:
    """Sessions open at the stop leave the server's side of their connections in TIME_WAIT for a minute: the
    port is still free to listen on (postgres binds with SO_REUSEADDR), so the URL stays the same and local
    mode restores what it deployed instead of applying Terraform again."""
    require_provider(provider)
    with start_postgres(private_tmp / "pgdata", prefer=provider) as pg:
        port = pg.port
        sessions = [pg8000.native.Connection(**connect_kwargs(pg.url)) for _ in range(3)]
    with start_postgres(private_tmp / "pgdata", prefer=provider) as pg:
        assert pg.port == port
    del sessions

def test_root_needs_a_traversable_directory() -> None:
    private = Path(tempfile.mkdtemp(prefix="invoice-pgtest-", dir="/tmp"))  # 0700, owned by us
    try:
        provider = next((p for p in LOCAL_PROVIDERS if find_binaries(p)), None)
        if provider is None:
            skip_or_fail("neither PostgreSQL binaries nor pgserver available")
            return
        if os.geteuid() == 0:
            with pytest.raises(PostgresUnavailable, match="not traversable by user"):
                start_postgres(private / "pgdata", prefer=provider)
        else:
            with start_postgres(private / "pgdata", prefer=provider) as pg:
                assert query(pg.url, "select 1") == [[1]]
    finally:
        shutil.rmtree(private, ignore_errors=True)


# --- DATABASE_URL and the error path ------------------------------------------------------------------
def test_database_url_is_used_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = next((p for p in LOCAL_PROVIDERS if find_binaries(p)), None)
    if provider is None:
        skip_or_fail("no local Postgres to point DATABASE_URL at")
        return
    with start_postgres(prefer=provider) as server:
        monkeypatch.setenv("DATABASE_URL", server.url)
        with start_postgres() as pg:
            assert pg.provider == "url"
            assert pg.url == server.url
            assert not pg.owned and pg.pid is None
            url = create_database(pg, "from_database_url")
            assert query(url, "select current_database()") == [["from_database_url"]]
        # Stopping a URL handle never touches the server behind it.
        assert query(server.url, "select 1") == [[1]]


def test_prefer_url_without_database_url() -> None:
    with pytest.raises(PostgresUnavailable, match="DATABASE_URL is not set"):
        start_postgres(prefer="url")


def test_nothing_available_says_what_was_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "find_binaries", lambda provider="binaries": [])
    with pytest.raises(PostgresUnavailable) as info:
        start_postgres()
    assert [t.split(":")[0] for t in info.value.tried] == ["url", "binaries", "pgserver"]
    assert "DATABASE_URL" in str(info.value) and "pgserver" in str(info.value)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="prefer"):
        start_postgres(prefer="docker")
    handle = PostgresHandle(url="postgresql://u@h/postgres", provider="url")
    with pytest.raises(ValueError, match="database name"):
        create_database(handle, "x; drop table users")
    for too_few in (0, 3, "10"):
        with pytest.raises(ValueError, match="max_connections must be at least 4"):
            start_postgres(prefer="binaries", max_connections=too_few)  # type: ignore[arg-type]


# --- max_connections ----------------------------------------------------------------------------------
def open_until_refused(url: str, limit: int) -> tuple[list[pg8000.native.Connection], str]:
    """Connections opened before Postgres refused one (at most `limit`), and what it said."""
    opened: list[pg8000.native.Connection] = []
    try:
        while len(opened) < limit:
            opened.append(pg8000.native.Connection(**connect_kwargs(url)))
    except pg8000.native.DatabaseError as exc:
        return opened, str(exc)
    return opened, ""


@pytest.mark.parametrize("provider", LOCAL_PROVIDERS)
def test_a_connection_beyond_max_connections_is_refused_by_postgres(provider: str) -> None:
    require_provider(provider)
    with start_postgres(prefer=provider, max_connections=5) as pg:
        opened, refusal = open_until_refused(pg.url, limit=50)
        try:
            # The URL's user is the superuser, who may also take the 3 slots kept for superusers.
            assert len(opened) == 5, refusal
            assert "sorry, too many clients already" in refusal
            assert opened[0].run("show max_connections") == [["5"]]
        finally:
            for con in opened:
                con.close()
        # A slot freed is a slot to be had again, once its backend has exited: that happens just after the
        # client closes, not at once, so a busy machine gets a few seconds for it.
        assert query_when_a_slot_frees(pg.url, "select 1") == [[1]]


def query_when_a_slot_frees(url: str, sql: str, seconds: float = 10.0) -> list[list[object]]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return query(url, sql)
        except pg8000.native.DatabaseError as exc:  # only "too many clients" is waited out
            if "too many clients" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("provider", LOCAL_PROVIDERS)
def test_a_kept_cluster_takes_the_max_connections_of_each_start(provider: str, private_tmp: Path) -> None:
    require_provider(provider)
    data_dir = private_tmp / "pgdata"
    with start_postgres(data_dir, prefer=provider, max_connections=5) as pg:
        assert query(pg.url, "show max_connections") == [["5"]]
    with start_postgres(data_dir, prefer=provider, max_connections=7) as pg:
        assert query(pg.url, "show max_connections") == [["7"]]
    # Without one, the cluster's own setting again (initdb's, in postgresql.conf).
    configured = [line.split("=")[1].split("#")[0].strip()
                  for line in (data_dir / "postgresql.conf").read_text().splitlines()
                  if line.startswith("max_connections")]
    assert configured and configured[0] not in ("5", "7")
    with start_postgres(data_dir, prefer=provider) as pg:
        assert query(pg.url, "show max_connections") == [[configured[0]]]


# --- the watchdog -------------------------------------------------------------------------------------
CHILD = """
import json, sys, time
from invoice_local.postgres import start_postgres
pg = start_postgres(prefer=sys.argv[1])
print(json.dumps({"pid": pg.pid, "port": pg.port, "supervisor": pg.supervisor_pid,
                  "data_dir": str(pg.data_dir), "socket": str(pg.socket_path), "url": pg.url}), flush=True)
time.sleep(600)
"""

PR_SET_CHILD_SUBREAPER = 36


def set_subreaper(on: bool) -> bool:
    """Adopt orphaned descendants, so the supervisor of the killed child can be reaped here: where PID 1
    does not reap (containers, sandboxes) it would otherwise stay a zombie."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@pytest.mark.parametrize("provider", LOCAL_PROVIDERS)
def test_server_stops_when_its_process_is_killed(provider: str) -> None:
    require_provider(provider)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    reaper = set_subreaper(True)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, provider], stdout=subprocess.PIPE, env=env, start_new_session=True
    )
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 60)
        assert ready, "the child did not start Postgres within 60 s"
        info = json.loads(child.stdout.readline())
        assert query(info["url"], "select 1") == [[1]]

        child.send_signal(signal.SIGKILL)
        child.wait()
        assert_server_gone(info["pid"], info["port"], Path(info["socket"]), Path(info["data_dir"]))

        if reaper:
            sup = info["supervisor"]

            def reaped() -> bool:
                try:
                    return os.waitpid(sup, os.WNOHANG)[0] == sup
                except ChildProcessError:
                    return True  # not ours to reap (adopted elsewhere) or already gone

            assert wait_until(reaped), "the supervisor did not exit"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
        if reaper:
            set_subreaper(False)
