"""A structural guard on the functions' cold start (issue 13): importing a handler module, as a Lambda's init
does, must not import what it does not need at that moment. Each case runs in a fresh interpreter and reads
sys.modules; nothing here is timed (bench/bench_imports.py times the imports).

Where tracing is off (local mode, the tests), no handler may load the X-Ray SDK; no handler loads the API's
resolver machinery (Powertools' event handler and OpenAPI, pydantic), jsonschema, PDFium, lxml or factur-x
before it needs them, nor the Postgres driver before its first connection. Where tracing is on (a deployed
function), the X-Ray SDK is loaded and patches botocore and pg8000 at import, as before."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "functions" / "manifest.json"

# Top-level modules (or a package's subpackage) that no handler module may import at import time, and why.
HEAVY = {
    "aws_xray_sdk": "the X-Ray SDK: only where tracing is on (invoice_pipeline.tracing)",
    "wrapt": "the X-Ray SDK's patching",
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


def test_handlers_import_nothing_heavy() -> None:
    # One interpreter imports every handler in turn: whatever a handler loads is new when it is imported, so a
    # heavy module is reported by the first handler that loads it. The API's models come last, as a handler
    # that does import pydantic would: the probe must see that (a guard that cannot fail guards nothing).
    modules = _handler_modules()
    assert "invoice_pipeline.handlers.api" in modules and len(modules) >= 10
    found = json.loads(_run(_PROBE, [json.dumps(sorted(HEAVY)), *modules, "invoice_pipeline.api.models"],
                            _environment(POWERTOOLS_TRACE_DISABLED="true")))
    assert "pydantic" in found.pop("invoice_pipeline.api.models")
    offenders = {m: heavy for m, heavy in found.items() if heavy}
    assert offenders == {}, "\n".join(f"{m} imports {', '.join(f'{h} ({HEAVY[h]})' for h in hs)}"
                                      for m, hs in offenders.items())


_TRACED = """
import json
import invoice_pipeline.handlers.persist
import botocore.client
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.patcher import _PATCHED_MODULES
from invoice_pipeline.observability import tracer
print(json.dumps({"patched": sorted(_PATCHED_MODULES), "disabled": tracer.get().disabled,
                  "provider_is_xray": tracer.get().provider is xray_recorder,
                  "boto_wrapped": hasattr(botocore.client.BaseClient._make_api_call, "__wrapped__")}))
"""


def test_tracing_on_loads_and_patches_xray() -> None:
    # What AWS gives a deployed function: LAMBDA_TASK_ROOT, and no POWERTOOLS_TRACE_DISABLED.
    env = _environment(LAMBDA_TASK_ROOT="/var/task", AWS_LAMBDA_FUNCTION_NAME="invoice-pipeline-test")
    state = json.loads(_run(_TRACED, [], env))
    assert "botocore" in state["patched"] and "pg8000" in state["patched"]
    assert state["disabled"] is False and state["provider_is_xray"] is True and state["boto_wrapped"] is True
