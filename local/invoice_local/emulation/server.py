"""The AWS emulation as a server on 127.0.0.1, for Terraform and local mode.

moto's threaded server runs in this process, so the patches of this package (in-process Lambdas, Textract
expense APIs, EventBridge targets) serve its requests too. On top, the Step Functions calls the Terraform
AWS provider makes and moto lacks: ValidateStateMachineDefinition (answered by parsing the definition with
moto's own ASL parser, so a definition moto could not run is refused at apply, not at the first upload) and
ListStateMachineVersions (no versions: we never publish any)."""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.stepfunctions.responses import StepFunctionResponse

from invoice_local.emulation import event_sources, eventbridge
from invoice_local.emulation import install as install_patches

# The APIs this module adds to moto, for the canary test and the README.
ADDED_APIS = ("states:ValidateStateMachineDefinition", "states:ListStateMachineVersions")


def validate_state_machine_definition(self: StepFunctionResponse) -> str:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    params = json.loads(self.body or "{}")
    diagnostics: list[dict[str, str]] = []
    try:
        json.loads(params.get("definition", ""))
        AmazonStateLanguageParser.parse(params["definition"])
    except Exception as exc:  # noqa: BLE001 - any parse failure is a diagnostic, as AWS reports it
        diagnostics.append({"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": str(exc)[:1000],
                            "location": "/"})
    return json.dumps({"result": "FAIL" if diagnostics else "OK", "diagnostics": diagnostics, "truncated": False})


def list_state_machine_versions(self: StepFunctionResponse) -> str:
    return json.dumps({"stateMachineVersions": []})


def _install_server_apis() -> None:
    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class EmulationServer:
    port: int
    _server: Any
    _saved_env: dict[str, str | None]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        event_sources.stop()
        eventbridge.stop_scheduler()
        self._server.stop()
        for name, value in self._saved_env.items():  # the process may go on using AWS another way
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __enter__(self) -> EmulationServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(port: int | None = None) -> EmulationServer:
    """Start the emulation on 127.0.0.1 (a free port unless given), with the pollers of SQS event source
    mappings and the scheduler of EventBridge rules. The server's threads are daemons: it ends with this
    process. Handlers run in this process and reach the server through AWS_ENDPOINT_URL."""
    port = port or free_port()
    install_patches()
    _install_server_apis()
    # Step Functions executes definitions only when told to, and its interpreter calls Lambda (and other
    # services) back through localhost:$MOTO_PORT: both must be set before the first state machine exists.
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    saved = {name: os.environ.get(name) for name in ("MOTO_PORT", "AWS_ENDPOINT_URL")}
    os.environ["MOTO_PORT"] = str(port)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per AWS call buries the rest
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    event_sources.start()
    eventbridge.start_scheduler()
    return EmulationServer(port=port, _server=server, _saved_env=saved)
