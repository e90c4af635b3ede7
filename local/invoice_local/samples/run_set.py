"""The documents `make run` (`invoices run`) processes: the generated samples (generate.py), one Factur-X
e-invoice, and one invoice the vendor sent again as a scan, so that a first run shows every path: OCR for the
pictures, the embedded XML read without OCR for the e-invoice (its row in the results table comes from the
e-invoice branch of the state machine), and the duplicate control holding the second copy of an invoice for
review, so that the web page's review queue has something in it."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np

from invoice_local.samples.catalog import fr_fr
from invoice_local.samples.einvoice import facturx_pdf
from invoice_local.samples.generate import BROKEN, generate
from invoice_local.samples.scan import scan_jpeg

__all__ = ["FACTURX_SAMPLE", "RESENT_FROM", "RESENT_SAMPLE", "run_set"]

FACTURX_SAMPLE = "fr-facture-factur-x.pdf"
# The same invoice as RESENT_FROM, printed, scanned and sent again (other bytes, same seller, number and total).
RESENT_FROM = "en-gb-invoice.pdf"
RESENT_SAMPLE = "en-gb-invoice-resent.jpg"
RESENT_STREAM = "resent-scan"


def run_set(out_dir: Path, *, seed: int = 7) -> list[Path]:
    """The sample documents (not labels.jsonl), the resent scan and the broken file last. The Factur-X invoice
    is drawn from a stream of its own, so it is another invoice than the French sample (not a duplicate of it);
    the resent scan is RESENT_FROM's first page through the scanner model, with a noise stream of its own."""
    files = [p for p in generate(out_dir, seed=seed) if p.name != "labels.jsonl"]
    invoice = dataclasses.replace(fr_fr(random.Random(f"{seed}:factur-x")), file=FACTURX_SAMPLE)
    facturx = Path(out_dir) / FACTURX_SAMPLE
    facturx.write_bytes(facturx_pdf(invoice))
    resent = Path(out_dir) / RESENT_SAMPLE
    noise = np.random.default_rng(random.Random(f"{seed}:{RESENT_STREAM}").getrandbits(64))
    resent.write_bytes(scan_jpeg((Path(out_dir) / RESENT_FROM).read_bytes(), noise))
    broken = [p for p in files if p.name == BROKEN]
    return [p for p in files if p.name != BROKEN] + [facturx, resent] + broken
