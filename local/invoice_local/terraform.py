"""Terraform for local mode and the tests: the same root module as AWS, applied to the emulation with
terraform/local.tfvars.

The AWS provider comes from the filesystem mirror named in terraform/offline.tfrc when this machine has one
(TF_PLUGIN_MIRROR, default /opt/tf-plugins), and from the registry otherwise; the committed lock file pins
its version either way. State, plugins and the log live in the caller's state directory, never in
terraform/."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TF_DIR = REPO / "terraform"
CLI_CONFIG = TF_DIR / "offline.tfrc"
LOCAL_TFVARS = TF_DIR / "local.tfvars"
PROVIDER = "registry.terraform.io/hashicorp/aws"
INSTALL_HINT = "install Terraform >= 1.11: https://developer.hashicorp.com/terraform/install"

# (resources done, resources in the plan, the resource just done)
Progress = Callable[[int, int, str], None]


class TerraformUnavailable(RuntimeError):
    """terraform is not on this machine."""


class TerraformFailed(RuntimeError):
    """A terraform command exited non-zero; the message holds its last lines and where the full log is."""


def mirror() -> Path:
    return Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))


def binary() -> str:
    found = shutil.which("terraform")
    if not found:
        raise TerraformUnavailable(f"terraform is not on PATH: {INSTALL_HINT}")
    return found


def _env(state_dir: Path) -> dict[str, str]:
    kept = ("TF_PLUGIN_MIRROR", "TF_LOG", "TF_LOG_PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_") or k in kept}
    env.update({
        "TF_DATA_DIR": str(state_dir / "terraform-data"),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",  # no version check against HashiCorp's servers
        # The provider wants credentials to exist even where it is told not to check them.
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    if (mirror() / PROVIDER).is_dir():
        # offline.tfrc names /opt/tf-plugins; a copy names the mirror actually used.
        rc = state_dir / "offline.tfrc"
        rc.write_text(CLI_CONFIG.read_text().replace('"/opt/tf-plugins"', json.dumps(str(mirror()))))
        env["TF_CLI_CONFIG_FILE"] = str(rc)
    return env


def _fail(args: list[str], output: str, log: Path) -> TerraformFailed:
    lines = [ln for ln in output.strip().splitlines() if ln.strip()]
    return TerraformFailed(f"terraform {args[0]} failed (full log: {log}):\n" + "\n".join(lines[-20:]))


def _run(args: list[str], state_dir: Path, log: Path) -> str:
    with log.open("a") as out:
        out.write(f"\n$ terraform {' '.join(args)}\n")
        proc = subprocess.run([binary(), f"-chdir={TF_DIR}", *args], env=_env(state_dir), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        out.write(proc.stdout)
    if proc.returncode != 0:
        raise _fail(args, proc.stdout, log)
    return proc.stdout


def _apply_streaming(args: list[str], state_dir: Path, log: Path, progress: Progress | None) -> None:
    """terraform apply -json, reporting each finished resource as it finishes."""
    total, done, planned, messages = 0, 0, False, []
    with log.open("a") as out:
        out.write(f"\n$ terraform {' '.join(args)}\n")
        with subprocess.Popen([binary(), f"-chdir={TF_DIR}", *args], env=_env(state_dir), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                out.write(line)
                try:
                    msg = json.loads(line)
                except json.JSONDecodeError:
                    messages.append(line)
                    continue
                messages.append(str(msg.get("@message", "")))
                if msg.get("type") == "diagnostic":
                    diag = msg.get("diagnostic", {})
                    messages.append(f"{diag.get('severity', '')}: {diag.get('summary', '')} {diag.get('detail', '')}")
                if msg.get("type") == "change_summary" and msg.get("changes", {}).get("operation") == "plan":
                    changes = msg["changes"]
                    total = int(changes.get("add", 0)) + int(changes.get("change", 0)) + int(changes.get("remove", 0))
                    planned = True
                    if progress:
                        progress(0, total, "")
                elif planned and msg.get("type") in ("apply_complete", "apply_errored"):
                    addr = str(msg.get("hook", {}).get("resource", {}).get("addr", ""))
                    if addr.startswith("data.") or ".data." in addr:
                        continue  # data sources report reads too; the plan's count is of resources
                    done += 1
                    if progress:
                        progress(done, max(total, done), addr)
            returncode = proc.wait()
    if returncode != 0:
        raise _fail(args, "\n".join(messages), log)


def _var_args(variables: dict[str, Any]) -> list[str]:
    """-var arguments; a map or list in the JSON form, which HCL reads as its own object or tuple syntax."""
    return [f"-var={k}={json.dumps(v) if isinstance(v, dict | list) else v}" for k, v in variables.items()]


def apply(state_dir: Path, variables: dict[str, Any], progress: Progress | None = None, *,
          refresh: bool = True) -> dict[str, Any]:
    """init + apply local.tfvars with `variables` on top, against the state in `state_dir`; returns the
    outputs as a dict. `refresh=False` skips reading every resource back first: for a caller that knows the
    infrastructure is exactly what the state describes (deployment.redeploy), so only the changed inputs
    are applied."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "terraform.log"
    log.write_text("")
    state = state_dir / "terraform.tfstate"
    _run(["init", "-input=false", "-no-color"], state_dir, log)
    var_args = _var_args(variables)
    _apply_streaming(["apply", "-auto-approve", "-input=false", "-json", f"-state={state}",
                      *([] if refresh else ["-refresh=false"]), f"-var-file={LOCAL_TFVARS}", *var_args],
                     state_dir, log, progress)
    out = _run(["output", "-json", f"-state={state}"], state_dir, log)
    return {k: v["value"] for k, v in json.loads(out).items()}


def plan(state_dir: Path, variables: dict[str, Any], *, var_file: Path | None = None) -> dict[str, Any]:
    """`terraform show -json` of a plan of terraform/ against an empty state: what an apply with `variables`
    (and `var_file`; none: the variables' defaults, as a real account gets them) would create. Nothing is
    applied. A plan with the database on opens one ephemeral value (a generated password), so `variables`
    must point local_endpoint at an emulation that answers it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir / "terraform.log"
    _run(["init", "-input=false", "-no-color"], state_dir, log)
    out, empty = state_dir / "plan.tfplan", state_dir / "empty.tfstate"
    empty.unlink(missing_ok=True)
    var_args = _var_args(variables)
    files = [f"-var-file={var_file}"] if var_file else []
    _run(["plan", "-input=false", "-lock=false", "-no-color", f"-state={empty}", f"-out={out}", *files, *var_args],
         state_dir, log)
    return json.loads(_run(["show", "-json", str(out)], state_dir, log))  # type: ignore[no-any-return]


def destroy(state_dir: Path, variables: dict[str, Any], state: Path) -> str:
    """terraform destroy of what `state` records, with the variables it was applied with."""
    log = state_dir / "terraform.log"
    _run(["init", "-input=false", "-no-color"], state_dir, log)
    var_args = _var_args(variables)
    return _run(["destroy", "-auto-approve", "-input=false", "-no-color", f"-state={state}",
                 f"-var-file={LOCAL_TFVARS}", *var_args], state_dir, log)
