"""Terraform for local mode: the same root module as AWS, applied to the emulation with terraform/local.tfvars.

Runs offline: providers come from the filesystem mirror named in terraform/offline.tfrc (TF_CLI_CONFIG_FILE);
state and plugin cache live under the local state directory, never in terraform/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TF_DIR = REPO / "terraform"
CLI_CONFIG = TF_DIR / "offline.tfrc"
LOCAL_TFVARS = TF_DIR / "local.tfvars"


class TerraformUnavailable(RuntimeError):
    """terraform, or the offline provider mirror it needs, is not on this machine."""


MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
PROVIDER = "registry.terraform.io/hashicorp/aws"


def binary() -> str:
    """The terraform binary, if it can work here: on PATH, with the AWS provider in the offline mirror
    (this machine has no registry access). Raises TerraformUnavailable saying what is missing."""
    found = shutil.which("terraform")
    if not found:
        raise TerraformUnavailable(
            "terraform is not on PATH. Install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install) "
            "and the hashicorp/aws provider mirror, or run local mode with --deploy boto3."
        )
    if not (MIRROR / PROVIDER).is_dir():
        raise TerraformUnavailable(f"no hashicorp/aws provider in the mirror {MIRROR} (set TF_PLUGIN_MIRROR)")
    return found


def _cli_config(state_dir: Path) -> Path:
    """offline.tfrc names /opt/tf-plugins; write a copy naming the mirror actually used."""
    rc = state_dir / "offline.tfrc"
    rc.write_text(CLI_CONFIG.read_text().replace('"/opt/tf-plugins"', json.dumps(str(MIRROR))))
    return rc


def _env(state_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "TF_CLI_CONFIG_FILE": str(_cli_config(state_dir)),
        "TF_DATA_DIR": str(state_dir / "terraform-data"),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    })
    return env


def _run(args: list[str], state_dir: Path, log: Path) -> subprocess.CompletedProcess[str]:
    with log.open("a") as out:
        out.write(f"\n$ terraform {' '.join(args)}\n")
        out.flush()
        proc = subprocess.run([binary(), f"-chdir={TF_DIR}", *args], env=_env(state_dir), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        out.write(proc.stdout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-25:])
        raise RuntimeError(f"terraform {args[0]} failed (full log: {log}):\n{tail}")
    return proc


def apply(state_dir: Path, variables: dict[str, Any]) -> dict[str, Any]:
    """init (offline) + apply local.tfvars with `variables` on top; returns the outputs as a dict."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "terraform.log"
    log.write_text("")
    state = state_dir / "terraform.tfstate"
    _run(["init", "-input=false", "-no-color"], state_dir, log)
    var_args = [f"-var={k}={v}" for k, v in variables.items()]
    _run(["apply", "-auto-approve", "-input=false", "-no-color", f"-state={state}",
          f"-var-file={LOCAL_TFVARS}", *var_args], state_dir, log)
    out = _run(["output", "-json", f"-state={state}"], state_dir, log)
    return {k: v["value"] for k, v in json.loads(out.stdout).items()}
