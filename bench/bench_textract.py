"""The Textract normalizer (domain/textract.py normalize_expense) against amazon-textract-textractor's
expense parser (textractor.parsers.response_parser.parse), on the same real AnalyzeExpense responses of
../shared/data/textract, in the same process.

Textractor is not a dependency of the project, nor of the Lambda layer: `make bench` installs it, pinned
(TEXTRACTOR_VERSION in the Makefile), in a virtual environment of its own (build/textractor-venv) and runs this
script there with the project's `functions/` on PYTHONPATH. Run by hand the same way:

    build/textractor-venv/bin/python bench/bench_textract.py [--repeat 7] [--loops 20]

For each response: whether each parser handles it (returns rather than raises; the exception is reported),
and the best of --repeat timings of --loops calls, each call on its own copy of the response (copies made
before the clock starts: a parser that changes its input cannot make a later call cheaper). The speedup is
Textractor's time over the normalizer's, summed over the responses both handle.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEXTRACT = REPO.parent / "shared" / "data" / "textract"
# Real responses only: synthetic_* were written by hand for tests.
PATTERN = "*.analyze_expense*.json"


def responses() -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(TEXTRACT.glob(PATTERN))
            if not p.name.startswith("synthetic")}


def _outcome(fn: Callable[[dict[str, Any]], Any], response: dict[str, Any]) -> str | None:
    try:
        fn(copy.deepcopy(response))
    except Exception as exc:  # noqa: BLE001  reported, not hidden
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        return f"{type(exc).__name__} at {where}: {str(exc)[:160]}".rstrip(": ")
    return None


def _best(fn: Callable[[dict[str, Any]], Any], response: dict[str, Any], repeat: int, loops: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        copies = [copy.deepcopy(response) for _ in range(loops)]
        start = time.perf_counter()
        for c in copies:
            fn(c)
        best = min(best, (time.perf_counter() - start) / loops)
    return best


def run(repeat: int, loops: int) -> dict[str, Any]:
    from invoice_pipeline.domain.textract import normalize_expense
    from textractor.parsers import response_parser

    parsers: dict[str, Callable[[dict[str, Any]], Any]] = {
        "normalizer": lambda r: normalize_expense([r]),
        "textractor": response_parser.parse,
    }
    per_response: dict[str, Any] = {}
    for name, response in responses().items():
        row: dict[str, Any] = {}
        for parser, fn in parsers.items():
            error = _outcome(fn, response)
            row[parser] = {"handled": error is None, **({"error": error} if error else
                                                          {"ms": round(_best(fn, response, repeat, loops) * 1000, 3)})}
        per_response[name] = row
    both = [n for n, r in per_response.items() if r["normalizer"]["handled"] and r["textractor"]["handled"]]
    ours = sum(per_response[n]["normalizer"]["ms"] for n in both)
    theirs = sum(per_response[n]["textractor"]["ms"] for n in both)
    return {
        "textractor_version": metadata.version("amazon-textract-textractor"),
        "responses": len(per_response),
        "handled": {p: sum(1 for r in per_response.values() if r[p]["handled"]) for p in parsers},
        "both_handled": both,
        "speedup_on_both": round(theirs / ours, 2) if both and ours else None,
        "normalizer_ms_on_both": round(ours, 3), "textractor_ms_on_both": round(theirs, 3),
        "repeat": repeat, "loops": loops, "per_response": per_response,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--loops", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    result = run(args.repeat, args.loops)
    for name, row in result["per_response"].items():
        shown = "  ".join(f"{p} {r['ms']:.2f} ms" if r["handled"] else f"{p} raises {r['error'][:60]}"
                          for p, r in row.items())
        print(f"{name:50} {shown}")
    print(f"handled of {result['responses']}: {result['handled']}; on the {len(result['both_handled'])} both "
          f"handle, the normalizer is {result['speedup_on_both']}x faster")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
