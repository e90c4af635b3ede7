"""A real Postgres for local mode and tests, from the first source that works:

1. ``DATABASE_URL`` in the environment: used as is, nothing is started.
2. The machine's PostgreSQL binaries (``initdb`` and ``postgres`` in PATH or /usr/lib/postgresql/*/bin, newest
   first, version 15 or later).
3. The PostgreSQL 16 binaries bundled in the ``pgserver`` wheel.

For 2 and 3 a cluster is created in the given directory (kept) or in a temporary one (deleted on stop), and
served on 127.0.0.1 at a free port plus a unix socket in the data directory. Loopback TCP needs the generated
superuser password (kept in the data directory); the socket is trusted, as only the cluster's owner and root
can reach into the 0700 data directory.

Every server is run by a *supervisor*: this very file run as a script (stdlib only, so it starts in tens of
milliseconds), detached into its own session. It runs initdb, starts ``postgres`` as its own child and stays
until it is told to stop, its stdin reaches EOF, or its parent process disappears (polled every 0.2 s);
then it shuts the server down, reaps it, and removes a temporary data directory. So a server never outlives
the Python process that asked for it, even when that process is SIGKILLed, and leaves no zombie behind. Told
to halt, it shuts the server down and keeps everything else (data, port, itself) until told to resume: a
database outage, for the tests that show what the pipeline does through one (`PostgresHandle.outage()`).

Why not pgserver's own API: it stops the server only from ``atexit`` (nothing happens on SIGKILL), counts
its users in a pid list inside the data directory (a pid left there by a killed process keeps every later
clean exit from stopping the server), and daemonizes the server through ``pg_ctl``, so a stopped server is
an orphan that lingers as a zombie until PID 1 gets round to reaping it (about a second in this sandbox;
never under some container inits), and ``kill(pid, 0)`` -- postgres' own stale-lock test included -- still
sees it. Its bundled binaries are all we need.

Running as root (PostgreSQL refuses to): initdb and postgres run as the owner of an existing cluster, else
the ``postgres`` system user, else ``nobody``; the data directory is chowned to that user and every directory
above it must be traversable by it (temporary clusters live directly under /tmp for that reason).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import re
import secrets
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

__all__ = [
    "MIN_MAX_CONNECTIONS",
    "PROVIDERS",
    "PgBinaries",
    "PostgresHandle",
    "PostgresUnavailable",
    "create_database",
    "ensure_database",
    "find_binaries",
    "start_postgres",
]

log = logging.getLogger(__name__)

PROVIDERS = ("url", "binaries", "pgserver")
MIN_MAJOR = 15  # the migrations may use anything PostgreSQL 15 has (DESIGN.md: Postgres 15+)
SUPERUSER = "postgres"
PASSWORD_FILE = "invoice_local.password"
LAST_PORT_FILE = "invoice_local.port"  # the port a kept cluster listened on last time
LOG_FILE = "postgres.log"
LISTEN_HOST = "127.0.0.1"
# sun_path holds 108 bytes on Linux (104 on macOS) including the NUL: keep a margin.
_SOCKET_PATH_MAX = 100
_START_TIMEOUT = 120.0  # initdb with fsync on a slow disk, then recovery of a crashed persistent cluster
_STOP_TIMEOUT = 30.0
_PARENT_POLL = 0.2
_DBNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# max_connections includes superuser_reserved_connections (3 unless changed), which must stay below it.
MIN_MAX_CONNECTIONS = 4


class PostgresUnavailable(RuntimeError):
    """No Postgres could be obtained; `tried` says what each provider answered."""

    def __init__(self, tried: list[str]) -> None:
        self.tried = tried
        super().__init__(
            "no Postgres available. Tried, in order:\n  - "
            + "\n  - ".join(tried)
            + "\nSet DATABASE_URL to a running server, install PostgreSQL 15+"
            " (e.g. apt-get install postgresql), or pip install pgserver."
        )


class _Absent(Exception):
    """The provider does not exist on this machine (as opposed to existing and failing)."""


@dataclass(frozen=True)
class PgBinaries:
    """A directory holding initdb and postgres of one PostgreSQL version."""

    bin_dir: Path
    version: tuple[int, int]
    provider: str

    @property
    def major(self) -> int:
        return self.version[0]

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int
    name: str


class PostgresHandle:
    """A Postgres to use: `.url` (libpq URL), `.provider` (url | binaries | pgserver), `.stop()` (idempotent);
    for a server it started, `.halt()`/`.resume()` or `with .outage():` take it down and bring it back.

    A context manager; also stopped at interpreter exit. A handle that merely attached to a server another
    process runs (same persistent data directory) never stops it."""

    def __init__(
        self,
        *,
        url: str,
        provider: str,
        data_dir: Path | None = None,
        temporary: bool = False,
        version: str | None = None,
        port: int | None = None,
        socket_dir: Path | None = None,
        pid: int | None = None,
        supervisor: subprocess.Popen[bytes] | None = None,
        startup_seconds: float = 0.0,
    ) -> None:
        self.url = url
        self.provider = provider
        self.data_dir = data_dir
        self.temporary = temporary
        self.version = version
        self.port = port
        self.socket_dir = socket_dir
        self.pid = pid  # the postmaster's pid, for tests and diagnostics
        self.startup_seconds = startup_seconds
        self._supervisor = supervisor
        self._owner_pid = os.getpid()
        self._lock = threading.Lock()
        self._stopped = supervisor is None
        if supervisor is not None:
            atexit.register(self.stop)

    @property
    def owned(self) -> bool:
        """True when this handle started the server and will stop it."""
        return self._supervisor is not None

    @property
    def supervisor_pid(self) -> int | None:
        return self._supervisor.pid if self._supervisor is not None else None

    @property
    def socket_path(self) -> Path | None:
        if self.socket_dir is None or self.port is None:
            return None
        return self.socket_dir / f".s.PGSQL.{self.port}"

    def halt(self) -> None:
        """Shut the server down (fast shutdown: every session is ended, as a database failover ends them) and
        keep its data directory, port and supervisor: connections are refused until `resume()`."""
        self._command("halt")

    def resume(self) -> None:
        """Start the halted server again on the same data directory and port: the same URL works again."""
        status = self._command("resume")
        self.pid = int(status["pid"])

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The server is down inside the block, and up again after it, whatever the block raised."""
        self.halt()
        try:
            yield
        finally:
            self.resume()

    def _command(self, command: str) -> dict[str, Any]:
        with self._lock:
            proc = self._supervisor
            if self._stopped or proc is None or os.getpid() != self._owner_pid:
                raise RuntimeError(f"cannot {command} a server this handle does not run: {self!r}")
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(command.encode() + b"\n")
            proc.stdin.flush()
            line = _read_line(proc.stdout.fileno(), _START_TIMEOUT)
        try:
            status: dict[str, Any] = json.loads(line) if line else {}
        except ValueError:
            status = {}
        if not status.get("ok"):
            raise RuntimeError(f"{command} failed: {status.get('error') or line or 'the supervisor exited'}")
        return status

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        atexit.unregister(self.stop)
        # A forked child inherits the handle (and its atexit hook) but not the right to stop the server.
        if os.getpid() != self._owner_pid or self._supervisor is None:
            return
        _stop_supervisor(self._supervisor, self.data_dir, self.temporary)

    def __enter__(self) -> PostgresHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"PostgresHandle(provider={self.provider!r}, url={_redact(self.url)!r}, "
            f"data_dir={self.data_dir}, pid={self.pid}, stopped={self._stopped})"
        )


# --- public API ---------------------------------------------------------------------------------------
def start_postgres(
    data_dir: Path | None = None, *, prefer: str | None = None, max_connections: int | None = None
) -> PostgresHandle:
    """Obtain a running Postgres. `data_dir` keeps the cluster across runs (local mode); without it the
    cluster is temporary. `prefer` forces one provider (tests); otherwise url, binaries, pgserver in order.
    With DATABASE_URL set, `data_dir` is not used. Raises PostgresUnavailable when nothing works.

    `max_connections` starts the server with that many connection slots (superusers' reserved ones included,
    as in PostgreSQL), so that one more is refused by Postgres itself ("sorry, too many clients already");
    None keeps the cluster's own setting (initdb's, normally 100). It applies to a server this call starts, each
    time it starts one; a server found running (DATABASE_URL, or another process's on the same data
    directory) keeps its own."""
    if prefer is not None and prefer not in PROVIDERS:
        raise ValueError(f"prefer must be one of {PROVIDERS}, not {prefer!r}")
    if max_connections is not None and (
        not isinstance(max_connections, int) or max_connections < MIN_MAX_CONNECTIONS
    ):
        raise ValueError(
            f"max_connections must be at least {MIN_MAX_CONNECTIONS}: PostgreSQL keeps "
            f"superuser_reserved_connections (3) inside it, and needs one more; not {max_connections!r}"
        )
    if data_dir is not None:
        data_dir = Path(data_dir).expanduser().resolve()
        if data_dir.is_dir() and any(data_dir.iterdir()) and not (data_dir / "PG_VERSION").exists():
            raise ValueError(f"{data_dir} is neither empty nor a PostgreSQL data directory")
    tried: list[str] = []
    for provider in [prefer] if prefer else PROVIDERS:
        try:
            handle = _from_url() if provider == "url" else _start_local(provider, data_dir, max_connections)
        except _Absent as exc:
            tried.append(f"{provider}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - a broken provider must not hide a working one
            log.warning("Postgres provider %s failed: %s", provider, exc)
            tried.append(f"{provider}: failed: {exc}")
            continue
        log.info(
            "Postgres from %s in %.2f s: %s", handle.provider, handle.startup_seconds, _redact(handle.url)
        )
        if max_connections is not None and not handle.owned:
            log.warning(
                "max_connections=%d not applied: the server at %s was already running and keeps its own "
                "setting", max_connections, _redact(handle.url)
            )
        return handle
    raise PostgresUnavailable(tried)


def ensure_database(handle: PostgresHandle, name: str) -> str:
    """Create database `name` if it does not exist (local mode keeps its data across runs); return its URL."""
    if not _DBNAME.fullmatch(name):
        raise ValueError(f"database name must match {_DBNAME.pattern}: {name!r}")
    import pg8000.native
    from invoice_pipeline.adapters.dburl import connect_kwargs

    kwargs = connect_kwargs(handle.url)
    if kwargs["database"] != name:
        con = pg8000.native.Connection(**kwargs)
        try:
            if not con.run("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
                con.run(f"CREATE DATABASE {pg8000.native.identifier(name)}")
        finally:
            con.close()
    return _url_with_database(handle.url, name)


def create_database(handle: PostgresHandle, name: str) -> str:
    """Create database `name` (dropping any previous one of that name: tests want it fresh) and return a URL
    for it."""
    if not _DBNAME.fullmatch(name):
        raise ValueError(f"database name must match {_DBNAME.pattern}: {name!r}")
    import pg8000.native
    from invoice_pipeline.adapters.dburl import connect_kwargs

    kwargs = connect_kwargs(handle.url)
    if kwargs["database"] == name:
        raise ValueError(f"cannot recreate {name!r}: it is the database the handle's URL connects to")
    con = pg8000.native.Connection(**kwargs)
    try:
        ident = pg8000.native.identifier(name)
        # FORCE (PG 13+) ends sessions a killed test run may have left behind.
        con.run(f"DROP DATABASE IF EXISTS {ident} WITH (FORCE)")
        con.run(f"CREATE DATABASE {ident}")
    finally:
        con.close()
    return _url_with_database(handle.url, name)


def find_binaries(provider: str = "binaries") -> list[PgBinaries]:
    """PostgreSQL binary directories a provider offers, newest first. `binaries`: PATH and
    /usr/lib/postgresql/*/bin, every version (start_postgres then refuses those below MIN_MAJOR);
    `pgserver`: the wheel's bundled build."""
    if provider == "pgserver":
        import importlib.util

        # find_spec, not import: importing pgserver creates lock files and warns about XDG_RUNTIME_DIR.
        spec = importlib.util.find_spec("pgserver")
        if spec is None or not spec.submodule_search_locations:
            return []
        dirs = [Path(p) / "pginstall" / "bin" for p in spec.submodule_search_locations]
    elif provider == "binaries":
        dirs = []
        found = shutil.which("postgres")
        if found:
            dirs.append(Path(os.path.realpath(found)).parent)
        versioned = Path("/usr/lib/postgresql").glob("*/bin")
        dirs.extend(sorted(versioned, key=lambda p: _int_or_zero(p.parent.name), reverse=True))
    else:
        raise ValueError(f"no binaries for provider {provider!r}")
    result: list[PgBinaries] = []
    seen: set[Path] = set()
    for d in dirs:
        d = d.resolve()
        if d in seen or not all(os.access(d / exe, os.X_OK) for exe in ("initdb", "postgres")):
            continue
        seen.add(d)
        version = _binary_version(d / "postgres")
        if version is not None:
            result.append(PgBinaries(d, version, provider))
    result.sort(key=lambda b: b.version, reverse=True)
    return result


# --- providers ------------------------------------------------------------------------------------------
def _from_url() -> PostgresHandle:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise _Absent("DATABASE_URL is not set")
    return PostgresHandle(url=url, provider="url")


def _start_local(provider: str, data_dir: Path | None, max_connections: int | None) -> PostgresHandle:
    candidates = find_binaries(provider)
    if provider == "binaries":
        too_old = [b for b in candidates if b.major < MIN_MAJOR]
        candidates = [b for b in candidates if b.major >= MIN_MAJOR]
        if not candidates:
            old = f" (found only {', '.join(b.version_text for b in too_old)})" if too_old else ""
            raise _Absent(
                f"no PostgreSQL {MIN_MAJOR}+ binaries (initdb, postgres) in PATH"
                f" or /usr/lib/postgresql/*/bin{old}"
            )
    elif not candidates:
        raise _Absent("the pgserver package is not installed")

    if data_dir is not None and (data_dir / "PG_VERSION").exists():
        major = _int_or_zero((data_dir / "PG_VERSION").read_text().strip())
        matching = [b for b in candidates if b.major == major]
        if not matching:
            offered = ", ".join(b.version_text for b in candidates)
            raise _Absent(f"the cluster in {data_dir} is PostgreSQL {major}; {provider} offers {offered}")
        candidates = matching
        attached = _attach(provider, data_dir)
        if attached is not None:
            return attached
    try:
        return _launch(candidates[0], data_dir, max_connections)
    except RuntimeError:
        # Two processes starting on one persistent directory at once: postgres' lock file lets one win,
        # and the loser can use the winner's server.
        attached = _attach(provider, data_dir) if data_dir is not None else None
        if attached is None:
            raise
        return attached


def _attach(provider: str, data_dir: Path) -> PostgresHandle | None:
    """A handle on a server another process already runs on this data directory, if any."""
    info = _read_pidfile(data_dir)
    if info is None or not _postmaster_alive(info["pid"], data_dir):
        return None
    password = _read_password(data_dir)
    if info["listen"] and password is not None:
        url = _tcp_url(password, info["port"])
    elif info["socket_dir"]:
        url = _socket_url(Path(info["socket_dir"]), info["port"])
    else:
        url = _tcp_url(password, info["port"])
    socket_dir = Path(info["socket_dir"]) if info["socket_dir"] else None
    log.info("attaching to the Postgres already running on %s (pid %s)", data_dir, info["pid"])
    return PostgresHandle(
        url=url,
        provider=provider,
        data_dir=data_dir,
        port=info["port"],
        socket_dir=socket_dir,
        pid=info["pid"],
    )


def _launch(bins: PgBinaries, data_dir: Path | None, max_connections: int | None = None) -> PostgresHandle:
    t0 = time.monotonic()
    temporary = data_dir is None
    run_as = _choose_user(data_dir)
    if run_as is not None:
        _require_traversable(bins.bin_dir / "postgres", run_as)
    extra_dirs: list[Path] = []
    if data_dir is None:
        # Straight under /tmp as root: the cluster's user must traverse every directory above it, and
        # TMPDIR may point somewhere private.
        data_dir = Path(tempfile.mkdtemp(prefix="invoice-pg-", dir="/tmp" if run_as else None)).resolve()
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
    try:
        if run_as is not None:
            _require_traversable(data_dir, run_as)
            if data_dir.stat().st_uid != run_as.uid:
                os.chown(data_dir, run_as.uid, run_as.gid)
        data_dir.chmod(0o700)
        socket_dir = data_dir
        if len(str(data_dir / ".s.PGSQL.65535")) > _SOCKET_PATH_MAX:
            socket_dir = Path(tempfile.mkdtemp(prefix="invoice-pgs-", dir="/tmp")).resolve()
            extra_dirs.append(socket_dir)
            if run_as is not None:
                os.chown(socket_dir, run_as.uid, run_as.gid)

        needs_initdb = not (data_dir / "PG_VERSION").exists()
        password = secrets.token_urlsafe(24) if needs_initdb else _read_password(data_dir)
        config = {
            "ppid": os.getpid(),
            "bin_dir": str(bins.bin_dir),
            "data_dir": str(data_dir),
            "socket_dir": str(socket_dir),
            "run_as": [run_as.uid, run_as.gid] if run_as else None,
            "initdb": needs_initdb,
            "password": password if needs_initdb else None,
            "temporary": temporary,
            "port": None if temporary else _read_last_port(data_dir),
            "max_connections": max_connections,
            "remove": [str(p) for p in ([data_dir] if temporary else []) + extra_dirs],
        }
        supervisor, status = _spawn_supervisor(config)
    except BaseException:
        for p in ([data_dir] if temporary else []) + extra_dirs:
            shutil.rmtree(p, ignore_errors=True)
        raise
    port = int(status["port"])
    if not temporary:
        (data_dir / LAST_PORT_FILE).write_text(f"{port}\n")
    url = _tcp_url(password, port) if password is not None else _socket_url(socket_dir, port)
    return PostgresHandle(
        url=url,
        provider=bins.provider,
        data_dir=data_dir,
        temporary=temporary,
        version=bins.version_text,
        port=port,
        socket_dir=socket_dir,
        pid=int(status["pid"]),
        supervisor=supervisor,
        startup_seconds=time.monotonic() - t0,
    )


# --- parent side of the supervisor ----------------------------------------------------------------------
def _spawn_supervisor(config: dict[str, Any]) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    # -I -S: no user site, no .pth hooks, no script directory on sys.path: the supervisor needs only the
    # stdlib, and starts in tens of milliseconds.
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", os.path.abspath(__file__), "--supervise"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C or a process-group kill must not skip its cleanup
        cwd="/",
    )
    assert proc.stdin is not None and proc.stdout is not None
    data_dir, temporary = Path(config["data_dir"]), bool(config["temporary"])
    try:
        # The password travels over the pipe, never in argv where ps would show it. stdin stays open: its
        # EOF is how the supervisor learns that this process is gone.
        proc.stdin.write(json.dumps(config).encode() + b"\n")
        proc.stdin.flush()
        line = _read_line(proc.stdout.fileno(), _START_TIMEOUT)
    except BaseException:
        _stop_supervisor(proc, data_dir, temporary)
        raise
    try:
        status = json.loads(line) if line else {}
    except ValueError:
        status = {"error": f"unreadable supervisor status {line!r}"}
    if not status.get("ok"):
        _stop_supervisor(proc, data_dir, temporary)
        reason = status.get("error") or f"supervisor exited with code {proc.returncode} before reporting"
        raise RuntimeError(reason)
    return proc, status


def _read_line(fd: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    buf = b""
    while not buf.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"Postgres did not start within {timeout:.0f} s")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace").strip()


def _stop_supervisor(proc: subprocess.Popen[bytes], data_dir: Path | None, temporary: bool) -> None:
    try:
        if proc.stdin is not None and not proc.stdin.closed:
            proc.stdin.write(b"stop\n")
            proc.stdin.close()
    except OSError:
        pass  # it already exited
    try:
        proc.wait(_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        # A wedged supervisor: do its job from here, harder.
        proc.kill()
        proc.wait()
        if data_dir is not None:
            info = _read_pidfile(data_dir)
            if info is not None and _postmaster_alive(info["pid"], data_dir):
                os.kill(info["pid"], signal.SIGQUIT)
            if temporary:
                shutil.rmtree(data_dir, ignore_errors=True)
    finally:
        if proc.stdout is not None:
            proc.stdout.close()


# --- helpers shared by both sides -----------------------------------------------------------------------
def _tcp_url(password: str | None, port: int) -> str:
    secret = f":{quote(password, safe='')}" if password else ""
    return f"postgresql://{SUPERUSER}{secret}@{LISTEN_HOST}:{port}/postgres?sslmode=disable"


def _socket_url(socket_dir: Path, port: int) -> str:
    return f"postgresql://{SUPERUSER}@/postgres?host={quote(str(socket_dir))}&port={port}"


def _url_with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    # libpq's dbname= beats the path: drop it or the new name would be ignored.
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"])
    return parts._replace(path="/" + quote(name), query=query).geturl()


def _redact(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _read_last_port(data_dir: Path) -> int | None:
    try:
        return int((data_dir / LAST_PORT_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _read_password(data_dir: Path) -> str | None:
    try:
        return (data_dir / PASSWORD_FILE).read_text().strip() or None
    except OSError:
        return None


def _read_pidfile(data_dir: Path) -> dict[str, Any] | None:
    """postmaster.pid: pid, data dir, start time, port, socket dir, listen address, shmem key, status."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
        return {
            "pid": int(lines[0]),
            "port": int(lines[3]) if len(lines) > 3 and lines[3].strip() else 5432,
            "socket_dir": lines[4].strip() if len(lines) > 4 else "",
            "listen": lines[5].strip() if len(lines) > 5 else "",
            "status": lines[7].strip() if len(lines) > 7 else "",
        }
    except (OSError, ValueError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    """Running, and not a zombie (an orphan's zombie stays forever where PID 1 does not reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no procfs: kill(0) is all we know
    return state not in ("Z", "X")


def _postmaster_alive(pid: int, data_dir: Path) -> bool:
    """The pid is a live postgres serving this directory, not an unrelated process that reused the pid."""
    if not _pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    return any(os.fsencode(data_dir) == arg for arg in cmdline) or b"postgres" in cmdline[0]


def _binary_version(postgres: Path) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?", out)
    return (int(m.group(1)), int(m.group(2) or 0)) if m else None


def _int_or_zero(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _choose_user(data_dir: Path | None) -> _RunAs | None:
    """Who runs initdb and postgres: None means this process's own user (not root)."""
    if os.geteuid() != 0:
        return None
    import pwd

    if data_dir is not None and (data_dir / "PG_VERSION").exists():
        st = data_dir.stat()
        if st.st_uid != 0:
            try:
                name = pwd.getpwuid(st.st_uid).pw_name
            except KeyError:
                name = str(st.st_uid)
            return _RunAs(st.st_uid, st.st_gid, name)
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _RunAs(entry.pw_uid, entry.pw_gid, name)
    raise RuntimeError(
        "running as root and neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL"
    )


def _require_traversable(path: Path, user: _RunAs) -> None:
    try:
        groups = set(os.getgrouplist(user.name, user.gid))
    except (KeyError, OSError):
        groups = {user.gid}
    for d in path.parents:
        st = d.stat()
        if st.st_uid == user.uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid in groups:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            raise RuntimeError(
                f"{d} (mode {stat.filemode(st.st_mode)}) is not traversable by user {user.name!r}, who "
                f"has to run PostgreSQL because this process is root; use a directory outside {d} "
                "(e.g. under /tmp or /var/lib)"
            )


# --- the supervisor (this file run as a script) ---------------------------------------------------------
class _Stop(Exception):
    pass


def _supervise() -> int:
    """Read the config line from stdin, init and start the server, report one JSON line on stdout, then
    keep the server alive until told to stop or orphaned; always clean up on the way out."""
    stdin_buf = b""
    while b"\n" not in stdin_buf:
        chunk = os.read(0, 65536)
        if not chunk:
            return 1
        stdin_buf += chunk
    line, _, stdin_buf = stdin_buf.partition(b"\n")
    cfg = json.loads(line)
    ppid = int(cfg["ppid"])
    data_dir = Path(cfg["data_dir"])
    # Every postgres ever launched, so that a signal or an orphaning in the middle of start-up still stops it.
    servers: list[subprocess.Popen[bytes]] = []

    def on_signal(signum: int, frame: Any) -> None:
        raise _Stop(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    def orphaned() -> bool:
        return os.getppid() != ppid

    try:
        try:
            if cfg["initdb"]:
                _sv_initdb(cfg)
            logf = open(data_dir / LOG_FILE, "ab")  # noqa: SIM115 - held for the server's whole life
            os.dup2(logf.fileno(), 2)
            proc, port = _sv_start(cfg, logf, orphaned, servers)
        except _Stop:
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            _sv_report({"ok": False, "error": str(exc) or type(exc).__name__})
            return 1
        _sv_report({"ok": True, "port": port, "pid": proc.pid})
        halted = False
        while True:
            if orphaned() or (not halted and proc.poll() is not None):
                break
            ready, _, _ = select.select([0], [], [], _PARENT_POLL)
            if not ready:
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                break
            stdin_buf += chunk
            while b"\n" in stdin_buf:
                command, _, stdin_buf = stdin_buf.partition(b"\n")
                if command.strip() == b"stop":
                    return 0
                if command.strip() == b"halt" and not halted:
                    _sv_shutdown(proc, immediate=False)
                    halted = True
                    _sv_report({"ok": True})
                elif command.strip() == b"resume" and halted:
                    try:
                        # The same port: the URL every client holds must work again.
                        proc, _port = _sv_start({**cfg, "port": port, "same_port": True}, logf, orphaned,
                                                servers)
                    except _Stop:
                        raise
                    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
                        _sv_report({"ok": False, "error": str(exc) or type(exc).__name__})
                        return 1
                    halted = False
                    _sv_report({"ok": True, "port": port, "pid": proc.pid})
                else:
                    state = "halted" if halted else "running"
                    _sv_report({"ok": False, "error": f"unexpected {command.decode(errors='replace')!r}"
                                                      f" (the server is {state})"})
        return 0
    except _Stop:
        return 0
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let the cleanup finish
        for server in servers:
            _sv_shutdown(server, immediate=bool(cfg["temporary"]))
        for p in cfg["remove"]:
            shutil.rmtree(p, ignore_errors=True)


def _sv_report(status: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the parent is gone; the main loop notices
        os.write(1, json.dumps(status).encode() + b"\n")


def _sv_user_kwargs(run_as: list[int] | None) -> dict[str, Any]:
    if not run_as:
        return {}
    return {"user": run_as[0], "group": run_as[1], "extra_groups": []}


def _sv_env() -> dict[str, str]:
    # PG* variables (PGDATA, PGPORT, PGOPTIONS...) are meant for clients and would only confuse initdb.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _sv_initdb(cfg: dict[str, Any]) -> None:
    data_dir = Path(cfg["data_dir"])
    run_as = cfg["run_as"]
    # A file, not a pipe: /dev/stdin of a pipe created by root cannot be reopened by the cluster's user.
    fd, pwfile = tempfile.mkstemp(prefix="invoice-pgpw-", dir="/tmp")
    try:
        os.write(fd, cfg["password"].encode() + b"\n")
        os.close(fd)
        if run_as:
            os.chown(pwfile, run_as[0], run_as[1])
        args = [
            str(Path(cfg["bin_dir"]) / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",  # C collation: identical sorting on every machine, no locale packages needed
            "--no-instructions",
        ]
        if cfg["temporary"]:
            args.append("--no-sync")
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=300,
            cwd="/",
            env=_sv_env(),
            **_sv_user_kwargs(run_as),
        )
    finally:
        Path(pwfile).unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"initdb failed ({result.returncode}): {(result.stderr or result.stdout).strip()[-2000:]}"
        )
    pw = data_dir / PASSWORD_FILE
    pw.write_text(cfg["password"] + "\n")
    pw.chmod(0o600)
    if run_as:
        os.chown(pw, run_as[0], run_as[1])


def _sv_start(
    cfg: dict[str, Any], logf: BinaryIO, orphaned: Callable[[], bool], servers: list[subprocess.Popen[bytes]]
) -> tuple[subprocess.Popen[bytes], int]:
    data_dir = Path(cfg["data_dir"])
    settings = {
        "listen_addresses": LISTEN_HOST,
        "unix_socket_directories": cfg["socket_dir"],
        "logging_collector": "off",
    }
    if cfg.get("max_connections"):
        # On the command line, not in postgresql.conf: a kept cluster started without it is back to its own.
        settings["max_connections"] = str(cfg["max_connections"])
    if cfg["temporary"]:
        # Throwaway cluster: durability buys nothing and costs milliseconds on every commit.
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    # A stale postmaster.pid is left alone: postgres itself decides whether its owner is still alive, and
    # deleting it could let two servers share one directory when two processes start at the same moment.
    last_error = ""
    for attempt in range(5):
        if orphaned():
            raise _Stop("parent gone during start-up")
        # A kept cluster asks for the port it had last time (a stable URL lets local mode reuse what it
        # deployed); if another process holds it now, any free port does.
        # Resuming after a halt, the port is the one just released, and no other will do.
        same_port = bool(cfg.get("same_port"))
        port = (cfg["port"] if attempt == 0 and cfg.get("port") and (same_port or port_free(cfg["port"]))
                else _free_port())
        log_offset = logf.tell()
        args = [str(Path(cfg["bin_dir"]) / "postgres"), "-D", str(data_dir), "-p", str(port)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=logf,
            cwd="/",
            env=_sv_env(),
            **_sv_user_kwargs(cfg["run_as"]),
        )
        servers.append(proc)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if orphaned():
                raise _Stop("parent gone during start-up")
            if proc.poll() is not None:
                break
            info = _read_pidfile(data_dir)
            if info is not None and info["pid"] == proc.pid and info["status"] == "ready":
                return proc, port
            time.sleep(0.01)
        else:
            raise RuntimeError(
                f"postgres did not become ready within {_START_TIMEOUT:.0f} s; see {logf.name}"
            )
        logf.flush()
        with open(logf.name, "rb") as f:
            f.seek(log_offset)
            last_error = f.read().decode(errors="replace").strip()[-2000:]
        # Another process took the port between our probe and postgres' bind: try another one.
        if same_port or ("could not bind" not in last_error
                         and "could not create any TCP/IP sockets" not in last_error):
            break
    raise RuntimeError(f"postgres exited during start-up: {last_error}")


def _sv_shutdown(proc: subprocess.Popen[bytes], *, immediate: bool) -> None:
    """SIGINT = fast shutdown (checkpoint, keeps a persistent cluster clean), SIGQUIT = immediate (nothing to
    keep in a temporary one). Escalate if the server does not go."""
    steps = [(signal.SIGQUIT, 5.0)] if immediate else [(signal.SIGINT, 20.0), (signal.SIGQUIT, 5.0)]
    for sig, wait in [*steps, (signal.SIGKILL, 5.0)]:
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
            proc.wait(wait)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue


def port_free(port: int) -> bool:
    """Nothing listens on the port of 127.0.0.1 (the one definition: `invoices run` asks it of its other ports
    too; it lives here because the supervisor runs this file with the standard library only). SO_REUSEADDR, as
    the servers bind: the TIME_WAIT sockets of connections the
    last server closed do not make the port busy (without it, a kept cluster restarted within a minute of its
    stop moved to another port, changing its URL, and local mode applied Terraform again instead of restoring
    what it had deployed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LISTEN_HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LISTEN_HOST, 0))
        return int(s.getsockname()[1])


if __name__ == "__main__" and sys.argv[1:] == ["--supervise"]:
    sys.exit(_supervise())
