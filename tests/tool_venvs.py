"""checkov's and parliament's virtual environments (`make checkov-venv parliament-venv`), made ahead.

On a clean checkout each is a pip install of a minute or more, which their tests would otherwise wait for in
the middle of the session. So when collection selects their tests, one `make` starts in a process of its own
and the unit tests run meanwhile; each test module's fixture waits for it, then runs its own `make` target as
before, which finds the environment made (or says why it could not be). Waiting first keeps two pip installs
from writing into one environment at once."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.shared_data import REPO_ROOT, skip_or_fail

TARGETS = {"test_checkov.py": "checkov-venv", "test_parliament.py": "parliament-venv"}
_ahead: dict[str, subprocess.Popen[bytes]] = {}


def start(session: pytest.Session) -> None:
    if session.config.option.collectonly or shutil.which("make") is None or "make" in _ahead:
        return
    targets = sorted({TARGETS[item.path.name] for item in session.items if item.path.name in TARGETS})
    if targets:
        # Its output is not kept: on a failure the fixture's own `make` fails again and says why.
        _ahead["make"] = subprocess.Popen(["make", "-s", *targets], cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)


def wait(timeout: float = 900) -> None:
    """Until the ahead `make` ends (whatever its outcome); killed past `timeout`."""
    process = _ahead.pop("make", None)
    if process is None:
        return
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(process)


def stop(process: subprocess.Popen[bytes] | None = None) -> None:
    process = process or _ahead.pop("make", None)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()


def make(target: str, tool: str) -> None:
    """`make -s target` once the ahead run is over: the tool's environment made, or a skip (a failure under
    CI=true) saying why not."""
    if shutil.which("make") is None:
        skip_or_fail(f"make is not on PATH (it creates {tool}'s virtual environment)")
    wait()
    made = subprocess.run(["make", "-s", target], cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    if made.returncode != 0:
        skip_or_fail(f"could not install {tool} (needs PyPI once):\n{made.stdout}\n{made.stderr}")
