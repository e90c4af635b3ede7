"""Cold-start import time of every handler module against a bare `import boto3`, in the same run.

Each measurement is a fresh interpreter that times its own `import <module>` (interpreter start-up, the same
for every module, is left out), run in rounds that interleave boto3 and every handler, so load on the machine
weighs on all alike; the figure is the best of --runs (handlers within 0.15 of the target, and boto3, get up
to --extra-runs more rounds). The ratios are of CPU time (time.process_time: what
the import computes, which other processes on a shared machine do not inflate the way they inflate wall
time); the wall times and their ratios are reported beside them. Two environments:

  local     what local mode and the tests give the functions (Terraform's local_mode sets
            POWERTOOLS_TRACE_DISABLED=true, and no LAMBDA_TASK_ROOT): tracing is off;
  traced    what AWS gives them (LAMBDA_TASK_ROOT and AWS_LAMBDA_FUNCTION_NAME set, no
            POWERTOOLS_TRACE_DISABLED): tracing is on, so importing a handler patches botocore
            (invoice_pipeline.xray; the X-Ray SDK is no longer a dependency).

The target (issue 13): every handler imports in at most 1.5x `import boto3` ("worst_ratio").

    .venv/bin/python bench/bench_imports.py [--runs 7] [--extra-runs 5] [--env local|traced|both]
    .venv/bin/python bench/bench_imports.py --functions ../other-checkout/functions   # before/after
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "functions" / "manifest.json"
TARGET_RATIO = 1.5
# A handler within this of the target gets more rounds (--extra-runs): a verdict, not a coin toss.
CLOSE = 0.15

_TIMER = ("import time, sys; c = time.process_time(); t = time.perf_counter(); import {module}; "
          "sys.stdout.write(repr((time.process_time() - c, time.perf_counter() - t)))")

_COMMON = {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "POWERTOOLS_SERVICE_NAME": "invoice-pipeline", "POWERTOOLS_METRICS_NAMESPACE": "InvoicePipeline"}
ENVIRONMENTS: dict[str, dict[str, str]] = {
    "local": {**_COMMON, "POWERTOOLS_TRACE_DISABLED": "true"},
    "traced": {**_COMMON, "LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "invoice-pipeline-bench",
               "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"},
}
# Variables of the calling shell that would change what is measured.
_DROPPED = ("POWERTOOLS_TRACE_DISABLED", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "AWS_EXECUTION_ENV",
            "AWS_SAM_LOCAL", "AWS_CHALICE_CLI_MODE", "PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME")


def handler_modules() -> dict[str, str]:
    """Function name -> its handler's module, from functions/manifest.json."""
    functions = json.loads(MANIFEST.read_text())["functions"]
    return {name: f["handler"].rsplit(".", 1)[0] for name, f in sorted(functions.items())}


def _environment(kind: str, functions: Path = REPO / "functions") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update(ENVIRONMENTS[kind])
    env["PYTHONPATH"] = os.pathsep.join([str(functions), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def time_import(module: str, env: dict[str, str], python: str = sys.executable) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `import module` in a fresh interpreter."""
    out = subprocess.run([python, "-c", _TIMER.format(module=module)], env=env, capture_output=True, text=True,
                         check=False, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{out.stderr[-2000:]}")
    cpu, wall = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    return float(cpu), float(wall)


def _compile(targets: list[str], env: dict[str, str], python: str = sys.executable) -> None:
    """One interpreter imports every target, so their bytecode is cached before any is timed (as it is in a
    deployed package) without a timed warm-up round per module."""
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)"
    subprocess.run([python, "-c", code, *targets], env=env, capture_output=True, check=True, timeout=300)


def _summarize(kind: str, runs: int, best: dict[str, float], wall: dict[str, float],
               modules: dict[str, str]) -> dict[str, Any]:
    boto3 = best["boto3"]
    handlers: dict[str, dict[str, Any]] = {
        name: {"module": module, "seconds": round(best[module], 4), "ratio": round(best[module] / boto3, 2),
               "wall_seconds": round(wall[module], 4), "wall_ratio": round(wall[module] / wall["boto3"], 2)}
        for name, module in modules.items()}
    worst = max(handlers, key=lambda n: handlers[n]["ratio"])
    return {"environment": ENVIRONMENTS[kind], "runs": runs, "boto3_seconds": round(boto3, 4),
            "boto3_wall_seconds": round(wall["boto3"], 4), "clock": "CPU time of the importing process",
            "handlers": handlers, "worst": worst, "worst_ratio": handlers[worst]["ratio"],
            "worst_wall_ratio": max(h["wall_ratio"] for h in handlers.values()),
            "target_ratio": TARGET_RATIO, "within_target": handlers[worst]["ratio"] <= TARGET_RATIO}


def _close_to_target(best: dict[str, dict[str, float]], modules: dict[str, str]) -> list[str]:
    """The handler modules whose ratio, in any environment, is within CLOSE of the target or over it."""
    return sorted({m for b in best.values() for m in modules.values() if b[m] / b["boto3"] > TARGET_RATIO - CLOSE})


def measure_all(kinds: tuple[str, ...], runs: int, functions: Path = REPO / "functions",
                extra_runs: int = 0) -> dict[str, Any]:
    """Every environment's figures, from the same rounds: each round times boto3 and every handler in each
    environment in turn, so load on the machine weighs on both environments and on the baseline alike. Then,
    up to `extra_runs` more rounds time only boto3 and the handlers still close to the target (the best of
    more samples is nearer the true cost for both sides of the ratio, which decides the check), while any is."""
    envs = {kind: _environment(kind, functions) for kind in kinds}
    modules = handler_modules()
    targets = ["boto3", *modules.values()]
    for env in envs.values():
        _compile(targets, env)
    best = {kind: {m: float("inf") for m in targets} for kind in kinds}
    wall = {kind: {m: float("inf") for m in targets} for kind in kinds}

    def round_of(round_targets: list[str]) -> None:
        for module in round_targets:
            for kind, env in envs.items():
                cpu_s, wall_s = time_import(module, env)
                best[kind][module] = min(best[kind][module], cpu_s)
                wall[kind][module] = min(wall[kind][module], wall_s)

    for _ in range(runs):
        round_of(targets)
    extra: list[list[str]] = []
    while len(extra) < extra_runs and (close := _close_to_target(best, modules)):
        round_of(["boto3", *close])
        extra.append(close)
    results = {kind: _summarize(kind, runs, best[kind], wall[kind], modules) for kind in kinds}
    for r in results.values():
        r["extra_rounds"] = [{"modules": close} for close in extra]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per module; the best counts")
    parser.add_argument("--extra-runs", type=int, default=5,
                        help="more rounds, of boto3 and the handlers within 0.15 of the target only, while any is")
    parser.add_argument("--env", choices=("local", "traced", "both"), default="both")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--functions", type=Path, default=REPO / "functions",
                        help="the functions/ folder to import from (another checkout's, for a before/after)")
    args = parser.parse_args(argv)
    kinds = ("local", "traced") if args.env == "both" else (args.env,)
    results = measure_all(kinds, args.runs, args.functions.resolve(), args.extra_runs)
    for kind, r in results.items():
        more = f", {len(r['extra_rounds'])} more rounds for those close to {TARGET_RATIO}x" if r["extra_rounds"] else ""
        print(f"{kind}: import boto3 {r['boto3_seconds'] * 1000:.0f} ms (best of {r['runs']}{more})")
        for name, h in r["handlers"].items():
            wall = f"wall {h['wall_seconds'] * 1000:6.0f} ms  {h['wall_ratio']:.2f}x"
            print(f"  {name:15} {h['seconds'] * 1000:6.0f} ms  {h['ratio']:.2f}x   ({wall})")
        print(f"  worst: {r['worst']} {r['worst_ratio']:.2f}x (target <= {TARGET_RATIO}x)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
