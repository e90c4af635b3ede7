"""What an execution environment is built from: a function's configuration as moto holds it, the environment
variables the Lambda runtime gives the process, and the code package it imports.

Lambda reuses an environment only for the same function version and configuration: `FunctionSpec` is that
identity, so a change to the code, handler, memory, timeout or variables retires the older environments.

The code package is the zip moto holds for the function (what Terraform deployed), extracted once per content
hash. With code="deployed" it comes first on the worker's sys.path, as /var/task does in Lambda; with
code="repo" the repository's functions/ comes first and the package after it (a test handler that only the
package holds still imports). Third-party libraries come from this venv either way: the deployed layer holds
arm64 wheels for Lambda, which cannot import here."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CODE_CACHE = Path(tempfile.gettempdir()) / f"invoice-lambda-code-{os.getuid()}"
CODE_CACHE_DAYS = 7
# Passed on from the emulation's environment: what any process needs to start, nothing of its AWS settings.
_INHERITED = ("PATH", "LD_LIBRARY_PATH", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")


@dataclass(frozen=True)
class FunctionSpec:
    account: str
    region: str
    name: str
    version: str
    arn: str
    handler: str
    runtime: str
    memory_mb: int
    timeout: float
    code_sha256: str
    variables: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, fn: Any) -> FunctionSpec:
        return cls(account=str(fn.account_id), region=str(fn.region), name=str(fn.function_name),
                   version=str(fn.version), arn=str(fn.function_arn), handler=str(fn.handler),
                   runtime=str(fn.run_time or "python3.12"), memory_mb=int(fn.memory_size or 128),
                   timeout=float(fn.timeout or 3), code_sha256=str(getattr(fn, "code_sha_256", "") or ""),
                   variables=tuple(sorted((str(k), str(v)) for k, v in dict(fn.environment_vars or {}).items())))

    @property
    def key(self) -> tuple[str, str, str]:
        """Concurrency is counted per function (every version and alias of it) in an account and region."""
        return self.account, self.region, self.name

    def new_log_stream(self) -> str:
        return time.strftime("%Y/%m/%d/") + f"[{self.version}]" + uuid.uuid4().hex

    def process_environment(self, *, endpoint: str, code_dir: Path | None, log_stream: str) -> dict[str, str]:
        """os.environ of a new environment: what the Lambda runtime sets, then the function's variables; plus
        AWS_ENDPOINT_URL, the one addition that points its SDK at the emulation."""
        env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
        env.update({
            "_HANDLER": self.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{self.runtime}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # The execution role's credentials in AWS; the emulation does not check them.
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "role-account-id",
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "role-secret-key",
            "AWS_SESSION_TOKEN": "session-token",
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": self.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "LAMBDA_TASK_ROOT": str(code_dir or ""),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
        })
        env.update(dict(self.variables))
        env["AWS_ENDPOINT_URL"] = endpoint
        return env

    def context(self, request_id: str, log_stream: str) -> dict[str, Any]:
        """The context object's fields, for the worker; the deadline is set when the invocation starts."""
        return {"function_name": self.name, "function_version": self.version, "invoked_function_arn": self.arn,
                "memory_limit_in_mb": self.memory_mb, "aws_request_id": request_id,
                "log_group_name": f"/aws/lambda/{self.name}", "log_stream_name": log_stream,
                "deadline_ms": int((time.time() + self.timeout) * 1000)}


def code_dir(code_bytes: bytes | None) -> Path | None:
    """The function's package extracted under CODE_CACHE (once per content), or None when moto holds none."""
    if not code_bytes:
        return None
    target = CODE_CACHE / hashlib.sha256(code_bytes).hexdigest()
    if target.is_dir():
        with contextlib.suppress(OSError):
            os.utime(target)  # in use: kept by the pruning below
        return target
    CODE_CACHE.mkdir(parents=True, exist_ok=True)
    _prune(time.time() - CODE_CACHE_DAYS * 86400)
    partial = Path(tempfile.mkdtemp(dir=CODE_CACHE, prefix=".partial-"))
    try:
        with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
            archive.extractall(partial)
        try:
            partial.rename(target)  # atomic: another environment sees the whole package or none
        except OSError:
            if not target.is_dir():
                raise
    except zipfile.BadZipFile:
        return None
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(partial)
    return target


def _prune(unused_since: float) -> None:
    """Packages no environment started from for CODE_CACHE_DAYS: every deployment of a changed package (and
    every test's package) adds one."""
    for entry in CODE_CACHE.iterdir():
        with contextlib.suppress(OSError):
            if entry.stat().st_mtime < unused_since:
                shutil.rmtree(entry)


def repo_functions_dir() -> str | None:
    """The checkout's functions/ (where invoice_pipeline lives), for code="repo"."""
    spec = importlib.util.find_spec("invoice_pipeline")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return str(Path(locations[0]).parent) if locations else None


def sys_path(code: str, package: Path | None) -> tuple[list[str], list[str]]:
    """(entries before, entries after) the venv's own sys.path in the worker."""
    if code == "repo":
        repo = repo_functions_dir()
        return [repo] if repo else [], [str(package)] if package else []
    return [str(package)] if package else [], []
