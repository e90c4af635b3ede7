"""The documents `make run` (`invoices run`) processes: the generated samples (generate.py) and one Factur-X
e-invoice, so that a first run shows both paths: OCR for the pictures, the embedded XML read without OCR for
the e-invoice (its row in the results table comes from the e-invoice branch of the state machine)."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

from invoice_local.samples.catalog import fr_fr
from invoice_local.samples.einvoice import facturx_pdf
from invoice_local.samples.generate import BROKEN, generate

__all__ = ["FACTURX_SAMPLE", "run_set"]

FACTURX_SAMPLE = "fr-facture-factur-x.pdf"


def run_set(out_dir: Path, *, seed: int = 7) -> list[Path]:
    """The sample documents (not labels.jsonl), the broken file last. The Factur-X invoice is drawn from a
    stream of its own, so it is another invoice than the French sample (not a duplicate of it)."""
    files = [p for p in generate(out_dir, seed=seed) if p.name != "labels.jsonl"]
    invoice = dataclasses.replace(fr_fr(random.Random(f"{seed}:factur-x")), file=FACTURX_SAMPLE)
    facturx = Path(out_dir) / FACTURX_SAMPLE
    facturx.write_bytes(facturx_pdf(invoice))
    broken = [p for p in files if p.name == BROKEN]
    return [p for p in files if p.name != BROKEN] + [facturx] + broken
