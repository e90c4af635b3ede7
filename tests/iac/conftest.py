"""Fixtures of the infrastructure tests: terraform on PATH, the offline provider mirror, one initialized
Terraform data directory per test session (under build/, so parallel runs never share one), the Lambda
artifacts the configuration hashes, and the plans the tests read.

Nothing here reaches the network: the provider comes from the filesystem mirror, the plans run with every
endpoint pointed at the loopback interface, and the plan that needs one answer from AWS (Secrets Manager's
GetRandomPassword, opened as an ephemeral resource) gets it from a moto server started for the purpose."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from invoice_local.dbroles import role_urls

from tests.shared_data import REPO_ROOT, skip_or_fail

TF_DIR = REPO_ROOT / "terraform"
BUILD_SCRIPT = REPO_ROOT / "functions" / "build_package.py"
LAMBDA_OUT = REPO_ROOT / "build" / "lambda"
MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
PROVIDER_VERSION = "5.100.0"

# The account the plans use: deliberately not moto's default, so a hard-coded account id would show.
ACCOUNT_ID = "111122223333"


@dataclass
class Terraform:
    """terraform -chdir=terraform/ with this session's data directory, CLI config and an empty state."""

    env: dict[str, str]
    work: Path

    def run(self, *args: str, stdin: str | None = None, check: bool = True,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["terraform", f"-chdir={TF_DIR}", *args], env=self.env, input=stdin,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            pytest.fail(f"terraform {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    @property
    def state(self) -> str:
        # A state file of the session's own: a developer's terraform/terraform.tfstate must never be read.
        return f"-state={self.work / 'empty.tfstate'}"

    def plan_json(self, name: str, *var_args: str) -> dict[str, Any]:
        plan_file = self.work / f"{name}.tfplan"
        self.run("plan", "-input=false", "-lock=false", "-no-color", self.state, f"-out={plan_file}", *var_args)
        shown = self.run("show", "-json", str(plan_file))
        return json.loads(shown.stdout)  # type: ignore[no-any-return]

    def console(self, expression: str, *var_args: str) -> Any:
        """Evaluate one expression (wrap it in jsonencode) the way a plan would, and decode the result."""
        out = self.run("console", self.state, *var_args, stdin=expression + "\n").stdout.strip()
        # Console prints an HCL string literal; beyond JSON's escapes it doubles template introducers.
        text = json.loads(out.replace("$${", "${").replace("%%{", "%{"))
        return json.loads(text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def lambda_artifacts() -> dict[str, Path]:
    """build/lambda/code.zip and layer.zip, built as `make build` builds them. The first build downloads
    wheels from PyPI; later ones use build/cache."""
    from invoice_local.deployment import PackageBuildFailed, build_artifacts

    try:
        build_artifacts()
    except PackageBuildFailed as exc:
        skip_or_fail(f"could not build the Lambda artifacts (the first build downloads wheels from PyPI): {exc}")
    return {"code": LAMBDA_OUT / "code.zip", "layer": LAMBDA_OUT / "layer.zip"}


@pytest.fixture(scope="session")
def tf(lambda_artifacts: dict[str, Path]) -> Iterator[Terraform]:
    if shutil.which("terraform") is None:
        skip_or_fail("terraform is not on PATH (https://developer.hashicorp.com/terraform/install)")
    base = REPO_ROOT / "build" / "iac-tests"
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="session-", dir=base))
    # The provider from the machine's mirror when it has one (this one has no registry access), from the
    # registry otherwise; the committed lock file pins the version either way.
    mirrored = (MIRROR / "registry.terraform.io" / "hashicorp" / "aws" / PROVIDER_VERSION).is_dir()
    rc = work / "offline.tfrc"
    rc.write_text((TF_DIR / "offline.tfrc").read_text().replace('"/opt/tf-plugins"', json.dumps(str(MIRROR))))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update({
        "TF_DATA_DIR": str(work / "data"),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",  # no version check against checkpoint-api.hashicorp.com
        # The provider wants credentials to exist even when it is told not to validate them.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    if mirrored:
        env["TF_CLI_CONFIG_FILE"] = str(rc)
    terraform = Terraform(env=env, work=work)
    # readonly: the committed lock file must already be right; a test never rewrites it.
    terraform.run("init", "-input=false", "-no-color", "-lockfile=readonly")
    try:
        yield terraform
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on the loopback interface, for the one call the production-shaped plan makes."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):  # up to ~30 s on a slow machine; it is usually up in about one
            if proc.poll() is not None:
                skip_or_fail("the moto server (a dev dependency) did not start")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the moto server did not start listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


LOCAL_DATABASE_URL = "postgresql://invoices@127.0.0.1:5432/invoices"


def local_plan_args() -> list[str]:
    # local.tfvars as the local stack applies it, but with nothing listening at the endpoint: the plan
    # must not need it.
    return ["-var-file=local.tfvars", f"-var=local_endpoint=http://127.0.0.1:{free_port()}",
            f"-var=account_id={ACCOUNT_ID}", f"-var=database_url={LOCAL_DATABASE_URL}",
            f"-var=database_role_urls={json.dumps(role_urls(LOCAL_DATABASE_URL))}"]


@pytest.fixture(scope="session")
def plans(tf: Terraform, moto_endpoint: str) -> dict[str, dict[str, Any]]:
    """Two full plans, made concurrently (they share nothing but the read-only data directory):
    local   local.tfvars: database and network off, every endpoint local;
    aws     the defaults a real deployment gets (database, network, Multi-AZ, deletion protection on)."""
    jobs = {
        "local": local_plan_args(),
        "aws": [f"-var=account_id={ACCOUNT_ID}", f"-var=local_endpoint={moto_endpoint}"],
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(tf.plan_json, name, *args) for name, args in jobs.items()}
        return {name: f.result() for name, f in futures.items()}
