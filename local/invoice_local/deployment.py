"""The pipeline as `terraform apply` deploys it into the emulation: the one way local mode, the tests, the
demo and the benchmarks get it. No module creates AWS resources by itself.

A fresh apply spends most of its minute in the AWS provider's fixed consistency waits (README, "Local mode:
deploy time"). So after a successful apply the emulation's state is saved beside the Terraform state
(emulation/snapshot.py), under a key of everything that apply read: the configuration (terraform/*.tf,
local.tfvars, the lock file, the ASL, functions/manifest.json), the variables passed (the endpoint and the
database URL among them), and the moto and snapshot versions. The next start with the same key restores
that deployment instead of applying again; any change to an input applies afresh.

The code package is not part of the key: in local mode the functions run from this checkout, never from the
package, so a code change needs no new deployment (Terraform only hashes the package)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from invoice_local import dbroles, terraform

# boto3 and the emulation (moto: seconds to import) are imported where they are used: every `invoices`
# command imports this module for PackageBuildFailed, and most of them need neither.

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BUILD_SCRIPT = REPO / "functions" / "build_package.py"
# What a deployment is made of, besides the variables: a change to any of these applies afresh.
CONFIGURATION = (
    *sorted((REPO / "terraform").glob("*.tf")),
    REPO / "terraform" / "local.tfvars",
    REPO / "terraform" / ".terraform.lock.hcl",
    *sorted((REPO / "statemachine").glob("*.json")),
    REPO / "functions" / "manifest.json",
)


def emulation_client(endpoint: str, service: str) -> Any:
    """A boto3 client of the emulation at `endpoint` (its credentials are never checked)."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="local",
                        aws_secret_access_key="local")


class PackageBuildFailed(RuntimeError):
    """functions/build_package.py failed; the message holds its last lines."""


@dataclass
class Deployment:
    """What Terraform deployed (its outputs), reached through the emulation's endpoint."""

    endpoint: str
    outputs: dict[str, Any]
    state_dir: Path
    variables: dict[str, Any]  # what Terraform was given beyond local.tfvars
    reused: bool = False
    seconds: float = 0.0
    clients: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def ingest_bucket(self) -> str:
        return str(self.outputs["ingest_bucket"])

    @property
    def results_bucket(self) -> str:
        return str(self.outputs["results_bucket"])

    @property
    def state_machine_arn(self) -> str:
        return str(self.outputs["state_machine_arn"])

    @property
    def backfill_state_machine_arn(self) -> str:
        return str(self.outputs["backfill_state_machine_arn"])

    @property
    def intake_queue_url(self) -> str:
        return str(self.outputs["intake_queue_url"])

    @property
    def topic_arn(self) -> str:
        return str(self.outputs["textract_topic_arn"])

    @property
    def function_names(self) -> dict[str, str]:
        return dict(self.outputs["function_names"])

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = emulation_client(self.endpoint, service)
        return self.clients[service]

    def upload(self, key: str, body: bytes) -> None:
        self.client("s3").put_object(Bucket=self.ingest_bucket, Key=key, Body=body)

    def executions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self.client("stepfunctions").get_paginator("list_executions").paginate(
                stateMachineArn=self.state_machine_arn):
            found.extend(page["executions"])
        return sorted(found, key=lambda e: e["startDate"])

    def wait_for_executions(self, count: int, timeout: float = 90) -> list[dict[str, Any]]:
        """Wait until `count` executions exist and none is running; return their descriptions."""
        sfn = self.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.executions()
            if len(found) >= count and all(e["status"] != "RUNNING" for e in found):
                return [sfn.describe_execution(executionArn=e["executionArn"]) for e in found]
            time.sleep(0.2)
        raise TimeoutError(f"executions did not finish in {timeout}s: {self.executions()}")

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.client("stepfunctions").get_execution_history(executionArn=execution_arn,
                                                                  maxResults=1000)["events"]


def build_artifacts() -> None:
    """build/lambda/code.zip and layer.zip, which the configuration hashes (the first build downloads the
    layer's wheels from PyPI; later ones come from build/cache)."""
    result = subprocess.run([sys.executable, str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
        raise PackageBuildFailed(f"building the Lambda packages failed:\n{tail}")


def key(variables: dict[str, Any]) -> str:
    from invoice_local.emulation import lambda_runner, snapshot

    digest = hashlib.sha256()
    for path in CONFIGURATION:
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() if path.exists() else b"<missing>")
    digest.update(json.dumps(variables, sort_keys=True).encode())
    digest.update(f"moto={version('moto')} snapshot={snapshot.FORMAT}".encode())
    # What the emulation checked during apply (PutFunctionConcurrency against the account's limit).
    limits = lambda_runner.pool.settings
    digest.update(f"lambda={limits.account_concurrency}/{limits.unreserved_minimum}".encode())
    return digest.hexdigest()


def redeploy(base: Deployment, saved: bytes, variables: dict[str, Any], state_dir: Path, *,
             progress: terraform.Progress | None = None) -> Deployment:
    """`terraform apply` again on top of `base`, with `variables` changed: Terraform updates only what they
    change (a function's environment, its reserved concurrency, a definition), in seconds instead of a fresh
    apply's minute and a half. `saved` (base's emulation snapshot) is restored first, so the emulation holds
    exactly what base's Terraform state describes; that state is copied to `state_dir`, which gets the new
    state and snapshot, and base's are left as they were (restore `saved` to go back to base)."""
    from invoice_local.emulation import snapshot

    started = time.monotonic()
    state_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base.state_dir / "terraform.tfstate", state_dir / "terraform.tfstate")
    snapshot.loads(saved)
    merged = dbroles.with_database_roles({**base.variables, **variables})
    # No refresh: the emulation was just restored to what the state describes, and reading back its 130-odd
    # resources would only find moto's known drift (bucket notification, queue attributes) to rewrite.
    outputs = terraform.apply(state_dir, merged, progress, refresh=False)
    snapshot.save(state_dir / "emulation.snapshot")
    return Deployment(endpoint=base.endpoint, outputs=outputs, state_dir=state_dir, variables=merged,
                      seconds=time.monotonic() - started)


def deploy(endpoint: str, variables: dict[str, Any], state_dir: Path, *, reuse: bool = True,
           progress: terraform.Progress | None = None) -> Deployment:
    """Apply terraform/ with local.tfvars (plus `variables`; local_endpoint is set to `endpoint`) to the
    emulation this process serves at `endpoint`, or restore the deployment an earlier apply of the same
    inputs saved. The emulation must be fresh: what it holds is replaced."""
    from invoice_local.emulation import snapshot

    started = time.monotonic()
    variables = dbroles.with_database_roles({**variables, "local_endpoint": endpoint})
    wanted = key(variables)
    saved, meta_file = state_dir / "emulation.snapshot", state_dir / "deployment.json"
    if reuse and saved.exists() and meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if meta.get("key") == wanted:
            snapshot.restore(saved)
            return Deployment(endpoint=endpoint, outputs=meta["outputs"], state_dir=state_dir,
                              variables=variables, reused=True, seconds=time.monotonic() - started)
    terraform.binary()  # say what is missing before building anything
    for stale in (saved, meta_file, state_dir / "terraform.tfstate", state_dir / "terraform.tfstate.backup"):
        stale.unlink(missing_ok=True)  # the emulation is fresh: an older state describes nothing in it
    build_artifacts()
    outputs = terraform.apply(state_dir, variables, progress)
    snapshot.save(saved)
    meta_file.write_text(json.dumps({"key": wanted, "outputs": outputs}, indent=2))
    return Deployment(endpoint=endpoint, outputs=outputs, state_dir=state_dir, variables=variables,
                      seconds=time.monotonic() - started)
