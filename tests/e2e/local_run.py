"""`invoices run` (what `make run` runs) in a process of its own, as a person starts it in a terminal.

Its first minutes are a fresh `terraform apply` (the AWS provider's fixed waits) and the samples going through
the pipeline, so tests/e2e/conftest.py starts it as soon as collection selects tests/e2e/test_local_cli.py,
and tests/conftest.py runs that file last: the rest of the suite runs meanwhile. A thread reads its output
from the start, so the terminal's lines are all kept whoever waits for them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from invoice_local.emulation.server import free_port

INVOICES = [sys.executable, "-m", "invoice_local.cli"]
LAST_LINE = "Try: "  # the last line of the run, after the results table


def shell_environment() -> dict[str, str]:
    """A person's shell: this environment without the database, endpoint and emulation port that the test
    session's own stack (tests/pipeline_fixtures.py) puts in it."""
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_ENDPOINT_URL", "MOTO_PORT")}


class LocalRun:
    def __init__(self, state: Path) -> None:
        self.state = state
        env = {**shell_environment(), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([*INVOICES, "run", "--state-dir", str(state), "--port", str(free_port()),
                                      "--api-port", str(free_port())], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self._finished = threading.Event()  # the last line printed, or the output closed
        self._reader = threading.Thread(target=self._read, name="invoices-run-output", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith(LAST_LINE):
                self._finished.set()
        self._finished.set()

    def wait(self, timeout: float) -> bool:
        """Whether the run printed its last line within `timeout` seconds (False: it exited or is still going)."""
        self._finished.wait(timeout)
        return any(line.startswith(LAST_LINE) for line in self.lines)

    @property
    def exited(self) -> bool:
        return self.proc.poll() is not None

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C or `invoices down` would; whatever it prints until it ends is in `lines`."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=10)


_early: list[LocalRun] = []


def state_dir() -> Path:
    # Postgres runs as an unprivileged user when we are root: its data directory must be reachable by it.
    return Path(os.environ.get("TMPDIR", "/tmp")) / f"invoices-e2e-{os.getpid()}"


def start_early() -> None:
    if not _early:
        _early.append(LocalRun(state_dir()))


def take() -> LocalRun:
    """The run started early, or one started now."""
    return _early.pop() if _early else LocalRun(state_dir())


def stop_early() -> None:
    """A run started early that no test took (deselected, or the session ended first)."""
    while _early:
        _early.pop().stop()
