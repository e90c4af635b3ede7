"""The pipeline's Lambda functions as functions/manifest.json defines them: the file terraform/ deploys them
from. Local mode and the tests read the functions here, never from a list of their own."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PATH = Path(__file__).resolve().parents[2] / "functions" / "manifest.json"


@dataclass(frozen=True)
class Function:
    key: str  # the manifest's name; Terraform names the function "<project>-<environment>-<key with dashes>"
    handler: str
    description: str
    memory_mb: int
    timeout_seconds: int
    invoked_by: str
    environment: tuple[str, ...]
    permissions: tuple[str, ...]
    database: bool = False  # it connects to Postgres (its reserved concurrency counts against the budget)
    database_role: str | None = None  # as whom: a key of database_roles(), or "migration" (the master user)

    @property
    def in_state_machine(self) -> bool:
        return self.invoked_by == "state_machine"

    def name(self, prefix: str) -> str:
        """The deployed function name (terraform/locals.tf function_names)."""
        return f"{prefix}-{self.key.replace('_', '-')}"


@cache
def functions() -> dict[str, Function]:
    raw = json.loads(PATH.read_text())["functions"]
    return {key: Function(key=key, handler=f["handler"], description=f["description"], memory_mb=f["memory_mb"],
                          timeout_seconds=f["timeout_seconds"], invoked_by=f["invoked_by"],
                          environment=tuple(f["environment"]), permissions=tuple(f["permissions"]),
                          database=bool(f["database"]), database_role=f.get("database_role"))
            for key, f in raw.items()}


@cache
def database_roles() -> dict[str, str]:
    """The functions' Postgres roles: role key (pipeline, api) -> role name (migrations/0004_roles.sql)."""
    return dict(json.loads(PATH.read_text())["database_roles"])


def state_functions() -> list[str]:
    return sorted(k for k, f in functions().items() if f.in_state_machine)
