"""Local mode as a person uses it: `invoices run` (what `make run` runs) in one process, then `invoices
submit / status / show / trace / logs` from another shell, on generated sample documents through the local
OCR engine (no recorded responses)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from invoice_local import samples

from tests.e2e import local_run


@pytest.fixture(scope="module")
def stack_dir() -> Iterator[Path]:
    run = local_run.take()
    try:
        if not run.wait(400):  # terraform apply against the emulation takes a minute or two
            what = "exited" if run.exited else "did not finish its samples"
            pytest.fail(f"invoices run {what}:\n" + "".join(run.lines))
        lines = run.lines[:next(i for i, line in enumerate(run.lines) if line.startswith(local_run.LAST_LINE)) + 1]
        state = run.state
        # What a person sees of `make run`: stage lines, progress, the results table, where to go next.
        assert len(lines) < 40, f"{len(lines)} lines:\n" + "".join(lines)
        table = [line for line in lines if re.match(r"[0-9a-f]{8} ", line)]  # the results table's rows
        expected = samples.run_set(state / "expected-samples")
        assert len(table) == len(expected), "".join(lines)
        # The Factur-X sample went the e-invoice way (its XML, no OCR) and its numbers add up.
        assert "COMPLETED" in next(line for line in table if samples.FACTURX_SAMPLE in line), "".join(lines)
        # The invoice sent again as a scan: one copy COMPLETED, the other held for review as a possible duplicate
        # (whichever was stored second), so the review queue of a first run is not empty.
        pair = [next(line for line in table if f" {name} " in line)
                for name in (samples.RESENT_FROM, samples.RESENT_SAMPLE)]
        held = [line for line in pair if "NEEDS_REVIEW" in line and "POSSIBLE_DUPL" in line]  # the cell is cut
        assert len(held) == 1 and any("COMPLETED" in line for line in pair), "".join(lines)
        assert (state / "stack.json").exists()
        yield state
    finally:
        run.stop()
    lines = run.lines
    # the handlers' JSON lines and moto's went to files, not to this terminal
    assert not [line for line in lines if line.lstrip().startswith("{") or "Exception=" in line], "".join(lines)
    assert "Traceback" not in "".join(lines)
    assert not (state / "stack.json").exists(), "stack.json left behind after a clean stop"
    with pytest.raises(ProcessLookupError):
        os.kill(run.proc.pid, 0)


def run_cli(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*local_run.INVOICES, *args, "--state-dir", str(state)], capture_output=True, text=True,
                          timeout=600, env=local_run.shell_environment())


def test_submit_digital_scanned_and_broken(stack_dir: Path, tmp_path: Path) -> None:
    files = samples.generate(tmp_path / "samples", seed=2)  # not the samples `invoices run` processed
    labels = {json.loads(line)["file"]: json.loads(line)
              for line in (tmp_path / "samples" / "labels.jsonl").read_text().splitlines()}
    digital = next(p for p in files if p.name == "en-gb-invoice.pdf")
    scanned = next(p for p in files if p.suffix == ".jpg")
    broken = next(p for p in files if p.name == samples.BROKEN)

    out = run_cli(stack_dir, "submit", str(digital), str(scanned), str(broken))
    assert out.returncode == 0, out.stderr
    rows = {line.split()[1]: line for line in out.stdout.splitlines()[2:] if line.strip()}
    for doc in (digital, scanned):
        line = rows[doc.name]
        assert ("COMPLETED" in line) or ("NEEDS_REVIEW" in line), line
        assert labels[doc.name]["total"] in line, (labels[doc.name]["total"], line)
    assert "FAILED" in rows[broken.name] and "CorruptDocument" in rows[broken.name]

    doc_id = rows[broken.name].split()[0]
    trace = run_cli(stack_dir, "trace", doc_id, "--no-color")
    assert trace.returncode == 0, trace.stderr
    assert "FAILED" in trace.stdout.splitlines()[0]
    assert "Error: CorruptDocument" in trace.stdout
    assert " Register " in trace.stdout and "Caught error" in trace.stdout

    # every function's lines about the broken document, in time order, and nothing of them on the terminal
    logs = run_cli(stack_dir, "logs", doc_id)
    assert logs.returncode == 0, logs.stderr
    assert "record-failure" in logs.stdout and "CorruptDocument" in logs.stdout
    raw = run_cli(stack_dir, "logs", doc_id, "--json")
    records = [json.loads(line) for line in raw.stdout.splitlines()]
    assert records and all(r["correlation_id"].startswith(doc_id) for r in records)
    assert (stack_dir / "logs" / "emulator.log").exists()

    show = run_cli(stack_dir, "show", rows[digital.name].split()[0])
    assert show.returncode == 0 and labels[digital.name]["invoice_number"] in show.stdout

    status = run_cli(stack_dir, "status")
    assert status.returncode == 0 and all(p.name in status.stdout for p in (digital, scanned, broken))

    missing = run_cli(stack_dir, "show", "ffffffff")
    assert missing.returncode == 2 and "no document matches" in missing.stderr
