"""Fixtures of the infrastructure tests: terraform on PATH, the offline provider mirror, one initialized
Terraform data directory per test session (under build/, so parallel runs never share one), the Lambda
artifacts the configuration hashes, and the plans the tests read.

Nothing here reaches the network: the provider comes from the filesystem mirror, the plans run with every
endpoint pointed at the loopback interface, and the plan that needs one answer from AWS (Secrets Manager's
GetRandomPassword, opened as an ephemeral resource) gets it from a moto server started for the purpose."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from invoice_local.dbroles import role_urls

from tests import tool_venvs
from tests.shared_data import REPO_ROOT, skip_or_fail

TF_DIR = REPO_ROOT / "terraform"
BUILD_SCRIPT = REPO_ROOT / "functions" / "build_package.py"
LAMBDA_OUT = REPO_ROOT / "build" / "lambda"
MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
PROVIDER_VERSION = "5.100.0"


def pytest_collection_finish(session: pytest.Session) -> None:
    tool_venvs.start(session)


def pytest_sessionfinish(session: pytest.Session) -> None:
    tool_venvs.stop()


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

    def refusal(self, *var_args: str) -> dict[str, str]:
        """A plan that must stop at variable validation: each refused variable's error, whitespace folded. The
        endpoint is a loopback port nothing listens on: no call leaves the machine, and none needs to."""
        result = self.run("plan", "-input=false", "-lock=false", "-no-color", self.state,
                          f"-var=account_id={ACCOUNT_ID}", f"-var=local_endpoint=http://127.0.0.1:{free_port()}",
                          *var_args, check=False)
        assert result.returncode != 0, result.stdout
        errors = {}
        for block in re.split(r"^\s*Error: ", result.stderr.replace("│", " "), flags=re.MULTILINE)[1:]:
            variable = re.search(r'variable "(\w+)"', block)
            if variable:
                errors[variable.group(1)] = re.sub(r"\s+", " ", block)
        return errors

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


# The longest values variables.tf accepts (test_names.py reads the limits back from its validations).
LONGEST_PROJECT = "p" * 12
LONGEST_ENVIRONMENT = "e" * 10
# Reserved concurrency of 50 in all (the budget it plans with), for test_lambda_concurrency's account under 100.
SMALL_RESERVATIONS = ("{register=5,admit=4,start_analysis=4,callback=5,parse=5,validate=4,persist=5,record_failure=4,"
                      "dispatch=1,publish_events=1,migrate=1,api=9,read_einvoice=2}")


def allowed_regions() -> list[str]:
    """The regions variables.tf's region validation accepts."""
    text = (TF_DIR / "variables.tf").read_text()
    block = re.search(r'variable "region" \{.*?\n\}', text, re.S)
    assert block, "variable region not found"
    listed = re.search(r"contains\(\[(.*?)\], var\.region\)", block.group(0), re.S)
    assert listed, "the region validation is no longer a list of regions"
    return json.loads(f"[{listed.group(1)}]")  # type: ignore[no-any-return]


# The three regions test_names.py plans with the longest names: the longest one the validation accepts (the
# one that binds the bucket names' 63 characters) and the two the issue names.
NAME_REGIONS = (max(allowed_regions(), key=len), "eu-central-1", "us-east-1")
DEFAULT_REGION = "us-east-1"  # variables.tf's default: the aws plan's region


def session_plan_args(moto_endpoint: str) -> dict[str, list[str]]:
    """Every full plan of the session, by name. Where two concerns share no variable, one plan serves both:
    local                 local.tfvars: database and network off, every endpoint local (test_terraform.py, ...)
    aws                   what a real deployment gets by default: database, network, Multi-AZ, deletion
                          protection, in us-east-1 (the default region); only its names are the longest the
                          validations accept, for test_names.py (no other test reads a name from it)
    longest-<region>      the longest names in NAME_REGIONS' other two regions (test_names.py); in
                          eu-central-1 also a new account's Lambda limit of 10 (test_lambda_concurrency.py)"""
    aws = [f"-var=account_id={ACCOUNT_ID}", f"-var=local_endpoint={moto_endpoint}",
           f"-var=project={LONGEST_PROJECT}", f"-var=environment={LONGEST_ENVIRONMENT}"]
    plans = {"local": local_plan_args(), "aws": aws}
    for region in NAME_REGIONS:
        if region != DEFAULT_REGION:
            plans[f"longest-{region}"] = [*aws, f"-var=region={region}"]
    plans["longest-eu-central-1"].append("-var=lambda_account_concurrency=10")
    return plans


# Plans that must stop at variable validation, by name. Terraform reports every refused variable of one plan,
# so each run refuses two unrelated variables and each test reads its own variable's error.
REFUSALS = {
    # test_names.py: GovCloud (another partition); test_lambda_concurrency.py: a limit of 150.
    "us-gov-west-1, limit 150": ["-var=region=us-gov-west-1", "-var=lambda_account_concurrency=150"],
    # test_names.py: a commercial region without Textract; test_lambda_concurrency.py: an account under 100.
    "eu-north-1, limit 60": ["-var=region=eu-north-1", "-var=lambda_account_concurrency=60",
                             "-var=database_connection_budget=50", f"-var=reserved_concurrency={SMALL_RESERVATIONS}"],
}


@pytest.fixture(scope="session")
def terraform_runs(tf: Terraform, moto_endpoint: str) -> Iterator[dict[str, Future[Any]]]:
    """Every plan and refused plan of the session, started at once on two threads (they share nothing but
    the read-only data directory; each spends much of its time loading the provider): the plans of
    session_plan_args (plan JSON) and REFUSALS (errors by variable). A test takes the one it reads."""
    pool = ThreadPoolExecutor(max_workers=2)
    runs: dict[str, Future[Any]] = {
        name: pool.submit(tf.plan_json, name, *args) for name, args in session_plan_args(moto_endpoint).items()}
    runs.update({name: pool.submit(tf.refusal, *args) for name, args in REFUSALS.items()})
    try:
        yield runs
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def plans(terraform_runs: dict[str, Future[Any]]) -> dict[str, dict[str, Any]]:
    """The local and aws plans (session_plan_args), made concurrently with the session's other runs."""
    return {name: terraform_runs[name].result() for name in ("local", "aws")}
