"""What tracing costs a cold invocation in all: init (importing the handler's module) plus the first call.

bench_imports.py times init alone. Tracing may also cost something on the first call (building a recorder,
opening the socket to the daemon, patching on first use), which a cold request pays too. Here a fresh
interpreter imports Persist's handler module (init), then calls a handler wrapped like every function's
(`observability.lambda_entry`) that makes one AWS SDK call (S3 HeadObject, answered by botocore's Stubber:
no network) through the functions' own client (`adapters.aws.client`), so it pays the client's creation
exactly as a real first call does. Tracing on means a sampled invocation (_X_AMZN_TRACE_ID with Sampled=1)
and a daemon address on 127.0.0.1 where this script listens, so the subsegments are really sent; the script
counts the datagrams it received, which proves tracing was on. The figure is the best of --runs, CPU time,
environments interleaved round after round; the traced/local ratio is what tracing costs a cold request.

    .venv/bin/python bench/bench_cold_call.py [--runs 5] [--functions ../other-checkout/functions]
"""

from __future__ import annotations

import argparse
import ast
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_imports import REPO, _environment  # noqa: E402

TRACE = "Root=1-6763a0b1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"

_COLD_CALL = """
import sys, time
c = time.process_time()
import invoice_pipeline.handlers.persist
init = time.process_time() - c
from botocore.stub import Stubber
from invoice_pipeline import observability
from invoice_pipeline.adapters import aws

class Context:
    function_name = "invoice-pipeline-persist"; memory_limit_in_mb = 512; aws_request_id = "r-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:invoice-pipeline-persist"

def first(event, context):
    s3 = aws.client("s3")
    with Stubber(s3) as stub:
        stub.add_response("head_object", {"ContentLength": 1}, {"Bucket": "b", "Key": "k"})
        s3.head_object(Bucket="b", Key="k")
    return 1

c = time.process_time()
observability.lambda_entry(first)({"document": {"document_id": "d-1"}}, Context())
sys.stdout.write(repr((init, time.process_time() - c)))
"""


def measure(runs: int, functions: Path = REPO / "functions") -> dict[str, Any]:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    daemon.setblocking(False)
    envs = {kind: _environment(kind, functions) for kind in ("local", "traced")}
    address = f"127.0.0.1:{daemon.getsockname()[1]}"
    envs["traced"].update({"_X_AMZN_TRACE_ID": TRACE, "AWS_XRAY_DAEMON_ADDRESS": address})
    for env in envs.values():
        env.update({"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"})
    best: dict[str, dict[str, float]] = {k: {"init": float("inf"), "first_call": float("inf"), "total": float("inf")}
                                         for k in envs}
    datagrams = 0
    for round_ in range(runs + 1):  # the first round caches bytecode and is not counted
        for kind, env in envs.items():
            out = subprocess.run([sys.executable, "-c", _COLD_CALL], env=env, capture_output=True, text=True,
                                 check=True, timeout=120)
            init, first = ast.literal_eval(out.stdout.strip().splitlines()[-1])
            if round_ == 0:
                continue
            b = best[kind]
            b["init"], b["first_call"] = min(b["init"], init), min(b["first_call"], first)
            b["total"] = min(b["total"], init + first)
        while True:
            try:
                daemon.recv(65536)
                datagrams += 1
            except BlockingIOError:
                break
    daemon.close()
    result: dict[str, Any] = {kind: {f"{k}_seconds": round(v, 4) for k, v in b.items()} for kind, b in best.items()}
    result.update({"runs": runs, "clock": "CPU time", "handler_module": "invoice_pipeline.handlers.persist",
                   "call": "one S3 HeadObject (Stubber) through adapters.aws.client, in observability.lambda_entry",
                   "traced_datagrams_received": datagrams,
                   "traced_to_local_total_ratio": round(best["traced"]["total"] / best["local"]["total"], 2),
                   "traced_extra_seconds": round(best["traced"]["total"] - best["local"]["total"], 4)})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--functions", type=Path, default=REPO / "functions")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.runs, args.functions.resolve()), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
