"""Write the sample set: the documents, one deliberately broken file, and labels.jsonl beside them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from invoice_local.samples.catalog import build_invoices
from invoice_local.samples.render import render_pdf
from invoice_local.samples.scan import scan_jpeg

LABELS = "labels.jsonl"
BROKEN = "broken-truncated.pdf"
SCAN_STREAM = "scan-noise"  # separates the scan's noise stream from the other uses of the seed
BROKEN_FROM = "en-us-invoice.pdf"  # the broken file is the first half of this one, as an interrupted upload leaves it


def generate(out_dir: Path, *, seed: int = 7) -> list[Path]:
    """Write the sample invoices for `seed` into out_dir (created if missing) and return their paths, in the order
    of labels.jsonl, with the broken file last.

    labels.jsonl (same format as ../shared/data/invoices/labels.jsonl, source "generated") describes every valid
    invoice. The broken file has no row: there is no invoice to extract from it, only an error to report. Files of
    the same name are overwritten; nothing else in out_dir is touched. Same seed, same bytes, every run."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    labels: list[str] = []
    pdfs: dict[str, bytes] = {}
    for invoice in build_invoices(seed):
        pdf = render_pdf(invoice)
        pdfs[invoice.file] = pdf
        # The scan gets its own noise stream, derived from the seed (any int, negative too: hence the detour through
        # random), so it does not depend on what was drawn before.
        noise = np.random.default_rng(random.Random(f"{seed}:{SCAN_STREAM}").getrandbits(64))
        data = scan_jpeg(pdf, noise) if invoice.file.endswith(".jpg") else pdf
        path = out_dir / invoice.file
        path.write_bytes(data)
        written.append(path)
        labels.append(json.dumps(invoice.label(), ensure_ascii=False))

    # Cut mid-file: the header and the first objects are there, the xref table, trailer and %%EOF are not.
    source = pdfs[BROKEN_FROM]
    broken = out_dir / BROKEN
    broken.write_bytes(source[: len(source) // 2])
    written.append(broken)

    (out_dir / LABELS).write_text("".join(line + "\n" for line in labels), encoding="utf-8", newline="\n")
    return written
