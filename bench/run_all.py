"""`make bench`: the benchmarks of docs/performance.md in one run, merged into bench/results.json.

    make bench                      # everything below except a new burst run (4 min idle on 2 cores, 193 CPU s)
    make bench BENCH_ARGS="--burst" # also run bench_burst.py --documents 100 (a few minutes more)
    .venv/bin/python bench/run_all.py --only imports,textract   # some of them

What it writes (keys of bench/results.json; the keys other scripts write, cost and burst*, are kept):

  imports     each handler module's import time against a bare `import boto3`, best of N fresh interpreters
              in the same run, tracing off (local) and on (traced), and the worst ratio (bench_imports.py);
              plus the API's first request in a fresh interpreter (import + first request), which is what
              a cold API request pays in all, and init + first call traced against untraced (cold_call,
              bench_cold_call.py);
  packages    build/lambda/code.zip and layer.zip (functions/build_package.py): bytes zipped and unzipped;
  textract    the normalizer against Textractor's expense parser on the same real responses
              (bench_textract.py, in Textractor's own virtual environment);
  persist     Persist's invoices a second against the local Postgres (bench_persist.py);
  pipeline    the local pipeline's documents a minute, digital and scanned (bench_pipeline.py);
  summary     the headline figures of the above and of the last burst run (bench_burst.py's "burst" key, when
              present: it takes 20 minutes for 1,000 documents, so it is read, not rerun, unless --burst).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results.json"
WORK = REPO / "build" / "bench"
STEPS = ("imports", "packages", "textract", "persist", "pipeline")

_API_FIRST_REQUEST = """
import json, sys, time
t = time.perf_counter()
from invoice_pipeline.handlers.api import handler
imported = time.perf_counter() - t
from invoice_local.api_server import LocalContext, build_event
# A route the resolver validates (the id is no UUID: 400), without the database.
event = build_event(method="GET", target="/documents/not-a-uuid", headers=[], body=b"", claims={"sub": "bench"})
t2 = time.perf_counter()
response = handler(event, LocalContext())
first = time.perf_counter() - t2
assert response["statusCode"] == 400, response
t3 = time.perf_counter()
handler(event, LocalContext())
second = time.perf_counter() - t3
print(json.dumps({"import": imported, "first_request": first, "second_request": second}))
"""


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and of the children it has waited for: what a step costs the
    machine, which other work on a shared machine inflates far less than the wall time."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _python() -> str:
    return sys.executable


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str] | None = None, timeout: float = 1800) -> None:
    print(f"$ {' '.join(args)}", flush=True)
    subprocess.run(args, cwd=REPO, env=env or _env(), check=True, timeout=timeout)


def imports(runs: int) -> dict[str, Any]:
    out = WORK / "imports.json"
    _run([_python(), "bench/bench_imports.py", "--runs", str(runs), "--env", "both", "--json", str(out)])
    result: dict[str, Any] = json.loads(out.read_text())
    # The API builds its resolver on the first request: what a cold request pays in all, import included.
    sys.path.insert(0, str(REPO / "bench"))
    import bench_cold_call
    import bench_imports

    env = bench_imports._environment("local")  # noqa: SLF001
    env["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    env["POWERTOOLS_METRICS_DISABLED"] = "true"
    best: dict[str, float] = {}
    for _ in range(runs):
        proc = subprocess.run([_python(), "-c", _API_FIRST_REQUEST], env=env, capture_output=True, text=True,
                              check=True, timeout=120)
        sample = json.loads(proc.stdout.strip().splitlines()[-1])
        best = {k: min(best.get(k, float("inf")), v) for k, v in sample.items()}
    boto3 = result["local"]["boto3_wall_seconds"]  # the API's figures are wall time: so is this baseline
    result["api_cold_request"] = {
        "path": "GET /documents/not-a-uuid (routed, validated: 400)", "runs": runs,
        **{f"{k}_seconds": round(v, 4) for k, v in best.items()},
        "import_and_first_request_seconds": round(best["import"] + best["first_request"], 4),
        "import_and_first_request_wall_ratio_to_boto3": round((best["import"] + best["first_request"]) / boto3, 2)}
    # What tracing costs a cold invocation in all (init and the first call), not only init.
    result["cold_call"] = bench_cold_call.measure(runs)
    return result


def _zip_sizes(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
    return {"bytes": path.stat().st_size, "mb": round(path.stat().st_size / 1e6, 2),
            "unzipped_bytes": sum(i.file_size for i in infos), "files": len(infos)}


def packages() -> dict[str, Any]:
    _run([_python(), "functions/build_package.py"])
    out = REPO / "build" / "lambda"
    return {name: _zip_sizes(out / f"{name}.zip") for name in ("code", "layer")}


def textract(textractor_python: str, repeat: int) -> dict[str, Any]:
    out = WORK / "textract.json"
    env = _env(PYTHONPATH=os.pathsep.join([str(REPO / "functions"), os.environ.get("PYTHONPATH", "")]))
    _run([textractor_python, "bench/bench_textract.py", "--repeat", str(repeat), "--json", str(out)], env=env)
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def persist(documents: int) -> dict[str, Any]:
    out = WORK / "persist.json"
    _run([_python(), "bench/bench_persist.py", "--documents", str(documents), "--json", str(out)])
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def pipeline(digital: int, scanned: int) -> dict[str, Any]:
    _run([_python(), "bench/bench_pipeline.py", "--digital", str(digital), "--scanned", str(scanned),
          "--overhead", "0"], timeout=3600)
    result: dict[str, Any] = json.loads((WORK / "pipeline.json").read_text())["results"]
    return result


def burst(documents: int) -> None:
    _run([_python(), "bench/bench_burst.py", "--documents", str(documents)], timeout=7200)


def summary(current: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    imp = current.get("imports") or {}
    for kind in ("local", "traced"):
        if kind in imp:
            out[f"import_worst_ratio_{kind}"] = imp[kind]["worst_ratio"]
            out[f"import_worst_handler_{kind}"] = imp[kind]["worst"]
            out[f"import_boto3_seconds_{kind}"] = imp[kind]["boto3_seconds"]
            # Issue 13's target, checked for both: tracing off (local mode) and on (a deployed function).
            out[f"import_within_target_{kind}"] = imp[kind]["within_target"]
            out["import_target_ratio"] = imp[kind]["target_ratio"]
    if cc := imp.get("cold_call"):
        out["cold_call_traced_to_local_ratio"] = cc["traced_to_local_total_ratio"]
    if cold := imp.get("api_cold_request"):
        out["api_import_and_first_request_wall_ratio"] = cold["import_and_first_request_wall_ratio_to_boto3"]
    if pk := current.get("packages"):
        out["code_zip_bytes"], out["layer_zip_bytes"] = pk["code"]["bytes"], pk["layer"]["bytes"]
        out["layer_unzipped_bytes"] = pk["layer"]["unzipped_bytes"]
    if tx := current.get("textract"):
        out["normalizer_speedup_over_textractor"] = tx["speedup_on_both"]
        out["responses"] = tx["responses"]
        out["handled_by_normalizer"], out["handled_by_textractor"] = (tx["handled"]["normalizer"],
                                                                       tx["handled"]["textractor"])
    if ps := current.get("persist"):
        out["persist_invoices_per_second"] = ps["invoices_per_second"]
    if pl := current.get("pipeline"):
        for kind in ("digital", "scanned"):
            if kind in pl:
                out[f"pipeline_{kind}_documents_per_minute"] = pl[kind]["documents_per_minute"]
    if bu := current.get("burst"):
        out["burst_documents"] = bu.get("documents")
        out["burst_final"] = bu.get("final")
        out["burst_documents_per_minute"] = (bu.get("baseline") or {}).get("documents_per_minute")
        out["burst_run"] = (bu.get("machine") or {}).get("date") or "see bench/README.md"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated steps among {', '.join(STEPS)}")
    parser.add_argument("--textractor-python", default=str(REPO / "build" / "textractor-venv" / "bin" / "python"))
    parser.add_argument("--import-runs", type=int, default=5)
    parser.add_argument("--persist-documents", type=int, default=200)
    parser.add_argument("--digital", type=int, default=6)
    parser.add_argument("--scanned", type=int, default=2)
    parser.add_argument("--burst", action="store_true", help="run bench_burst.py (--burst-documents) too")
    parser.add_argument("--burst-documents", type=int, default=100)
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.only.split(",")] if args.only else list(STEPS)
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    figures: dict[str, Any] = {}
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for step in steps:
        t, c = time.perf_counter(), _cpu_seconds()
        if step == "imports":
            figures[step] = imports(args.import_runs)
        elif step == "packages":
            figures[step] = packages()
        elif step == "textract":
            figures[step] = textract(args.textractor_python, 7)
        elif step == "persist":
            figures[step] = persist(args.persist_documents)
        elif step == "pipeline":
            figures[step] = pipeline(args.digital, args.scanned)
        timings[step] = round(time.perf_counter() - t, 1)
        cpu[step] = round(_cpu_seconds() - c, 1)
        # A step run alone (--only) leaves the others' figures of an earlier run: each says when it was taken.
        figures[step]["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        figures[step]["load_average"] = round(os.getloadavg()[0], 2)
    if args.burst:
        burst(args.burst_documents)  # merges its own key into bench/results.json
    current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    current.update(figures)
    commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                            text=True, check=False).stdout.strip()
    current["summary"] = {**summary(current), "run": {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "commit": commit, "cpus": os.cpu_count(),
        "python": platform.python_version(), "load_average_at_start": round(load, 2),
        "seconds": round(time.perf_counter() - started, 1), "step_seconds": timings,
        "cpu_seconds": round(sum(cpu.values()), 1), "step_cpu_seconds": cpu, "steps": steps}}
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    print(json.dumps(current["summary"], indent=2))
    print(f"written to {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
