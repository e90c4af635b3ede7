"""`invoices eval` over several sets side by side: the shared labelled set, and the varied generator's TUNING
and HELD-OUT seeds (samples/seeds.py says which seeds are which and why the held-out ones are never tuned on).

Generated documents are digital PDFs, read through their text layer only (the `as_is` pass): OCR of 400 pages
would take tens of minutes on this machine, and what the generated sets measure is the reading of layouts and
labels, which the text layer isolates. Each set gets its own JSON report beside the main one
(eval-report-tuning.json, eval-report-held_out.json)."""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from invoice_local import eval as evaluation
from invoice_local.samples.seeds import SEED_SETS

SEED_PASS = "as_is"


def _set_report(report: Path, name: str) -> Path:
    return report.with_name(f"{report.stem}-{name}{report.suffix}")


def evaluate_seed_set(name: str, seeds: range, report: Path, *, workers: int, sets_dir: Path) -> dict[str, Any]:
    from invoice_local.samples.varied import write_set

    labels = write_set(sets_dir / name, seeds)
    return evaluation.evaluate(labels, _set_report(report, name), workers=workers, passes=(SEED_PASS,),
                               out=io.StringIO())


def side_by_side(columns: Sequence[tuple[str, dict[str, Any], str]]) -> str:
    """One row per field, one column per (title, report, pass)."""
    header = f"{'field':<16}" + "".join(f"{title:>24}" for title, _, _ in columns)
    lines = [header, "-" * len(header)]
    for field in evaluation.FIELDS:
        cells = []
        for _, document, pass_name in columns:
            entry = document["fields"][field]
            accuracy = entry[pass_name]
            count = f"{entry['correct'][pass_name]}/{entry['scored'][pass_name]}"
            cells.append(f"{accuracy * 100:6.1f}% {count:>8}" if accuracy is not None else "-")
        lines.append(f"{field:<16}" + "".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


def evaluate_all(labels: Path, report: Path, *, workers: int, passes: Sequence[str], seeds: bool = True,
                 out: Any = None) -> dict[str, dict[str, Any]]:
    """The shared set as `evaluate` prints it, then the seed sets, then one table with all of them."""
    out = out or sys.stdout
    documents = {"shared": evaluation.evaluate(labels, report, workers=workers, passes=passes, out=out)}
    if not seeds:
        return documents
    sets_dir = report.parent / "eval-sets"
    for name, seed_range in SEED_SETS.items():
        documents[name] = evaluate_seed_set(name, seed_range, report, workers=workers, sets_dir=sets_dir)
    columns = [(f"shared {p}", documents["shared"], p) for p in passes]
    columns += [(f"{name} {seed_range.start}-{seed_range.stop - 1}", documents[name], SEED_PASS)
                for name, seed_range in SEED_SETS.items()]
    print("\nShared set beside the generated seeds (text layer; held-out seeds are never used for tuning):",
          file=out)
    print(side_by_side(columns), file=out)
    for name in SEED_SETS:
        print(f"{name} report: {_set_report(report, name)}", file=out)
    return documents
