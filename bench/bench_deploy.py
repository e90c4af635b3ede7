"""How long local mode takes to have the pipeline deployed: a fresh `terraform apply` of terraform/ with
local.tfvars to a fresh emulation (the baseline), against restoring the deployment that apply saved into
another fresh emulation (what every later start with the same inputs does), measured in the same run.

    .venv/bin/python bench/bench_deploy.py [--runs 3]

The apply is dominated by the AWS provider's fixed consistency waits (an S3 lifecycle configuration polls
10 times 5 s apart after a 10 s delay; an SQS queue and its policy about 25 s each), which it spends against
AWS just the same; see README "Local mode: deploy time". Writes build/bench/deploy.json."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _restore_once(work: Path) -> int:
    from invoice_local.deployment import deploy
    from invoice_local.emulation import server

    variables = {"database_url": "postgresql://bench@127.0.0.1:5432/bench"}
    with server.start(4596) as emulation:
        started = time.perf_counter()
        restored = deploy(emulation.endpoint, variables, work)
        seconds = time.perf_counter() - started
        assert restored.reused, "the saved deployment was not reused"
        listed = restored.client("lambda").list_functions()["Functions"]
    print(json.dumps({"seconds": seconds, "functions": len(listed)}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="restores to time (the apply runs once)")
    parser.add_argument("--restore-from", type=Path, help=argparse.SUPPRESS)  # one restore, in this process
    args = parser.parse_args()
    for var, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ[var] = value

    from invoice_local.deployment import build_artifacts, deploy
    from invoice_local.emulation import server

    if args.restore_from:
        return _restore_once(args.restore_from)
    build_artifacts()  # not part of either figure: both paths need the packages to exist
    work = Path(tempfile.mkdtemp(prefix="bench-deploy-"))
    variables = {"database_url": "postgresql://bench@127.0.0.1:5432/bench"}  # nothing connects at deploy
    with server.start(4596) as emulation:
        started = time.perf_counter()
        applied = deploy(emulation.endpoint, variables, work)
        apply_seconds = time.perf_counter() - started
        assert not applied.reused
        functions = len(applied.function_names)
    try:
        # Each restore in a fresh interpreter, as a later `make run` does it: imports of the services'
        # moto modules included.
        restores = []
        for _ in range(args.runs):
            out = subprocess.run([sys.executable, __file__, "--restore-from", str(work)], check=True,
                                 capture_output=True, text=True)
            measured = json.loads(out.stdout)
            assert measured["functions"] == functions, measured
            restores.append(measured["seconds"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    restore = statistics.median(restores)
    result = {"cpus": os.cpu_count(), "terraform_apply_seconds": round(apply_seconds, 1),
              "restore_seconds_median": round(restore, 2), "restore_runs": [round(r, 2) for r in restores],
              "apply_over_restore": round(apply_seconds / restore, 1)}
    out = REPO / "build" / "bench" / "deploy.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
