"""`invoices run` / `invoices up` refuse, in one line and before starting anything, a second stack on the same
state folder or a port another program holds (a second `make run` used to hang on the emulation's port)."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from invoice_local import cli
from invoice_local.stack import StackCannotStart, StackInfo, check_can_start


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _running_stack(state_dir: Path, pid: int) -> None:
    info = StackInfo(endpoint="http://127.0.0.1:4599", region="us-east-1", database_url="postgresql://x/y",
                     ingest_bucket="b", results_bucket="r", state_machine_arn="arn", drop_folder="/d", pid=pid,
                     postgres="p", api_url="http://127.0.0.1:8080", api_token="t")
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "stack.json").write_text(json.dumps(dataclasses.asdict(info)))


@pytest.mark.parametrize("option", ["--port", "--api-port"])
def test_a_port_in_use_is_refused_before_anything_starts(
        option: str, held_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    other = "--api-port" if option == "--port" else "--port"
    code = cli.main(["run", option, str(held_port), other, str(_free_port()), "--state-dir", str(state)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"port {held_port} on 127.0.0.1" in err and "in use" in err and option in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not state.exists()  # no Postgres, no logs folder: nothing was started


def test_a_second_stack_on_the_same_state_folder_is_refused(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    _running_stack(tmp_path, os.getpid())  # a live pid: this test's own process
    code = cli.main(["run", "--port", str(_free_port()), "--api-port", str(_free_port()),
                     "--state-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "already running" in err and f"pid {os.getpid()}" in err and "Ctrl-C" in err, err
    assert not (tmp_path / "pgdata").exists() and not (tmp_path / "logs").exists()


def test_free_ports_and_a_stale_stack_file_pass(tmp_path: Path) -> None:
    _running_stack(tmp_path, 2**22 + 12345)  # above Linux's pid_max: a process that cannot be alive
    check_can_start(tmp_path, _free_port(), _free_port())
    with pytest.raises(StackCannotStart):
        _running_stack(tmp_path, os.getpid())
        check_can_start(tmp_path, _free_port(), _free_port())
