"""The session's deployment, applied ahead in a process of its own while the first tests run.

`terraform apply` of terraform/ to the emulation takes a minute or more, nearly all of it the AWS provider's
fixed waits (README, "Local mode: deploy time"), during which the test session would sit idle. So as soon
as collection shows that a test needs the deployment, tests/pipeline_fixtures.py starts this module as a
child process: it starts an emulation on a port chosen by the session, applies terraform/ into it with the
session's variables through the same `deploy()` the fixture calls, which saves the emulation's state beside
the Terraform state, and exits. The session's emulation then starts on that port and `deploy()` restores
that state, under its key of every input of the apply (configuration, variables, endpoint, database URL,
moto's version), as local mode restores an earlier apply. Where anything differs (the port was taken in
between, the child failed), `deploy()` finds no matching key and applies afresh in the session's process,
as it did before: running ahead can only save time, never change what the tests get.

The child ends by itself when the apply ends, or when the session's process is gone."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
# What the emulation fixture gives the session's process: credentials the emulation never checks.
AWS_ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@dataclass
class Ahead:
    """The child applying the deployment: its port, state directory and log."""

    port: int
    state_dir: Path
    log: Path
    process: subprocess.Popen[bytes]

    def wait(self, timeout: float = 900) -> bool:
        """Until the child ends: whether it saved a deployment. Killed after `timeout` seconds."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return False
        return code == 0 and (self.state_dir / "emulation.snapshot").exists()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def port_free(port: int) -> bool:
    """Whether the emulation's server can listen on `port` (as it does, with SO_REUSEADDR: the child's
    connections that linger in TIME_WAIT do not keep it from listening again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start(port: int, state_dir: Path, variables: dict[str, Any], region: str) -> Ahead:
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "deploy-ahead.log"
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MOTO_PORT")}
    env.update({**AWS_ENVIRONMENT, "AWS_DEFAULT_REGION": region, "AWS_REGION": region})
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.deploy_ahead", "--port", str(port), "--state-dir", str(state_dir),
             "--variables", json.dumps(variables), "--parent", str(os.getpid())],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    return Ahead(port=port, state_dir=state_dir, log=log, process=process)


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--variables", type=json.loads, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    _exit_with_parent(args.parent)

    from invoice_local.deployment import deploy
    from invoice_local.emulation import lambda_runner, server

    # As the session's emulation fixture sets it up.
    lambda_runner.configure(code="deployed")
    emu = server.start(args.port)
    try:
        started = time.monotonic()
        deploy(emu.endpoint, args.variables, args.state_dir, reuse=False)
        print(f"deployed in {time.monotonic() - started:.1f}s", flush=True)
    finally:
        with contextlib.suppress(Exception):
            emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
