"""A structural guard on the functions' cold start (issue 13): importing a handler module, as a Lambda's init
does, must not import what it does not need at that moment. Each case runs in a fresh interpreter and reads
sys.modules; nothing here is timed (bench/bench_imports.py times the imports).

No handler loads the X-Ray SDK or Powertools' Tracer (the functions send their subsegments themselves:
invoice_pipeline.xray), the API's resolver machinery (Powertools' event handler and OpenAPI, pydantic),
jsonschema, PDFium, lxml or factur-x before it needs them, nor the Postgres driver before its first
connection; and that holds with tracing off (local mode, the tests) as with tracing on (a deployed function),
where importing a handler patches botocore, so that every AWS SDK call is recorded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "functions" / "manifest.json"

# Top-level modules (or a package's subpackage) that no handler module may import at import time, and why.
HEAVY = {
    "aws_xray_sdk": "the X-Ray SDK: invoice_pipeline.xray records the subsegments without it",
    "wrapt": "the X-Ray SDK's patching",
    "aws_lambda_powertools.tracing.provider": "Powertools' Tracer and its X-Ray provider",
    "asyncio": "the X-Ray SDK's async recorder and wrapt 2",
    "pydantic": "the API's models: built by the API's first request",
    "pydantic_core": "the API's models",
    "aws_lambda_powertools.event_handler": "the API's resolver and its OpenAPI machinery: the first request",
    "jsonschema": "validation: imported by the first validation (invoice_pipeline.schemas)",
    "referencing": "validation's schema registry",
    "pypdfium2": "PDFium: imported by the first PDF check (domain/sniff.py)",
    "lxml": "e-invoices: only for a document that carries one",
    "facturx": "e-invoices",
    "openpyxl": "the API's XLSX export",
    "pg8000": "the Postgres driver: imported by the first connection (adapters/db.py)",
}

_PROBE = """
import importlib, json, sys
heavy = json.loads(sys.argv[1])
found = {}
for module in sys.argv[2:]:
    before = set(sys.modules)
    importlib.import_module(module)
    loaded = set(sys.modules) - before
    found[module] = sorted(h for h in heavy if any(m == h or m.startswith(h + ".") for m in loaded))
print(json.dumps(found))
"""


def _handler_modules() -> list[str]:
    functions = json.loads(MANIFEST.read_text())["functions"]
    return sorted({f["handler"].rsplit(".", 1)[0] for f in functions.values()})


def _environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("POWERTOOLS_TRACE_DISABLED", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME",
                        "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE")}
    env.update({"AWS_DEFAULT_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "invoice-pipeline", **extra})
    return env


def _run(code: str, args: list[str], env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


TRACED = {"LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "invoice-pipeline-test"}


@pytest.mark.parametrize("tracing", ["off", "on"])
def test_handlers_import_nothing_heavy(tracing: str) -> None:
    # One interpreter imports every handler in turn: whatever a handler loads is new when it is imported, so a
    # heavy module is reported by the first handler that loads it. The API's models come last, as a handler
    # that does import pydantic would: the probe must see that (a guard that cannot fail guards nothing).
    # Tracing on is what AWS gives a deployed function: LAMBDA_TASK_ROOT, and no POWERTOOLS_TRACE_DISABLED.
    modules = _handler_modules()
    assert "invoice_pipeline.handlers.api" in modules and len(modules) >= 10
    env = _environment(**TRACED) if tracing == "on" else _environment(POWERTOOLS_TRACE_DISABLED="true")
    found = json.loads(_run(_PROBE, [json.dumps(sorted(HEAVY)), *modules, "invoice_pipeline.api.models"], env))
    assert "pydantic" in found.pop("invoice_pipeline.api.models")
    offenders = {m: heavy for m, heavy in found.items() if heavy}
    assert offenders == {}, "\n".join(f"{m} imports {', '.join(f'{h} ({HEAVY[h]})' for h in hs)}"
                                      for m, hs in offenders.items())


_TRACED = """
import json
import botocore.client
import botocore.endpoint
import invoice_pipeline.handlers.persist
print(json.dumps({"boto_wrapped": getattr(botocore.client.BaseClient._make_api_call, "_xray", False),
                  "header_wrapped": hasattr(botocore.endpoint.Endpoint.prepare_request, "__wrapped__")}))
"""


def test_tracing_on_patches_botocore_at_import() -> None:
    state = json.loads(_run(_TRACED, [], _environment(**TRACED)))
    assert state == {"boto_wrapped": True, "header_wrapped": True}
