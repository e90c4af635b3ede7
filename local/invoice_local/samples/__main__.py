"""python -m invoice_local.samples OUT_DIR [--seed N]: write the sample set and list what was written."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from invoice_local.samples.generate import LABELS, generate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m invoice_local.samples",
                                     description="Write deterministic sample invoices and their labels.jsonl.")
    parser.add_argument("out_dir", type=Path, help="folder to write into (created if missing)")
    parser.add_argument("--seed", type=int, default=7, help="same seed, same bytes (default: 7)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = generate(args.out_dir, seed=args.seed)
    for path in paths:
        print(f"{path.stat().st_size:>9,}  {path}")
    print(f"{len(paths)} files and {args.out_dir / LABELS} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
