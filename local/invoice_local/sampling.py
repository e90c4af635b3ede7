"""Background samplers for a run of the local stack: what a benchmark or a load test reads afterwards.

- `ConnectionSampler`: Postgres' own count of client connections (pg_stat_activity, every `interval` s): of
  the whole server (what max_connections limits), of one application (the pipeline's functions name their
  sessions), and how many of those were running a statement at the same moment (concurrent database work, not
  just open sessions); and the connections Postgres refused meanwhile, from its log.
- `MemorySampler`: the resident memory of a process tree (this process and every descendant: the Lambda
  workers, the Postgres supervisor, postmaster and backends), summed from /proc/<pid>/status VmRSS. A sum of
  RSS counts pages shared between processes (the workers' common libraries, Postgres' shared buffers) once
  per process, so it overstates what the tree really holds: an upper bound.

Each sampler runs on a daemon thread between start() and stop(); stop() returns the peaks."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CONNECTIONS_SQL = """
SELECT count(*) FILTER (WHERE backend_type = 'client backend'),
       count(*) FILTER (WHERE backend_type = 'client backend' AND application_name = :app),
       count(*) FILTER (WHERE backend_type = 'client backend' AND application_name = :app AND state = 'active')
FROM pg_stat_activity
"""
# What Postgres logs when it refuses a connection: over max_connections, or over a role's or a database's limit.
REFUSALS = ("sorry, too many clients already", "too many connections for")


@dataclass
class ConnectionPeaks:
    max_connections: int  # the server's setting
    application: str  # whose sessions peak_application counts
    peak_server: int = 0  # client backends of every database and user, this sampler's own session included
    peak_application: int = 0  # client backends of `application`
    peak_active: int = 0  # of those, running a statement at the same moment
    refused: int | None = None  # connections Postgres refused while sampling (None: its log was not given)
    samples: int = 0


class _Sampler:
    interval: float

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _sample(self) -> None:
        raise NotImplementedError

    def _loop(self) -> None:
        try:
            while True:
                self._sample()
                if self._stop.wait(self.interval):
                    self._sample()  # one last look at the end
                    return
        except BaseException as exc:  # noqa: BLE001 - reported by stop(), never lost in a thread
            self.error = exc

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)
        self._thread.start()

    def _join(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        if self.error is not None:
            raise RuntimeError(f"{type(self).__name__} failed: {self.error}") from self.error


class ConnectionSampler(_Sampler):
    """Samples pg_stat_activity through a connection of its own to `database_url` (a superuser's, to see
    every session), which counts in peak_server as any other client's would. With `postgres_log` (the
    server's log file), also counts the connections it refused between start() and stop()."""

    def __init__(self, database_url: str, application: str, *, postgres_log: Path | None = None,
                 interval: float = 0.1) -> None:
        super().__init__(interval)
        import pg8000.native
        from invoice_pipeline.adapters.dburl import connect_kwargs

        self._con: Any = pg8000.native.Connection(application_name="invoices-sampler",
                                                  **connect_kwargs(database_url))
        limit = int(self._con.run("SHOW max_connections")[0][0])
        self.peaks = ConnectionPeaks(max_connections=limit, application=application)
        self._log = postgres_log
        self._log_offset = postgres_log.stat().st_size if postgres_log and postgres_log.exists() else 0

    def _sample(self) -> None:
        server, application, active = self._con.run(_CONNECTIONS_SQL, app=self.peaks.application)[0]
        p = self.peaks
        p.peak_server, p.peak_application = max(p.peak_server, server), max(p.peak_application, application)
        p.peak_active, p.samples = max(p.peak_active, active), p.samples + 1

    def stop(self) -> ConnectionPeaks:
        try:
            self._join()
        finally:
            self._con.close()
        if self._log is not None:
            with self._log.open("rb") as f:
                f.seek(self._log_offset)
                text = f.read().decode(errors="replace")
            self.peaks.refused = sum(text.count(marker) for marker in REFUSALS)
        return self.peaks


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone since the listing
        # The command name (field 2) may hold spaces and parentheses: the ppid follows the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_bytes(root: int | None = None) -> int:
    """VmRSS of `root` (default: this process) and every descendant, summed."""
    root = os.getpid() if root is None else root
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(tree.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total


class MemorySampler(_Sampler):
    """The peak of tree_rss_bytes() (Linux /proc)."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(interval)
        self.peak_bytes = 0

    def _sample(self) -> None:
        self.peak_bytes = max(self.peak_bytes, tree_rss_bytes())

    def stop(self) -> int:
        self._join()
        return self.peak_bytes
